"""``tradefabric data import``: load candle history from files into the catalog."""

from __future__ import annotations

import difflib
import enum
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from tradefabric.cli.committed import catalog_version, committed_since
from tradefabric.cli.output import EXIT_INTERRUPTED, fail, print_json, stderr, stdout
from tradefabric.core.errors import ConfigError, TradefabricError
from tradefabric.core.time import ns_to_iso
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.download.venues import CCXT_VENUES
from tradefabric.store.importers import (
    FORMATS,
    TIME_UNITS,
    ImportProgress,
    ImportSummary,
    TimeUnit,
    import_path,
    parse_map,
)
from tradefabric.store.importers.formats.multi_exchange import VENUE_LAYOUTS
from tradefabric.venues.registry import VENUES


class TimeUnitOption(enum.StrEnum):
    """The ``--time-unit`` choices."""

    S = "s"
    MS = "ms"
    US = "us"
    NS = "ns"
    ISO = "iso"


_UNITS: Final[dict[str, TimeUnit]] = {unit: unit for unit in TIME_UNITS}
_FORMAT_HELP: Final = "; ".join(f"{f.name}: {f.summary}" for f in FORMATS.values())


def import_data(
    path: Annotated[
        Path,
        typer.Argument(help="A file, or a folder whose files of --format are imported by name."),
    ],
    format_name: Annotated[str, typer.Option("--format", help=f"File format. {_FORMAT_HELP}.")],
    catalog: Annotated[
        str,
        typer.Option("--catalog", help="Catalog root: a directory or an fsspec URL (s3://...)."),
    ],
    venue: Annotated[
        str | None,
        typer.Option("--venue", help="Venue of the candles (default: from the file name)."),
    ] = None,
    symbol: Annotated[
        str | None,
        typer.Option(
            "--symbol", help="Unified symbol, e.g. BTC/USDT (default: from the file name)."
        ),
    ] = None,
    timeframe: Annotated[
        str | None,
        typer.Option(
            "--timeframe", help="Candle interval (default: from the file name or data, else 1m)."
        ),
    ] = None,
    column_map: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="generic: FIELD=COLUMN pairs, comma-separated (ts_open=time,open=o,...); "
            "fields ts_open, open, high, low, close, volume, trades, buy_volume, vwap, "
            "quote_volume; ignore=COLUMN skips a column.",
        ),
    ] = None,
    time_unit: Annotated[
        TimeUnitOption | None,
        typer.Option("--time-unit", help="generic: unit of a numeric or text time column."),
    ] = None,
    chunk_rows: Annotated[
        int,
        typer.Option(
            "--chunk-rows",
            min=1,
            help="Rows per commit: a crash loses at most the chunk being written.",
        ),
    ] = 100_000,
    new_venue: Annotated[
        bool,
        typer.Option(
            "--new-venue",
            help="Accept a --venue no venue table of tradefabric knows (else a typo guard).",
        ),
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one machine-readable JSON document.")
    ] = False,
) -> None:
    """Import candle history from PATH into --catalog; importing again adds nothing.

    Every file is checked whole before it is written (NaN or negative prices, bad
    or off-grid timestamps, unknown or ambiguous columns are errors naming the
    file, column and row); rows are committed in chunks, each one catalog version.
    Ctrl-C stops it and says which versions were committed.
    """
    before = catalog_version(catalog)
    try:
        if venue is not None and not new_venue:
            check_known_venue(venue)
        pairs = tuple(pair for text in column_map or () for pair in parse_map(text))
        unit = None if time_unit is None else _UNITS[time_unit.value]
        with _progress(enabled=not json_output and stderr.is_terminal) as progress:
            writer = CatalogWriter(catalog)
            summary = import_path(
                path,
                format_name,
                writer,
                venue=venue,
                symbol=symbol,
                timeframe=timeframe,
                progress=progress,
                column_map=pairs,
                time_unit=unit,
                chunk_rows=chunk_rows,
            )
    except TradefabricError as exc:
        raise fail(exc, committed_since(catalog, before)) from exc
    except KeyboardInterrupt:
        stderr.print(f"interrupted: {committed_since(catalog, before)}", highlight=False)
        raise typer.Exit(code=EXIT_INTERRUPTED) from None
    if json_output:
        print_json(summary)
        return
    _print_summary(summary)


def check_known_venue(venue: str) -> None:
    """Raise ``ConfigError`` unless a venue table (live, download, import) names ``venue``."""
    known = known_venues()
    if venue in known:
        return
    close = difflib.get_close_matches(venue, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(
        f"unknown venue {venue!r}{hint}; known venues: {', '.join(known)}; "
        "give --new-venue to import under a name none of them knows"
    )


def known_venues() -> list[str]:
    """Return every venue name tradefabric's venue tables know, sorted."""
    layouts = {layout.venue for layout in VENUE_LAYOUTS}
    return sorted(set(VENUES) | set(CCXT_VENUES) | layouts)


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[ImportProgress], None] | None]:
    """Show bars over files and over the current file's rows on stderr; yield their callback."""
    if not enabled:
        yield None
        return
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=stderr, transient=True) as bars:
        files = bars.add_task("files", total=None)
        rows = bars.add_task("rows", total=None)
        yield _ProgressUpdate(bars, files, rows)


class _ProgressUpdate:
    """Move the two bars to where an ``ImportProgress`` says the import is."""

    def __init__(self, bars: Progress, files: TaskID, rows: TaskID) -> None:
        self._bars = bars
        self._files = files
        self._rows = rows

    def __call__(self, at: ImportProgress) -> None:
        done = at.file_index + (at.rows_done >= at.rows_total)
        self._bars.update(self._files, total=at.files_total, completed=done)
        self._bars.update(
            self._rows, description=at.file, total=at.rows_total, completed=at.rows_done
        )


def _print_summary(summary: ImportSummary) -> None:
    stdout.print(f"[bold]Import of {summary.path} ({summary.format})[/]", highlight=False)
    for item in summary.per_file:
        report = item.report
        span = (
            "no rows"
            if report.ts_first is None or report.ts_last is None
            else f"{ns_to_iso(report.ts_first)} .. {ns_to_iso(report.ts_last)}"
        )
        stdout.print(
            f"{Path(report.file).name}: {report.venue} {report.symbol} {report.interval} "
            f"({report.layout}), {span}: {report.rows_read:,} rows, {item.rows_added:,} added, "
            f"{item.duplicates:,} already in the catalog",
            highlight=False,
        )
    stdout.print(
        f"{summary.files} file{'' if summary.files == 1 else 's'}, "
        f"{summary.rows_read:,} rows read, {summary.rows_added:,} added, "
        f"{summary.duplicates:,} already in the catalog, {summary.replaced:,} replaced",
        highlight=False,
    )
    for item in summary.per_file:
        for note in item.report.notes:
            stdout.print(f"[yellow]note:[/] {note}", highlight=False)
