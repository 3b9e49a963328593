"""A durable sink for deliveries: one JSON line per event, synced before it is acknowledged.

Reopening a log returns the ``(stream, entry id)`` of everything already in it,
which the consumer takes as ``processed``: entries it gets again after a crash
between writing and acknowledging are dropped, so the log holds each entry once.
A line cut short by a crash is truncated away on reopening (its entry was not
acknowledged, so it is delivered again).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from tradefabric.core.errors import DataSourceError
from tradefabric.streams import codec
from tradefabric.streams.consumer import Delivery

_ENCODER = msgspec.json.Encoder()


class EventRecord(msgspec.Struct, frozen=True):
    """One line of an event log; ``event`` is the JSON of the domain struct."""

    stream: str
    entry_id: str
    kind: str
    clk: int
    seq: int
    redelivered: bool
    event: msgspec.Raw

    def decode_event(self) -> codec.Event:
        """Return the domain struct the record holds."""
        event_type: Any = codec.KINDS_BY_NAME[self.kind].topic.message_type
        event: codec.Event = msgspec.json.decode(self.event, type=event_type)
        return event


_DECODER = msgspec.json.Decoder(EventRecord)


def read_event_log(path: Path) -> list[EventRecord]:
    """Return every complete record of the log at ``path`` (none if it does not exist)."""
    return _read(path)[0]


def _read(path: Path) -> tuple[list[EventRecord], int]:
    """Return the complete records and the length in bytes of the complete lines."""
    if not path.exists():
        return [], 0
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataSourceError(f"cannot read event log {path}: {exc}") from exc
    complete = data[: data.rfind(b"\n") + 1]
    try:
        return [_DECODER.decode(line) for line in complete.splitlines() if line], len(complete)
    except msgspec.DecodeError as exc:
        raise DataSourceError(f"event log {path} is corrupt: {exc}") from exc


class EventLog:
    """Append deliveries to ``path`` as JSON lines, fsynced per batch."""

    def __init__(self, path: Path) -> None:
        """Open (or create) the log, cut a torn last line, load the ids already written."""
        records, complete = _read(path)
        self.processed: set[tuple[str, str]] = {(r.stream, r.entry_id) for r in records}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("ab")
            self._file.truncate(complete)
        except OSError as exc:
            raise DataSourceError(f"cannot open event log {path}: {exc}") from exc
        self.written = 0

    def write(self, deliveries: Sequence[Delivery]) -> None:
        """Append ``deliveries`` and sync them to disk."""
        lines = bytearray()
        for d in deliveries:
            record = EventRecord(
                d.stream,
                d.entry_id,
                d.kind,
                d.clk,
                d.seq,
                d.redelivered,
                msgspec.Raw(_ENCODER.encode(d.event)),
            )
            lines += _ENCODER.encode(record)
            lines += b"\n"
        self._file.write(lines)
        self._file.flush()
        os.fsync(self._file.fileno())
        self.written += len(deliveries)

    def close(self) -> None:
        """Close the file."""
        self._file.close()
