"""What the importers take and hand back: options, per-file reports and the import summary."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final, Literal

import msgspec

TimeUnit = Literal["s", "ms", "us", "ns", "iso", "ms|us"]
"""How a numeric or text time column counts time since the epoch, UTC.

``iso`` is ISO 8601 text (without a zone it is read as UTC); ``ms|us`` is
Binance's: milliseconds, or microseconds where the value is at least 10**14
(Binance spot files from 2025 on).
"""

TIME_UNITS: Final[tuple[TimeUnit, ...]] = ("s", "ms", "us", "ns", "iso")
"""The units a user can choose with ``--time-unit``."""

DEFAULT_TIMEFRAME: Final = "1m"
DEFAULT_CHUNK_ROWS: Final = 100_000


class ImportOptions(msgspec.Struct, frozen=True):
    """What the user said about the files; ``None`` means "find it in the file or its name"."""

    venue: str | None = None
    symbol: str | None = None
    timeframe: str | None = None
    column_map: tuple[tuple[str, str], ...] = ()
    """``(candle field, source column)`` pairs of the generic format; field ``ignore`` skips one."""
    time_unit: TimeUnit | None = None
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    """Rows per committed chunk: a crash mid-import loses at most one chunk's work."""


class FileHints(msgspec.Struct, frozen=True):
    """What a file's name says about its contents; ``None`` where it says nothing."""

    venue: str | None = None
    symbol: str | None = None
    timeframe: str | None = None


class FileReport(msgspec.Struct, frozen=True):
    """What reading one file found: where its rows belong, how many, and what was off.

    Rows count from 1 in file order. Duplicated open times keep their first row;
    rows out of time order are sorted. Both are counted here, not errors.
    """

    file: str
    format: str
    layout: str
    venue: str
    symbol: str
    interval: str
    rows_read: int
    rows_kept: int
    duplicates_in_file: int
    first_duplicate_row: int | None
    out_of_order: int
    first_out_of_order_row: int | None
    ts_first: int | None
    ts_last: int | None

    @property
    def notes(self) -> tuple[str, ...]:
        """Return one human sentence per irregularity found in the file."""
        notes: list[str] = []
        if self.duplicates_in_file:
            notes.append(
                f"{self.file}: {self.duplicates_in_file} rows repeat an earlier open time "
                f"(first at row {self.first_duplicate_row}); kept the first of each"
            )
        if self.out_of_order:
            notes.append(
                f"{self.file}: {self.out_of_order} rows are earlier than the row before them "
                f"(first at row {self.first_out_of_order_row}); sorted by open time"
            )
        return tuple(notes)


class FileCandles(msgspec.Struct, frozen=True):
    """One file's candles in the catalog's candle schema, sorted by open time, unique."""

    report: FileReport
    table: object
    """pa.Table in the candle schema."""

    def chunks(self, rows: int) -> Iterator[Any]:
        """Yield the table in slices of at most ``rows`` rows (pa.Table each)."""
        table: Any = self.table
        step = max(rows, 1)
        for start in range(0, int(table.num_rows), step):
            yield table.slice(start, step)


class ImportProgress(msgspec.Struct, frozen=True):
    """Where an import stands: file ``file_index`` (from 0) of ``files_total``, rows so far."""

    file: str
    file_index: int
    files_total: int
    rows_done: int
    rows_total: int


class FileImport(msgspec.Struct, frozen=True):
    """One file's import: what was read and what the catalog kept of it."""

    report: FileReport
    rows_added: int
    duplicates: int
    """Rows the catalog already held (same venue, symbol, interval and open time)."""
    replaced: int
    versions: tuple[int, ...]
    """Catalog versions committed for this file, one per chunk that changed anything."""


class ImportSummary(msgspec.Struct, frozen=True):
    """The outcome of one ``import_path`` call, totals first."""

    path: str
    format: str
    files: int
    rows_read: int
    rows_added: int
    duplicates: int
    replaced: int
    duplicates_in_files: int
    out_of_order: int
    per_file: tuple[FileImport, ...]


def summarize(path: str, fmt: str, per_file: tuple[FileImport, ...]) -> ImportSummary:
    """Return the summary of ``per_file``, with the totals added up."""
    return ImportSummary(
        path=path,
        format=fmt,
        files=len(per_file),
        rows_read=sum(f.report.rows_read for f in per_file),
        rows_added=sum(f.rows_added for f in per_file),
        duplicates=sum(f.duplicates for f in per_file),
        replaced=sum(f.replaced for f in per_file),
        duplicates_in_files=sum(f.report.duplicates_in_file for f in per_file),
        out_of_order=sum(f.report.out_of_order for f in per_file),
        per_file=per_file,
    )
