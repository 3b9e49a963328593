"""``tradefabric macro ...``: CoinGecko's market-wide readings into the catalog."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Annotated

import msgspec
import typer

from tradefabric.analytics.coingecko import (
    DEFAULT_URL,
    ClientStats,
    CoinGeckoClient,
    CoinGeckoConfig,
)
from tradefabric.analytics.macro import ScheduledMacro, backfill
from tradefabric.cli.output import fail, print_json, stdout
from tradefabric.core.errors import ConfigError, TradefabricError
from tradefabric.core.time import ns_to_iso, parse_utc
from tradefabric.store.catalog import Catalog

app = typer.Typer(help="Market-wide (macro) readings: BTC dominance, total market cap.")

CatalogOpt = Annotated[Path, typer.Option("--catalog", help="Catalog root directory.")]
UrlOpt = Annotated[
    str, typer.Option("--base-url", help="CoinGecko API root (a local server in tests).")
]
KeyOpt = Annotated[
    str, typer.Option("--api-key-env", help="Environment variable holding a CoinGecko API key.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
SpacingOpt = Annotated[
    float, typer.Option("--min-interval", help="Seconds between requests (your plan's limit).")
]


class MacroSummary(msgspec.Struct, frozen=True):
    """The ``--json`` document of ``macro backfill`` and ``macro watch``."""

    rows_added: int
    readings: int
    failures: int
    stats: ClientStats
    last_error: str = ""


def _config(base_url: str, api_key_env: str, min_interval_s: float) -> CoinGeckoConfig:
    key = os.environ.get(api_key_env, "") if api_key_env else ""
    if api_key_env and not key:
        raise ConfigError(f"--api-key-env {api_key_env}: the variable is not set")
    return CoinGeckoConfig(base_url=base_url, api_key=key, min_interval_s=min_interval_s)


@app.command("backfill")
def backfill_command(
    catalog: CatalogOpt,
    start: Annotated[str, typer.Option("--from", help="Start (UTC) of the readings.")],
    end: Annotated[str | None, typer.Option("--to", help="End (UTC, exclusive); now.")] = None,
    base_url: UrlOpt = DEFAULT_URL,
    api_key_env: KeyOpt = "",
    min_interval_s: SpacingOpt = 2.5,
    json_output: JsonOpt = False,
) -> None:
    """Store CoinGecko's hourly BTC dominance history for a time range in the catalog."""
    try:
        config = _config(base_url, api_key_env, min_interval_s)
        now = time.time_ns()
        start_ns, end_ns = parse_utc(start), parse_utc(end) if end else now

        async def run() -> tuple[int, ClientStats]:
            async with CoinGeckoClient(config) as client:
                return await backfill(client, catalog, start_ns, end_ns, now), client.stats

        added, stats = asyncio.run(run())
    except TradefabricError as exc:
        raise fail(exc) from exc
    summary = MacroSummary(added, added, 0, stats)
    if json_output:
        print_json(summary)
        return
    stdout.print(
        f"macro: {added:,} new readings {ns_to_iso(start_ns)} .. {ns_to_iso(end_ns)} "
        f"({stats.requests} requests, {stats.rate_limited} rate limited)"
    )


@app.command("watch")
def watch_command(
    catalog: CatalogOpt,
    refresh_s: Annotated[
        float, typer.Option("--refresh", help="Seconds between readings.")
    ] = 300.0,
    duration_s: Annotated[
        float | None, typer.Option("--duration", help="Stop after this many seconds.")
    ] = None,
    backfill_hours: Annotated[
        float, typer.Option("--backfill-hours", help="History stored first.")
    ] = 48.0,
    base_url: UrlOpt = DEFAULT_URL,
    api_key_env: KeyOpt = "",
    min_interval_s: SpacingOpt = 2.5,
    json_output: JsonOpt = False,
) -> None:
    """Backfill the recent past, then store a /global reading every --refresh seconds."""
    try:
        config = _config(base_url, api_key_env, min_interval_s)
        before = _stored(catalog)

        async def run() -> ScheduledMacro:
            async with CoinGeckoClient(config) as client:
                live = ScheduledMacro(
                    client, catalog, refresh_s=refresh_s, backfill_s=backfill_hours * 3600
                )
                stop = asyncio.Event()
                if duration_s is not None:
                    asyncio.get_running_loop().call_later(duration_s, stop.set)
                await live.run(stop)
                return live

        live = asyncio.run(run())
    except TradefabricError as exc:
        raise fail(exc) from exc
    added = _stored(catalog) - before
    summary = MacroSummary(added, len(live), live.failures, live.client.stats, live.last_error)
    if json_output:
        print_json(summary)
        return
    stdout.print(
        f"macro: {added:,} new readings stored, {live.fetches} live, {live.failures} failures"
        + (f" (last: {live.last_error})" if live.last_error else "")
    )


def _stored(catalog: Path) -> int:
    return Catalog(catalog).summary().macro if catalog.exists() else 0
