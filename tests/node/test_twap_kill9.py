"""kill -9 a paper node in the middle of a TWAP: the restarted node resumes the parent from its
state store and fills exactly the parent's quantity, no child sent twice.

A real ``tradefabric venue serve`` replays the real BTC/USDT recording (10x, one timeline that
goes on while the node is down); a real ``tradefabric paper`` process with an SQLite state store
runs ``ParentOnce`` (one TWAP parent with a fixed id) and is killed with SIGKILL once two of the
TWAP's children have filled. The second process restores the parent, adopts its children (those
the kill left in flight are expired: the simulated venue keeps nothing), catches up the slices
missed while it was down and works the rest; the strategy sending the same parent id again gets
the restored parent back. Two processes and a venue: about 9 s.
"""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import pytest
import yaml

from tests.conftest import REPO_ROOT, report_figure
from tests.node.live_processes import env, wait_for
from tradefabric.model.orders import Fill, OrderSnapshot, ParentSnapshot
from tradefabric.risk.audit import AuditRecord

T = TypeVar("T")
_AUDIT = msgspec.json.Decoder(AuditRecord)
PARENT = "twap-T1"
QUANTITY = 0.06
SLICES = 12


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _start(*args: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tradefabric", *args], cwd=REPO_ROOT, env=env(),
        stdout=subprocess.DEVNULL, stderr=log.open("ab"),
    )  # fmt: skip


def _config(tmp: Path, port: int) -> Path:
    raw: dict[str, Any] = {
        "seed": 3,
        "feeds": {"binance": {"symbols": ["BTC/USDT"], "ws_url": f"ws://127.0.0.1:{port}",
                              "rest_url": f"http://127.0.0.1:{port}"}},
        "market_data": {"candle_intervals": ["1s"]},
        "execution": {"binance": {"mode": "paper", "sim": {"matching": "candles"}}},
        "balances": {"binance": {"USDT": 100_000}},
        "risk": {"max_orders_per_window": 1_000},
        "state": {"backend": "sqlite", "path": str(tmp / "state.db")},
        "strategies": [{
            "class": "tests.execution.algo_strategy:ParentOnce", "id": "twap", "interval": "1s",
            "params": {"algorithm": "twap", "quantity": QUANTITY, "after_candles": 3,
                       "parent_id": PARENT,
                       "exec_params": {"type": "twap", "horizon_s": 60.0, "interval_s": 5.0,
                                       "jitter": 0.2}},
        }],
    }  # fmt: skip
    path = tmp / "paper.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _rows(db: Path, sql: str) -> list[Any]:
    if not db.exists():
        return []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        try:
            return [r[0] for r in conn.execute(sql)]
        except sqlite3.OperationalError:
            return []  # tables not created yet


def _audit(run_dir: Path, kind: str, into: type[T]) -> list[T]:
    """The audit log's records of ``kind`` (complete lines: a kill may tear the last one)."""
    path = run_dir / "audit.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_bytes().splitlines(keepends=True):
        try:
            record = _AUDIT.decode(line)
        except msgspec.DecodeError:
            continue
        if record.kind == kind:
            out.append(msgspec.json.decode(record.data, type=into))
    return out


def _fills(run_dir: Path) -> list[Fill]:
    return _audit(run_dir, "fill", Fill)


def _sent(run_dir: Path) -> list[str]:
    return [o.client_order_id for o in _audit(run_dir, "order", OrderSnapshot)]


def _in_flight(run_dir: Path) -> bool:
    """Two children filled and a later one sent, not filled yet: the moment to kill."""
    filled = {f.client_order_id for f in _fills(run_dir)}
    sent = _sent(run_dir)
    return len(filled) >= 2 and bool(sent) and sent[-1] not in filled


def _parent(db: Path) -> ParentSnapshot | None:
    rows = _rows(db, f"SELECT data FROM parents WHERE parent_id = '{PARENT}'")
    return msgspec.json.decode(rows[0], type=ParentSnapshot) if rows else None


@pytest.mark.slow
def test_kill_9_mid_twap_resumes_the_rest_and_never_overfills(
    shared_data: Path, tmp_path: Path
) -> None:
    port = _free_port()
    log = tmp_path / "stderr.log"
    recording = shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
    venue = _start("venue", "serve", "--venue", "binance", "--replay", str(recording),
                   "--speed", "10", "--port", str(port), log=log)  # fmt: skip
    run_dir, db = tmp_path / "run", tmp_path / "state.db"
    args = ("paper", "-c", str(_config(tmp_path, port)), "--out", str(run_dir))
    processes = [venue]
    try:
        wait_for(lambda: _listening(port), 30, "the fake venue to listen")
        first = _start(*args, log=log)
        processes.append(first)
        wait_for(lambda: _in_flight(run_dir) or first.poll() is not None, 30,
                 "two TWAP children filled and the next one sent")  # fmt: skip
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL
        before = sum(f.quantity for f in _fills(run_dir))
        sent_before = len(_sent(run_dir))
        assert 0 < before < QUANTITY - 1e-9  # killed mid-TWAP
        second = _start(*args, log=log)
        processes.append(second)

        def done() -> bool:
            parent = _parent(db)
            return (parent is not None and parent.status == "filled") or second.poll() is not None

        wait_for(done, 40, "the restored TWAP to finish")
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0, log.read_text()[-3000:]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)

    parent = _parent(db)
    assert parent is not None and parent.status == "filled", log.read_text()[-3000:]
    sent = Counter(_sent(run_dir))
    assert sent and max(sent.values()) == 1, sent  # no child (client order id) sent twice
    children = [cid for cid in sent if cid.startswith(f"{PARENT}-c")]
    assert sorted(children) == sorted(parent.children)
    fills = [f for f in _fills(run_dir) if f.client_order_id in sent]
    assert len({(f.client_order_id, f.fill_id) for f in fills}) == len(fills)
    total = sum(f.quantity for f in fills)
    assert round(total, 10) == QUANTITY  # exactly the parent: nothing lost, nothing twice
    assert parent.filled_quantity == QUANTITY or abs(parent.filled_quantity - QUANTITY) < 1e-12
    stored = _rows(db, "SELECT data FROM orders")
    orders = [msgspec.json.decode(o, type=OrderSnapshot) for o in stored]
    assert sum(o.filled_quantity for o in orders) == pytest.approx(total, abs=1e-12)
    assert 0 < sent_before < len(children)  # children from both processes
    lost = sum(1 for o in orders if o.status in ("expired", "rejected"))
    report_figure(
        f"kill -9 mid-TWAP (paper, fake Binance 10x): {before:g} of {QUANTITY:g} filled by "
        f"{sent_before} children before the kill ({lost} in flight, expired on restart), "
        f"{len(children)} children in all, filled exactly {total:g}, no child sent twice"
    )
