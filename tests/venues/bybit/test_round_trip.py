"""Encode -> parse round trips, including real Binance USD-M traffic re-encoded as Bybit v5."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.conftest import report_figure
from tests.venues.bybit.conftest import Collected
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.data import topics
from tradefabric.data.book_sync import OrderBooks
from tradefabric.model.data import (
    Candle,
    Liquidation,
    MarkPrice,
    OpenInterest,
    OrderBookDeltas,
    OrderBookSnapshot,
    Quote,
    Trade,
)
from tradefabric.model.enums import AggressorSide
from tradefabric.venues.binance.markets import BINANCE_USDM
from tradefabric.venues.binance.markets import sequence_rules as binance_rules
from tradefabric.venues.binance.parser import BinanceStreamParser
from tradefabric.venues.bybit.encode import BybitEncoder, number
from tradefabric.venues.bybit.markets import BYBIT_LINEAR, BYBIT_SPOT, sequence_rules
from tradefabric.venues.bybit.parser import BybitStreamParser
from tradefabric.venues.replay.recording import read_recording

VENUE = "bybit-linear"
SYMBOL = "BTC/USDT:USDT"
MS = 1_000_000
T0 = 1_723_161_255_000 * MS
replace = msgspec.structs.replace


def test_number_prints_plain_decimals_that_read_back_exactly() -> None:
    for value in (1e-08, 0.00015, 61800.2, 6203.0, 1.5e-10, 123456789.125, 0.1 + 0.2):
        text = number(value)
        assert "e" not in text and float(text) == value
    assert number(6203.0) == "6203"
    with pytest.raises(ValueError, match="nan"):
        number(math.nan)


class BinanceToBybit:
    """Real Binance USD-M events, rebuilt books included, recast as Bybit linear events.

    Bybit numbers book messages ``u``, ``u + 1``, ...: the snapshot is the book
    OrderBooks rebuilt (after Binance's buffered diffs), and every diff it applied
    after that becomes the next ``u``.
    """

    def __init__(self) -> None:
        self.bus = MessageBus()
        self.books = OrderBooks(self.bus, SimClock(0), binance_rules())
        self.parser = BinanceStreamParser(self.bus, BINANCE_USDM)
        self.events: list[Any] = []
        self._applied = 0
        self._next_u = -1
        self.bus.subscribe(topics.TRADES, self._on_plain)
        self.bus.subscribe(topics.QUOTES, self._on_plain)
        self.bus.subscribe(topics.BOOK_SNAPSHOTS, self._on_snapshot)
        self.bus.subscribe(topics.BOOK_DELTAS, self._on_deltas)

    def _on_plain(self, event: Trade | Quote) -> None:
        self.events.append(replace(event, venue=VENUE))

    def _on_snapshot(self, snapshot: OrderBookSnapshot) -> None:
        synced = self.books.synced(snapshot.venue, snapshot.symbol)
        assert synced is not None and synced.book.valid
        book = synced.book
        depth = book.depth(1_000_000)
        self._applied = synced.deltas_applied
        self._next_u = book.sequence + 1
        self.events.append(
            OrderBookSnapshot(
                VENUE, SYMBOL, tuple(depth.bids), tuple(depth.asks), book.sequence,
                book.ts_event, snapshot.ts_recv,
            )
        )  # fmt: skip

    def _on_deltas(self, deltas: OrderBookDeltas) -> None:
        synced = self.books.synced(deltas.venue, deltas.symbol)
        if synced is None or synced.deltas_applied == self._applied:
            return  # buffered before the snapshot, or stale: not part of the Bybit stream
        self._applied = synced.deltas_applied
        u = self._next_u
        self._next_u += 1
        self.events.append(
            OrderBookDeltas(
                VENUE, SYMBOL, deltas.bids, deltas.asks, u, u, -1, deltas.ts_event, deltas.ts_recv
            )
        )


def test_real_binance_usdm_traffic_round_trips_as_bybit_frames(shared_data: Path) -> None:
    source = BinanceToBybit()
    for line in read_recording(shared_data / "binance_ws" / "usdm_btcusdt_20240808.gz"):
        source.parser.on_frame(line.raw, line.ts_recv)
    binance_book = source.books.book("binance-usdm", SYMBOL)
    assert binance_book is not None and binance_book.valid

    encoder = BybitEncoder(BYBIT_LINEAR)
    bus = MessageBus()
    got = Collected(bus)
    books = OrderBooks(bus, SimClock(0), sequence_rules())
    parser = BybitStreamParser(bus, BYBIT_LINEAR)
    for event in source.events:
        parser.on_frame(_encode(encoder, event), event.ts_recv)

    expected = {kind: [e for e in source.events if type(e) is kind] for kind in _KINDS}
    assert got.trades == expected[Trade]
    assert got.quotes == expected[Quote]
    assert got.snapshots == expected[OrderBookSnapshot]
    assert got.deltas == expected[OrderBookDeltas]
    book = books.book(VENUE, SYMBOL)
    assert book is not None and book.valid
    synced = books.synced(VENUE, SYMBOL)
    assert synced is not None and synced.stats().gaps == 0
    assert book.depth(1_000_000) == binance_book.depth(1_000_000)
    counts = {kind.__name__: len(found) for kind, found in expected.items()}
    report_figure(
        f"bybit round trip of real Binance USD-M BTCUSDT re-encoded as v5 frames: {counts}, "
        f"book rebuilt by BybitBookRule == Binance book ({book.level_count()} levels, "
        f"best {book.best_bid()}/{book.best_ask()})"
    )


_KINDS = (Trade, Quote, OrderBookSnapshot, OrderBookDeltas)


def _encode(encoder: BybitEncoder, event: Any) -> bytes:
    if isinstance(event, Trade):
        return encoder.trades([event])
    if isinstance(event, Quote):
        return encoder.quote(event)
    return encoder.book(event, depth=1000)


def test_derivatives_and_candles_round_trip() -> None:
    encoder = BybitEncoder(BYBIT_LINEAR)
    bus = MessageBus()
    got = Collected(bus)
    parser = BybitStreamParser(bus, BYBIT_LINEAR)
    mark = MarkPrice(VENUE, SYMBOL, 61800.25, 61790.5, 0.0001, T0 + 3_600_000 * MS, T0, 1)
    interest = OpenInterest(VENUE, SYMBOL, 81234.567, T0 + 100 * MS, 2)
    liquidations = [
        Liquidation(VENUE, SYMBOL, AggressorSide.SELL, 61750.5, 0.25, T0 + 150 * MS, 3),
        Liquidation(VENUE, SYMBOL, AggressorSide.BUY, 61851.0, 1.5, T0 + 160 * MS, 3),
    ]
    candle = Candle(
        VENUE, SYMBOL, "1m", T0 - 60_000 * MS, 61700.0, 61850.5, 61690.0, 61800.2, 12.5, -1,
        math.nan, 61777.0, T0, 4,
    )  # fmt: skip
    parser.on_frame(encoder.mark_price(mark, cross_seq=10), 1)
    parser.on_frame(encoder.open_interest(interest, cross_seq=11), 2)
    parser.on_frame(encoder.liquidations(liquidations), 3)
    parser.on_frame(encoder.candle(candle), 4)
    parser.on_frame(encoder.op_reply("ping"), 5)
    parser.on_frame(encoder.op_reply("subscribe", "sub-1"), 6)
    assert got.marks == [mark]
    assert got.open_interest == [interest]
    assert got.liquidations == liquidations
    [parsed] = got.candles
    assert parsed.vwap == pytest.approx(candle.vwap, rel=1e-15)
    assert msgspec.json.encode(replace(parsed, vwap=candle.vwap)) == msgspec.json.encode(candle)
    assert (parser.stats().pongs, parser.stats().subscribe_acks) == (1, 1)


def test_spot_encoder_refuses_tickers_it_cannot_carry() -> None:
    quote = Quote("bybit", "BTC/USDT", 1.0, 1.0, 2.0, 1.0, 5, T0, T0)
    with pytest.raises(Exception, match="spot tickers"):
        BybitEncoder(BYBIT_SPOT).quote(quote)
