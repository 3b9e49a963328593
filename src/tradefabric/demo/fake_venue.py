"""Paper-trade a config against local fake venues replaying recordings (demo and tests)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import msgspec

from tradefabric.node.kernel import TradingConfig
from tradefabric.node.paper import PaperRunner
from tradefabric.node.run import BacktestResult
from tradefabric.node.trading_node import TradingNode
from tradefabric.venues.fakevenue.scripts import script_for
from tradefabric.venues.fakevenue.server import FakeVenueServer, VenueScript

OnNode = Callable[[TradingNode], None]
"""Called with the node once it is built, before any data arrives (extra subscribers)."""


async def paper_on_fake_venues(
    config: TradingConfig,
    recordings: Mapping[str, Path],
    run_dir: Path | None,
    *,
    speed: float = 0.0,
    timeout_s: float = 300.0,
    on_node: OnNode | None = None,
) -> BacktestResult:
    """Paper-trade ``config`` with one fake venue per feed, each replaying its recording.

    ``recordings`` maps each of ``config.feeds``' venues to a recording; ``speed`` is
    the replay speed (0: as fast as the socket goes). The run stops once every venue
    has streamed everything and the node has parsed every trade they sent.
    """
    scripts = {venue: script_for(venue, recordings[venue]) for venue in config.feeds}
    async with contextlib.AsyncExitStack() as stack:
        servers = {
            venue: await stack.enter_async_context(FakeVenueServer(script, speed=speed))
            for venue, script in scripts.items()
        }
        feeds = {
            venue: msgspec.structs.replace(
                feed, ws_url=servers[venue].ws_url, rest_url=servers[venue].http_url
            )
            for venue, feed in config.feeds.items()
        }
        runner = PaperRunner(msgspec.structs.replace(config, feeds=feeds), on_node=on_node)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(run_dir, stop))
        try:
            streamed = asyncio.ensure_future(
                asyncio.gather(*(server.finished.wait() for server in servers.values()))
            )
            # A node that fails to start must fail the run now, not after the timeout.
            pending: set[asyncio.Future[Any]] = {streamed, task}
            await asyncio.wait(pending, timeout=timeout_s, return_when="FIRST_COMPLETED")
            if task.done():
                streamed.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await streamed
                return task.result()
            if not streamed.done():
                raise TimeoutError(f"fake venues still streaming after {timeout_s:g} s")
            await _all_trades_parsed(runner, scripts.values(), task)
        except BaseException:
            stop.set()
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            raise
        stop.set()
        return await asyncio.wait_for(task, timeout=30)


async def _all_trades_parsed(
    runner: PaperRunner, scripts: Iterable[VenueScript], task: asyncio.Task[BacktestResult]
) -> None:
    """Wait until the node has every streamed trade and its queue has been quiet a moment."""
    streamed = sum(s.trades_streamed for s in scripts)
    quiet = 0
    last_queued = -1
    for _ in range(400):  # the last frames may still be in flight or queued
        status = runner.status()
        if task.done():
            return
        if status is not None and status.trades >= streamed and status.data is not None:
            queued = sum(v.queued for v in status.data.venues)
            # Frames after the last trade (book updates) still move candles and fills.
            quiet = quiet + 1 if queued == last_queued and status.data.depth == 0 else 0
            last_queued = queued
            if quiet >= 3:
                return
        await asyncio.sleep(0.025)


async def paper_on_fake_venue(
    config: TradingConfig,
    recording: Path,
    run_dir: Path | None,
    *,
    speed: float = 0.0,
    timeout_s: float = 300.0,
    on_node: OnNode | None = None,
) -> BacktestResult:
    """Paper-trade ``config``'s one feed against a fake venue replaying ``recording``."""
    recordings = dict.fromkeys(config.feeds, recording)
    return await paper_on_fake_venues(
        config, recordings, run_dir, speed=speed, timeout_s=timeout_s, on_node=on_node
    )
