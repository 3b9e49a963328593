"""Backtest throughput: the full kernel next to a numpy vectorized loop, same trades.

An EMA(12/26) cross on Binance BTC/USDT 1m candles (the real month in
``../shared/data/candles_1m``, and 1,000,000 candles made by tiling it with
price continuity) runs through the full kernel: SimClock, bus, strategy, risk
engine, execution engine, simulated venue (candle matching), audit log. In the
same run the vectorized research path (numpy + TA-Lib) computes the trades of
the same rule; the benchmark fails if the two differ in any trade.

Prints candles/s of both, and the process RSS at each quarter of the kernel run
next to the orders the execution engine still holds: memory is flat because
candles are built per chunk, equity is sampled hourly, and finished orders leave
the engine's table (published once on ``ORDERS_CLOSED`` for the run record; only
the most recent 10,000 stay for lookups). The bench keeps its own copy of the
fills in flat arrays, to compare them with the vectorized trades.

    .venv/bin/python bench/bench_backtest.py [--candles 1000000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from array import array
from pathlib import Path

import numpy as np
from pyarrow import feather

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.time import NS_PER_MINUTE
from tradefabric.data import topics
from tradefabric.execution import topics as exec_topics
from tradefabric.execution.sim.exchange import SimExchangeConfig, SimulatedExchange
from tradefabric.model.data import Candle
from tradefabric.model.orders import Fill
from tradefabric.node.kernel import TradingConfig, TradingKernel
from tradefabric.risk.audit import AuditLog
from tradefabric.risk.config import RiskConfig
from tradefabric.strategies.ema_cross import EmaCrossConfig
from tradefabric.strategies.vectorized import VectorTrades, ema_cross_trades

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TRADEFABRIC_SHARED_DATA", ROOT.parent / "shared" / "data"))
MONTH = DATA / "candles_1m" / "binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather"
CHUNK = 65_536
SLIPPAGE_BPS = 1.0
NOTIONAL = 1_000.0
LOT = "0.00001"

Arrays = dict[str, np.ndarray]


def load_month() -> Arrays:
    """Return the real month as arrays (ts_open ns, open, high, low, close, volume)."""
    table = feather.read_table(MONTH)
    ts = table.column("date").cast("int64").to_numpy()
    unit = table.schema.field("date").type.unit
    scale = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}[unit]
    out = {"ts_open": ts * scale}
    for name in ("open", "high", "low", "close", "volume"):
        out[name] = table.column(name).to_numpy().astype(np.float64)
    return out


def tile(month: Arrays, n: int) -> Arrays:
    """Repeat the month to ``n`` candles; each copy is scaled to open at the last close."""
    m = len(month["close"])
    copies = -(-n // m)
    factors = np.empty(copies)
    factors[0] = 1.0
    step = month["close"][-1] / month["open"][0]
    for k in range(1, copies):
        factors[k] = factors[k - 1] * step
    per_row = np.repeat(factors, m)[:n]
    out = {"ts_open": month["ts_open"][0] + np.arange(n, dtype=np.int64) * NS_PER_MINUTE}
    for name in ("open", "high", "low", "close"):
        out[name] = np.tile(month[name], copies)[:n] * per_row
    out["volume"] = np.tile(month["volume"], copies)[:n]
    return out


def config() -> TradingConfig:
    """Return the bench's kernel config: one EMA cross, candle matching, no binding limits."""
    return TradingConfig(
        seed=1,
        venues={"binance": SimExchangeConfig(slippage_bps=SLIPPAGE_BPS, max_participation=None)},
        risk=RiskConfig(max_order_notional=1e9, max_position_notional=1e9, max_total_notional=1e9,
                        max_orders_per_window=1_000_000, daily_drawdown_pct=100.0),
        strategies=(EmaCrossConfig(id="ema", fast=12, slow=26, notional=NOTIONAL),),
    )  # fmt: skip


def rss_mb() -> float:
    """Return this process's resident memory in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


class FillArrays:
    """Fills as (ts, side sign, price, quantity) in four flat arrays (no object per fill)."""

    def __init__(self) -> None:
        self.ts = array("q")
        self.side = array("b")
        self.price = array("d")
        self.quantity = array("d")

    def __len__(self) -> int:
        return len(self.ts)

    def append(self, fill: Fill) -> None:
        """Keep one fill's numbers."""
        self.ts.append(fill.ts_event)
        self.side.append(fill.side.sign)
        self.price.append(fill.price)
        self.quantity.append(fill.quantity)


def run_kernel(
    arrays: Arrays, audit_dir: Path
) -> tuple[float, FillArrays, list[tuple[float, int]], int]:
    """Run the full kernel over ``arrays``; return seconds, fills, (RSS MB, orders held) at
    each quarter, and the orders sent in total."""
    cfg = config()
    clock = SimClock()
    bus = MessageBus()
    venues = {"binance": SimulatedExchange("binance", bus, cfg.venues["binance"], seed=cfg.seed)}
    audit = AuditLog(audit_dir / "audit.jsonl", buffered=True)
    kernel = TradingKernel(cfg, bus, clock, venues, audit=audit)
    fills = FillArrays()
    bus.subscribe(exec_topics.FILLS, fills.append)
    closed = [0]
    bus.subscribe(exec_topics.ORDERS_CLOSED, lambda _o: closed.__setitem__(0, closed[0] + 1))
    n = len(arrays["close"])
    quarters = {n * q // 4 for q in (1, 2, 3, 4)}
    rss: list[tuple[float, int]] = []
    advance, publish, topic = clock.advance_to, bus.publish, topics.CANDLES
    started = time.perf_counter()
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        ts_open = arrays["ts_open"][lo:hi].tolist()
        columns = [arrays[k][lo:hi].tolist() for k in ("open", "high", "low", "close", "volume")]
        for t, o, h, lw, c, v in zip(ts_open, *columns, strict=True):
            end = t + NS_PER_MINUTE
            candle = Candle("binance", "BTC/USDT", "1m", t, o, h, lw, c, v, 0, 0.0, c, end, end)
            advance(end)
            publish(topic, candle)
        if any(lo < q <= hi for q in quarters):
            rss.append((rss_mb(), kernel.execution.orders_held))
    seconds = time.perf_counter() - started
    kernel.finish()
    audit.close()
    return seconds, fills, rss, closed[0] + len(kernel.execution.open_order_snapshots())


def run_vectorized(arrays: Arrays, repeats: int = 5) -> tuple[float, VectorTrades]:
    """Run the vectorized path ``repeats`` times; return the best seconds and its trades."""
    best = float("inf")
    trades = None
    for _ in range(repeats):
        started = time.perf_counter()
        trades = ema_cross_trades(
            arrays["open"], arrays["close"], (12, 26, NOTIONAL), LOT, SLIPPAGE_BPS
        )
        best = min(best, time.perf_counter() - started)
    assert trades is not None
    return best, trades


def same_trades(arrays: Arrays, fills: FillArrays, trades: VectorTrades) -> str:
    """Return "" when kernel fills and vectorized trades are identical, else what differs."""
    if len(fills) != len(trades):
        return f"{len(fills)} kernel fills vs {len(trades)} vectorized trades"
    ts = arrays["ts_open"][trades.index]
    for k in range(len(fills)):
        expected = (
            int(ts[k]),
            int(trades.side[k]),
            float(trades.price[k]),
            float(trades.quantity[k]),
        )
        got = (fills.ts[k], fills.side[k], fills.price[k], fills.quantity[k])
        if got != expected:
            return f"trade {k}: kernel {got} vs vectorized {expected}"
    return ""


def bench(name: str, arrays: Arrays) -> bool:
    """Run both paths on one data set, print the figures; return True if trades agree."""
    n = len(arrays["close"])
    with tempfile.TemporaryDirectory() as tmp:
        seconds, fills, rss, orders = run_kernel(arrays, Path(tmp))
    vec_seconds, trades = run_vectorized(arrays)
    diff = same_trades(arrays, fills, trades)
    print(f"{name}: {n:,} candles, {len(fills):,} fills")
    print(f"  kernel (bus, strategy, risk, sim fills) {n / seconds:>14,.0f} candles/s  "
          f"({seconds:.2f} s)  target >= 200,000")  # fmt: skip
    print(f"  numpy vectorized loop                  {n / vec_seconds:>14,.0f} candles/s  "
          f"({vec_seconds * 1e3:.1f} ms)  target >= 10,000,000")  # fmt: skip
    print("  RSS at 25/50/75/100% of the kernel run: " + " / ".join(f"{r:.0f} MB" for r, _ in rss)
          + f"  (growth from 25% to 100%: {rss[-1][0] - rss[0][0]:+.1f} MB)")  # fmt: skip
    print("  orders held by the execution engine at 25/50/75/100%: "
          + " / ".join(f"{h:,}" for _, h in rss) + f" of {orders:,} sent")  # fmt: skip
    print(f"  same trades: {'yes' if not diff else 'NO: ' + diff}")
    return not diff


def main() -> int:
    """Run the benchmark on the real month and on the tiled series."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--candles", type=int, default=1_000_000)
    args = parser.parse_args()
    month = load_month()
    ok = bench("real month BTC/USDT 1m", month)
    ok &= bench(f"tiled month ({args.candles:,})", tile(month, args.candles))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
