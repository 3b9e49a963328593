"""Confidence factors, their breakdown, the macro source (local CoinGecko-shaped server)."""

from __future__ import annotations

import msgspec
import pytest

from tradefabric.analytics.confidence import ConfidenceParams, ConfidenceWeights, MarketContext
from tradefabric.analytics.config import AnalyticsConfig, config_from_data
from tradefabric.analytics.frame import CandleFrame
from tradefabric.analytics.macro import MacroReading, ReadingLog
from tradefabric.analytics.pipeline import BatchRun, run_batch
from tradefabric.analytics.signals.base import Direction, Signal
from tradefabric.core.errors import ConfigError
from tradefabric.model.data import OpenInterest, Trade
from tradefabric.model.enums import AggressorSide

HOUR = 3_600_000_000_000
T0 = 1_723_000_000 * 1_000_000_000


def _signal(asset: str = "BTC/USDT", direction: Direction = Direction.LONG, ts: int = T0) -> Signal:
    return Signal(
        source="test", venue="binance", asset=asset, interval="1m", direction=direction,
        horizon="15m", strength=0.7, evidence=(), price=60_000.0, data_ts=ts - 1, ts=ts,
    )  # fmt: skip


def test_real_signals_carry_a_breakdown_that_adds_up(btc_month: CandleFrame) -> None:
    result = run_batch(AnalyticsConfig(), BatchRun(frame=btc_month.head(10_000)))
    assert len(result.signals) > 20
    weights = ConfidenceWeights()
    for sig in result.signals:
        assert [f.name for f in sig.factors] == [
            "mtf_alignment", "volume", "whale", "macro", "reward"
        ]  # fmt: skip
        assert sum(f.contribution for f in sig.factors) == pytest.approx(sig.confidence, abs=1e-15)
        assert 0.0 <= sig.confidence <= 1.0
        for f in sig.factors:
            assert f.weight == getattr(weights, f.name)
            assert f.contribution == pytest.approx(f.weight * f.value)
            assert 0.0 <= f.value <= 1.0
            if not f.available:
                assert f.value == 0.5
        macro = next(f for f in sig.factors if f.name == "macro")
        assert not macro.available and macro.detail == "no macro source"
    assert any(f.available for s in result.signals for f in s.factors if f.name == "reward")


def test_weights_come_from_config_and_must_sum_to_one() -> None:
    config = config_from_data(
        {
            "confidence": {
                "weights": {
                    "mtf_alignment": 0.5,
                    "volume": 0.5,
                    "whale": 0.0,
                    "macro": 0.0,
                    "reward": 0.0,
                }
            }
        }
    )
    assert config.confidence.weights.mtf_alignment == 0.5
    with pytest.raises(ConfigError, match="sum to 1"):
        config_from_data({"confidence": {"weights": {"mtf_alignment": 0.9}}})


def test_whale_factor_reads_taker_flow_and_open_interest() -> None:
    context = MarketContext(ConfidenceParams(whale_notional=100_000.0))
    buy, sell = AggressorSide.BUY, AggressorSide.SELL
    for k, (side, size) in enumerate([(buy, 5.0), (buy, 3.0), (sell, 2.0), (buy, 0.1)]):
        context.on_trade(
            Trade("binance", "BTC/USDT", 60_000.0, size, side, str(k), T0 - HOUR // 2, 0)
        )
    context.on_open_interest(
        OpenInterest("binance-usdm", "BTC/USDT:USDT", 1000.0, T0 - HOUR // 2, 0)
    )
    context.on_open_interest(OpenInterest("binance-usdm", "BTC/USDT:USDT", 1010.0, T0 - 1, 0))
    long_score = {f.name: f for f in context.score(_signal()).factors}["whale"]
    short_score = {f.name: f for f in context.score(_signal(direction=Direction.SHORT)).factors}[
        "whale"
    ]
    flow_long = 0.5 + 0.5 * (8.0 - 2.0) / 10.0  # the 0.1 BTC trade is no whale
    oi = 0.5 + 20.0 * 0.01
    assert long_score.value == pytest.approx((flow_long + oi) / 2)
    assert short_score.value == pytest.approx((1.0 - flow_long + oi) / 2)
    assert long_score.available


def test_macro_factor_favours_btc_when_dominance_rises_and_never_sees_the_future() -> None:
    source = ReadingLog(
        [MacroReading(52.0, T0 - 7200 * 10**9), MacroReading(53.0, T0 - 60 * 10**9)]
    )
    context = MarketContext(ConfidenceParams(), macro=source)
    btc_long = {f.name: f for f in context.score(_signal("BTC/USDT")).factors}["macro"]
    eth_long = {f.name: f for f in context.score(_signal("ETH/USDT")).factors}["macro"]
    assert btc_long.available and btc_long.value > 0.5 > eth_long.value
    assert btc_long.value + eth_long.value == pytest.approx(1.0)
    # A backtest at an earlier time must not see readings published after it.
    past = {f.name: f for f in context.score(_signal(ts=T0 - 3 * HOUR)).factors}["macro"]
    assert not past.available and past.value == 0.5
    # Readings that stopped a window ago are no evidence either.
    stale = {f.name: f for f in context.score(_signal(ts=T0 + 30 * HOUR)).factors}["macro"]
    assert not stale.available


def test_unknown_confidence_key_names_the_path() -> None:
    with pytest.raises(ConfigError, match=r"whale_size.*confidence"):
        config_from_data({"confidence": {"whale_size": 3}})
    assert msgspec.structs.asdict(ConfidenceWeights())["macro"] == 0.15
