"""Ensemble voting: the same signals give different decisions in different regimes."""

from __future__ import annotations

import pytest

from tradefabric.analytics.config import AnalyticsConfig
from tradefabric.analytics.ensemble import Ensemble, EnsembleParams, GroupWeights
from tradefabric.analytics.frame import CandleFrame
from tradefabric.analytics.pipeline import BatchRun, run_batch
from tradefabric.analytics.regime import Regime
from tradefabric.analytics.signals.base import Direction, Signal
from tradefabric.core.errors import ConfigError

T0 = 1_723_000_000 * 1_000_000_000
MIN = 60_000_000_000


def _sig(interval: str, direction: Direction, confidence: float, ts: int, horizon: str) -> Signal:
    return Signal(
        source=f"alpha_{interval}", venue="binance", asset="BTC/USDT", interval=interval,
        direction=direction, horizon=horizon, strength=0.5, evidence=(), price=60_000.0,
        data_ts=ts - 1, ts=ts, confidence=confidence,
    )  # fmt: skip


def test_weights_per_regime_decide() -> None:
    params = EnsembleParams()
    trend = _sig("1h", Direction.LONG, 0.6, T0, "4h")
    momentum = _sig("1m", Direction.SHORT, 0.8, T0 + MIN, "15m")
    hft = _sig("1s", Direction.SHORT, 0.5, T0 + 2 * MIN, "1m")
    decisions = {}
    for regime in (Regime.BULL, Regime.RANGE, Regime.VOLATILE):
        ensemble = Ensemble(params)
        ensemble.on_signal(trend, regime)
        ensemble.on_signal(momentum, regime)
        decisions[regime] = ensemble.on_signal(hft, regime)
    bull = decisions[Regime.BULL]
    assert bull is not None
    # bull: 0.5 * 0.6 - 0.3 * 0.8 - 0.2 * 0.5 = -0.04 -> flat
    assert bull.score == pytest.approx(0.5 * 0.6 - 0.3 * 0.8 - 0.2 * 0.5)
    assert bull.direction is Direction.FLAT
    rng = decisions[Regime.RANGE]
    assert rng is not None and rng.direction is Direction.SHORT  # 0.12 - 0.32 - 0.2 = -0.4
    assert rng.score == pytest.approx(0.2 * 0.6 - 0.4 * 0.8 - 0.4 * 0.5)
    assert sum(v.contribution for v in rng.votes) == pytest.approx(rng.score)
    assert [v.group for v in rng.votes] == ["hft", "momentum", "trend"]
    trend_heavy = Ensemble(EnsembleParams(bull=GroupWeights(hft=0.0, momentum=0.1, trend=0.9)))
    trend_heavy.on_signal(momentum, Regime.BULL)
    decision = trend_heavy.on_signal(trend, Regime.BULL)
    assert decision is not None and decision.direction is Direction.LONG


def test_expired_signals_stop_voting() -> None:
    ensemble = Ensemble(EnsembleParams())
    ensemble.on_signal(_sig("1m", Direction.LONG, 0.9, T0, "15m"), Regime.RANGE)
    assert ensemble.decide("BTC/USDT", Regime.RANGE, T0 + 14 * MIN).direction is Direction.LONG
    late = ensemble.decide("BTC/USDT", Regime.RANGE, T0 + 15 * MIN)
    assert late.direction is Direction.FLAT and late.votes == ()


def test_bad_group_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="hft, momentum or trend"):
        EnsembleParams(groups={"1m": "scalp"})


def test_decisions_on_the_real_month_follow_the_regime(btc_month: CandleFrame) -> None:
    result = run_batch(AnalyticsConfig(), BatchRun(frame=btc_month))
    assert len(result.decisions) == len(result.signals)
    assert {d.regime for d in result.decisions} >= {Regime.BULL, Regime.BEAR, Regime.RANGE}
    for decision in result.decisions:
        weights = AnalyticsConfig().ensemble.weights(decision.regime)
        for vote in decision.votes:
            assert vote.weight == weights.weight(vote.group)
