"""End to end: a paper node on the fake Binance venue (real sockets) serving its control
API; everything below goes through HTTP (and the ``ctl`` CLI) as an operator would.

The tests share one node and run in file order: commands while the venue streams,
then the audit log once the node has stopped.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from tests.ops.control.harness import TOKEN, Api, PaperNodeThread, control_config, wait_for
from tradefabric.risk.audit import read_audit
from tradefabric.risk.audit_verify import verify_audit

pytestmark = pytest.mark.slow
STRATEGY = "ema_btc_1s"


class Running(msgspec.Struct):
    node: PaperNodeThread
    api: Api
    pause_ts: int = 0


@pytest.fixture(scope="module")
def running(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    recording = shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
    run_dir = tmp_path_factory.mktemp("control") / "run"
    # Six minutes of data at 10x: about 36 s of wall time to operate the node in.
    node = PaperNodeThread(control_config(recording), recording, run_dir, speed=10.0)
    url = node.start()
    try:
        yield Running(node=node, api=Api(url))
    finally:
        if node.result is None and node.error is None:
            node.stop()


def _ctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tradefabric", "ctl", *args],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def test_a_wrong_token_is_refused_and_audited(running: Running) -> None:
    api = running.api
    status, doc = api.call("/api/status", token="wrong-token")
    assert status == 401 and doc["kind"] == "ControlAuthError"
    status, doc = api.call("/api/halt", {"reason": "intruder"}, token="wrong-token")
    assert status == 401
    assert api.get("/api/risk")["halted"] is False
    status, doc = api.call("/api/strategies/nope/pause", {"reason": "x"})
    assert status == 400 and "no strategy 'nope'" in doc["error"]
    status, doc = api.call("/api/halt", {"reason": "  "})
    assert status == 400 and "give a reason" in doc["error"]


def test_status_shows_the_node_trading(running: Running) -> None:
    api = running.api
    first = api.get("/api/status")
    assert first["mode"] == "paper" and first["strategies"] == [STRATEGY]
    later = wait_for("trades to grow", lambda: (s := api.get("/api/status"))["trades"]
                     > first["trades"] and s)  # fmt: skip
    assert later["data"]["venues"][0]["venue"] == "binance"
    assert later["data"]["venues"][0]["parsed"] > 0
    assert later["pnl"]["total"] == pytest.approx(later["equity"] - 100_000.0)
    assert {b["currency"] for b in api.get("/api/balances")} >= {"USDT"}
    btc = next(b for b in api.get("/api/books") if b["symbol"] == "BTC/USDT")
    assert btc["valid"] and btc["best_bid"] < btc["best_ask"]


def test_pause_stops_the_strategys_orders(running: Running) -> None:
    api = running.api
    # Pause while the strategy holds a position, so FLAT ALL has something to close.
    wait_for("the strategy to open a position", lambda: api.get("/api/positions"), timeout_s=40)
    result = api.post(f"/api/strategies/{STRATEGY}/pause", {"reason": "test pause"})
    assert result["operator"] == "tester" and "paused" in result["message"]
    running.pause_ts = result["ts"]
    assert api.get("/api/risk")["paused"] == {STRATEGY: "test pause"}
    # Its next order (the cross that would close the position) is rejected by the pause.
    wait_for("a paused order to be rejected", lambda: api.get("/api/risk")["rejected"] > 0,
             timeout_s=30)  # fmt: skip
    assert api.get("/api/positions"), "the paused strategy could not close its position"
    assert set(api.get("/api/risk")["rejected_by_rule"]) == {"strategy_paused"}


def test_ctl_reads_the_node(running: Running) -> None:
    url = running.api.url
    status = _ctl("status", "--url", url, "--token", TOKEN)
    assert status.returncode == 0, status.stderr
    assert "mode paper" in status.stdout and f"paused {STRATEGY}" in status.stdout
    positions = _ctl("positions", "--url", url, "--token", TOKEN, "--json")
    assert positions.returncode == 0, positions.stderr
    assert msgspec.json.decode(positions.stdout)[0]["symbol"] == "BTC/USDT"
    refused = _ctl("status", "--url", url, "--token", "wrong-token")
    assert refused.returncode == 2 and "refused (401)" in refused.stdout


def test_flat_all_ends_flat(running: Running) -> None:
    url = running.api.url
    flat = _ctl("flatall", "--wait", "15", "--url", url, "--token", TOKEN, "--operator", "ana",
                "--json")  # fmt: skip
    assert flat.returncode == 0, flat.stdout + flat.stderr
    report = msgspec.json.decode(flat.stdout)
    assert report["flat"] is True and report["left"] == [] and report["open_orders"] == []
    assert report["operator"] == "ana"
    assert [o["reduce_only"] for o in report["closing"]] == [True]
    assert report["closing"][0]["order_type"] == "market"  # the book was deep enough
    api = running.api
    assert api.get("/api/positions") == [] and api.get("/api/orders") == []
    fills = api.get("/api/fills?limit=5")
    assert fills[-1]["strategy_id"] == "control"
    alerts = [(a["kind"], a["message"]) for a in api.get("/api/alerts")
              if a["component"] == "control"]  # fmt: skip
    assert alerts[0][0] == "control_pause" and alerts[0][1].startswith("tester: strategy")
    assert alerts[-1] == ("control_flat_all", "ana: FLAT ALL: flat")


def test_the_audit_log_verifies_and_holds_every_command(running: Running) -> None:
    result = running.node.stop()
    run_dir = running.node.run_dir
    verdict = verify_audit(run_dir)
    assert verdict.ok, verdict
    records = read_audit(run_dir / "audit.jsonl")
    commands = [msgspec.json.decode(r.data) for r in records if r.kind == "control"]
    assert [(c["command"], c["operator"]) for c in commands] == [
        ("pause", "tester"),
        ("flat_all", "ana"),
    ]
    denied = [msgspec.json.decode(r.data) for r in records if r.kind == "control_denied"]
    assert [d["command"] for d in denied] == ["halt"]
    # Nothing the paused strategy asked for after the pause reached the venue.
    orders = [msgspec.json.decode(line) for line in (run_dir / "orders.jsonl").read_bytes()
              .splitlines()]  # fmt: skip
    after = [o for o in orders if o["strategy_id"] == STRATEGY and o["ts_init"] >= running.pause_ts]
    assert after and {o["status"] for o in after} == {"rejected"}
    decisions = [msgspec.json.decode(r.data) for r in records if r.kind == "risk_decision"]
    assert {d["rule"] for d in decisions if d["strategy_id"] == STRATEGY and not d["accepted"]} == {
        "strategy_paused"
    }
    assert result.fills >= 2
