"""Recorded traffic files: one frame per line.

Two line formats are read, told apart by the first line:

- ``<ts_recv ns> <raw frame>``: what live feeds record, and ``shared/data/binance_ws/``;
- capture format (``shared/data/ws_captures/``): a header ``<url> <-> <ts>``, frames we
  sent as ``<url> <- <ts>: <json>`` (skipped) and frames received as ``<ts>: <raw>``
  with ``<ts>`` in decimal seconds.

Files may be gzip-compressed (detected by magic bytes, not by name).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import msgspec

from tradefabric.core.errors import DataSourceError

_GZIP_MAGIC = b"\x1f\x8b"
_CAPTURE_HEADER = b" <-> "
_SENT_MARK = b" <- "


class RecordedLine(msgspec.Struct, frozen=True, gc=False):
    """One line of a recording: its 1-based number, receive time and raw frame.

    ``ts_recv`` is -1 when the line has no valid timestamp; ``raw`` then holds the whole line.
    """

    line_no: int
    ts_recv: int
    raw: bytes


ProgressCallback = Callable[[int], None]
"""Called with the number of file bytes consumed so far."""


def open_recording(path: Path) -> tuple[Iterable[bytes], BinaryIO, int]:
    """Open ``path`` for reading lines; return (lines, the raw file, its size in bytes).

    Raises ``DataSourceError`` with the reason when the file is missing or unreadable.
    """
    try:
        raw_file: BinaryIO = path.open("rb")
        size = path.stat().st_size
        magic = raw_file.read(2)
        raw_file.seek(0)
    except IsADirectoryError as exc:
        raise DataSourceError(f"{path} is a directory, expected a recording file") from exc
    except OSError as exc:
        raise DataSourceError(f"cannot read recording {path}: {exc.strerror or exc}") from exc
    if magic == _GZIP_MAGIC:
        # GzipFile buffers internally, so iterating it yields lines at C speed.
        return gzip.GzipFile(fileobj=raw_file, mode="rb"), raw_file, size
    return raw_file, raw_file, size


def read_recording(path: Path, progress: ProgressCallback | None = None) -> Iterator[RecordedLine]:
    """Yield the lines of a recording in file order.

    A line without a leading integer timestamp is yielded with ``ts_recv == -1`` so
    the caller can count and report it; blank lines are skipped. A file that is
    corrupt beyond its lines (a broken gzip stream) raises ``DataSourceError``
    after the lines read so far were yielded.
    """
    lines, raw_file, _ = open_recording(path)
    with raw_file:
        try:
            yield from _split_lines(lines, raw_file, progress)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise DataSourceError(f"{path}: recording is corrupt or truncated: {exc}") from exc


def _split_lines(
    lines: Iterable[bytes], raw_file: BinaryIO, progress: ProgressCallback | None
) -> Iterator[RecordedLine]:
    parse: Callable[[int, bytes], RecordedLine | None] = _parse_recorded
    for line_no, line in enumerate(lines, start=1):
        if progress is not None and line_no % 4096 == 0:
            progress(raw_file.tell())
        stripped = line.rstrip(b"\r\n")
        if line_no == 1 and _CAPTURE_HEADER in stripped:
            parse = _parse_captured
            continue
        if not stripped:
            continue
        parsed = parse(line_no, stripped)
        if parsed is not None:
            yield parsed
    if progress is not None:
        progress(raw_file.tell())


def _parse_recorded(line_no: int, line: bytes) -> RecordedLine:
    stamp, _, frame = line.partition(b" ")
    if stamp.isdigit() and frame:
        return RecordedLine(line_no, int(stamp), frame)
    return RecordedLine(line_no, -1, line)


def _parse_captured(line_no: int, line: bytes) -> RecordedLine | None:
    stamp, sep, frame = line.partition(b": ")
    if _SENT_MARK in stamp:
        return None  # a frame we sent (a subscription), not traffic
    ts = _decimal_seconds_to_ns(stamp) if sep else -1
    if ts < 0 or not frame:
        return RecordedLine(line_no, -1, line)
    return RecordedLine(line_no, ts, frame)


def _decimal_seconds_to_ns(stamp: bytes) -> int:
    """Convert ``1633998512.0633569`` to ns exactly (no float rounding); -1 if malformed."""
    whole, _, fraction = stamp.partition(b".")
    if not whole.isdigit() or (fraction and not fraction.isdigit()):
        return -1
    return int(whole) * 1_000_000_000 + int((fraction + b"000000000")[:9])
