"""Errors of the candle importers: each names the file, and the column and row where relevant.

All are ``DataSourceError`` (a ``FatalError``): retrying the same file cannot help.
Row numbers count data rows from 1, in file order (a CSV header is not a row).
"""

from __future__ import annotations

from pathlib import Path

from tradefabric.core.errors import DataSourceError


class ImportFileError(DataSourceError):
    """A file cannot be imported as it is; the message says where and why."""

    def __init__(
        self, file: Path | str, problem: str, column: str | None = None, row: int | None = None
    ) -> None:
        self.file = str(file)
        self.column = column
        self.row = row
        self.problem = problem
        where = [self.file]
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row}")
        super().__init__(f"{', '.join(where)}: {problem}")


class UnknownColumnsError(ImportFileError):
    """The file has columns the chosen format or mapping does not know."""


class AmbiguousColumnsError(ImportFileError):
    """More than one column could fill the same candle field, or one layout is not decidable."""


class MissingColumnError(ImportFileError):
    """A column the format or mapping needs is absent from the file."""


class BadTimestampError(ImportFileError):
    """A timestamp cannot be parsed, is off the interval grid, or the rows are too dense."""


class BadValueError(ImportFileError):
    """A price or volume is missing, NaN, negative or inconsistent (high below low)."""


class FileNameError(ImportFileError):
    """Venue, symbol or timeframe is missing, or options, file name and data disagree on it."""
