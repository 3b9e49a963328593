"""``tradefabric audit verify``, ``risk reset`` and ``state show``, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.state.conftest import StoreFactory
from tests.state.test_store import fill, order
from tradefabric.execution.portfolio import BalanceSnapshot
from tradefabric.model.orders import OrderStatus
from tradefabric.risk.audit import AuditLog
from tradefabric.risk.engine import RiskSnapshot
from tradefabric.state.records import StateBatch


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradefabric", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    "command", [["audit"], ["audit", "verify"], ["risk"], ["risk", "reset"], ["state"],
                ["state", "show"]], ids=" ".join,
)  # fmt: skip
def test_every_state_command_has_help(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0 and "Usage:" in result.stdout


def test_audit_verify_exits_0_when_intact_and_1_at_the_first_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    for i in range(5):
        log.write("order", i, order(f"o{i}", OrderStatus.NEW, i))
    log.close()
    good = run("audit", "verify", str(path))
    assert (good.returncode, good.stdout.strip()) == (0, "5 records, chain intact")
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"quantity":0.5', b'"quantity":5.0')
    path.write_bytes(b"".join(lines))
    bad = run("audit", "verify", str(tmp_path))
    assert bad.returncode == 1
    assert bad.stdout.startswith(f"BROKEN at seq 3: {path} line 3: hash mismatch")
    verdict = json.loads(run("audit", "verify", str(path), "--json").stdout)
    assert (verdict["ok"], verdict["seq"], verdict["line"], verdict["records"]) == (False, 3, 3, 2)
    path.write_bytes(b"".join(lines[:2]) + lines[3][:30])
    cut = run("audit", "verify", str(path))
    assert cut.returncode == 1 and "truncated" in cut.stdout


def test_state_show_and_risk_reset(store_factory: StoreFactory, store_location: str) -> None:
    store = store_factory()
    store.write(
        StateBatch(
            orders=(order("a", OrderStatus.FILLED, 1, 0.5), order("b", OrderStatus.ACCEPTED, 2)),
            fills=(fill("a", "F1", 0.5),),
            balances=(BalanceSnapshot(venue="binance", currency="USDT", amount=69_998.75),),
            risk=RiskSnapshot(
                halted=True, reason="daily drawdown 6.00% > 5%", day=1, day_high=1.0, ts=1
            ),
        )
    )
    shown = json.loads(run("state", "show", "--state", store_location, "--json").stdout)
    assert shown["halt"]["halted"] is True and shown["orders_total"] == 2
    assert [o["client_order_id"] for o in shown["open_orders"]] == ["b"]
    assert shown["balances"] == [{"venue": "binance", "currency": "USDT", "amount": 69_998.75}]
    assert shown["fills"] == 1
    text = run("state", "show", "--state", store_location).stdout
    assert text.startswith("HALTED: daily drawdown 6.00% > 5%")
    reset = run("risk", "reset", "--reason", "feed checked", "--state", store_location,
                "--operator", "ana")  # fmt: skip
    assert reset.returncode == 0 and "reset by ana stored" in reset.stdout
    assert [(r.operator, r.reason) for r in store.pending_resets()] == [("ana", "feed checked")]
    assert "reset pending by ana: feed checked" in run("state", "show", "--state",
                                                        store_location).stdout  # fmt: skip


def test_state_show_names_a_missing_store(tmp_path: Path) -> None:
    result = run("state", "show", "--state", str(tmp_path / "nope.db"))
    assert result.returncode == 2 and "nope.db" in result.stderr
