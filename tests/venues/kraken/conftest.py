"""Shared helpers of the Kraken adapter tests."""

from __future__ import annotations

import json
import math
from pathlib import Path

import msgspec
import pytest

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.data import topics
from tradefabric.data.book_sync import OrderBooks
from tradefabric.model.data import (
    Candle,
    OrderBookDeltas,
    OrderBookSnapshot,
    OrderBookStatus,
    Quote,
    Trade,
    TradeGap,
)
from tradefabric.venues.kraken.markets import KRAKEN_SPOT
from tradefabric.venues.kraken.parser import KrakenStreamParser


class Collected:
    """Every domain event published on the bus, by type."""

    def __init__(self, bus: MessageBus) -> None:
        self.trades: list[Trade] = []
        self.gaps: list[TradeGap] = []
        self.quotes: list[Quote] = []
        self.deltas: list[OrderBookDeltas] = []
        self.snapshots: list[OrderBookSnapshot] = []
        self.candles: list[Candle] = []
        self.statuses: list[OrderBookStatus] = []
        bus.subscribe(topics.TRADES, self.trades.append)
        bus.subscribe(topics.TRADE_GAPS, self.gaps.append)
        bus.subscribe(topics.QUOTES, self.quotes.append)
        bus.subscribe(topics.BOOK_DELTAS, self.deltas.append)
        bus.subscribe(topics.BOOK_SNAPSHOTS, self.snapshots.append)
        bus.subscribe(topics.CANDLES, self.candles.append)
        bus.subscribe(topics.BOOK_STATUS, self.statuses.append)


class Pipeline:
    """A Kraken parser feeding a bus with ``OrderBooks`` using the parser's book rule."""

    def __init__(self) -> None:
        self.bus = MessageBus()
        self.parser = KrakenStreamParser(self.bus, KRAKEN_SPOT)
        self.books = OrderBooks(self.bus, SimClock(0), {"kraken": self.parser.book_rule()})
        self.events = Collected(self.bus)


@pytest.fixture
def pipeline() -> Pipeline:
    """Return a fresh parser + books pipeline."""
    return Pipeline()


@pytest.fixture(scope="session")
def kraken_fixtures(shared_data: Path) -> Path:
    """Return the directory of Kraken format fixtures."""
    return shared_data / "format_fixtures" / "kraken"


def fixture_bytes(directory: Path, name: str) -> bytes:
    """Return a fixture file compacted to one JSON line, as it arrives on the socket."""
    return json.dumps(json.loads((directory / name).read_text())).encode()


def same_candle(a: Candle, b: Candle) -> bool:
    """Return True when two candles are equal, NaN ``buy_volume`` (unknown) included."""
    da, db = msgspec.structs.asdict(a), msgspec.structs.asdict(b)
    nan_a, nan_b = math.isnan(da.pop("buy_volume")), math.isnan(db.pop("buy_volume"))
    return da == db and nan_a == nan_b
