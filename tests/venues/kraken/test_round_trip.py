"""Round trips on real data: domain events -> Kraken v2 frames -> parser -> the same events.

Book: real Binance spot BTCUSDT traffic (snapshot + diffs, rebuilt by tradefabric's
``OrderBooks``) is served as Kraken v2 would serve it at depth 10 (``KrakenBookView``),
parsed back and rebuilt by ``OrderBooks`` with ``KrakenBookRule``: every update's
checksum must verify, and the book must equal the source's top 10.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import msgspec

from tests.conftest import report_figure
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.data import topics
from tradefabric.data.book_sync import OrderBooks
from tradefabric.model.data import OrderBookDeltas, OrderBookSnapshot
from tradefabric.venues.binance.markets import BINANCE_SPOT, sequence_rules
from tradefabric.venues.binance.parser import BinanceStreamParser
from tradefabric.venues.kraken.book import KrakenPairs
from tradefabric.venues.kraken.encode import KrakenBookView, KrakenEncoder
from tradefabric.venues.kraken.markets import KRAKEN_SPOT, PairPrecision
from tradefabric.venues.kraken.rest import parse_rest_ohlc, parse_rest_trades

from .conftest import Pipeline, same_candle

T0 = 1_700_000_000_000_000_000
SYMBOL = "BTC/USDT"
# Binance BTCUSDT prints prices with 2 decimals and sizes with up to 8.
BTCUSDT = PairPrecision(2, 8)


def test_real_rest_trades_round_trip(pipeline: Pipeline, kraken_fixtures: Path) -> None:
    trades = parse_rest_trades((kraken_fixtures / "http_trades.json").read_bytes(), "kraken", T0)
    assert len(trades) == 1000
    first = trades[0]
    assert (first.symbol, first.price, first.size, first.side, first.trade_id) == (
        "BTC/USDT", 105433.6, 0.00027625, "buy", "10218208",
    )  # fmt: skip
    assert first.ts_event == 1_762_795_433_971_744_500
    encoder = KrakenEncoder(KrakenPairs.for_market(KRAKEN_SPOT))
    pipeline.parser.on_frame(encoder.trades(trades[:50], "snapshot"), T0)
    for trade in trades[50:]:
        pipeline.parser.on_frame(encoder.trades([trade]), T0)
    assert pipeline.events.trades == trades
    assert pipeline.events.gaps == []


def test_real_rest_ohlc_round_trip(pipeline: Pipeline, kraken_fixtures: Path) -> None:
    candles = parse_rest_ohlc((kraken_fixtures / "http_ohlc.json").read_bytes(), "kraken", 1, T0)
    assert len(candles) == 720
    encoder = KrakenEncoder(KrakenPairs.for_market(KRAKEN_SPOT))
    for candle in candles:
        pipeline.parser.on_frame(encoder.ohlc(candle), T0)
    parsed = pipeline.events.candles
    assert len(parsed) == len(candles) - 1  # the last bar is still running
    assert all(same_candle(a, b) for a, b in zip(parsed, candles, strict=False))
    assert pipeline.parser.flush_candles(candles[-1].ts_event) == 1
    flushed = pipeline.events.candles[-1]
    assert flushed.ts_recv == candles[-1].ts_event  # closed by the clock, not by a later bar
    assert same_candle(msgspec.structs.replace(flushed, ts_recv=T0), candles[-1])


class _BinanceSource:
    """Real Binance traffic rebuilt by ``OrderBooks``; each applied change goes to a view."""

    def __init__(self, view: KrakenBookView, sink: Pipeline) -> None:
        self.view = view
        self.sink = sink
        self.bus = MessageBus()
        self.parser = BinanceStreamParser(self.bus, BINANCE_SPOT)
        self.books = OrderBooks(self.bus, SimClock(0), sequence_rules())
        self.applied = 0
        self.frames = 0
        self.compared = 0
        self.bus.subscribe(topics.BOOK_SNAPSHOTS, self.on_snapshot)
        self.bus.subscribe(topics.BOOK_DELTAS, self.on_deltas)

    def source_book(self) -> OrderBooks:
        return self.books

    def on_snapshot(self, snapshot: OrderBookSnapshot) -> None:
        # OrderBooks has loaded it and replayed the buffered diffs: serve that whole book.
        book = self.books.book("binance", SYMBOL)
        assert book is not None and book.valid
        count = max(book.level_count())
        full = book.depth(count)
        synced = self.books.synced("binance", SYMBOL)
        assert synced is not None
        self.applied = synced.stats().deltas_applied
        event = OrderBookSnapshot("binance", SYMBOL, tuple(full.bids), tuple(full.asks),
                                  book.sequence, book.ts_event, snapshot.ts_recv)  # fmt: skip
        self._send(self.view.snapshot(event), snapshot.ts_recv)

    def on_deltas(self, deltas: OrderBookDeltas) -> None:
        synced = self.books.synced("binance", SYMBOL)
        assert synced is not None
        applied = synced.stats().deltas_applied
        if applied == self.applied or not synced.book.valid:
            return  # buffered or dropped as stale: not part of the book
        self.applied = applied
        frame = self.view.update(deltas)
        if frame is not None:
            self._send(frame, deltas.ts_recv)

    def _send(self, frame: bytes, ts_recv: int) -> None:
        self.frames += 1
        self.sink.parser.on_frame(frame, ts_recv)


def _serve(pipeline: Pipeline, shared_data: Path, acked_depth: int, check: bool) -> _BinanceSource:
    """Serve the real Binance book at depth 10 to ``pipeline``, which was told ``acked_depth``."""
    encoder = KrakenEncoder(KrakenPairs({SYMBOL: BTCUSDT}, default_depth=10))
    pipeline.parser.on_frame(encoder.instrument({SYMBOL: BTCUSDT}), T0)
    pipeline.parser.on_frame(encoder.subscribe_ack("book", SYMBOL, depth=acked_depth), T0)
    source = _BinanceSource(KrakenBookView(encoder, SYMBOL, BTCUSDT, 10), pipeline)
    path = shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
    with gzip.open(path, "rb") as lines:
        for line in lines:
            if b"@depth" not in line and b"lastUpdateId" not in line[:40]:
                continue
            ts, _, raw = line.partition(b" ")
            source.parser.on_frame(raw, int(ts))
            if check and source.frames % 50 == 1:
                source.compared += _assert_same_top(source, pipeline)
    return source


def test_real_binance_book_served_as_kraken_v2_stays_valid(
    pipeline: Pipeline, shared_data: Path
) -> None:
    source = _serve(pipeline, shared_data, acked_depth=10, check=True)
    compared = source.compared + _assert_same_top(source, pipeline)
    statuses = pipeline.events.statuses
    synced = pipeline.books.synced("kraken", SYMBOL)
    assert synced is not None
    stats = synced.stats()
    report_figure(
        f"kraken v2 book from real Binance BTCUSDT: {source.frames} frames, "
        f"{stats.deltas_applied} updates checksum-verified, {compared} top-10 comparisons"
    )
    assert [s.valid for s in statuses] == [True]
    assert stats.checksum_failures == 0 and stats.gaps == 0
    assert stats.deltas_applied == len(pipeline.events.deltas) > 2000
    assert all(d.checksum >= 0 for d in pipeline.events.deltas)


def _assert_same_top(source: _BinanceSource, sink: Pipeline) -> int:
    src = source.books.book("binance", SYMBOL)
    dst = sink.books.book("kraken", SYMBOL)
    if src is None or dst is None or not src.valid:
        return 0
    assert dst.valid
    assert dst.depth(10) == src.depth(10)
    assert max(dst.level_count()) <= 10
    return 1


def test_without_truncation_real_traffic_fails_checksums(
    pipeline: Pipeline, shared_data: Path
) -> None:
    """Told depth 1000 while served depth 10, the book keeps out-of-scope levels and breaks."""
    _serve(pipeline, shared_data, acked_depth=1000, check=False)
    synced = pipeline.books.synced("kraken", SYMBOL)
    assert synced is not None and synced.stats().checksum_failures >= 1
    assert not pipeline.events.statuses[1].valid
