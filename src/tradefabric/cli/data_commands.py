"""``tradefabric data ...``: replay recordings, verify books, query the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tradefabric.cli import catalog_commands
from tradefabric.cli.committed import catalog_version, committed_since
from tradefabric.cli.download_command import download_data
from tradefabric.cli.import_command import import_data
from tradefabric.cli.output import fail, file_progress, print_json, stderr, stdout
from tradefabric.cli.tables import fmt_value, print_rows
from tradefabric.cli.triangulate_command import triangulate
from tradefabric.core.errors import DataSourceError, TradefabricError
from tradefabric.model.enums import EmptyCandlePolicy
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.market_data import MarketDataNode, ReplaySummary
from tradefabric.store.catalog import Catalog, QueryResult
from tradefabric.venues.registry import VENUES

_QUERY_ROWS_SHOWN = 1_000

app = typer.Typer(help="Market data: replay recordings, verify order books, query the catalog.")
app.command("versions")(catalog_commands.versions)
app.command("compact")(catalog_commands.compact_catalog)
app.command("gaps")(catalog_commands.gaps)
app.command("resample")(catalog_commands.resample_candles)
app.command("import")(import_data)
app.command("download")(download_data)
app.command("triangulate")(triangulate)

FileArg = Annotated[
    Path, typer.Argument(help="Recording: '<ts_ns> <raw json>' per line, gzip or plain.")
]
VenueOpt = Annotated[
    str, typer.Option("--venue", help=f"Venue the recording comes from: {', '.join(VENUES)}.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one machine-readable JSON document.")]


@app.command()
def replay(
    file: FileArg,
    venue: VenueOpt = "binance",
    catalog: Annotated[
        Path | None, typer.Option("--catalog", help="Parquet catalog directory to write to.")
    ] = None,
    intervals: Annotated[
        str,
        typer.Option("--intervals", help="Candle intervals built from trades, comma-separated."),
    ] = "1s,1m",
    empty_candles: Annotated[
        EmptyCandlePolicy,
        typer.Option("--empty-candles", help="Intervals without trades: skip, or carry the close."),
    ] = EmptyCandlePolicy.SKIP,
    json_output: JsonOpt = False,
) -> None:
    """Replay FILE through the parser, books and candles; store into --catalog; print counts."""
    before = catalog_version(catalog)
    try:
        config = MarketDataConfig(
            venue=venue,
            catalog=catalog,
            candle_intervals=tuple(i.strip() for i in intervals.split(",") if i.strip()),
            empty_candles=empty_candles,
        )
        summary = _run(config, file, progress=not json_output)
    except TradefabricError as exc:
        raise fail(exc, committed_since(catalog, before)) from exc
    if json_output:
        print_json(summary)
    else:
        _print_replay(summary)
    _fail_when_mostly_rejected(summary)


@app.command("verify-book")
def verify_book(file: FileArg, venue: VenueOpt = "binance", json_output: JsonOpt = False) -> None:
    """Rebuild the book of FILE (snapshot + diffs) and compare it with the venue's bookTicker.

    Prints the match rate at equal update ids, the number of comparisons, gaps and resyncs.
    Binance publishes the update id of its top of book, so the comparison needs a Binance
    recording; for other venues the book state and its gaps are still reported.
    """
    try:
        config = MarketDataConfig(venue=venue, check_books=True, candle_intervals=("1m",))
        summary = _run(config, file, progress=not json_output)
    except TradefabricError as exc:
        raise fail(exc) from exc
    if json_output:
        print_json(summary)
    else:
        _print_books(summary)
        _print_rejections(summary)
    _fail_when_mostly_rejected(summary)


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="DuckDB SQL over the views trades, quotes, candles.")],
    catalog: catalog_commands.CatalogOpt,
    version: Annotated[
        int | None, typer.Option("--version", help="Read this catalog version (data versions).")
    ] = None,
    json_output: JsonOpt = False,
    raw: catalog_commands.RawOpt = False,
) -> None:
    """Run SQL over the catalog's views: trades, quotes and candles (timestamps in int ns).

    trades(venue, symbol, ts_event, ts_recv, price, size, side, trade_id);
    quotes(venue, symbol, ts_event, ts_recv, bid, bid_size, ask, ask_size);
    candles(venue, symbol, interval, ts_open, open, high, low, close, volume, trades, ...).
    """
    try:
        result = Catalog(catalog, version=version).query(sql)
    except TradefabricError as exc:
        raise fail(exc) from exc
    if json_output:
        print_json(result)
        return
    _print_query(result, raw)


def _fail_when_mostly_rejected(summary: ReplaySummary) -> None:
    """Exit 2 when the recording is empty or more than half its lines were rejected.

    The counts are printed either way; a replay that accepted next to nothing is
    a wrong file or a wrong --venue, not a result.
    """
    stats = summary.replay
    if stats.lines and stats.rejected_total * 2 <= stats.lines:
        return
    if not stats.lines:
        problem = "the recording holds no lines"
    else:
        kinds = ", ".join(f"{k} {n:,}" for k, n in sorted(stats.rejected.items()))
        problem = f"{stats.rejected_total:,} of {stats.lines:,} lines rejected ({kinds})"
        if stats.rejected.get("unknown_stream", 0) * 2 > stats.lines:
            problem += f"; was it recorded from --venue {summary.venue}?"
    raise fail(DataSourceError(f"{summary.file}: {problem}"))


def _run(config: MarketDataConfig, file: Path, progress: bool) -> ReplaySummary:
    node = MarketDataNode(config)
    with file_progress(file, progress and stderr.is_terminal) as update:
        return node.replay(file, update)


def _print_replay(summary: ReplaySummary) -> None:
    events = Table(title=f"Replay of {summary.file} ({summary.venue})")
    events.add_column("event type")
    events.add_column("count", justify="right")
    for name, value in (
        ("lines read", summary.replay.lines),
        ("frames accepted", summary.replay.frames_accepted),
        ("trades", summary.events.trades),
        ("quotes", summary.events.quotes),
        ("book deltas", summary.events.book_deltas),
        ("book snapshots", summary.events.book_snapshots),
        ("candles", summary.events.candles),
    ):
        events.add_row(name, f"{value:,}")
    stdout.print(events)
    if summary.catalog_rows is not None:
        rows = summary.catalog_rows
        stdout.print(
            f"catalog rows written: trades {rows.trades:,}, quotes {rows.quotes:,}, "
            f"candles {rows.candles:,}"
        )
    _print_books(summary)
    _print_rejections(summary)


def _print_books(summary: ReplaySummary) -> None:
    table = Table(title="Order books")
    for column in (
        "symbol",
        "valid",
        "best bid",
        "best ask",
        "levels",
        "deltas",
        "gaps",
        "resyncs",
    ):
        table.add_column(column)
    for book in summary.books:
        table.add_row(
            book.symbol,
            "yes" if book.valid else "NO",
            f"{book.best_bid} x {book.best_bid_size}",
            f"{book.best_ask} x {book.best_ask_size}",
            f"{book.bid_levels}/{book.ask_levels}",
            f"{book.deltas_applied:,}",
            str(book.gaps),
            str(book.resyncs),
        )
    stdout.print(table)
    check = summary.book_check
    if check is not None:
        stdout.print(
            f"top of book vs venue bookTicker at equal update ids: {check.matches:,} of "
            f"{check.comparisons:,} match ({check.match_rate:.4%})"
        )


def _print_rejections(summary: ReplaySummary) -> None:
    rejected = summary.replay.rejected
    if not rejected and not summary.candles.late_trades:
        stdout.print("rejected lines: none")
        return
    parts = [f"{kind} {count:,}" for kind, count in sorted(rejected.items())]
    parts.append(f"late trades {summary.candles.late_trades:,}")
    stdout.print("[yellow]rejected:[/] " + ", ".join(parts) + " (details in the log on stderr)")


def _print_query(result: QueryResult, raw: bool) -> None:
    """Print the rows; ns times as UTC ISO unless ``raw``; records when too wide for a table."""
    shown = [
        [fmt_value(c, v, raw) for c, v in zip(result.columns, row, strict=True)]
        for row in result.rows[:_QUERY_ROWS_SHOWN]
    ]
    print_rows(stdout, result.columns, shown)
    more = len(result.rows) - _QUERY_ROWS_SHOWN
    tail = f" ({more:,} not shown; use --json for all)" if more > 0 else ""
    stdout.print(f"{len(result.rows):,} rows{tail}")
