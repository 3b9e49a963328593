"""Helpers for the streams tests: a private redis-server, CLI processes, recorded events."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis

from tradefabric.data import topics
from tradefabric.model.data import Quote, Trade
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.market_data import MarketDataNode
from tradefabric.streams import codec
from tradefabric.streams.connection import connect


def free_port() -> int:
    """Return a TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PrivateRedis:
    """A redis-server of the test's own, on a free port, that can be killed and restarted."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server (no persistence) and wait until it answers."""
        self._process = subprocess.Popen(
            [
                "redis-server",
                "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self._workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = connect(self.url, timeout_s=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except (redis.exceptions.ConnectionError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        client.close()

    def kill(self) -> None:
        """Kill the server at once (SIGKILL): its data is gone."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``tradefabric`` in a new process; return it whatever its exit code."""
    return subprocess.run(
        [sys.executable, "-m", "tradefabric", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_cli(*args: str, stderr_path: Path) -> subprocess.Popen[str]:
    """Start ``tradefabric`` in a new process; its stdout is piped, stderr goes to a file."""
    with stderr_path.open("w") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "tradefabric", *args],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )


def recorded_events(path: Path, venue: str = "binance") -> list[Trade | Quote]:
    """Return the trades and quotes of a recording, in bus order."""
    node = MarketDataNode(MarketDataConfig(venue=venue))
    events: list[Trade | Quote] = []
    node.bus.subscribe(topics.TRADES, events.append)
    node.bus.subscribe(topics.QUOTES, events.append)
    node.replay(path)
    return events


def stream_entries(client: redis.Redis, key: str) -> list[tuple[str, codec.AnyEntry]]:
    """Return every entry of a stream, decoded, with its id."""
    raw: Any = client.xrange(key)
    return [(i.decode(), codec.decode_entry(f[codec.ENTRY_FIELD])) for i, f in raw]


def line_count(path: Path) -> int:
    """Return the number of complete lines in ``path`` (0 if it does not exist)."""
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0
