"""Regime detection with hysteresis on the real month (1h candles built from the 1m ones)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import msgspec

from tests.conftest import report_figure
from tradefabric.analytics import topics as analytics_topics
from tradefabric.analytics.config import AnalyticsConfig, load_config
from tradefabric.analytics.frame import CandleFrame, resample
from tradefabric.analytics.pipeline import AnalyticsPipeline, BatchRun, replay_candles, run_batch
from tradefabric.analytics.plugins import build_volatility
from tradefabric.analytics.regime import (
    Regime,
    RegimeChange,
    RegimeDetector,
    RegimeParams,
    SeriesVolatilitySource,
)
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock


def _run(frame: CandleFrame, params: RegimeParams) -> tuple[list[RegimeChange], list[Regime]]:
    detector = RegimeDetector(params)
    changes: list[RegimeChange] = []
    states: list[Regime] = []
    for candle in frame.candles():
        change = detector.update(candle)
        if change is not None:
            changes.append(change)
        states.append(detector.regime)
    return changes, states


def test_hysteresis_keeps_regimes_from_flipping(month: CandleFrame) -> None:
    hourly = resample(month, "1h")
    params = RegimeParams()
    changes, states = _run(hourly, params)
    no_band = msgspec.structs.replace(
        params, trend_exit=params.trend_enter, volatile_exit=params.volatile_enter, min_dwell=1
    )
    raw_changes, _ = _run(hourly, no_band)
    assert 0 < len(changes) < len(raw_changes)
    assert {c.regime for c in changes} >= {Regime.BULL, Regime.BEAR}
    for change, nxt in itertools.pairwise(changes):
        if change.regime is Regime.BULL:
            assert change.trend >= params.trend_enter
        if change.regime is Regime.BEAR:
            assert change.trend <= -params.trend_enter
        if change.regime is Regime.VOLATILE:
            assert change.vol_index >= params.volatile_enter
        if change.previous is Regime.BULL and change.regime is Regime.RANGE:
            assert change.trend <= params.trend_exit  # left only past the exit threshold
        hours = (nxt.ts_event - change.ts_event) // 3_600_000_000_000
        assert hours >= params.min_dwell
    report_figure(
        f"analytics regime {month.symbol} 1h: {len(changes)} changes with hysteresis vs "
        f"{len(raw_changes)} without; time share "
        + ", ".join(f"{r.value} {states.count(r) / len(states):.0%}" for r in Regime)
    )


def test_published_volatility_index_overrides_realized(btc_month: CandleFrame) -> None:
    hourly = resample(btc_month, "1h")
    start = int(hourly.ts_event[100])
    dvol = SeriesVolatilitySource(
        {"BTC/USDT": [(start, 120.0), (start + 48 * 3_600 * 10**9, 40.0)]}
    )
    detector = RegimeDetector(RegimeParams(), dvol)
    regimes = []
    for candle in hourly.candles():
        detector.update(candle)
        regimes.append((candle.ts_event, detector.regime, detector.vol_index))
    during = [r for ts, r, v in regimes if start < ts <= start + 48 * 3_600 * 10**9]
    assert during[5:] and all(r is Regime.VOLATILE for r in during[5:])
    assert all(v == 40.0 for ts, _, v in regimes if ts > start + 48 * 3_600 * 10**9)
    assert math.isnan(regimes[0][2]) or regimes[0][2] != 120.0


def test_pipeline_publishes_regime_changes(btc_month: CandleFrame) -> None:
    bus = MessageBus()
    clock = SimClock()
    published: list[RegimeChange] = []
    bus.subscribe(analytics_topics.REGIME_CHANGES, published.append)
    pipeline = AnalyticsPipeline(bus, clock, AnalyticsConfig())
    result = replay_candles(pipeline, bus, BatchRun(frame=btc_month.head(20_000)), clock.advance_to)
    assert published and published == list(result.regime_changes)
    assert all(c.interval == "1h" and c.asset == "BTC/USDT" for c in published)


def test_a_configured_volatility_index_drives_the_regime(
    btc_month: CandleFrame, tmp_path: Path
) -> None:
    hourly = resample(btc_month, "1h")
    start = int(hourly.ts_event[100])
    yaml_text = (
        "analytics:\n"
        "  volatility:\n"
        "    source: class\n"
        "    class: tradefabric.analytics.regime.SeriesVolatilitySource\n"
        f"    params: {{readings: {{BTC/USDT: [[{start}, 120.0]]}}}}\n"
    )
    (tmp_path / "vol.yaml").write_text(yaml_text)
    config = load_config(tmp_path / "vol.yaml")
    source = build_volatility(config.volatility)
    assert source is not None and source.value("BTC/USDT", start + 1) == 120.0
    assert build_volatility(AnalyticsConfig().volatility) is None  # realized by default
    run = BatchRun(frame=btc_month)
    published = run_batch(config, run, volatility=source).regime_changes
    realized = run_batch(AnalyticsConfig(), run).regime_changes
    after = [c for c in published if c.ts_event > start]
    assert after and after[-1].regime is Regime.VOLATILE
    assert published != realized
