"""``tradefabric feed``: run live feeds and watch them."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.live import Live
from rich.table import Table

from tradefabric.cli.output import fail, print_json, stderr, stdout
from tradefabric.core.clock import LiveClock
from tradefabric.core.errors import DataSourceError, TradefabricError
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.live_feed import FeedStatus, LiveFeed, LiveFeedConfig
from tradefabric.node.market_data import MarketDataNode
from tradefabric.venues.registry import VENUES, venue_entry


def feed(
    venue: Annotated[str, typer.Option("--venue", help=f"Venue: {', '.join(VENUES)}.")],
    symbols: Annotated[
        str, typer.Option("--symbols", help="Unified symbols, comma-separated: BTC/USDT,ETH/USDT.")
    ],
    channels: Annotated[
        str | None, typer.Option("--channels", help="Channels, comma-separated (venue default).")
    ] = None,
    record: Annotated[
        Path | None, typer.Option("--record", help="Record every frame to this directory.")
    ] = None,
    catalog: Annotated[
        Path | None, typer.Option("--catalog", help="Store trades, quotes, candles here.")
    ] = None,
    url_override: Annotated[
        str | None, typer.Option("--url-override", help="WebSocket URL (testnet, proxy, fake).")
    ] = None,
    rest_override: Annotated[str | None, typer.Option("--rest-override", help="REST URL.")] = None,
    duration: Annotated[
        float, typer.Option("--duration", help="Stop after this many seconds (0 = until Ctrl-C).")
    ] = 0.0,
    venue_clock: Annotated[
        bool,
        typer.Option(
            "--venue-clock",
            help="Stamp receive times on the venue's clock (local + measured offset).",
        ),
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the final status as JSON.")
    ] = False,
) -> None:
    """Run a live feed with a status table: rates, lag, book state, reconnects."""
    try:
        entry = venue_entry(venue)
        config = LiveFeedConfig(
            symbols=_split(symbols),
            channels=tuple(c.strip() for c in channels.split(","))
            if channels
            else entry.default_channels,
            ws_url=url_override,
            rest_url=rest_override,
            record_dir=record,
            recv_on_venue_clock=venue_clock,
        )
        started = time.monotonic()
        status = asyncio.run(_run(venue, catalog, config, duration, not json_output))
        ran_s = time.monotonic() - started
    except TradefabricError as exc:
        raise fail(exc) from exc
    if json_output:
        print_json(status)
    else:
        stdout.print(_table(status))
    silent = silent_symbols(status, config.symbols)
    if silent:
        raise fail(
            DataSourceError(
                f"{venue} streamed nothing for {', '.join(silent)} in {ran_s:.1f} s: "
                "is the symbol listed there (spelled as a unified symbol, e.g. BTC/USDT)?"
            )
        )


def silent_symbols(status: FeedStatus, symbols: tuple[str, ...]) -> list[str]:
    """Return the subscribed ``symbols`` for which no channel delivered a single event."""
    heard = {c.symbol for c in status.channels if c.events > 0}
    return [s for s in symbols if s not in heard]


async def _run(
    venue: str, catalog: Path | None, config: LiveFeedConfig, duration: float, live_table: bool
) -> FeedStatus:
    node = MarketDataNode(MarketDataConfig(venue=venue, catalog=catalog), clock=LiveClock())
    live = LiveFeed(node, config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    task = asyncio.create_task(live.run(stop))
    started = loop.time()
    with Live(_table(live.status()), console=stderr, refresh_per_second=2, transient=True) as view:
        while not task.done():
            await asyncio.wait({task}, timeout=0.5)
            if live_table:
                view.update(_table(live.status()))
            if duration and loop.time() - started >= duration:
                stop.set()
    await task
    return live.status()


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _table(status: FeedStatus) -> Table:
    conn = status.connection
    table = Table(title=f"{status.venue} feed")
    table.add_column("what")
    table.add_column("value", justify="right")
    ev = status.events
    rows = [
        ("connected", "yes" if conn.connected else "no"),
        ("frames", f"{conn.frames:,}"),
        ("trades / quotes / book deltas", f"{ev.trades:,} / {ev.quotes:,} / {ev.book_deltas:,}"),
        ("reconnects / stalls", f"{conn.reconnects} / {conn.stalls}"),
        ("rejected frames", str(sum(conn.rejected.values()))),
        ("snapshots (failed)", f"{status.snapshots_fetched} ({status.snapshot_failures})"),
        ("periodic book refreshes", str(status.book_refreshes)),
        ("REST requests (429s)", f"{status.rest_requests} ({status.rest_rate_limited})"),
        (
            "clock offset",
            f"{status.clock_offset_ms:+.1f} ms ±{status.clock_offset_uncertainty_ms:.1f}",
        ),
    ]
    for channel in status.channels:
        flag = " STALE" if channel.stale else ""
        rate = 1.0 / channel.mean_gap_s if channel.mean_gap_s > 0 else 0.0
        rows.append((f"{channel.channel} {channel.symbol}", f"{rate:,.1f}/s{flag}"))
    for book in status.books:
        state = "valid" if book.valid else "RESYNCING"
        rows.append((f"book {book.symbol}", f"{state} {book.best_bid} / {book.best_ask}"))
    for name, value in rows:
        table.add_row(name, value)
    if conn.last_error:
        table.caption = f"last error: {conn.last_error}"
    return table
