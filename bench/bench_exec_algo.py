"""Child-order scheduling overhead of the execution algorithms, next to a bare submit.

Run from the repository root:

    .venv/bin/python bench/bench_exec_algo.py [--rounds 200] [--children 20] [--json]

One kernel on a ``SimClock`` (risk engine, execution engine, audit log, simulated venue
with candle matching, the execution algorithm engine), driven as a backtest drives it.
Each round does both paths on the same kernel, so they share its state and load:

- ``bare`` (the floor): ``ExecutionEngine.submit`` of a market order, as a strategy
  sends one (risk check, audit line, order event, venue).
- ``child``: a TWAP parent's slice as the algorithm clock fires it: the market trade
  that moves the algorithm clock past the slice time is published on the bus and the
  time until ``publish`` returns is taken (timer dispatch, the TWAP's slice, spawn,
  the child's pre-trade mark, the same ``ExecutionEngine.submit``, the parent's event).
  A trade that fires no slice is timed too and subtracted: what is left is what the
  algorithm adds around the submit it makes.

Each round starts with a 1m candle that fills the last round's orders (so open orders
do not pile up); the two paths alternate within it, so each sees as many open orders
(the risk check's cost grows with them). Prints the median and p99 per order of both
paths, the per-child overhead and the ratio child / bare.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.time import NS_PER_MINUTE, NS_PER_SECOND
from tradefabric.data import topics
from tradefabric.execution.sim.exchange import SimExchangeConfig, SimulatedExchange
from tradefabric.model.data import AggressorSide, Candle, Trade
from tradefabric.model.orders import OrderRequest, OrderSide, TwapParams
from tradefabric.node.kernel import ExecutionConfig, TradingConfig, TradingKernel
from tradefabric.risk.audit import AuditLog
from tradefabric.risk.config import RiskConfig

T0 = 1_722_470_400_000_000_000  # 2024-08-01 00:00 UTC
PRICE = 61_800.0
QUANTITY = 0.001


class Bench:
    """The kernel and the market events that drive it."""

    def __init__(self, audit_dir: Path) -> None:
        risk = RiskConfig(
            max_open_orders=10**6, max_orders_per_window=10**9, max_order_notional=1e12,
            max_position_notional=1e12, max_total_notional=1e12,
        )  # fmt: skip
        self.config = TradingConfig(
            execution={"binance": ExecutionConfig(sim=SimExchangeConfig())},
            risk=risk, balances={"binance": {"USDT": 1e12}},
        )  # fmt: skip
        self.clock = SimClock(T0)
        self.bus = MessageBus()
        venue = SimulatedExchange("binance", self.bus, self.config.execution["binance"].sim, seed=1)
        self.audit = AuditLog(audit_dir / "audit.jsonl", buffered=True)
        self.kernel = TradingKernel(
            self.config, self.bus, self.clock, {"binance": venue}, audit=self.audit
        )
        self.minute = 0
        self.trade_id = 0

    def candle(self) -> int:
        """Publish the next 1m candle (fills the open market orders); return its end."""
        ts_open = T0 + self.minute * NS_PER_MINUTE
        self.minute += 1
        end = ts_open + NS_PER_MINUTE
        candle = Candle("binance", "BTC/USDT", "1m", ts_open, PRICE, PRICE + 5, PRICE - 5,
                        PRICE, 10.0, 1, 0.0, PRICE, end, end)  # fmt: skip
        self.clock.advance_to(end)
        self.bus.publish(topics.CANDLES, candle)
        return end

    def trade(self, ts: int) -> int:
        """Publish one market trade at ``ts``; return how long ``publish`` took (ns)."""
        self.trade_id += 1
        trade = Trade("binance", "BTC/USDT", PRICE, 0.01, AggressorSide.BUY,
                      str(self.trade_id), ts, ts)  # fmt: skip
        t0 = time.perf_counter_ns()
        self.bus.publish(topics.TRADES, trade)
        return time.perf_counter_ns() - t0


def run(rounds: int, children: int) -> dict[str, object]:
    """Run the bench; return its figures (ns per order)."""
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(Path(tmp))
        execution, algorithms = bench.kernel.execution, bench.kernel.algorithms
        bare: list[int] = []
        fired: list[int] = []
        idle: list[int] = []
        request = OrderRequest(strategy_id="bench", venue="binance", symbol="BTC/USDT",
                               side=OrderSide.BUY, quantity=QUANTITY)  # fmt: skip
        params = TwapParams(horizon_s=float(children), interval_s=1.0, jitter=0.0)
        for _ in range(rounds):
            start = bench.candle()
            bench.trade(start)  # the algorithm clock at the round's start
            parent = OrderRequest(
                strategy_id="bench", venue="binance", symbol="BTC/USDT", side=OrderSide.BUY,
                quantity=QUANTITY * children, exec_algorithm="twap", exec_params=params,
            )  # fmt: skip
            algorithms.submit(parent)  # its first slice goes now (not timed)
            execution.submit(request)  # as many open orders for both paths from here on
            for k in range(1, children):
                due = start + k * NS_PER_SECOND
                idle.append(bench.trade(due - NS_PER_SECOND // 2))  # fires nothing
                t0 = time.perf_counter_ns()
                execution.submit(request)
                bare.append(time.perf_counter_ns() - t0)
                fired.append(bench.trade(due))  # fires slice k + 1: one child
        sent = algorithms.children_sent
        bench.audit.close()
    expected = rounds * children
    if sent != expected:
        raise SystemExit(f"the TWAPs sent {sent} children, expected {expected}")
    return _figures(np.array(bare), np.array(fired), np.array(idle), sent)


def _figures(bare: np.ndarray, fired: np.ndarray, idle: np.ndarray, sent: int) -> dict[str, object]:
    idle_median = float(np.median(idle))
    child = fired - idle_median
    bare_median = float(np.median(bare))
    child_median = float(np.median(child))
    return {
        "children": sent,
        "timed": len(fired),
        "bare_submit_ns": {"median": bare_median, "p99": float(np.percentile(bare, 99))},
        "child_ns": {"median": child_median, "p99": float(np.percentile(child, 99))},
        "trade_without_slice_ns": idle_median,
        "overhead_per_child_ns": child_median - bare_median,
        "ratio_child_over_bare": child_median / bare_median if bare_median else float("nan"),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
    }


def main() -> None:
    """Parse the arguments, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--children", type=int, default=20, help="TWAP slices per round")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.children < 2 or args.children > 50:
        raise SystemExit("--children: 2..50 (the slices of a round fit in its minute)")
    result = run(args.rounds, args.children)
    if args.json:
        print(json.dumps(result))
        return
    bare, child = result["bare_submit_ns"], result["child_ns"]
    assert isinstance(bare, dict) and isinstance(child, dict)
    print(f"{result['timed']} timed TWAP children ({result['children']} sent) and as many bare "
          "submits, alternating on one kernel")  # fmt: skip
    for name, figures in (("bare submit", bare), ("TWAP child", child)):
        print(f"{name:<14} median {figures['median'] / 1e3:8.2f} us   "
              f"p99 {figures['p99'] / 1e3:8.2f} us")  # fmt: skip
    print(f"(a trade firing no slice, {result['trade_without_slice_ns'] / 1e3:.2f} us, is "
          "subtracted from each child)")  # fmt: skip
    print(f"overhead per child {result['overhead_per_child_ns'] / 1e3:.2f} us; "
          f"ratio child / bare {result['ratio_child_over_bare']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
