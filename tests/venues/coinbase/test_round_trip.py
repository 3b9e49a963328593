"""Encode -> parse round trips, including real Binance traffic re-encoded as Coinbase frames."""

from __future__ import annotations

import math
from pathlib import Path

import msgspec

from tests.conftest import report_figure
from tests.venues.coinbase.helpers import Pipeline
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.errors import DataError
from tradefabric.data import topics
from tradefabric.data.book_sync import OrderBooks
from tradefabric.model.data import (
    Candle,
    OrderBookDeltas,
    OrderBookSnapshot,
    Quote,
    Trade,
)
from tradefabric.model.enums import AggressorSide
from tradefabric.venues.binance.markets import BINANCE_SPOT
from tradefabric.venues.binance.markets import sequence_rules as binance_rules
from tradefabric.venues.binance.parser import BinanceStreamParser
from tradefabric.venues.coinbase.encode import CoinbaseEncoder, decimal_text
from tradefabric.venues.coinbase.markets import COINBASE
from tradefabric.venues.replay.recording import read_recording

T0 = 1_775_572_200_123_456_789


def test_decimal_text_round_trips_small_and_large_floats() -> None:
    for value in (1e-08, 0.00015, 68900.5, 1.5e-10, 123456789.125, 0.1 + 0.2):
        text = decimal_text(value)
        assert "e" not in text and float(text) == value


def test_round_trip_of_every_event_type() -> None:
    enc = CoinbaseEncoder(COINBASE)
    p = Pipeline()
    snapshot = OrderBookSnapshot("coinbase", "BTC/USD", ((100.5, 1e-08),), ((101.0, 2.0),), 0,
                                 T0, 11)  # fmt: skip
    deltas = OrderBookDeltas("coinbase", "BTC/USD", ((100.5, 0.0),), ((101.25, 0.3),), 1, 1, 0,
                             T0 + 1, 12)  # fmt: skip
    trades = [
        Trade("coinbase", "BTC/USD", 101.0, 0.5, AggressorSide.BUY, "7", T0 + 2, 13),
        Trade("coinbase", "BTC/USD", 100.5, 0.25, AggressorSide.SELL, "8", T0 + 3, 13),
    ]
    quote = Quote("coinbase", "BTC/USD", 100.5, 1.0, 101.0, 2.0, 3, T0 + 4, 14)
    candle = Candle("coinbase", "BTC/USD", "5m", 1_775_572_200 * 10**9, 100.0, 102.0, 99.0,
                    101.0, 3.5, -1, math.nan, math.nan, 1_775_572_500 * 10**9, 15)  # fmt: skip
    closing = msgspec.structs.replace(candle, ts_open=candle.ts_event, ts_event=candle.ts_event * 2)
    p.feed(enc.book_snapshot(snapshot), 11)
    p.feed(enc.book_deltas(deltas), 12)
    p.feed(enc.trades(trades, T0 + 3), 13)
    p.feed(enc.quote(quote), 14)
    p.feed(enc.candle(candle, T0 + 5), 15)
    p.feed(enc.candle(closing, T0 + 6), 16)
    p.feed(enc.heartbeat(1, T0 + 7))
    p.feed(enc.subscriptions({"level2": ["BTC/USD"]}, T0 + 8))
    assert p.snapshots == [snapshot]
    assert p.deltas == [deltas]
    assert p.trades == trades
    assert p.quotes == [quote]
    assert [msgspec.to_builtins(c) for c in p.candles] == [msgspec.to_builtins(candle)]
    assert p.parser.stats().heartbeats == 1 and p.parser.stats().subscription_acks == 1


def test_encoder_gap_is_detected() -> None:
    enc = CoinbaseEncoder(COINBASE)
    p = Pipeline()
    p.feed(enc.book_snapshot(OrderBookSnapshot("x", "BTC/USD", ((1.0, 1.0),), (), 0, T0, 1)))
    enc.skip()
    p.feed(enc.heartbeat(1, T0))
    assert [s.valid for s in p.status] == [True, False]


class _BinanceToCoinbase:
    """Rebuild the Binance book with OrderBooks; re-encode what it applied as Coinbase frames."""

    def __init__(self) -> None:
        self.bus = MessageBus()
        self.books = OrderBooks(self.bus, SimClock(0), binance_rules())
        self.parser = BinanceStreamParser(self.bus, BINANCE_SPOT)
        self.encoder = CoinbaseEncoder(COINBASE)
        self.frames: list[tuple[bytes, int]] = []
        self.trades: list[Trade] = []
        self.quotes: list[Quote] = []
        self.bus.subscribe(topics.BOOK_SNAPSHOTS, self.on_snapshot)
        self.bus.subscribe(topics.BOOK_DELTAS, self.on_deltas)
        self.bus.subscribe(topics.TRADES, self.on_trade)
        self.bus.subscribe(topics.QUOTES, self.on_quote)
        self.applied = 0

    def synced(self) -> tuple[int, bool]:
        synced = self.books.synced("binance", "BTC/USDT")
        return (0, False) if synced is None else (synced.deltas_applied, synced.book.valid)

    def on_snapshot(self, snapshot: OrderBookSnapshot) -> None:
        # Subscribed after OrderBooks: the book now holds the snapshot + replayed buffer.
        book = self.books.book(snapshot.venue, snapshot.symbol)
        assert book is not None and book.valid
        depth = book.depth(1_000_000)
        self.applied = self.synced()[0]
        full = OrderBookSnapshot(snapshot.venue, snapshot.symbol, tuple(depth.bids),
                                 tuple(depth.asks), book.sequence, book.ts_event,
                                 snapshot.ts_recv)  # fmt: skip
        self.frames.append((self.encoder.book_snapshot(full), snapshot.ts_recv))

    def on_deltas(self, deltas: OrderBookDeltas) -> None:
        applied = self.synced()[0]
        if applied > self.applied:
            self.applied = applied
            self.frames.append((self.encoder.book_deltas(deltas), deltas.ts_recv))

    def on_trade(self, trade: Trade) -> None:
        self.trades.append(trade)
        self.frames.append((self.encoder.trades([trade], trade.ts_event), trade.ts_recv))

    def on_quote(self, quote: Quote) -> None:
        self.quotes.append(quote)
        self.frames.append((self.encoder.quote(quote), quote.ts_recv))


def test_real_binance_traffic_re_encoded_as_coinbase_rebuilds_the_same_book(
    shared_data: Path,
) -> None:
    source = _BinanceToCoinbase()
    rejected = 0
    for line in read_recording(shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"):
        try:
            source.parser.on_frame(line.raw, line.ts_recv)
        except DataError:
            rejected += 1
    source_book = source.books.book("binance", "BTC/USDT")
    assert source_book is not None and source_book.valid and rejected == 0

    target = Pipeline()
    for raw, ts_recv in source.frames:
        target.feed(raw, ts_recv)
    book = target.books.book("coinbase", "BTC/USDT")
    assert book is not None and book.valid
    assert book.depth(1_000_000) == source_book.depth(1_000_000)
    assert (book.ts_event, book.level_count()) == (source_book.ts_event, source_book.level_count())
    assert len(target.trades) == len(source.trades) > 1000
    assert [msgspec.structs.replace(t, venue="binance") for t in target.trades] == source.trades
    assert [
        (q.bid, q.bid_size, q.ask, q.ask_size, q.ts_event, q.ts_recv) for q in target.quotes
    ] == [(q.bid, q.bid_size, q.ask, q.ask_size, q.ts_event, q.ts_recv) for q in source.quotes]
    stats = target.parser.stats()
    assert stats.sequence_gaps == 0 and [s.valid for s in target.status] == [True]
    report_figure(
        f"coinbase round trip of real Binance BTCUSDT: {len(source.frames)} frames, "
        f"{stats.book_deltas} level2 updates, {stats.trades} trades, {stats.quotes} quotes; "
        f"book equal at {sum(book.level_count())} levels"
    )
