"""The dead man's switch: a node killed -9 has every order cancelled by `tradefabric guard`."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import msgspec

from tests.node.live_processes import call, node_config, start, venue_server, wait_for
from tradefabric.execution.live.heartbeat import STOPPED, read_heartbeat
from tradefabric.risk.audit import AuditRecord

VENUE = "ref-guard"
TIMEOUT_S = 2.0


def heartbeat_running(path: Path) -> bool:
    beat = read_heartbeat(path)
    return beat is not None and beat.state == "running"


def test_kill_9_the_node_and_the_guard_cancels_every_order_in_time(tmp_path: Path) -> None:
    with venue_server(VENUE) as url:
        config = node_config(tmp_path, VENUE, url, timeout_s=TIMEOUT_S)
        heartbeat = tmp_path / "heartbeat.json"
        node = start(
            "run", "-c", str(config), "--out", str(tmp_path / "run"), log=tmp_path / "node.log"
        )
        guard = start("guard", "-c", str(config), log=tmp_path / "guard.log")
        try:
            wait_for(lambda: heartbeat_running(heartbeat), 60, "the node's heartbeat")
            for n in range(5):
                call(url, "/external", {"side": "buy", "quantity": 0.01, "price": 50_000.0 - n})
            assert len(call(url, "/state")["open"]) == 5
            wait_for(lambda: b"watching" in (tmp_path / "guard.log").read_bytes(), 60, "guard up")
            os.kill(node.pid, signal.SIGKILL)
            killed = time.monotonic()
            node.wait(timeout=10)
            wait_for(
                lambda: not call(url, "/state")["open"], TIMEOUT_S + 2.0, "every order cancelled"
            )
            elapsed = time.monotonic() - killed
            # It waited for the heartbeat to go stale (the last beat <= interval before the kill).
            assert elapsed >= TIMEOUT_S - 0.2 - 0.05, elapsed
            assert elapsed <= TIMEOUT_S + 2.0
            assert call(url, "/state")["cancel_all_calls"] == 1
        finally:
            for process in (node, guard):
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    process.wait(timeout=20)
    decoder = msgspec.json.Decoder(AuditRecord)
    fired = [
        msgspec.json.decode(r.data)
        for r in map(decoder.decode, (tmp_path / "guard-audit.jsonl").read_bytes().splitlines())
        if r.kind == "guard_fired"
    ]
    assert [(f["venue"], f["outcome"]) for f in fired] == [(VENUE, "cancelled")]
    assert fired[0]["heartbeat_age_s"] > TIMEOUT_S
    assert b"stale" in (tmp_path / "guard.log").read_bytes()


def test_a_clean_stop_stands_the_guard_down(tmp_path: Path) -> None:
    with venue_server(VENUE) as url:
        config = node_config(tmp_path, VENUE, url, timeout_s=1.0)
        heartbeat = tmp_path / "heartbeat.json"
        node = start(
            "run", "-c", str(config), "--out", str(tmp_path / "run"), log=tmp_path / "node.log"
        )
        guard = start("guard", "-c", str(config), log=tmp_path / "guard.log")
        try:
            wait_for(lambda: heartbeat_running(heartbeat), 60, "the node's heartbeat")
            call(url, "/external", {"side": "buy", "quantity": 0.01, "price": 50_000.0})
            wait_for(lambda: b"watching" in (tmp_path / "guard.log").read_bytes(), 60, "guard up")
            node.send_signal(signal.SIGTERM)
            assert node.wait(timeout=30) == 0
            beat = read_heartbeat(heartbeat)
            assert beat is not None and beat.state == STOPPED
            # Long past the timeout (and several guard polls later) nothing was cancelled.
            wait_for(lambda: time.time_ns() - beat.ts_ns > 2.5e9, 10, "the timeout to pass")
            assert len(call(url, "/state")["open"]) == 1
            assert call(url, "/state")["cancel_all_calls"] == 0
        finally:
            for process in (node, guard):
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    process.wait(timeout=20)
