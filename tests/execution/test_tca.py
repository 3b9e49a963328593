"""Transaction cost analysis of a backtest on the real recorded BTC/USDT book: a TWAP and a peg,
the pre-trade forecasts from the liquidity forecaster fitted on the same recording, every figure
recomputed here from the run folder's fills and the recording's own trades."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.conftest import report_figure
from tests.execution.test_exec_algorithms import CASES, RECORDING, STRATEGY, algo_config, records
from tradefabric.execution.liquidity import (
    Loss,
    fit_liquidity_model,
    record_slippage,
    save_liquidity_model,
)
from tradefabric.execution.tca import RunCosts
from tradefabric.model.orders import ParentSnapshot
from tradefabric.node.backtest import BacktestRunner
from tradefabric.ops.report import build_daily_report, write_daily_report
from tradefabric.strategies.plugin import PluginStrategyConfig


def _market_trades(recording: Path) -> list[tuple[int, float, float]]:
    """(trade time ns, price, quantity) of every trade frame in the recording."""
    out = []
    with gzip.open(recording, "rt") as f:
        for line in f:
            _, frame = line.split(" ", 1)
            if "@trade" not in frame[:40]:
                continue
            data = json.loads(frame)["data"]
            out.append((int(data["T"]) * 1_000_000, float(data["p"]), float(data["q"])))
    return out


def _tca(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradefabric", "tca", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _expected(parent: ParentSnapshot, fills: list[dict[str, Any]]) -> dict[str, float]:
    mine = [f for f in fills if f["client_order_id"] in parent.children]
    qty = sum(f["quantity"] for f in mine)
    notional = sum(f["price"] * f["quantity"] for f in mine)
    avg = notional / qty
    sign = 1.0 if parent.side == "buy" else -1.0
    assert parent.arrival_price is not None
    child_cost = child_forecast = 0.0
    for mark in parent.marks:
        got = [f for f in mine if f["client_order_id"] == mark.client_order_id]
        n = sum(f["price"] * f["quantity"] for f in got)
        q = sum(f["quantity"] for f in got)
        if q and mark.mid is not None and mark.forecast_bps is not None:
            child_cost += sign * (n / q - mark.mid) / mark.mid * 1e4 * n
            child_forecast += mark.forecast_bps * n
    return {
        "filled": qty, "notional": notional, "avg_price": avg,
        "fill_ratio": qty / parent.quantity, "fees": sum(f["fee"] for f in mine),
        "maker_share": sum(f["quantity"] for f in mine if f["liquidity"] == "maker") / qty,
        "slippage_bps": sign * (avg - parent.arrival_price) / parent.arrival_price * 1e4,
        "vs_forecast_bps": (child_cost - child_forecast) / notional,
    }  # fmt: skip


def test_tca_of_a_twap_and_a_peg_backtest(shared_data: Path, tmp_path: Path) -> None:
    recording = shared_data / "binance_ws" / RECORDING
    config = algo_config(recording, CASES["twap"])
    # The pre-trade forecast is the liquidity forecaster's, fitted on the same recording.
    model_path = tmp_path / "liquidity.json"
    save_liquidity_model(model_path, fit_liquidity_model(record_slippage(recording, "binance"),
                                                         50.0, loss=Loss.SQUARED))  # fmt: skip
    venue = config.execution["binance"]
    sim = msgspec.structs.replace(venue.sim, liquidity_model=model_path)
    config = msgspec.structs.replace(
        config, execution={"binance": msgspec.structs.replace(venue, sim=sim)}
    )
    peg = PluginStrategyConfig(class_path=STRATEGY, id="peg", interval="1s", params={
        **CASES["peg"], "after_candles": 60})  # fmt: skip
    config = msgspec.structs.replace(config, strategies=(*config.strategies, peg))
    run_dir = tmp_path / "run"
    BacktestRunner(config).run(run_dir)

    result = _tca("--run", str(run_dir), "--json")
    assert result.returncode == 0, result.stderr
    costs = msgspec.json.decode(result.stdout, type=RunCosts)
    parents = {
        p.parent_id: p
        for p in (msgspec.json.decode(line, type=ParentSnapshot)
                  for line in (run_dir / "parents.jsonl").read_bytes().splitlines())
    }  # fmt: skip
    assert sorted(c.algorithm for c in costs.parents) == ["peg", "twap"]
    fills = records(run_dir, "fills.jsonl")
    trades = _market_trades(recording)
    for cost in costs.parents:
        parent = parents[cost.parent_id]
        want = _expected(parent, fills)
        for key, value in want.items():
            assert getattr(cost, key) == pytest.approx(value, rel=1e-9, abs=1e-12), key
        # The market's VWAP over the parent's life, from the recording's trade frames.
        window = [(p, q) for t, p, q in trades if parent.ts_init < t <= parent.ts_last]
        vwap = sum(p * q for p, q in window) / sum(q for _, q in window)
        assert cost.market_vwap == pytest.approx(vwap, rel=1e-7)
        assert cost.vwap_slippage_bps == pytest.approx(
            (1 if parent.side == "buy" else -1) * (want["avg_price"] - vwap) / vwap * 1e4,
            abs=1e-2,
        )
        assert cost.children == len(parent.children) and cost.fill_ratio == pytest.approx(1.0)
        assert cost.forecast_bps is not None and all(m.forecast_bps for m in parent.marks)
    by_algo = {c.algorithm: c for c in costs.parents}
    assert by_algo["peg"].maker_share == 1.0 and by_algo["twap"].maker_share == 0.0
    (day,) = costs.days
    notional = sum(c.notional for c in costs.parents)
    assert day.parents == 2 and day.notional == pytest.approx(notional)
    assert day.slippage_bps == pytest.approx(
        sum(c.slippage_bps * c.notional for c in costs.parents if c.slippage_bps is not None)
        / notional
    )
    # The daily report carries the same day and parents.
    report, *_ = build_daily_report(run_dir, day.day)
    assert report.tca == day and report.tca_parents == costs.parents
    page = write_daily_report(run_dir, day.day).html.read_text()
    assert "<h2>Transaction costs</h2>" in page and by_algo["twap"].parent_id in page
    table = _tca("--run", str(run_dir))
    assert table.returncode == 0 and by_algo["peg"].parent_id in table.stdout
    twap = by_algo["twap"]
    report_figure(
        f"TCA on recorded BTC/USDT: twap {twap.filled:g} in {twap.children} children, "
        f"{twap.slippage_bps:+.2f} bps vs arrival, {twap.vwap_slippage_bps:+.2f} vs VWAP, "
        f"{twap.vs_forecast_bps:+.2f} vs forecast; peg maker {by_algo['peg'].maker_share:.0%}"
    )


def test_tca_refuses_what_is_not_a_run_folder(tmp_path: Path) -> None:
    missing = _tca("--run", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no such run folder" in missing.stderr
    assert "Traceback" not in missing.stderr
    empty = _tca("--run", str(tmp_path))
    assert empty.returncode == 2 and "not a run folder (no fills.jsonl)" in empty.stderr
    (tmp_path / "fills.jsonl").write_text("")
    (tmp_path / "parents.jsonl").write_text('{"parent_id": 3}\n')
    broken = _tca("--run", str(tmp_path))
    assert broken.returncode == 2 and "parents.jsonl line 1: not a ParentSnapshot" in broken.stderr
