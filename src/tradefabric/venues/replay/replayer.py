"""Drive recorded frames through a venue parser on simulated time.

The replayer is the stand-in for a live socket: it moves the ``SimClock`` to
each frame's receive time, then hands the raw frame to the same ``on_frame``
a socket would call. Bad frames are counted by kind, logged with their line
number and skipped; the replay always continues.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Protocol

import msgspec
import structlog

from tradefabric.core.clock import SimClock
from tradefabric.core.errors import (
    DataError,
    MalformedMessageError,
    SequenceGapError,
    StaleMessageError,
    UnknownStreamError,
)
from tradefabric.core.logging import WarningThrottle
from tradefabric.venues.replay.recording import ProgressCallback, read_recording

log = structlog.get_logger(__name__)


_KIND_BY_ERROR: dict[type[DataError], str] = {
    MalformedMessageError: "malformed",
    StaleMessageError: "stale",
    UnknownStreamError: "unknown_stream",
    SequenceGapError: "sequence_gap",
}


class FrameHandler(Protocol):
    """Whatever consumes raw frames: a venue parser."""

    def on_frame(self, raw: bytes, ts_recv: int) -> None:
        """Handle one raw frame received at ``ts_recv``."""
        ...


class ReplayStats(msgspec.Struct, frozen=True):
    """What a replay read and what it rejected, by kind (malformed, stale, ...)."""

    lines: int
    frames_accepted: int
    rejected: dict[str, int]
    time_regressions: int
    first_ts_recv: int
    last_ts_recv: int

    @property
    def rejected_total(self) -> int:
        """Return the number of lines rejected for any reason."""
        return sum(self.rejected.values())


class Replayer:
    """Replay recording files into a frame handler on a simulated clock."""

    def __init__(self, clock: SimClock, handler: FrameHandler) -> None:
        self._clock = clock
        self._handler = handler
        self._warnings = WarningThrottle(log)

    def run(self, path: Path, progress: ProgressCallback | None = None) -> ReplayStats:
        """Replay every line of ``path``; return what was accepted and rejected."""
        rejected: Counter[str] = Counter()
        clock = self._clock
        on_frame = self._handler.on_frame
        lines = accepted = regressions = 0
        first_ts = last_ts = -1
        for line in read_recording(path, progress):
            lines += 1
            if line.ts_recv < 0:
                self._reject(rejected, "malformed", line.line_no, "line has no timestamp prefix")
                continue
            if line.ts_recv < clock.timestamp_ns():
                regressions += 1
            else:
                clock.advance_to(line.ts_recv)
            if first_ts < 0:
                first_ts = line.ts_recv
            last_ts = max(last_ts, line.ts_recv)
            try:
                on_frame(line.raw, line.ts_recv)
            except DataError as exc:
                self._reject(rejected, _kind(exc), line.line_no, str(exc))
                continue
            accepted += 1
        return ReplayStats(lines, accepted, dict(rejected), regressions, first_ts, last_ts)

    def _reject(self, counts: Counter[str], kind: str, line_no: int, reason: str) -> None:
        counts[kind] += 1
        self._warnings.warn(kind, "replay line rejected", line=line_no, reason=reason[:300])


def _kind(exc: DataError) -> str:
    for error_type, kind in _KIND_BY_ERROR.items():
        if isinstance(exc, error_type):
            return kind
    return "data_error"
