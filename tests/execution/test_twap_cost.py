"""A TWAP over the recorded BTC/USDT book pays what the liquidity forecaster predicted, within
the error the forecaster measured out of sample on the same recording."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import report_figure
from tests.execution.test_exec_algorithms import RECORDING, STRATEGY, parents, records
from tradefabric.execution.liquidity import (
    Loss,
    evaluate_forecast,
    fit_liquidity_model,
    record_slippage,
    save_liquidity_model,
)
from tradefabric.execution.sim.exchange import Matching, SimExchangeConfig
from tradefabric.execution.sim.latency import LatencyConfig
from tradefabric.node.backtest import BacktestRunner
from tradefabric.node.kernel import DataConfig, ExecutionConfig, TradingConfig
from tradefabric.risk.config import RiskConfig
from tradefabric.strategies.plugin import PluginStrategyConfig

CHILD_NOTIONAL = 10_000.0
LATENCY_MS = 100.0


@pytest.mark.slow
def test_twap_cost_is_the_forecast_within_its_measured_error(
    shared_data: Path, tmp_path: Path
) -> None:
    recording = shared_data / "binance_ws" / RECORDING
    series = record_slippage(recording, "binance")
    model = fit_liquidity_model(series, LATENCY_MS, loss=Loss.SQUARED)
    row = next(r for r in evaluate_forecast(model, series).rows if r.notional == CHILD_NOTIONAL)
    model_path = tmp_path / "liquidity.json"
    save_liquidity_model(model_path, model)
    # 24 slices of ~10k USDT over 2 minutes, all in the forecaster's evaluation part (the
    # last 40% of the 6 minutes): sent on the 230th 1 s candle.
    quantity = round(24 * CHILD_NOTIONAL / 61_800.0, 5)
    config = TradingConfig(
        seed=11,
        execution={"binance": ExecutionConfig(sim=SimExchangeConfig(
            matching=Matching.BOOK, latency=LatencyConfig(ms=LATENCY_MS),
            liquidity_model=model_path))},
        data=DataConfig(recording=recording, venue="binance", symbols=("BTC/USDT",)),
        balances={"binance": {"USDT": 1_000_000.0}},
        risk=RiskConfig(max_order_notional=400_000.0, max_position_notional=400_000.0,
                        max_orders_per_window=1_000),
        strategies=(PluginStrategyConfig(class_path=STRATEGY, id="twap", interval="1s", params={
            "algorithm": "twap", "quantity": quantity, "after_candles": 230,
            "exec_params": {"type": "twap", "horizon_s": 120.0, "interval_s": 5.0,
                            "jitter": 0.3}}),),
    )  # fmt: skip
    run_dir = tmp_path / "run"
    BacktestRunner(config).run(run_dir)
    (parent,) = parents(run_dir)
    assert parent.status == "filled" and len(parent.children) == 24
    by_child: dict[str, list[tuple[float, float, float]]] = {}
    for f in records(run_dir, "fills.jsonl"):
        by_child.setdefault(f["client_order_id"], []).append(
            (f["price"], f["quantity"], f["slippage_bps"])
        )
    realized, forecast, shortfall = [], [], []
    for mark in parent.marks:
        assert mark.mid is not None and mark.forecast_bps is not None and mark.spread is not None
        fills = by_child[mark.client_order_id]
        size = sum(q for _, q, _ in fills)
        vwap = sum(p * q for p, q, _ in fills) / size
        # What the forecaster forecasts: the walk of the book at the fill against its mid
        # (the fill's slippage against the touch, plus half the spread), not the drift of
        # the mid during the latency, which nothing forecasts.
        walk = sum(s * q for _, q, s in fills) / size
        realized.append(walk + mark.spread / 2 / mark.mid * 1e4)
        shortfall.append((vwap - mark.mid) / mark.mid * 1e4)  # a buy: above the mid costs
        forecast.append(mark.forecast_bps)
    errors = [f - r for f, r in zip(forecast, realized, strict=True)]
    mae = sum(abs(e) for e in errors) / len(errors)
    mean_realized = sum(realized) / len(realized)
    mean_forecast = sum(forecast) / len(forecast)
    report_figure(
        f"TWAP 24 x 10k USDT on recorded BTC/USDT book, latency {LATENCY_MS:.0f} ms: realized "
        f"{mean_realized:.4f} bps vs forecast {mean_forecast:.4f} bps; child MAE {mae:.4f} bps "
        f"vs forecaster's measured MAE {row.mae_bps:.4f} bps ({row.samples} samples, "
        f"naive {row.naive_mae_bps:.4f}); shortfall vs the decision mid (drift included) "
        f"{sum(shortfall) / len(shortfall):.4f} bps"
    )
    # The TWAP's mean cost is the mean forecast within one forecast's measured error, and
    # its children miss by no more than the forecaster does on the recording (1.5x: 24
    # children, a skewed error).
    assert abs(mean_realized - mean_forecast) <= row.mae_bps
    assert mae <= 1.5 * row.mae_bps
    assert sum(realized) > 0  # a buy walking the asks pays, never earns
