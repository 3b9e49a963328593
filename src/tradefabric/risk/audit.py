"""The append-only audit log: one JSON line per order, fill, risk decision and command.

A line is written (and flushed, or fsynced for live trading) *before* the action
it records is taken, so after a crash the log shows at least everything that
happened (ARCHITECTURE invariant 8). The file is only ever opened for append.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

import msgspec

from tradefabric.core.errors import AuditWriteError, DataSourceError


class AuditRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One audit line: sequence number, kernel time, what kind of record, and its data."""

    seq: int
    ts: int
    kind: str
    data: msgspec.Raw


class AuditLog:
    """Append records to ``path`` as JSON lines; ``path=None`` keeps them only counted."""

    def __init__(self, path: Path | None, fsync: bool = False, buffered: bool = False) -> None:
        """Append to ``path``; ``fsync`` makes each line durable (live), ``buffered`` only
        writes in order and flushes on close (backtests: the run itself is the record)."""
        self.path = path
        self._fsync = fsync
        self._buffered = buffered
        self._seq = 0
        self._encoder = msgspec.json.Encoder()
        self._file: IO[bytes] | None = None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._file = path.open("ab")
            except OSError as exc:
                raise DataSourceError(f"cannot open audit log {path}: {exc}") from exc

    @property
    def records_written(self) -> int:
        """Return how many records were appended by this log object."""
        return self._seq

    def write(self, kind: str, ts: int, data: msgspec.Struct) -> None:
        """Append one record and make it durable before returning."""
        self._seq += 1
        if self._file is None:
            return
        record = AuditRecord(
            seq=self._seq, ts=ts, kind=kind, data=msgspec.Raw(self._encoder.encode(data))
        )
        try:
            self._file.write(self._encoder.encode(record) + b"\n")
            if self._buffered:
                return
            self._file.flush()
            if self._fsync:
                os.fsync(self._file.fileno())
        except OSError as exc:
            raise AuditWriteError(f"audit log {self.path}: {exc}") from exc

    def close(self) -> None:
        """Close the file."""
        if self._file is not None:
            file, self._file = self._file, None
            try:
                file.close()
            except OSError as exc:
                raise AuditWriteError(f"audit log {self.path}: {exc}") from exc


def read_audit(path: Path) -> list[AuditRecord]:
    """Return every record of an audit log file, in order."""
    decoder = msgspec.json.Decoder(AuditRecord)
    with path.open("rb") as f:
        return [decoder.decode(line) for line in f if line.strip()]
