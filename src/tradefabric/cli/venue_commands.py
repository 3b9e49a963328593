"""``tradefabric venue serve`` (a local fake venue replaying real traffic in a venue's protocol)
and ``tradefabric venue instruments`` (a venue's instruments from its own exchange info)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import aiohttp
import msgspec
import typer
from rich.table import Table

from tradefabric.cli.output import fail, print_json, stderr, stdout
from tradefabric.core.errors import ConfigError, DataSourceError, TradefabricError
from tradefabric.core.time import ns_to_iso
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.instrument import Instrument
from tradefabric.store.instrument_cache import InstrumentCache
from tradefabric.venues.fakevenue.binance_history import BinanceHistory
from tradefabric.venues.fakevenue.scripts import script_for, with_private_api
from tradefabric.venues.fakevenue.server import FakeVenueScript, FakeVenueServer
from tradefabric.venues.instruments import DEFAULT_TTL_S, InstrumentLoader, resolve_instruments
from tradefabric.venues.registry import VENUES, venue_profile

app = typer.Typer(help="Local fake venues for offline testing against realistic traffic.")


@app.command()
def serve(
    venue: Annotated[str, typer.Option("--venue", help=f"Protocol to speak: {', '.join(VENUES)}.")],
    replay: Annotated[
        Path, typer.Option("--replay", help="Recording to stream ('<ts_ns> <raw>').")
    ],
    speed: Annotated[
        float, typer.Option("--speed", help="Replay speed: 1 = real time, 10 = 10x, 0 = flat out.")
    ] = 1.0,
    port: Annotated[int, typer.Option("--port", help="TCP port on 127.0.0.1 (0 = any free).")] = 0,
    exit_when_done: Annotated[
        bool, typer.Option("--exit-when-done", help="Stop once the recording has been streamed.")
    ] = False,
    klines: Annotated[
        list[Path] | None,
        typer.Option(
            "--klines",
            help="Binance: serve klines from this freqtrade candle file (.feather) or folder "
            "of them; repeatable.",
        ),
    ] = None,
    private_keys: Annotated[
        Path | None,
        typer.Option(
            "--private-keys",
            help="Also serve the venue's private API (Binance so far) for the keys in this "
            'JSON file: [{"api_key", "hmac_secret" | "ed25519_public_pem"}].',
        ),
    ] = None,
) -> None:
    """Serve a recording over WebSocket + HTTP on 127.0.0.1 until interrupted.

    Point a feed at it with --url-override/--rest-override. Faults can be injected with
    POST /_fault/drop, /_fault/stall?seconds=N, /_fault/malformed?count=N,
    /_fault/skip?count=N and /_fault/http?status=429&count=N; GET /_status reports progress.
    Binance also serves exchangeInfo, aggTrades (from the recording) and, with --klines,
    klines, so `tradefabric data download --exchange-url` works offline.
    """
    try:
        if not replay.is_file():
            raise DataSourceError(f"recording {replay} does not exist or is not a file")
        script = script_for(venue, replay)
        for path in klines or ():
            _serve_klines(script, path)
        if private_keys is not None:
            script = with_private_api(script, private_keys)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(FakeVenueServer(script, speed=speed, port=port), exit_when_done))
    except (TradefabricError, OSError) as exc:
        raise fail(
            exc if isinstance(exc, TradefabricError) else TradefabricError(str(exc))
        ) from exc


def _serve_klines(script: FakeVenueScript, path: Path) -> None:
    history = getattr(script, "history", None)
    if not isinstance(history, BinanceHistory):
        raise ConfigError(f"--klines: only Binance venues serve klines so far, not {script.name}")
    symbols = history.add_klines(path)
    stderr.print(f"klines of {', '.join(symbols)} from {path}", highlight=False)


async def _serve(server: FakeVenueServer, exit_when_done: bool) -> None:
    async with server:
        stdout.print(f"fake {server.script.name} venue listening")
        stdout.print(f"  websocket: {server.ws_url}   rest: {server.http_url}")
        stdout.print(f"  status:    {server.http_url}/_status")
        stderr.print("streaming starts when the first client subscribes; Ctrl-C stops")
        if exit_when_done:
            await server.finished.wait()
        else:
            await asyncio.Event().wait()


@app.command()
def instruments(
    venue: Annotated[str, typer.Option("--venue", help=f"Venue: {', '.join(VENUES)}.")],
    symbols: Annotated[
        str | None,
        typer.Option("--symbols", help="Comma-separated unified symbols (default: every one)."),
    ] = None,
    rest_override: Annotated[
        str | None, typer.Option("--rest-override", help="REST base URL (e.g. a fake venue).")
    ] = None,
    catalog: Annotated[
        Path | None,
        typer.Option("--catalog", help="Catalog to cache the listing in (instruments/<venue>/)."),
    ] = None,
    ttl: Annotated[
        float, typer.Option("--ttl", help="Seconds a cached listing is used before refetching.")
    ] = DEFAULT_TTL_S,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one machine-readable JSON document.")
    ] = False,
) -> None:
    """Print a venue's instruments (tick, lot, minimums, contract size) from its exchange info.

    Fetched over REST with the venue's rate limits, or read from --catalog when a
    listing younger than --ttl from the same URL is there (a fetch is stored there).
    """
    wanted = [s.strip() for s in (symbols or "").split(",") if s.strip()]
    try:
        result = asyncio.run(_instruments(venue, wanted, rest_override, catalog, ttl))
    except (TradefabricError, OSError, aiohttp.ClientError) as exc:
        error = exc if isinstance(exc, TradefabricError) else TradefabricError(str(exc))
        raise fail(error) from exc
    if json_output:
        print_json(result)
        return
    table = Table(title=f"{venue} instruments ({len(result.instruments)})")
    for column in ("symbol", "raw", "kind", "tick", "lot", "min size", "min notional", "contract"):
        table.add_column(column)
    for i in result.instruments:
        table.add_row(i.symbol, i.raw_symbol, i.kind.value, i.price_increment, i.size_increment,
                      i.min_size, i.min_notional, i.contract_size)  # fmt: skip
    stdout.print(table)
    origin = "catalog cache" if result.from_cache else "the venue"
    stdout.print(f"from {origin}: {result.url}, fetched {ns_to_iso(result.fetched_at_ns)}")


class InstrumentsResult(msgspec.Struct, frozen=True, kw_only=True):
    """What ``venue instruments --json`` prints."""

    venue: str
    url: str
    fetched_at_ns: int
    from_cache: bool
    instruments: tuple[Instrument, ...]


async def _instruments(
    venue: str, wanted: list[str], rest_url: str | None, catalog: Path | None, ttl_s: float
) -> InstrumentsResult:
    venue_profile(venue)
    cache = InstrumentCache(catalog) if catalog is not None else None
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        urls = {venue: rest_url} if rest_url else {}
        loader = InstrumentLoader(session, cache, ttl_s=ttl_s, rest_urls=urls)
        snapshot = await loader.load(venue)
        listed = snapshot.instruments
        if wanted:
            ids = [InstrumentId(venue, symbol) for symbol in wanted]
            found = await resolve_instruments(ids, loader=loader)
            listed = tuple(found[i] for i in ids)
    return InstrumentsResult(
        venue=venue, url=snapshot.url, fetched_at_ns=snapshot.fetched_at_ns,
        from_cache=not loader.requests, instruments=tuple(sorted(listed, key=lambda i: i.symbol)),
    )  # fmt: skip
