"""Start-up reconciliation: 10,000 open orders and 50,000 fills, target < 2 s.

Run from the repository root:

    .venv/bin/python bench/bench_reconcile.py [--orders 10000] [--fills 50000] [--json]

A restarted node holds ``--orders`` open limit orders (restored, acknowledged, as a
state store gives them back); the venue's mass status lists them all, each partly
filled, with ``--fills`` trades among them that the node has not applied (the worst
case: every fill happened while the node was down). The figure is the wall time of
``LiveVenue.reconcile("start")``: matching every reported order, applying every
trade through the execution engine (audited to a real audit file, flushed per line
as a live node does, published, applied to the portfolio), querying nothing (all
orders reported), and checking balances. The client answers from memory, so the
figure is tradefabric's own cost, not a network's. Best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.execution.live.engine import LiveVenue
from tradefabric.execution.live.protocol import LiveReports
from tradefabric.execution.live.reports import (
    BalanceReport,
    MassStatus,
    OrderStatusReport,
    TradeReport,
)
from tradefabric.model.orders import (
    LiquiditySide,
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from tradefabric.node.kernel import ExecutionConfig, InstrumentConfig, TradingConfig, TradingKernel
from tradefabric.risk.audit import AuditLog

TARGET_S = 2.0
VENUE = "benchvenue"
SYMBOL = "BTC/USDT"
T0 = 1_722_470_400_000_000_000


class MemoryClient:
    """A live client answering the mass status from memory."""

    supports_modify = False
    supports_cancel_after = False

    def __init__(self, mass: MassStatus) -> None:
        self.name = VENUE
        self.mass = mass

    async def connect(self, reports: LiveReports) -> None:
        """Take nothing: no stream."""

    async def close(self) -> None:
        """Close nothing."""

    async def submit(self, order: OrderSnapshot) -> str:
        raise NotImplementedError

    async def cancel(self, symbol: str, client_order_id: str) -> None:
        raise NotImplementedError

    async def cancel_all(self, symbol: str | None = None) -> None:
        raise NotImplementedError

    async def modify(
        self, symbol: str, client_order_id: str, quantity: float, price: float | None
    ) -> None:
        raise NotImplementedError

    async def query_order(self, symbol: str, client_order_id: str) -> OrderStatusReport | None:
        return None

    async def mass_status(self, symbols: tuple[str, ...], trades_since_ns: int) -> MassStatus:
        return self.mass

    async def heartbeat(self, timeout_s: float) -> None:
        """No dead man's switch."""


def scenario(orders: int, fills: int) -> tuple[list[OrderSnapshot], MassStatus, dict[str, float]]:
    """Return the node's restored orders, the venue's mass status and its final balances."""
    per_order = max(1, fills // orders)
    snapshots, reports, trades = [], [], []
    usdt, btc = 10_000_000.0, 0.0
    trade_n = 0
    for i in range(orders):
        cid, vid = f"s1-{i + 1}", f"V{i + 1}"
        price = 60_000.0 - (i % 500) * 0.01
        quantity = 0.001 * (per_order + 1)
        snapshots.append(
            OrderSnapshot(
                client_order_id=cid, strategy_id="s1", venue=VENUE, symbol=SYMBOL,
                side=OrderSide.BUY, order_type=OrderType.LIMIT, quantity=quantity, price=price,
                trigger_price=None, time_in_force=TimeInForce.GTC, post_only=False,
                reduce_only=False, status=OrderStatus.ACCEPTED, filled_quantity=0.0,
                avg_price=0.0, fees=0.0, tag="", ts_init=T0 + i, ts_last=T0 + i,
                venue_order_id=vid,
            )
        )  # fmt: skip
        count = per_order if i < orders - 1 else fills - per_order * (orders - 1)
        for _ in range(count):
            trade_n += 1
            fee = 0.001 * price * 0.0001
            trades.append(
                TradeReport(
                    venue=VENUE, symbol=SYMBOL, client_order_id=cid, venue_order_id=vid,
                    trade_id=f"T{trade_n}", side=OrderSide.BUY, price=price, quantity=0.001,
                    fee=fee, fee_currency="USDT", liquidity=LiquiditySide.MAKER,
                    ts_event=T0 + 1_000 + trade_n,
                )
            )  # fmt: skip
            usdt -= 0.001 * price + fee
            btc += 0.001
        reports.append(
            OrderStatusReport(
                venue=VENUE, symbol=SYMBOL, client_order_id=cid, venue_order_id=vid,
                side=OrderSide.BUY, order_type=OrderType.LIMIT,
                status=OrderStatus.PARTIALLY_FILLED, quantity=quantity, price=price,
                filled_quantity=0.001 * count, avg_price=price, ts_event=T0 + 2_000_000,
            )
        )  # fmt: skip
    balances = {"USDT": usdt, "BTC": btc}
    mass = MassStatus(
        venue=VENUE, ts_event=T0 + 3_000_000, orders=tuple(reports), trades=tuple(trades),
        balances=tuple(
            BalanceReport(venue=VENUE, asset=a, free=v, locked=0.0, ts_event=T0)
            for a, v in balances.items()
        ),
    )  # fmt: skip
    return snapshots, mass, balances


async def one_run(orders: int, fills: int, folder: Path) -> tuple[float, dict[str, int]]:
    snapshots, mass, balances = scenario(orders, fills)
    config = TradingConfig(
        execution={VENUE: ExecutionConfig()},
        balances={VENUE: {"USDT": 10_000_000.0, "BTC": 0.0}},
        instruments=(
            InstrumentConfig(
                venue=VENUE, symbol=SYMBOL, price_increment="0.01", size_increment="0.00001"
            ),
        ),
    )
    audit = AuditLog(folder / "audit.jsonl")
    live = LiveVenue(MemoryClient(mass))
    kernel = TradingKernel(config, MessageBus(), SimClock(T0), {VENUE: live}, audit=audit)
    kernel.execution.restore_orders(snapshots, {})
    started = time.perf_counter()
    summary = await live.start()
    seconds = time.perf_counter() - started
    audit.close()
    assert summary.fills_applied == fills, summary
    assert summary.orders_reported == orders
    assert summary.balances_corrected == 0, "the fills must bring the ledger exactly"
    for asset, amount in balances.items():
        held = kernel.portfolio.balance(VENUE, asset)
        assert abs(held - amount) < 1e-6 * max(1.0, abs(amount)), (asset, held, amount)
    return seconds, {"orders": orders, "fills": fills, "discrepancies": summary.discrepancies}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--fills", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    best = float("inf")
    info: dict[str, int] = {}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            seconds, info = asyncio.run(one_run(args.orders, args.fills, Path(tmp)))
        best = min(best, seconds)
    verdict = "PASS" if best < TARGET_S else "FAIL"
    if args.json:
        json.dump({**info, "seconds": best, "target_s": TARGET_S, "verdict": verdict}, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(
            f"start-up reconciliation of {info['orders']:,} open orders and {info['fills']:,} "
            f"fills: {best:.3f} s (target < {TARGET_S:.1f} s) {verdict}"
        )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
