"""Shared helpers of the Bybit adapter tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradefabric.core.bus import MessageBus
from tradefabric.data import topics
from tradefabric.model.data import (
    Candle,
    Liquidation,
    MarkPrice,
    OpenInterest,
    OrderBookDeltas,
    OrderBookSnapshot,
    OrderBookStatus,
    Quote,
    Trade,
)


class Collected:
    """Every domain event published on the bus, by type."""

    def __init__(self, bus: MessageBus) -> None:
        self.trades: list[Trade] = []
        self.quotes: list[Quote] = []
        self.deltas: list[OrderBookDeltas] = []
        self.snapshots: list[OrderBookSnapshot] = []
        self.status: list[OrderBookStatus] = []
        self.candles: list[Candle] = []
        self.marks: list[MarkPrice] = []
        self.open_interest: list[OpenInterest] = []
        self.liquidations: list[Liquidation] = []
        bus.subscribe(topics.TRADES, self.trades.append)
        bus.subscribe(topics.QUOTES, self.quotes.append)
        bus.subscribe(topics.BOOK_DELTAS, self.deltas.append)
        bus.subscribe(topics.BOOK_SNAPSHOTS, self.snapshots.append)
        bus.subscribe(topics.BOOK_STATUS, self.status.append)
        bus.subscribe(topics.CANDLES, self.candles.append)
        bus.subscribe(topics.MARK_PRICES, self.marks.append)
        bus.subscribe(topics.OPEN_INTEREST, self.open_interest.append)
        bus.subscribe(topics.LIQUIDATIONS, self.liquidations.append)


@pytest.fixture
def bybit_fixtures(shared_data: Path) -> Path:
    """Return the directory of Bybit v5 format fixtures."""
    return shared_data / "format_fixtures" / "bybit"
