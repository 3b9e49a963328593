"""kill -9 a live node 20 times while the venue keeps matching; after each restart the node's
orders, fills, positions and balances equal the venue's ledger, and no order was sent twice.

The venue is the HTTP reference venue (``tests.execution.live.refvenue_http``) with its
matcher on; the node runs ``tests.node.live_trader:RestingBuyer`` (orders rest, are partly
filled, cancelled). Each round: start the node, kill it -9 at a random moment, pause the
matcher, start a node without strategies on the same state store until its start-up
reconciliation is done, stop it cleanly, compare its state store with the venue's ledger,
resume the matcher.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import report_figure
from tests.node.live_processes import call, node_config, start, venue_server, wait_for
from tradefabric.execution.live.heartbeat import read_heartbeat
from tradefabric.model.orders import OrderStatus
from tradefabric.state import StateConfig, open_store

VENUE = "ref-kill9"
# Eight rounds here: the twenty kill -9s run against the fake Binance venue
# (test_live_kill9_binance.py); this reference-venue twin keeps CI under its 30 minutes.
ROUNDS = int(os.environ.get("TF_KILL9_ROUNDS", "8"))
TRADER = {"class": "tests.node.live_trader:RestingBuyer", "id": "buyer", "venue": VENUE,
          "params": {"every_ms": 60, "resting": 6}}  # fmt: skip


def compare(store_path: Path, url: str) -> dict[str, Any]:
    """Assert the state store equals the venue's ledger; return the venue's state."""
    venue = call(url, "/state")
    store = open_store(StateConfig(path=store_path))
    try:
        orders = {o.client_order_id: o for o in store.orders()}
        fills = store.fills()
        balances = {b.currency: b.amount for b in store.balances() if b.venue == VENUE}
        positions = {p.symbol: p.quantity for p in store.positions() if p.venue == VENUE}
    finally:
        store.close()
    by_venue_id = {o.venue_order_id: o for o in orders.values() if o.venue_order_id}
    for vid, at_venue in venue["orders"].items():
        held = by_venue_id.get(vid)
        assert held is not None, f"venue order {vid} unknown to the node"
        assert held.status == at_venue["status"], (held, at_venue)
        assert held.filled_quantity == pytest.approx(at_venue["filled"], abs=1e-12)
    for held in orders.values():  # an order the venue never had is finished, never open
        if held.venue_order_id not in venue["orders"]:
            assert held.status in (OrderStatus.REJECTED,), held
    node_trades = sorted((f.client_order_id, f.fill_id, f.quantity) for f in fills)
    venue_trades = sorted(
        (t["client_order_id"], t["trade_id"], t["quantity"]) for t in venue["trade_list"]
    )
    assert node_trades == venue_trades
    for asset, amount in venue["balances"].items():
        assert balances.get(asset, 0.0) == pytest.approx(amount, rel=1e-12, abs=1e-9), asset
    assert positions.get("BTC/USDT", 0.0) == pytest.approx(venue["balances"]["BTC"], abs=1e-12)
    assert max(venue["attempts"].values(), default=1) == 1, "an order was sent twice"
    return venue


def heartbeat_after(path: Path, began: int) -> bool:
    beat = read_heartbeat(path)
    return beat is not None and beat.ts_ns > began and beat.state == "running"


def one_round(n: int, tmp: Path, url: str, rng: random.Random) -> dict[str, Any]:
    """Trade, kill -9 at a random moment, reconcile with a fresh node, compare."""
    heartbeat = tmp / "heartbeat.json"
    log = tmp / f"node-{n}.log"
    check_log = tmp / f"check-{n}.log"
    node = start("run", "-c", str(tmp / "node.yaml"), "--out", str(tmp / "run"), log=log)
    check: subprocess.Popen[bytes] | None = None
    try:
        began = time.time_ns()
        wait_for(lambda: heartbeat_after(heartbeat, began), 60, "the trading node's heartbeat")
        time.sleep(rng.uniform(0.05, 1.5))  # the random kill point (the only sleep)
        node.send_signal(signal.SIGKILL)
        node.wait(timeout=10)
        call(url, "/pause", {})
        check = start("--log-level", "INFO", "run", "-c", str(tmp / "check.yaml"), "--out",
                      str(tmp / "check"), log=check_log)  # fmt: skip
        wait_for(lambda: b"reconcile_summary" in check_log.read_bytes(), 60, "reconciled")
        check.send_signal(signal.SIGTERM)
        assert check.wait(timeout=30) == 0, check_log.read_text()[-2000:]
    finally:
        for process in (node, check):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    venue = compare(tmp / "state.db", url)
    call(url, "/resume", {})
    return venue


@pytest.mark.slow
def test_kill_9_twenty_times_and_the_node_equals_the_venues_ledger(tmp_path: Path) -> None:
    rng = random.Random(20261204)
    with venue_server(VENUE, match_every=0.03) as url:
        call(url, "/external", {"side": "sell", "quantity": 0.01, "price": 70_000.0})
        trading = node_config(tmp_path, VENUE, url, strategies=[TRADER])
        raw = yaml.safe_load(trading.read_text())
        raw.pop("strategies")
        (tmp_path / "check.yaml").write_text(yaml.safe_dump(raw))
        venue: dict[str, Any] = {}
        for n in range(ROUNDS):
            venue = one_round(n, tmp_path, url, rng)
    # The rounds really traded: many orders, many partial fills across the kills.
    orders, trades = len(venue["orders"]), len(venue["trade_list"])
    assert orders > 40 and trades > 40, (orders, trades)
    report_figure(
        f"live kill -9 x{ROUNDS} (reference venue matching): {orders} venue orders, "
        f"{trades} trades; node == venue ledger after every restart, no order sent twice"
    )
