"""``tradefabric data download``: fetch candle or trade history from a venue into the catalog."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from tradefabric.cli.output import fail, print_json, stderr, stdout
from tradefabric.core.errors import TradefabricError
from tradefabric.core.time import now_ns, ns_to_iso, parse_utc
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.download import (
    CCXT_VENUES,
    DownloadOptions,
    DownloadProgress,
    DownloadReport,
    HistoryClient,
    download_candles,
    download_trades,
)

EXIT_INTERRUPTED = 130


def download_data(
    venue: Annotated[
        str, typer.Option("--venue", help=f"Venue: {', '.join(CCXT_VENUES)} (more to come).")
    ],
    symbol: Annotated[str, typer.Option("--symbol", help="Unified symbol, e.g. BTC/USDT.")],
    since: Annotated[
        str, typer.Option("--since", help="Start, UTC: 2024-08-01, 2024-08-01T12:30 or ns.")
    ],
    catalog: Annotated[
        str,
        typer.Option("--catalog", help="Catalog root: a directory or an fsspec URL (s3://...)."),
    ],
    until: Annotated[
        str | None, typer.Option("--until", help="End, exclusive, UTC (default: now).")
    ] = None,
    timeframe: Annotated[
        str, typer.Option("--timeframe", help="Candle interval: 1m, 5m, 1h, 1d...")
    ] = "1m",
    trades: Annotated[
        bool, typer.Option("--trades/--candles", help="Download trades, or candles (default).")
    ] = False,
    exchange_url: Annotated[
        str | None,
        typer.Option(
            "--exchange-url",
            help="REST base URL instead of the venue's (fake venue, proxy): http://127.0.0.1:8765.",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume/--no-resume",
            help="Start after the latest row already stored in the range, or fetch it all again.",
        ),
    ] = True,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one machine-readable JSON document.")
    ] = False,
) -> None:
    """Download candles (or --trades) of --symbol from --since to --until into --catalog.

    Pages through the venue's REST API with ccxt, rate limited, retrying rate
    limits (HTTP 429, after the venue's Retry-After) and network errors with
    backoff. Rows are committed in batches, one catalog version each, so an
    interrupted download keeps what it committed; running the same command again
    resumes after the latest stored row. Only closed candles are stored.
    """
    try:
        since_ns = parse_utc(since)
        until_ns = parse_utc(until) if until is not None else now_ns()
        writer = CatalogWriter(catalog)
        what = f"{symbol} trades" if trades else f"{symbol} {timeframe} candles"
        with (
            HistoryClient.open(venue, exchange_url) as client,
            _progress(what, enabled=not json_output and stderr.is_terminal) as progress,
        ):
            options = DownloadOptions(resume=resume)
            if trades:
                report = download_trades(
                    writer, client, symbol=symbol, since_ns=since_ns, until_ns=until_ns,
                    progress=progress, options=options,
                )  # fmt: skip
            else:
                report = download_candles(
                    writer, client, symbol=symbol, interval=timeframe, since_ns=since_ns,
                    until_ns=until_ns, progress=progress, options=options,
                )  # fmt: skip
    except TradefabricError as exc:
        raise fail(exc) from exc
    except KeyboardInterrupt:
        stderr.print(
            "[yellow]interrupted:[/] what was fetched is committed; run the same command "
            "again to resume",
            highlight=False,
        )
        raise typer.Exit(code=EXIT_INTERRUPTED) from None
    if json_output:
        print_json(report)
        return
    _print_report(report)


@contextmanager
def _progress(what: str, enabled: bool) -> Iterator[Callable[[DownloadProgress], None] | None]:
    """Show a bar over the time range on stderr; yield its update callback."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as bars:
        task = bars.add_task(what, total=None, status="")
        yield _ProgressUpdate(bars, task)


class _ProgressUpdate:
    """Move the bar to where a ``DownloadProgress`` says the download is."""

    def __init__(self, bars: Progress, task: TaskID) -> None:
        self._bars = bars
        self._task = task

    def __call__(self, at: DownloadProgress) -> None:
        status = f"{ns_to_iso(at.cursor_ns)[:16]}  {at.rows_fetched:,} rows  {at.pages:,} pages"
        if at.rate_limited:
            status += f"  {at.rate_limited} rate limited"
        self._bars.update(
            self._task,
            total=max(1, at.end_ns - at.start_ns),
            completed=at.cursor_ns - at.start_ns,
            status=status,
        )


def _print_report(r: DownloadReport) -> None:
    what = "trades" if r.interval is None else f"{r.interval} candles"
    stdout.print(
        f"[bold]{r.venue} {r.symbol} {what}[/] {ns_to_iso(r.start_ns)} .. {ns_to_iso(r.end_ns)}",
        highlight=False,
    )
    if r.resumed_from_ns is not None:
        stdout.print(f"resumed from {ns_to_iso(r.resumed_from_ns)}", highlight=False)
    span = (
        f" ({ns_to_iso(r.first_ns)} .. {ns_to_iso(r.last_ns)})"
        if r.first_ns is not None and r.last_ns is not None
        else ""
    )
    stdout.print(
        f"fetched {r.rows_fetched:,} rows{span} in {r.pages:,} pages, {r.requests:,} requests; "
        f"{r.rows_added:,} new, {r.replaced:,} replaced, {r.duplicates:,} already stored, "
        f"{r.rejected:,} rejected; "
        f"{r.commits:,} commits (catalog version {r.last_version})",
        highlight=False,
    )
    stdout.print(
        f"rate limited {r.rate_limited:,} times, network failures {r.failures:,}, "
        f"waited {r.waited_s:.1f} s in backoff; took {r.elapsed_s:.1f} s",
        highlight=False,
    )
    missing = "" if r.missing_in_range is None else f", {r.missing_in_range:,} missing"
    stdout.print(f"the catalog holds {r.stored_in_range:,} rows of the range{missing}")
    if r.aggregate_trades:
        stdout.print("trade ids are the venue's aggregate trade ids (as its aggTrade stream)")
