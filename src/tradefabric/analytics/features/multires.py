"""The same features on several candle intervals (1s, 1m, 5m, 1h) of one trade stream.

``CandleAggregator`` cuts every interval from the same trades; this keeps one
``FeatureSet`` per (venue, symbol, interval) and publishes a ``FeatureRow`` per
closed candle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tradefabric.analytics import topics as analytics_topics
from tradefabric.analytics.features.base import FeatureRow, FeatureSet
from tradefabric.core.bus import MessageBus
from tradefabric.data import topics
from tradefabric.model.data import Candle

FeatureSetFactory = Callable[[], FeatureSet]


class MultiResolutionFeatures:
    """Compute a feature set on each configured interval and publish the rows."""

    def __init__(
        self, bus: MessageBus, intervals: Sequence[str], factory: FeatureSetFactory
    ) -> None:
        self._bus = bus
        self._intervals = frozenset(intervals)
        self._factory = factory
        self._sets: dict[tuple[str, str, str], FeatureSet] = {}
        self.rows = 0
        bus.subscribe(topics.CANDLES, self.on_candle)

    def on_candle(self, candle: Candle) -> None:
        """Update the candle's feature set and publish its row."""
        if candle.interval not in self._intervals:
            return
        key = (candle.venue, candle.symbol, candle.interval)
        feature_set = self._sets.get(key)
        if feature_set is None:
            feature_set = self._sets[key] = self._factory()
        values = feature_set.update(candle)
        row = FeatureRow(
            candle.venue, candle.symbol, candle.interval, candle.ts_event,
            feature_set.columns, values,
        )  # fmt: skip
        self.rows += 1
        self._bus.publish(analytics_topics.FEATURES, row)
