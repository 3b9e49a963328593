"""The liquidity forecaster on the real recorded books: fitted on the first 60% of each
recording, scored on the rest against walking the actual book at the fill time."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from tests.conftest import report_figure
from tradefabric.execution.liquidity import (
    LiquidityModel,
    Loss,
    SlippageSeries,
    evaluate_forecast,
    fit_liquidity_model,
    record_slippage,
    save_liquidity_model,
    walk_slippage_bps,
)
from tradefabric.execution.sim.venue import SimVenueConfig
from tradefabric.node.backtest import BacktestRunner
from tradefabric.node.kernel import DataConfig, ExecutionConfig, TradingConfig
from tradefabric.strategies.ema_cross import EmaCrossConfig

RECORDINGS = (
    ("spot_btcusdt_20240808.gz", "binance"),
    ("spot_ethusdt_20240808.gz", "binance"),
    ("usdm_btcusdt_20240808.gz", "binance-usdm"),
)


@pytest.fixture(scope="module")
def series(shared_data: Path) -> dict[str, SlippageSeries]:
    return {f: record_slippage(shared_data / "binance_ws" / f, v) for f, v in RECORDINGS}


def test_walk_takes_levels_in_order_until_the_notional_is_spent() -> None:
    levels = [(100.0, 1.0), (101.0, 2.0), (103.0, 5.0)]
    # 100 + 202 = 302 from the first two levels, 98 more at 103.
    size = 1.0 + 2.0 + 98.0 / 103.0
    assert walk_slippage_bps(levels, 400.0, 99.5) == pytest.approx(
        (400.0 / size - 99.5) / 99.5 * 1e4
    )
    assert walk_slippage_bps(levels, 10_000.0, 99.5) != walk_slippage_bps(levels, 10_000.0, 99.5)


@pytest.mark.slow
def test_forecast_beats_the_stale_book_out_of_sample(series: dict[str, SlippageSeries]) -> None:
    for name, s in series.items():
        assert len(s.ts) > 3000  # 6 minutes at 100 ms
        for latency_ms in (100.0, 1_000.0):
            model = fit_liquidity_model(s, latency_ms)
            report = evaluate_forecast(model, s)
            pooled = report.pooled
            assert pooled.samples > 10_000
            # Never worse than the naive forecast it contains (c1 = 1), per notional too.
            for row in report.rows:
                assert row.mae_bps <= row.naive_mae_bps + 1e-9, (name, latency_ms, row)
            if latency_ms == 1_000.0:
                # After a second the top has moved: measured decay must pay off clearly.
                assert pooled.mae_bps < 0.9 * pooled.naive_mae_bps, (name, pooled)
                # The mean (squared-loss) fit, the one a simulated venue charges, too.
                squared = evaluate_forecast(
                    fit_liquidity_model(s, latency_ms, loss=Loss.SQUARED), s
                )
                assert squared.pooled.mae_bps < squared.pooled.naive_mae_bps, (name, squared)
            big = report.rows[-2]
            report_figure(
                f"liquidity forecast {s.symbol} ({name.split('_')[0]}), latency "
                f"{latency_ms:.0f} ms, eval {pooled.samples} samples: MAE {pooled.mae_bps:.4f} "
                f"bps (naive stale book {pooled.naive_mae_bps:.4f}), median {pooled.median_bps:.4f}"
                f" (naive {pooled.naive_median_bps:.4f}); {big.notional:,.0f} USDT: MAE "
                f"{big.mae_bps:.3f} vs {big.naive_mae_bps:.3f} bps, realized mean "
                f"{big.mean_realized_bps:.3f} bps"
            )


@pytest.mark.slow
def test_forecaster_is_the_sim_venues_slippage(
    series: dict[str, SlippageSeries], shared_data: Path, tmp_path: Path
) -> None:
    model = fit_liquidity_model(series["spot_btcusdt_20240808.gz"], 1_000.0, loss=Loss.SQUARED)
    path = tmp_path / "liquidity.json"
    save_liquidity_model(path, model)
    assert msgspec.json.decode(path.read_bytes(), type=LiquidityModel) == model
    config = TradingConfig(
        seed=3,
        execution={
            "binance": ExecutionConfig(sim=SimVenueConfig(slippage_bps=1.0, liquidity_model=path))
        },
        data=DataConfig(recording=shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"),
        strategies=(EmaCrossConfig(id="ema", interval="1s", fast=3, slow=12, notional=50_000.0),),
    )
    result = BacktestRunner(config).run(tmp_path / "run")
    fills = [
        msgspec.json.decode(line)
        for line in (tmp_path / "run" / "fills.jsonl").read_bytes().splitlines()
    ]
    assert len(fills) == result.fills >= 10
    slips = [f["slippage_bps"] for f in fills]
    # Not the fixed 1 bps: each fill pays the forecast of a 50k USDT walk of the live book,
    # which on BTC/USDT spot is a few hundredths of a bp (mean realized 0.07 bps).
    assert all(0.0 < s < 0.5 for s in slips), slips
    assert 0.02 < sum(slips) / len(slips) < 0.2
    assert len(set(slips)) > 1
    report_figure(
        f"sim venue with the liquidity forecaster, 50k USDT EMA orders on BTC/USDT: "
        f"{len(fills)} fills, slippage {min(slips):.4f}..{max(slips):.4f} bps"
    )
