"""kill -9 a paper run at random moments, ten times: every restart resumes from the store.

A real ``tradefabric venue serve`` replays real Binance traffic; a real
``tradefabric paper`` process trades it with a state store and is killed with
SIGKILL at random moments (each after it has written to its audit log), then
restarted. At the end the store must hold exactly what the audit log says:
the same orders and fills (none twice, no client order id reused), and the
positions, balances and tallies the audit's fills give from the initial
balances (the store's are written from the running portfolio, so a restart
that restored anything wrongly shows here).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import msgspec
import pytest
import yaml

from tests.conftest import REPO_ROOT, report_figure
from tradefabric.execution.portfolio import Portfolio
from tradefabric.model.orders import OrderSnapshot
from tradefabric.risk.audit import read_audit
from tradefabric.risk.audit_verify import verify_audit
from tradefabric.state.config import open_store_at
from tradefabric.state.postgres import DEFAULT_DSN, PostgresStateStore
from tradefabric.state.restore import audit_state

pytestmark = pytest.mark.slow

KILLS = 10
SPEED = 4.0  # 6 minutes of real traffic in 90 s: ten slow restarts on a loaded machine fit


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_for(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.02)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _audit_records(run_dir: Path) -> int:
    path = run_dir / "audit.jsonl"
    return path.read_bytes().count(b"\n") if path.is_file() else 0


def _config(tmp_path: Path, port: int, state: dict[str, object]) -> Path:
    config = yaml.safe_load((REPO_ROOT / "examples" / "paper_ema_cross.yaml").read_text())
    config["feeds"]["binance"]["ws_url"] = f"ws://127.0.0.1:{port}"
    config["feeds"]["binance"]["rest_url"] = f"http://127.0.0.1:{port}"
    config["data"].pop("recording")
    config["output_dir"] = str(tmp_path)
    config["state"] = state
    # Faster EMAs than the example's: more orders and fills between kills.
    config["strategies"][0].update({"fast": 2, "slow": 5})
    path = tmp_path / "paper.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _tradefabric(*args: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tradefabric", *args],
        stdout=subprocess.DEVNULL, stderr=log.open("ab"), env=os.environ.copy(),
    )  # fmt: skip


@pytest.fixture(params=["sqlite", "postgres"])
def state_location(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    if request.param == "sqlite":
        path = tmp_path / "state.db"
        yield {"backend": "sqlite", "path": str(path)}, str(path)
        return
    schema = f"k_{uuid.uuid4().hex[:16]}"
    yield ({"backend": "postgres", "dsn": DEFAULT_DSN, "schema": schema},
           f"{DEFAULT_DSN}#{schema}")  # fmt: skip
    cleaner = PostgresStateStore(DEFAULT_DSN, schema=schema)
    cleaner.drop()
    cleaner.close()


def test_kill_9_ten_times_and_the_state_equals_the_audit_log(
    shared_data: Path, tmp_path: Path, state_location: tuple[dict[str, object], str]
) -> None:
    state, location = state_location
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    port = _free_port()
    recording = shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
    log = tmp_path / "stderr.log"
    venue = _tradefabric("venue", "serve", "--venue", "binance", "--replay", str(recording),
                         "--speed", str(SPEED), "--port", str(port), "--exit-when-done",
                         log=log)  # fmt: skip
    run_dir = tmp_path / "run"
    config = _config(tmp_path, port, state)
    paper_args = ("paper", "-c", str(config), "--out", str(run_dir))
    try:
        _wait_for(lambda: _listening(port), 60, "the fake venue to listen")
        for _ in range(KILLS):
            before = _audit_records(run_dir)
            paper = _tradefabric(*paper_args, log=log)
            # A random moment once this process trades (it has audited something of its own).
            _wait_for(lambda b=before: _audit_records(run_dir) > b or venue.poll() is not None,
                      60, "the paper run to trade")  # fmt: skip
            time.sleep(rng.uniform(0.0, 2.0))
            paper.send_signal(signal.SIGKILL)
            assert paper.wait(timeout=30) == -signal.SIGKILL
        printed = log.read_text(errors="replace").count("paper:")
        paper = _tradefabric(*paper_args, log=log)
        venue.wait(timeout=180)  # streamed everything
        # Its first status line comes after it handles SIGTERM (a slow start would die of it).
        _wait_for(lambda: log.read_text(errors="replace").count("paper:") > printed, 60,
                  "the last paper run to start")  # fmt: skip
        time.sleep(1.0)  # the last frames in flight reach the paper run
        paper.send_signal(signal.SIGTERM)
        assert paper.wait(timeout=60) == 0, log.read_text()[-3000:]
    finally:
        for proc in (venue, paper):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    _check(run_dir, location, config, f"{state['backend']}, seed {seed}")


def _check(run_dir: Path, location: str, config: Path, label: str) -> None:
    verdict = verify_audit(run_dir)
    records = read_audit(run_dir / "audit.jsonl")
    assert verdict.ok and verdict.records == len(records) > 50, verdict  # enough happened
    created = Counter(
        msgspec.json.decode(r.data, type=OrderSnapshot).client_order_id
        for r in records
        if r.kind == "order"
    )
    assert created and max(created.values()) == 1  # no client order id twice, across restarts
    prefixes = {cid.split("-")[-2] for cid in created}
    assert len(prefixes) >= 2  # orders from several incarnations

    audit = audit_state(run_dir / "audit.jsonl")
    store = open_store_at(location)
    try:
        orders = {o.client_order_id: o for o in store.orders()}
        assert orders == audit.orders
        fills = store.fills()
        assert fills == audit.fills and len(fills) >= 5
        assert len({(f.client_order_id, f.fill_id) for f in fills}) == len(fills)
        balances = yaml.safe_load(config.read_text())["balances"]
        replay = Portfolio({v: {c: float(a) for c, a in b.items()} for v, b in balances.items()})
        for fill in audit.fills:
            replay.on_fill(fill)
        assert store.balances() == replay.balances()
        assert store.totals() == replay.totals()
        keys = ("venue", "symbol", "quantity", "avg_price", "realized_pnl", "fees",
                "traded_notional")  # fmt: skip
        got = [{k: getattr(p, k) for k in keys} for p in store.positions()]
        want = [{k: getattr(p, k) for k in keys} for p in replay.positions()]
        assert got == want
        assert store.orders(open_only=True) == []  # finished at the end, or on restart
        expired = sum(1 for o in orders.values() if o.status == "expired")
    finally:
        store.close()
    report_figure(
        f"kill -9 x{KILLS} of a paper run ({label}): {len(orders)} orders, {len(fills)} fills, "
        f"{len(prefixes)} incarnations, "
        f"{expired} orders expired on restart; store == audit log, nothing duplicated"
    )
