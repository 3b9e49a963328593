"""Real processes for the live tests: the HTTP reference venue, a node, the guard."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO_ROOT

KEY = "tf-throwaway-guard-key-61c0"
SECRET = "tf-throwaway-guard-secret-0d9e44"
HTTP_FACTORY = "tests.execution.live.refvenue_http:build_http_client"


def env() -> dict[str, str]:
    return {
        **os.environ, "TF_TEST_KEY": KEY, "TF_TEST_SECRET": SECRET, "REFVENUE_API_KEY": KEY,
        "PYTHONPATH": f"{REPO_ROOT / 'src'}:{REPO_ROOT}", "PYTHONUNBUFFERED": "1",
    }  # fmt: skip


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Wait on a condition (polling, never a fixed sleep); return the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - started


@contextmanager
def venue_server(name: str, match_every: float = 0.0) -> Iterator[str]:
    """Start the HTTP reference venue; yield its URL; stop it (by its pid)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.execution.live.refvenue_http", "--name", name,
         "--match-every", str(match_every)],
        env=env(), cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening "), line
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def call(url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def node_config(tmp: Path, venue: str, url: str, *, timeout_s: float = 2.0, **extra: Any) -> Path:
    raw: dict[str, Any] = {
        "execution": {
            venue: {
                "mode": "live",
                "live": {
                    "credentials": {
                        "api_key_env": "TF_TEST_KEY", "api_secret_env": "TF_TEST_SECRET"
                    },
                    "factory": HTTP_FACTORY, "rest_url": url, "reconcile_interval_s": 0.3,
                    "query_backoff_s": [0.05, 0.1, 0.2],
                },
            }
        },
        "balances": {venue: {"USDT": 100_000.0, "BTC": 0.0}},
        "instruments": [
            {"venue": venue, "symbol": "BTC/USDT", "price_increment": "0.01",
             "size_increment": "0.00001"}
        ],
        "state": {"backend": "sqlite", "path": str(tmp / "state.db")},
        "guard": {"heartbeat_file": str(tmp / "heartbeat.json"), "interval_s": 0.2,
                  "timeout_s": timeout_s},
        "output_dir": str(tmp / "runs"),
        **extra,
    }  # fmt: skip
    path = tmp / "node.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def start(*args: str, log: Path) -> subprocess.Popen[bytes]:
    """Start ``tradefabric ARGS`` with its output in ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tradefabric", *args],
            env=env(), cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
