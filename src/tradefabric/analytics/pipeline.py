"""The analytics pipeline on the bus, and the same pipeline run in batch.

Streaming (``AnalyticsPipeline``): candles, liquidations, open interest and
trades arrive on the bus; each base-interval candle is also folded into the
resampled intervals; context, regimes and features are updated with every
candle of a step before any signal of that step is evaluated; signals are
scored, published on ``analytics.topics.SIGNALS`` and voted into a decision.

Batch (``run_batch``): each plugin computes its signals over whole arrays
(TA-Lib indicators), then the candles are walked in the order the streaming
pipeline would see them to score the signals with exactly the same context.
Both produce the same signals; ``tests/analytics`` proves it on a real month.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from tradefabric.analytics import topics as analytics_topics
from tradefabric.analytics.confidence import MarketContext
from tradefabric.analytics.config import AnalyticsConfig
from tradefabric.analytics.ensemble import Decision, Ensemble
from tradefabric.analytics.features.base import FeatureRow, FeatureSet
from tradefabric.analytics.frame import CandleFrame, CandleResampler, resample
from tradefabric.analytics.macro import MacroSource
from tradefabric.analytics.microstructure_feed import MicrostructureFeed
from tradefabric.analytics.plugins import build_feature, build_signal
from tradefabric.analytics.regime import Regime, RegimeChange, RegimeDetector, VolatilitySource
from tradefabric.analytics.signals.base import (
    BatchInputs,
    Signal,
    SignalPlugin,
    SignalStream,
)
from tradefabric.analytics.signals.liquidation_hunt import underlying
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock
from tradefabric.data import topics
from tradefabric.model.data import Candle, Liquidation, OpenInterest, Trade

SignalSource = Callable[[int, SignalPlugin, Candle, int], Signal | None]
"""Where a step's signals come from: (plugin index, plugin, candle, now) -> signal."""


class PipelineResult(msgspec.Struct, frozen=True):
    """Everything a run produced, in the order it was produced."""

    signals: tuple[Signal, ...]
    decisions: tuple[Decision, ...]
    regime_changes: tuple[RegimeChange, ...]


class _Core:
    """Context, regimes, features, scoring and the ensemble: shared by both forms."""

    def __init__(
        self,
        config: AnalyticsConfig,
        macro: MacroSource | None,
        volatility: VolatilitySource | None,
        bus: MessageBus | None,
    ) -> None:
        self.config = config
        self.plugins = tuple(build_signal(spec) for spec in config.signals)
        self.context = MarketContext(config.confidence, macro)
        self.ensemble = Ensemble(config.ensemble)
        self.volatility = volatility
        self.bus = bus
        self.regimes: dict[str, RegimeDetector] = {}
        self.features: dict[tuple[str, str, str], FeatureSet] = {}
        self.signals: list[Signal] = []
        self.decisions: list[Decision] = []
        self.regime_changes: list[RegimeChange] = []

    def regime(self, asset: str) -> Regime:
        detector = self.regimes.get(asset)
        return detector.regime if detector is not None else Regime.RANGE

    def step(self, candles: Sequence[Candle], now_ns: int, source: SignalSource) -> None:
        """Update state with ``candles`` (one instant), then evaluate and emit their signals."""
        for candle in candles:
            self.context.on_candle(candle)
            self._regime(candle)
            self._features(candle)
        for candle in candles:
            for index, plugin in enumerate(self.plugins):
                if plugin.interval == candle.interval:
                    signal = source(index, plugin, candle, now_ns)
                    if signal is not None:
                        self.emit(signal)

    def _regime(self, candle: Candle) -> None:
        if candle.interval != self.config.regime.interval:
            return
        detector = self.regimes.get(candle.symbol)
        if detector is None:
            detector = self.regimes[candle.symbol] = RegimeDetector(
                self.config.regime, self.volatility
            )
        change = detector.update(candle)
        if change is not None:
            self.regime_changes.append(change)
            if self.bus is not None:
                self.bus.publish(analytics_topics.REGIME_CHANGES, change)

    def _features(self, candle: Candle) -> None:
        if not self.config.features:
            return
        key = (candle.venue, candle.symbol, candle.interval)
        feature_set = self.features.get(key)
        if feature_set is None:
            specs = self.config.features
            feature_set = self.features[key] = FeatureSet([build_feature(s) for s in specs])
        values = feature_set.update(candle)
        if self.bus is not None:
            row = FeatureRow(
                candle.venue, candle.symbol, candle.interval, candle.ts_event,
                feature_set.columns, values,
            )  # fmt: skip
            self.bus.publish(analytics_topics.FEATURES, row)

    def emit(self, raw: Signal) -> None:
        """Score ``raw``, vote it into the ensemble and publish both."""
        signal = self.context.score(raw)
        self.context.track(signal)
        self.signals.append(signal)
        decision = self.ensemble.on_signal(signal, self.regime(signal.asset))
        if decision is not None:
            self.decisions.append(decision)
        if self.bus is not None:
            self.bus.publish(analytics_topics.SIGNALS, signal)
            if decision is not None:
                self.bus.publish(analytics_topics.DECISIONS, decision)

    def result(self) -> PipelineResult:
        return PipelineResult(
            signals=tuple(self.signals),
            decisions=tuple(self.decisions),
            regime_changes=tuple(self.regime_changes),
        )


class _Steps:
    """Turn arriving candles into steps: a base candle plus the buckets it completes."""

    def __init__(self, config: AnalyticsConfig) -> None:
        self.config = config
        self._resamplers: dict[tuple[str, str], tuple[CandleResampler, ...]] = {}

    def candles(self, candle: Candle) -> list[Candle]:
        if candle.interval in self.config.resample:
            return []  # built here from the base interval; a feed's own copy would double it
        if candle.interval != self.config.base_interval or not self.config.resample:
            return [candle]
        key = (candle.venue, candle.symbol)
        resamplers = self._resamplers.get(key)
        if resamplers is None:
            resamplers = tuple(CandleResampler(i) for i in self.config.resample)
            self._resamplers[key] = resamplers
        out = [candle]
        for resampler in resamplers:
            done = resampler.update(candle)
            if done is not None:
                out.append(done)
        return out


class AnalyticsPipeline:
    """Run the configured analytics live on ``bus`` (candles, derivatives, trades in)."""

    def __init__(
        self,
        bus: MessageBus,
        clock: Clock,
        config: AnalyticsConfig,
        *,
        macro: MacroSource | None = None,
        volatility: VolatilitySource | None = None,
    ) -> None:
        self.clock = clock
        self.core = _Core(config, macro, volatility, bus)
        self._steps = _Steps(config)
        self._streams: dict[tuple[int, str], SignalStream] = {}
        bus.subscribe(topics.CANDLES, self.on_candle)
        bus.subscribe(topics.LIQUIDATIONS, self.on_liquidation)
        bus.subscribe(topics.OPEN_INTEREST, self.on_open_interest)
        bus.subscribe(topics.TRADES, self.on_trade)
        # Outside sources (TradingView) are scored and voted like the plugins' signals.
        bus.subscribe(analytics_topics.EXTERNAL_SIGNALS, self.core.emit)
        self.microstructure = MicrostructureFeed(
            bus,
            whale_notional=config.confidence.whale_notional,
            delta_interval=config.base_interval,
        )

    def _stream(self, index: int, asset: str) -> SignalStream:
        stream = self._streams.get((index, asset))
        if stream is None:
            stream = self._streams[(index, asset)] = self.core.plugins[index].stream()
        return stream

    def on_candle(self, candle: Candle) -> None:
        """Process one closed candle."""
        candles = self._steps.candles(candle)
        if candles:
            self.core.step(candles, self.clock.timestamp_ns(), self._signal)

    def _signal(self, index: int, _plugin: SignalPlugin, candle: Candle, now: int) -> Signal | None:
        return self._stream(index, candle.symbol).on_candle(candle, now)

    def on_liquidation(self, event: Liquidation) -> None:
        """Hand a liquidation to every plugin's stream of its asset."""
        for index in range(len(self.core.plugins)):
            self._stream(index, underlying(event.symbol)).on_liquidation(event)

    def on_open_interest(self, event: OpenInterest) -> None:
        """Record open interest for confidence and hand it to the plugins."""
        self.core.context.on_open_interest(event)
        for index in range(len(self.core.plugins)):
            self._stream(index, underlying(event.symbol)).on_open_interest(event)

    def on_trade(self, trade: Trade) -> None:
        """Record whale trades for confidence."""
        self.core.context.on_trade(trade)

    def result(self) -> PipelineResult:
        """Return what the pipeline produced so far."""
        return self.core.result()


class BatchRun(msgspec.Struct, frozen=True, kw_only=True):
    """Inputs of a batch run: one asset's base-interval candles and its derivatives events."""

    frame: CandleFrame
    liquidations: tuple[Liquidation, ...] = ()
    open_interest: tuple[OpenInterest, ...] = ()


def run_batch(
    config: AnalyticsConfig,
    run: BatchRun,
    *,
    macro: MacroSource | None = None,
    volatility: VolatilitySource | None = None,
) -> PipelineResult:
    """Run the configured analytics over ``run`` in batch; same result as streaming it."""
    core = _Core(config, macro, volatility, None)
    frame = run.frame
    asset = frame.symbol
    liquidations = tuple(e for e in run.liquidations if underlying(e.symbol) == asset)
    open_interest = tuple(e for e in run.open_interest if underlying(e.symbol) == asset)
    frames = {config.base_interval: frame}
    for interval in config.resample:
        frames[interval] = resample(frame, interval)
    precomputed: dict[tuple[int, int], Signal] = {}
    for index, plugin in enumerate(core.plugins):
        inputs = BatchInputs(frames[plugin.interval], liquidations, open_interest)
        for signal in plugin.batch(inputs):
            precomputed[(index, signal.data_ts)] = signal

    def source(index: int, _plugin: SignalPlugin, candle: Candle, _now: int) -> Signal | None:
        return precomputed.get((index, candle.ts_event))

    # Open interest feeds the confidence context in time order, as on the bus.
    oi = sorted(open_interest, key=lambda e: e.ts_event)
    k = 0
    steps = _Steps(config)
    for candle in frame.candles():
        while k < len(oi) and oi[k].ts_event < candle.ts_event:
            core.context.on_open_interest(oi[k])
            k += 1
        candles = steps.candles(candle)
        core.step(candles, candle.ts_event, source)
    return core.result()


def replay_candles(
    pipeline: AnalyticsPipeline,
    bus: MessageBus,
    run: BatchRun,
    advance: Callable[[int], None],
) -> PipelineResult:
    """Publish ``run``'s events on ``bus`` in time order, candle by candle; return the result.

    ``advance`` moves the clock (e.g. ``SimClock.advance_to``) to each event's time
    before it is published. A candle is published at its close, before events of
    the same instant: they belong to the next window.
    """
    events: list[Liquidation | OpenInterest] = [*run.liquidations, *run.open_interest]
    events.sort(key=lambda e: e.ts_event)
    k = 0
    for candle in run.frame.candles():
        while k < len(events) and events[k].ts_event < candle.ts_event:
            event = events[k]
            advance(event.ts_event)
            if isinstance(event, Liquidation):
                bus.publish(topics.LIQUIDATIONS, event)
            else:
                bus.publish(topics.OPEN_INTEREST, event)
            k += 1
        advance(candle.ts_event)
        bus.publish(topics.CANDLES, candle)
    return pipeline.result()


__all__ = [
    "AnalyticsPipeline",
    "BatchRun",
    "PipelineResult",
    "replay_candles",
    "run_batch",
]
