"""``tradefabric tradingview``: receive TradingView alerts and print them as signals."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Annotated

import msgspec
import typer

from tradefabric.analytics import topics
from tradefabric.analytics.config import TradingViewConfig
from tradefabric.analytics.signals.base import Signal
from tradefabric.analytics.tradingview import TradingViewWebhook, WebhookStats
from tradefabric.cli.output import fail, print_json, stderr
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import LiveClock
from tradefabric.core.errors import ConfigError, TradefabricError


def tradingview(
    secret_env: Annotated[
        str, typer.Option("--secret-env", help="Environment variable holding the shared secret.")
    ],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (0: any free one).")] = 8080,
    duration_s: Annotated[
        float | None, typer.Option("--duration", help="Stop after this many seconds.")
    ] = None,
) -> None:
    """Serve a TradingView webhook; print each accepted alert as one JSON signal line.

    The URL is printed on stderr at start; the counts of accepted and rejected
    alerts (by reason) when it stops (--duration, SIGINT or SIGTERM).
    """
    try:
        secret = os.environ.get(secret_env, "")
        if not secret:
            raise ConfigError(f"--secret-env {secret_env}: the variable is not set")
        config = TradingViewConfig(secret=secret, host=host, port=port)
        stats = asyncio.run(_serve(config, duration_s))
    except TradefabricError as exc:
        raise fail(exc) from exc
    print_json(stats)


async def _serve(config: TradingViewConfig, duration_s: float | None) -> WebhookStats:
    bus = MessageBus()
    encoder = msgspec.json.Encoder()

    def show(alert: Signal) -> None:
        sys.stdout.write(encoder.encode(alert).decode() + "\n")
        sys.stdout.flush()

    bus.subscribe(topics.EXTERNAL_SIGNALS, show)
    async with TradingViewWebhook(bus, LiveClock(), config) as hook:
        stderr.print(f"tradingview webhook at {hook.url}", highlight=False)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)  # stop cleanly and print the counts
        if duration_s is not None:
            loop.call_later(duration_s, stop.set)
        await stop.wait()
        return hook.stats
