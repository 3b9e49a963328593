"""Shared test helpers: a parser wired to a bus and OrderBooks, and frame builders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
)
from tradefabric.venues.coinbase.markets import COINBASE, sequence_rules
from tradefabric.venues.coinbase.parser import CoinbaseStreamParser


class Pipeline:
    """A Coinbase parser publishing on a bus that OrderBooks and collectors listen to."""

    def __init__(self) -> None:
        self.bus = MessageBus()
        self.books = OrderBooks(self.bus, SimClock(0), sequence_rules())
        self.parser = CoinbaseStreamParser(self.bus, COINBASE)
        self.trades: list[Trade] = []
        self.quotes: list[Quote] = []
        self.deltas: list[OrderBookDeltas] = []
        self.snapshots: list[OrderBookSnapshot] = []
        self.candles: list[Candle] = []
        self.status: list[OrderBookStatus] = []
        self.bus.subscribe(topics.TRADES, self.trades.append)
        self.bus.subscribe(topics.QUOTES, self.quotes.append)
        self.bus.subscribe(topics.BOOK_DELTAS, self.deltas.append)
        self.bus.subscribe(topics.BOOK_SNAPSHOTS, self.snapshots.append)
        self.bus.subscribe(topics.CANDLES, self.candles.append)
        self.bus.subscribe(topics.BOOK_STATUS, self.status.append)

    def feed(self, frame: dict[str, Any] | bytes, ts_recv: int = 1) -> None:
        """Parse one frame (a dict is JSON-encoded first)."""
        raw = frame if isinstance(frame, bytes) else json.dumps(frame).encode()
        self.parser.on_frame(raw, ts_recv)


def fixture(shared_data: Path, name: str) -> dict[str, Any]:
    """Return a Coinbase format fixture as a dict."""
    loaded: dict[str, Any] = json.loads(
        (shared_data / "format_fixtures" / "coinbase" / name).read_text()
    )
    return loaded


def l2(seq: int, kind: str, levels: list[tuple[str, str, str]], product: str = "BTC-USD") -> Any:
    """Return an ``l2_data`` message with (side, price, quantity) levels."""
    updates = [
        {"side": side, "event_time": "2026-04-07T14:30:00Z", "price_level": p, "new_quantity": q}
        for side, p, q in levels
    ]
    return {
        "channel": "l2_data",
        "timestamp": "2026-04-07T14:30:00.5Z",
        "sequence_num": seq,
        "events": [{"type": kind, "product_id": product, "updates": updates}],
    }


def heartbeat(seq: int, counter: int = 1) -> Any:
    """Return a ``heartbeats`` message."""
    return {
        "channel": "heartbeats",
        "timestamp": "2026-04-07T14:30:00Z",
        "sequence_num": seq,
        "events": [{"current_time": "2026-04-07 14:30:10 +0000 UTC", "heartbeat_counter": counter}],
    }
