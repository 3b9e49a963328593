"""The append-only audit log: one JSON line per order, fill, risk decision and command.

A line is written (and flushed, or fsynced for live trading) *before* the action
it records is taken, so after a crash the log shows at least everything that
happened (ARCHITECTURE invariant 8). Files are only ever opened for append:

- the sequence continues across restarts (the last line of the newest file is
  read at start);
- each line carries ``hash``, the sha256 of the previous line's hash and this
  line's bytes without it, so an edited, removed or reordered line breaks the
  chain (``tradefabric audit verify``, ``risk.audit_verify``);
- with ``rotate_daily`` the records of each UTC day (by record time) go to
  ``<stem>-YYYY-MM-DD<suffix>`` beside ``path``; the chain runs on across files;
- a closed file can be copied to any fsspec location (``copy_to``) off the
  writing thread;
- ``<stem>.head`` beside the log holds the last seq and hash at each close and
  rotation, so a log cut at a line boundary is caught too.

A failed write (disk full, I/O error) raises ``AuditWriteError``: the node must
halt, and every later write fails the same way.

A line reads::

    {"seq":7,"ts":1722470460000000000,"kind":"fill","data":{...},"hash":"9f2c...e1"}
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import msgspec
import structlog

from tradefabric.core.errors import AuditWriteError, DataSourceError
from tradefabric.core.time import NS_PER_DAY

log = structlog.get_logger(__name__)

GENESIS = "0" * 64
"""The previous hash of the first line of a log."""
HASH_SUFFIX_LEN = len(b',"hash":"') + 64 + len(b'"}')


class AuditRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One audit line: sequence number, kernel time, what kind of record, its data, its hash."""

    seq: int
    ts: int
    kind: str
    data: msgspec.Raw
    hash: str = ""


class _Body(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    ts: int
    kind: str
    data: msgspec.Raw


class AuditHead(msgspec.Struct, frozen=True, kw_only=True):
    """The last record of a log at a close or rotation (the ``.head`` file)."""

    seq: int
    hash: str
    file: str


def chain_hash(prev: str, body: bytes) -> str:
    """Return the hash of a line: sha256 of the previous hash (hex) and the line's body."""
    return hashlib.sha256(prev.encode() + body).hexdigest()


def split_line(line: bytes) -> tuple[bytes, str] | None:
    """Return (body, hash) of one line without its newline, None when it has no hash."""
    suffix = line[-HASH_SUFFIX_LEN:]
    if len(line) <= HASH_SUFFIX_LEN or not suffix.startswith(b',"hash":"'):
        return None
    if not suffix.endswith(b'"}'):
        return None
    return line[:-HASH_SUFFIX_LEN] + b"}", suffix[9:-2].decode(errors="replace")


def day_file(path: Path, ts: int) -> Path:
    """Return the rotated file of ``path`` holding records of the UTC day of ``ts``."""
    day = datetime.fromtimestamp(ts // 1_000_000_000, UTC).strftime("%Y-%m-%d")
    return path.with_name(f"{path.stem}-{day}{path.suffix}")


def log_files(path: Path) -> list[Path]:
    """Return the files of the log at ``path`` in chain order (rotated days, then ``path``)."""
    rotated = sorted(path.parent.glob(f"{path.stem}-????-??-??{path.suffix}"))
    return rotated + ([path] if path.is_file() else [])


def head_file(path: Path) -> Path:
    """Return the ``.head`` file of the log at ``path``."""
    return path.with_name(f"{path.stem}.head")


def last_record(path: Path) -> AuditRecord | None:
    """Return the last whole record of a file (a torn or foreign last line is passed over)."""
    decoder = msgspec.json.Decoder(AuditRecord)
    with path.open("rb") as f:
        end = f.seek(0, os.SEEK_END)
        block = 65_536
        pos = end
        while pos > 0:
            pos = max(0, pos - block)
            f.seek(pos)
            lines = f.read(end - pos).split(b"\n")
            # The last piece follows the last newline (empty, or a torn line); the first
            # may begin mid-line unless the block reached the file's start.
            for line in reversed(lines[(1 if pos else 0) : -1]):
                try:
                    record = decoder.decode(line)
                except msgspec.DecodeError:
                    continue
                if record.hash:
                    return record
            block *= 4
    return None


class AuditLog:
    """Append records to ``path`` as hash-chained JSON lines; ``path=None`` only counts them."""

    def __init__(
        self,
        path: Path | None,
        fsync: bool = False,
        buffered: bool = False,
        *,
        rotate_daily: bool = False,
        copy_to: str | None = None,
    ) -> None:
        """Append to ``path``; ``fsync`` makes each line durable (live), ``buffered`` only
        writes in order and flushes on close (backtests: the run itself is the record);
        ``rotate_daily`` writes a file per UTC day; ``copy_to`` is an fsspec URL (a
        directory) each closed file is copied to."""
        self.path = path
        self._fsync = fsync
        self._buffered = buffered
        self._rotate = rotate_daily
        self._copy_to = copy_to
        self._written = 0
        self._seq = 0
        self._prev = GENESIS
        self._day = -1
        self._encoder = msgspec.json.Encoder()
        self._file: IO[bytes] | None = None
        self._file_path: Path | None = None
        self._failed: AuditWriteError | None = None
        self._copies: list[threading.Thread] = []
        self.copy_errors: list[str] = []
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._continue_chain(path)
                if not rotate_daily:
                    self._open(path)
            except OSError as exc:
                raise DataSourceError(f"cannot open audit log {path}: {exc}") from exc

    def _continue_chain(self, path: Path) -> None:
        for file in reversed(log_files(path)):
            record = last_record(file)
            if record is not None:
                self._seq, self._prev = record.seq, record.hash
                return

    def _open(self, path: Path) -> None:
        torn = path.is_file() and path.stat().st_size > 0 and _last_byte(path) != b"\n"
        self._file = path.open("ab")
        self._file_path = path
        if torn:
            # A crash cut the last line: end it, so the next record is a line of its own
            # (verify reports the torn one; nothing is ever removed).
            self._file.write(b"\n")

    @property
    def records_written(self) -> int:
        """Return how many records were appended by this log object."""
        return self._written

    @property
    def head(self) -> tuple[int, str]:
        """Return the last record's (seq, hash)."""
        return self._seq, self._prev

    def write(self, kind: str, ts: int, data: msgspec.Struct) -> None:
        """Append one record and make it durable before returning."""
        if self._failed is not None:
            raise self._failed
        self._written += 1
        if self.path is None:
            self._seq += 1
            return
        if self._rotate and ts // NS_PER_DAY > self._day:
            self._next_day(ts)
        body = self._encoder.encode(
            _Body(seq=self._seq + 1, ts=ts, kind=kind, data=msgspec.Raw(self._encoder.encode(data)))
        )
        digest = chain_hash(self._prev, body)
        line = body[:-1] + b',"hash":"' + digest.encode() + b'"}\n'
        self._guarded(lambda f: self._append(f, line))
        self._seq += 1
        self._prev = digest

    def _append(self, f: IO[bytes], line: bytes) -> None:
        f.write(line)
        if self._buffered:
            return
        f.flush()
        if self._fsync:
            os.fsync(f.fileno())

    def _guarded(self, action: Callable[[IO[bytes]], object]) -> None:
        file = self._file
        assert file is not None
        try:
            action(file)
        except OSError as exc:
            self._failed = AuditWriteError(f"audit log {self._file_path}: {exc}")
            raise self._failed from exc

    def _next_day(self, ts: int) -> None:
        assert self.path is not None
        self._close_file()
        self._day = ts // NS_PER_DAY
        try:
            self._open(day_file(self.path, ts))
        except OSError as exc:
            self._failed = AuditWriteError(f"audit log {day_file(self.path, ts)}: {exc}")
            raise self._failed from exc

    def _close_file(self) -> None:
        file, path = self._file, self._file_path
        if file is None or path is None:
            return
        self._guarded(lambda f: f.close())
        self._file = None
        self._write_head(path)
        if self._copy_to is not None:
            thread = threading.Thread(target=self._copy, args=(path,), name="audit-copy")
            thread.start()
            self._copies.append(thread)

    def _write_head(self, path: Path) -> None:
        assert self.path is not None
        head = AuditHead(seq=self._seq, hash=self._prev, file=path.name)
        tmp = head_file(self.path).with_suffix(".head.tmp")
        try:
            tmp.write_bytes(self._encoder.encode(head))
            tmp.replace(head_file(self.path))
        except OSError as exc:
            raise AuditWriteError(f"audit head {tmp}: {exc}") from exc

    def _copy(self, path: Path) -> None:
        import fsspec  # noqa: PLC0415 - only a log with a copy target needs it

        assert self._copy_to is not None
        try:
            fs, root = fsspec.core.url_to_fs(self._copy_to)
            fs.makedirs(root, exist_ok=True)
            fs.put_file(str(path), f"{root.rstrip('/')}/{path.name}")
        except Exception as exc:
            self.copy_errors.append(f"{path.name}: {exc}")
            log.warning("audit copy failed", file=str(path), target=self._copy_to, error=str(exc))

    @contextlib.contextmanager
    def batched(self) -> Iterator[None]:
        """Write lines unflushed inside the block; flush (and fsync) once when it ends.

        For recording facts that are already durable elsewhere, such as a live venue's
        trades applied by reconciliation: a crash inside the block loses only lines the
        next reconciliation writes again. Never around an order being sent.
        """
        previous = self._buffered
        self._buffered = True
        try:
            yield
        finally:
            self._buffered = previous
            if self._file is not None and not previous and self._failed is None:
                self._guarded(self._sync)

    def _sync(self, f: IO[bytes]) -> None:
        f.flush()
        if self._fsync:
            os.fsync(f.fileno())

    def close(self) -> None:
        """Close the file (its copy, when configured, is made before this returns)."""
        if self._failed is None:
            self._close_file()
        elif self._file is not None:
            # The write that failed already raised; the log is known broken.
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        for thread in self._copies:
            thread.join()
        self._copies.clear()


def _last_byte(path: Path) -> bytes:
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1)


def read_audit(path: Path) -> list[AuditRecord]:
    """Return every record of an audit log file, in order."""
    decoder = msgspec.json.Decoder(AuditRecord)
    with path.open("rb") as f:
        return [decoder.decode(line) for line in f if line.strip()]
