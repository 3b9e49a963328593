"""Execution algorithms on the real recorded BTC/USDT book (book matching), in a backtest and
through the fake venue in paper trading: the same children, fills routed to the parent."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.conftest import report_figure
from tradefabric.demo.fake_venue import paper_on_fake_venue
from tradefabric.execution.sim.exchange import Matching, SimExchangeConfig
from tradefabric.execution.sim.latency import LatencyConfig
from tradefabric.model.orders import ParentSnapshot
from tradefabric.node.backtest import BacktestRunner
from tradefabric.node.kernel import DataConfig, ExecutionConfig, FeedConfig, TradingConfig
from tradefabric.risk.config import RiskConfig
from tradefabric.strategies.plugin import PluginStrategyConfig

RECORDING = "spot_btcusdt_20240808.gz"
STRATEGY = "tests.execution.algo_strategy:ParentOnce"


def algo_config(recording: Path, params: dict[str, Any], *, seed: int = 5) -> TradingConfig:
    """A backtest (and paper) config: book matching on ``recording``, one ParentOnce."""
    return TradingConfig(
        seed=seed,
        execution={
            "binance": ExecutionConfig(
                sim=SimExchangeConfig(matching=Matching.BOOK, latency=LatencyConfig(ms=50.0))
            )
        },
        data=DataConfig(recording=recording, venue="binance", symbols=("BTC/USDT",)),
        feeds={"binance": FeedConfig(symbols=("BTC/USDT",))},
        risk=RiskConfig(max_orders_per_window=1_000),
        strategies=(
            PluginStrategyConfig(class_path=STRATEGY, id="algo", interval="1s", params=params),
        ),
    )


def parents(run_dir: Path) -> list[ParentSnapshot]:
    lines = (run_dir / "parents.jsonl").read_bytes().splitlines()
    return [msgspec.json.decode(line, type=ParentSnapshot) for line in lines]


def records(run_dir: Path, name: str) -> list[dict[str, Any]]:
    return [msgspec.json.decode(line) for line in (run_dir / name).read_bytes().splitlines()]


def children(run_dir: Path) -> list[tuple[Any, ...]]:
    """The child orders as the venue saw them (no node-clock fields)."""
    keys = ("client_order_id", "side", "order_type", "quantity", "price", "time_in_force",
            "post_only", "status", "filled_quantity", "avg_price", "fees")  # fmt: skip
    return [tuple(o[k] for k in keys) for o in records(run_dir, "orders.jsonl")]


def fills(run_dir: Path) -> list[tuple[Any, ...]]:
    keys = ("client_order_id", "price", "quantity", "fee", "liquidity", "ts_event")
    return [tuple(f[k] for k in keys) for f in records(run_dir, "fills.jsonl")]


def _check_parent(run_dir: Path) -> ParentSnapshot:
    (parent,) = parents(run_dir)
    orders = records(run_dir, "orders.jsonl")
    assert [o["client_order_id"] for o in orders] == list(parent.children)
    assert parent.filled_quantity == pytest.approx(sum(o["filled_quantity"] for o in orders))
    assert parent.filled_quantity <= parent.quantity + 1e-12
    got = fills(run_dir)
    notional = sum(f[1] * f[2] for f in got)
    if parent.filled_quantity > 0:
        assert parent.avg_price == pytest.approx(notional / parent.filled_quantity)
    assert parent.fees == pytest.approx(sum(f[3] for f in got))
    return parent


CASES: dict[str, dict[str, Any]] = {
    "twap": {
        "algorithm": "twap",
        "quantity": 0.3,
        "exec_params": {"type": "twap", "horizon_s": 120.0, "interval_s": 10.0, "jitter": 0.4,
                        "delay_ms": 200.0},
    },
    "iceberg": {
        "algorithm": "iceberg",
        "side": "sell",
        "quantity": 0.05,
        "price_offset_bps": 0.5,
        "exec_params": {"type": "iceberg", "visible": 0.01, "size_jitter": 0.3,
                        "refresh_ms": 800.0},
    },
    "peg": {
        "algorithm": "peg",
        "quantity": 0.02,
        "exec_params": {"type": "peg", "repeg_ticks": 1, "min_repeg_ms": 500.0},
    },
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_algorithm_on_the_recorded_book_backtest_equals_paper(
    name: str, shared_data: Path, tmp_path: Path
) -> None:
    recording = shared_data / "binance_ws" / RECORDING
    config = algo_config(recording, CASES[name])
    BacktestRunner(config).run(tmp_path / "backtest")
    asyncio.run(paper_on_fake_venue(config, recording, tmp_path / "paper"))
    parent = _check_parent(tmp_path / "backtest")
    assert children(tmp_path / "paper") == children(tmp_path / "backtest")
    assert fills(tmp_path / "paper") == fills(tmp_path / "backtest")
    paper_parent = _check_parent(tmp_path / "paper")
    assert paper_parent.children == parent.children
    assert paper_parent.filled_quantity == parent.filled_quantity
    report_figure(
        f"exec algo {name} on recorded BTC/USDT book: {len(parent.children)} children, "
        f"filled {parent.filled_quantity:g}/{parent.quantity:g} at {parent.avg_price:.2f} "
        f"(arrival {parent.arrival_price:.2f}), status {parent.status}; paper identical"
    )


def _backtest(shared_data: Path, tmp_path: Path, params: dict[str, Any]) -> Path:
    run_dir = tmp_path / "run"
    BacktestRunner(algo_config(shared_data / "binance_ws" / RECORDING, params)).run(run_dir)
    return run_dir


def test_twap_slices_on_schedule_with_bounded_jitter(shared_data: Path, tmp_path: Path) -> None:
    run_dir = _backtest(shared_data, tmp_path, CASES["twap"])
    parent = _check_parent(run_dir)
    orders = records(run_dir, "orders.jsonl")
    assert parent.status == "filled" and len(orders) == 12
    assert {o["quantity"] for o in orders} == {0.025}
    assert {o["order_type"] for o in orders} == {"market"}
    starts = [o["ts_init"] for o in orders]
    gaps = [(b - a) / 1e9 for a, b in itertools.pairwise(starts)]
    # 10 s slices, each moved by up to +-20% (jitter 0.4) and sent up to 0.2 s late.
    assert all(10.0 * 0.6 - 0.2 <= g <= 10.0 * 1.4 + 0.2 for g in gaps), gaps
    assert len({round(g, 3) for g in gaps}) > 5  # jittered, not a fixed grid
    assert parent.forecast_bps is not None and 0.0 < parent.forecast_bps < 5.0


def test_peg_rests_post_only_at_the_touch_and_repegs(shared_data: Path, tmp_path: Path) -> None:
    run_dir = _backtest(shared_data, tmp_path, CASES["peg"])
    parent = _check_parent(run_dir)
    orders = records(run_dir, "orders.jsonl")
    assert all(o["post_only"] and o["order_type"] == "limit" for o in orders)
    assert len(orders) > 1  # the book moved away: cancelled and sent again
    assert [o["status"] for o in orders[:-1]] == ["cancelled"] * (len(orders) - 1)
    assert parent.status == "filled" and parent.maker_quantity == pytest.approx(0.02)
    prices = [o["price"] for o in orders]
    assert prices == sorted(prices)  # a buy following a rising bid


def test_iceberg_shows_randomized_clips(shared_data: Path, tmp_path: Path) -> None:
    run_dir = _backtest(shared_data, tmp_path, CASES["iceberg"])
    parent = _check_parent(run_dir)
    clips = [o["quantity"] for o in records(run_dir, "orders.jsonl")]
    assert parent.status == "filled" and sum(clips) == pytest.approx(0.05)
    assert all(0.007 - 1e-9 <= c <= 0.013 + 1e-9 for c in clips[:-1]), clips
    assert len(set(clips)) > 1


def test_cancelling_the_parent_cancels_its_children(shared_data: Path, tmp_path: Path) -> None:
    params = {"algorithm": "peg", "quantity": 0.02, "cancel_after_candles": 3,
              "exec_params": {"type": "peg", "offset_ticks": 5_000}}  # fmt: skip
    run_dir = _backtest(shared_data, tmp_path, params)
    parent = _check_parent(run_dir)
    assert parent.status == "cancelled" and parent.filled_quantity == 0.0
    statuses = [o["status"] for o in records(run_dir, "orders.jsonl")]
    assert statuses and set(statuses) == {"cancelled"}


def test_risk_checks_the_parent_once(shared_data: Path, tmp_path: Path) -> None:
    params = {"algorithm": "twap", "quantity": 2.0}  # ~124k USDT > max_order_notional 50k
    run_dir = _backtest(shared_data, tmp_path, params)
    (parent,) = parents(run_dir)
    assert parent.status == "rejected" and parent.children == ()
    assert "notional" in parent.reason
    rejections = records(run_dir, "risk_rejections.jsonl")
    assert [r["client_order_id"] for r in rejections] == [parent.parent_id]
