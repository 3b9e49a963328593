"""The node's heartbeat file, which ``tradefabric guard`` watches (the dead man's switch).

A node with ``guard:`` in its config rewrites ``heartbeat_file`` every ``interval_s``
(write to a temporary file, then rename: a reader never sees half a file)::

    {"pid": 4242, "ts_ns": 1764812345000000000, "seq": 17, "state": "running"}

``ts_ns`` is wall time (``time.time_ns``). On a clean stop the node writes
``"state": "stopped"``: its orders were left at the venue on purpose, and the guard
stands down. A guard (``tradefabric guard -c CONFIG``, a separate process on the
same machine) that sees ``running`` heartbeats stop for longer than ``timeout_s``
cancels every open order on the live venues that have no cancel-after of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path

import msgspec

from tradefabric.core.errors import ConfigError

RUNNING = "running"
STOPPED = "stopped"


class GuardConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``guard:`` in a node config: where the heartbeat is written and when it is stale."""

    heartbeat_file: Path
    interval_s: float = 1.0
    timeout_s: float = 10.0
    """A ``running`` heartbeat older than this fires the guard."""
    audit: Path | None = None
    """The guard's own audit log (default: ``guard-audit.jsonl`` beside the heartbeat)."""
    all_venues: bool = False
    """Also cancel on venues whose own cancel-after is armed (belt and braces)."""

    def __post_init__(self) -> None:
        if not 0 < self.interval_s < self.timeout_s:
            raise ConfigError("guard: needs 0 < interval_s < timeout_s")

    @property
    def audit_path(self) -> Path:
        """Return where the guard audits what it does."""
        return self.audit or self.heartbeat_file.parent / "guard-audit.jsonl"


class Heartbeat(msgspec.Struct, frozen=True, kw_only=True):
    """One heartbeat: which process, when (wall ns), the how-many-th, running or stopped."""

    pid: int
    ts_ns: int
    seq: int
    state: str = RUNNING


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Heartbeat)


def write_heartbeat(path: Path, beat: Heartbeat) -> None:
    """Replace the heartbeat file atomically."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(_encoder.encode(beat))
    os.replace(tmp, path)


def read_heartbeat(path: Path) -> Heartbeat | None:
    """Return the last heartbeat written, None when there is none (or it cannot be read)."""
    try:
        return _decoder.decode(path.read_bytes())
    except (OSError, msgspec.DecodeError):
        return None


class HeartbeatWriter:
    """Write the node's heartbeat every ``interval_s`` until stopped."""

    def __init__(self, config: GuardConfig) -> None:
        self.config = config
        self.seq = 0

    def beat(self, state: str = RUNNING) -> None:
        """Write one heartbeat now."""
        self.seq += 1
        self.config.heartbeat_file.parent.mkdir(parents=True, exist_ok=True)
        write_heartbeat(
            self.config.heartbeat_file,
            Heartbeat(pid=os.getpid(), ts_ns=time.time_ns(), seq=self.seq, state=state),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Beat until ``stop``, then write ``stopped``; cancelled, write nothing more.

        A node that fails is cancelled, not stopped: its heartbeat just goes stale and
        the guard fires, as after a kill.
        """
        while not stop.is_set():
            self.beat()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.interval_s)
        self.beat(STOPPED)
