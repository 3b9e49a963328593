"""Publish the live microstructure features: whale alerts and delta pressure, from trades and books.

The feature classes (``features/microstructure.py``) are pure; this wires them to
the bus for the live pipeline: every trade feeds the whale detector and its
symbol's delta-pressure bucket, every book snapshot and delta feeds the whale
detector's view of resting size.
"""

from __future__ import annotations

from tradefabric.analytics import topics as analytics_topics
from tradefabric.analytics.features.microstructure import DeltaPressure, WhaleDetector
from tradefabric.core.bus import MessageBus
from tradefabric.data import topics
from tradefabric.model.data import OrderBookDeltas, OrderBookSnapshot, Trade


class MicrostructureFeed:
    """Turn trades and book changes on ``bus`` into whale alerts and delta-pressure bars."""

    def __init__(self, bus: MessageBus, *, whale_notional: float, delta_interval: str) -> None:
        self._bus = bus
        self._whales = WhaleDetector({}, default=whale_notional)
        self._delta_interval = delta_interval
        self._deltas: dict[tuple[str, str], DeltaPressure] = {}
        bus.subscribe(topics.TRADES, self.on_trade)
        bus.subscribe(topics.BOOK_SNAPSHOTS, self.on_snapshot)
        bus.subscribe(topics.BOOK_DELTAS, self.on_book_deltas)

    def on_trade(self, trade: Trade) -> None:
        """Publish a whale alert for a large trade and a bar when its delta bucket closes."""
        alert = self._whales.on_trade(trade)
        if alert is not None:
            self._bus.publish(analytics_topics.WHALE_ALERTS, alert)
        key = (trade.venue, trade.symbol)
        pressure = self._deltas.get(key)
        if pressure is None:
            pressure = self._deltas[key] = DeltaPressure(*key, self._delta_interval)
        bar = pressure.on_trade(trade)
        if bar is not None:
            self._bus.publish(analytics_topics.DELTA_BARS, bar)

    def on_book_deltas(self, deltas: OrderBookDeltas) -> None:
        """Publish an alert for every level whose resting size changed by the threshold."""
        for alert in self._whales.on_deltas(deltas):
            self._bus.publish(analytics_topics.WHALE_ALERTS, alert)

    def on_snapshot(self, snapshot: OrderBookSnapshot) -> None:
        """Reset the whale detector's levels of the snapshot's book."""
        self._whales.on_snapshot(snapshot)

    def flush(self) -> None:
        """Publish every open delta bucket (end of a run)."""
        for pressure in self._deltas.values():
            bar = pressure.flush()
            if bar is not None:
                self._bus.publish(analytics_topics.DELTA_BARS, bar)
