"""Import candle files into the catalog: one atomic catalog commit per chunk of rows.

A chunk is at most ``chunk_rows`` rows of one file. The catalog drops rows whose
natural key (venue, symbol, interval, open time) it already holds, so running
the same import again adds nothing, and an import killed midway loses at most
the chunk it was writing: running it again completes it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.importers.formats import candle_format
from tradefabric.store.importers.model import (
    DEFAULT_CHUNK_ROWS,
    FileCandles,
    FileImport,
    ImportOptions,
    ImportProgress,
    ImportSummary,
    TimeUnit,
    summarize,
)
from tradefabric.store.importers.reader import (
    check_options,
    check_overrides,
    list_files,
    read_file,
)

ProgressCallback = Callable[[ImportProgress], None]


def import_path(
    path: Path,
    fmt: str,
    writer: CatalogWriter,
    *,
    venue: str | None = None,
    symbol: str | None = None,
    timeframe: str | None = None,
    progress: ProgressCallback | None = None,
    column_map: tuple[tuple[str, str], ...] = (),
    time_unit: TimeUnit | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> ImportSummary:
    """Import ``path`` (a file, or a folder's files by name) of format ``fmt`` into ``writer``.

    Every file is read and checked whole before its first chunk is written, so a
    bad file writes nothing; files before it stay imported.
    """
    candle_fmt = candle_format(fmt)
    options = ImportOptions(
        venue=venue,
        symbol=symbol,
        timeframe=timeframe,
        column_map=column_map,
        time_unit=time_unit,
        chunk_rows=chunk_rows,
    )
    check_options(candle_fmt, options)
    files = list_files(path, candle_fmt)
    check_overrides(files, candle_fmt, options)
    done: list[FileImport] = []
    for index, file in enumerate(files):
        candles = read_file(file, candle_fmt, options)
        step = _Step(index, len(files), progress)
        done.append(_write(candles, f"import:{fmt}:{file.name}", writer, chunk_rows, step))
    return summarize(str(path), fmt, tuple(done))


class _Step:
    """Report the progress of one file."""

    def __init__(self, index: int, total: int, callback: ProgressCallback | None) -> None:
        self._index = index
        self._total = total
        self._callback = callback

    def __call__(self, file: str, rows_done: int, rows_total: int) -> None:
        if self._callback is not None:
            self._callback(ImportProgress(file, self._index, self._total, rows_done, rows_total))


def _write(
    candles: FileCandles, source: str, writer: CatalogWriter, chunk_rows: int, step: _Step
) -> FileImport:
    report = candles.report
    name = Path(report.file).name
    added = duplicates = replaced = written = 0
    versions: list[int] = []
    step(name, 0, report.rows_kept)
    for chunk in candles.chunks(chunk_rows):
        result = writer.write_table("candles", chunk, source)
        added += result.rows_added
        duplicates += result.duplicates
        replaced += result.replaced
        if result.version is not None:
            versions.append(result.version)
        written += chunk.num_rows
        step(name, written, report.rows_kept)
    return FileImport(
        report=report,
        rows_added=added,
        duplicates=duplicates,
        replaced=replaced,
        versions=tuple(versions),
    )
