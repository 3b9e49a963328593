"""The guard on the fake Binance spot venue (no cancel-after of its own): a node killed -9
leaves resting orders; `tradefabric guard` cancels every one within timeout + 2 s. Both
run at DEBUG: no key or secret in anything they wrote."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.execution.live.harness import until
from tests.node.test_live_kill9_binance import env, write_config
from tests.venues.binance_private.conftest import (  # noqa: F401
    HMAC_KEY,
    HMAC_SECRET,
    Venue,
    spot_venue,
)
from tradefabric.execution.live.heartbeat import read_heartbeat

TIMEOUT_S = 3.0


def start(tmp: Path, name: str, *args: str) -> subprocess.Popen[bytes]:
    with (tmp / f"{name}.log").open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tradefabric", *args], env=env(), cwd=REPO_ROOT,
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


async def test_kill_9_and_the_guard_cancels_every_binance_order(
    spot_venue: Venue,  # noqa: F811
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, spot_venue, trading=True)
    raw = yaml.safe_load(config.read_text())
    raw["guard"]["timeout_s"] = TIMEOUT_S
    bid, _ = spot_venue.book_touch()
    raw["strategies"][0]["params"].update(price=round(bid - 150, 2), step=1.0)  # rests only
    raw["strategies"][0]["params"]["every_ms"] = 40
    config.write_text(yaml.safe_dump(raw))
    exchange = spot_venue.exchange
    node = start(tmp_path, "node", "--log-level", "DEBUG", "run", "-c", str(config), "--out",
                 str(tmp_path / "run"))  # fmt: skip
    guard = start(tmp_path, "guard", "--log-level", "DEBUG", "guard", "-c", str(config))
    try:
        beat = lambda: read_heartbeat(tmp_path / "heartbeat.json") is not None  # noqa: E731
        await until(beat, 60)
        await until(lambda: len(exchange.open_orders()) >= 4, 60)
        await until(lambda: b"watching" in (tmp_path / "guard.log").read_bytes(), 60)
        node.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        node.wait(timeout=10)
        resting = len(exchange.open_orders())
        assert resting >= 4
        await until(lambda: not exchange.open_orders(), TIMEOUT_S + 2.0)
        elapsed = time.monotonic() - killed
        assert TIMEOUT_S - 0.25 <= elapsed <= TIMEOUT_S + 2.0, elapsed
    finally:
        for process in (node, guard):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.to_thread(process.wait, 20)
    assert b"binance: cancelled" in (tmp_path / "guard.log").read_bytes()
    assert b"guard_fired" in (tmp_path / "guard-audit.jsonl").read_bytes()
    # Both processes logged at DEBUG with the real Binance client signing every request:
    # neither the key nor the secret is in any log or file they wrote.
    assert b'"level": "info"' in (tmp_path / "node.log").read_bytes()  # below the default
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    for secret in (HMAC_KEY, HMAC_SECRET):
        for file in files:
            assert secret.encode() not in file.read_bytes(), file


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in env().items():
        if key.startswith("TF_BINANCE"):
            monkeypatch.setenv(key, value)
