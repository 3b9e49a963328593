"""``tradefabric venue serve``: a local fake venue replaying real traffic in a venue's protocol."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer

from tradefabric.cli.output import fail, stderr, stdout
from tradefabric.core.errors import ConfigError, DataSourceError, TradefabricError
from tradefabric.venues.fakevenue.binance_history import BinanceHistory
from tradefabric.venues.fakevenue.scripts import script_for
from tradefabric.venues.fakevenue.server import FakeVenueServer, VenueScript
from tradefabric.venues.registry import VENUES

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
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(FakeVenueServer(script, speed=speed, port=port), exit_when_done))
    except (TradefabricError, OSError) as exc:
        raise fail(
            exc if isinstance(exc, TradefabricError) else TradefabricError(str(exc))
        ) from exc


def _serve_klines(script: VenueScript, path: Path) -> None:
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
