"""kill -9 a live node trading on the fake Binance spot venue 20 times, the venue matching.

The fake venue (``venues/fakevenue``: Binance's signed WebSocket API and user stream, its
ledger matching resting orders against the replayed trades of 2024-08-08) runs in this
process on real sockets and keeps replaying while the node is down. The node is a real
``tradefabric run`` process with the native Binance spot client and
``tests.node.live_trader:RestingBuyer`` (buys resting just under the bid, partly
filled by the replay, some cancelled). Each round: start it, kill it -9 at a random
moment, then start a node without strategies on the same state store in this process;
once its start-up reconciliation is done its orders, fills, positions and balances must
equal the venue's ledger (waited on: fills keep streaming), and the ledger must never
have received the same order twice.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT, report_figure
from tests.execution.live.harness import until
from tests.venues.binance_private.conftest import HMAC_KEY, HMAC_SECRET, Venue, spot_venue  # noqa: F401
from tradefabric.execution.live.heartbeat import read_heartbeat
from tradefabric.model.identifiers import InstrumentId
from tradefabric.node.kernel import load_config
from tradefabric.node.paper import PaperRunner
from tradefabric.node.trading_node import RunMode, TradingNode

ROUNDS = int(os.environ.get("TF_KILL9_ROUNDS", "20"))


def write_config(tmp: Path, venue: Venue, *, trading: bool) -> Path:
    bid, _ = venue.book_touch()
    raw: dict[str, Any] = {
        "execution": {"binance": {"mode": "live", "live": {
            "credentials": {"api_key_env": "TF_BINANCE_KEY", "api_secret_env": "TF_BINANCE_SECRET"},
            "rest_url": venue.server.http_url, "ws_url": f"{venue.server.ws_url}/ws-api/v3",
            "reconcile_interval_s": 0.5, "query_backoff_s": [0.05, 0.1, 0.2, 0.5],
        }}},
        "balances": {"binance": {"USDT": 100_000.0, "BTC": 1.0, "ETH": 10.0}},
        "state": {"backend": "sqlite", "path": str(tmp / "state.db")},
        "guard": {"heartbeat_file": str(tmp / "heartbeat.json"), "interval_s": 0.2,
                  "timeout_s": 5.0},
        "output_dir": str(tmp / "runs"),
    }  # fmt: skip
    if trading:
        raw["strategies"] = [{
            "class": "tests.node.live_trader:RestingBuyer", "id": "buyer", "venue": "binance",
            "params": {"every_ms": 80, "resting": 5, "price": round(bid - 0.5, 2),
                       "step": 0.5, "quantity": 0.008},
        }]  # fmt: skip
    path = tmp / ("trade.yaml" if trading else "check.yaml")
    path.write_text(yaml.safe_dump(raw))
    return path


def env() -> dict[str, str]:
    return {**os.environ, "TF_BINANCE_KEY": HMAC_KEY, "TF_BINANCE_SECRET": HMAC_SECRET,
            "PYTHONPATH": f"{REPO_ROOT / 'src'}:{REPO_ROOT}"}  # fmt: skip


def mismatch(node: TradingNode, venue: Venue) -> str:
    """Return how the node differs from the venue's ledger ("" when it equals it)."""
    exchange = venue.exchange
    execution = node.kernel.execution
    for order in exchange._orders.values():  # the whole ledger, closed orders too
        held = execution.order(order.params.client_order_id)
        if held is None:
            return f"venue order {order.id} ({order.params.client_order_id}) unknown"
        if (held.status, held.venue_order_id) != (order.status, str(order.id)):
            return f"{held.client_order_id}: {held.status} vs venue {order.status}"
        if abs(held.filled_quantity - order.filled) > 1e-12:
            return f"{held.client_order_id}: filled {held.filled_quantity} vs {order.filled}"
    ours = sorted((f.client_order_id, f.fill_id, f.quantity) for f in node.recorder.store.fills())  # type: ignore[union-attr]
    theirs = sorted((f.client_order_id, str(f.trade_id), f.quantity) for f in exchange.fills)
    if ours != theirs:
        return f"fills differ: {len(ours)} node, {len(theirs)} venue"
    for balance in exchange.account.balances():
        held_amount = node.kernel.portfolio.balance("binance", balance.asset)
        total = balance.free + balance.locked
        # Float sums in another order than the venue's ledger: equal to 1e-12 relative.
        if abs(held_amount - total) > 1e-12 * max(1.0, abs(total)):
            return f"{balance.asset}: {held_amount} vs {total}"
    btc = node.kernel.portfolio.quantity(InstrumentId("binance", "BTC/USDT"))
    if abs(btc - sum(f.quantity * f.side.sign for f in exchange.fills)) > 1e-12:
        return f"position {btc}"
    return ""


async def one_round(n: int, tmp: Path, venue: Venue, rng: random.Random) -> None:
    trade = write_config(tmp, venue, trading=True)
    log = (tmp / f"node-{n}.log").open("wb")
    node = subprocess.Popen(
        [sys.executable, "-m", "tradefabric", "run", "-c", str(trade), "--out", str(tmp / "run")],
        env=env(), cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    began = time.time_ns()
    try:
        beat = lambda: (b := read_heartbeat(tmp / "heartbeat.json")) is not None and b.ts_ns > began  # noqa: E731
        await until(beat, 60)
        await asyncio.sleep(rng.uniform(0.1, 2.0))  # the random kill point
    finally:
        node.send_signal(signal.SIGKILL)
        node.wait(timeout=10)
        log.close()
    built: list[TradingNode] = []
    check = PaperRunner(load_config(write_config(tmp, venue, trading=False)), mode=RunMode.LIVE,
                        on_node=built.append)  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.create_task(check.run(tmp / "check", stop))
    try:
        await until(lambda: bool(built) and bool(built[0].live_venues["binance"].summaries), 30)
        await until(lambda: not mismatch(built[0], venue), 15)
    except AssertionError as exc:
        why = mismatch(built[0], venue) if built else "the check node did not start"
        raise AssertionError(f"round {n}: {why}") from exc
    finally:
        stop.set()
        await task


@pytest.mark.slow
async def test_kill_9_twenty_times_on_the_fake_binance(
    spot_venue: Venue,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TF_BINANCE_KEY", HMAC_KEY)  # the check node runs in this process
    monkeypatch.setenv("TF_BINANCE_SECRET", HMAC_SECRET)
    rng = random.Random(1204)
    for n in range(ROUNDS):
        await one_round(n, tmp_path, spot_venue, rng)
    exchange = spot_venue.exchange
    client_ids = [o.params.client_order_id for o in exchange._orders.values()]
    assert len(set(client_ids)) == len(client_ids) == exchange.placed, "an order sent twice"
    per_order = Counter(f.venue_order_id for f in exchange.fills)
    partial = sum(1 for count in per_order.values() if count > 1)
    report_figure(
        f"live kill -9 x{ROUNDS} on the fake Binance spot: {len(client_ids)} orders, "
        f"{len(exchange.fills)} fills ({partial} orders filled in several parts); node == "
        "ledger"
        " after every restart, no order sent twice"
    )
    assert len(client_ids) > ROUNDS and exchange.fills and partial
