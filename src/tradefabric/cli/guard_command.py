"""``tradefabric guard``: the dead man's switch beside a live node (``node.guard``)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Annotated

import typer

from tradefabric.cli.output import fail
from tradefabric.core.errors import TradefabricError
from tradefabric.node.guard import run_guard
from tradefabric.node.kernel import TradingConfig, load_config


def guard(
    config: Annotated[Path, typer.Option("--config", "-c", help="The node's config (YAML).")],
    duration: Annotated[
        float, typer.Option("--duration", help="Stop after this many seconds (0 = until Ctrl-C).")
    ] = 0.0,
) -> None:
    """Cancel every open order on live venues without cancel-after when the heartbeat stops."""
    try:
        cfg = load_config(config)
        asyncio.run(_guard(cfg, duration))
    except TradefabricError as exc:
        raise fail(exc) from exc


async def _guard(cfg: TradingConfig, duration: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    if duration:
        loop.call_later(duration, stop.set)
    await run_guard(cfg, stop)
