"""One suite, every venue: subscribe, stream, valid book, reconnect, resync and faults.

Each venue's feed runs against its local fake venue over real sockets; the fake
venue's own book is the truth the client's book must equal after every fault.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import pytest

from tests.conformance.cases import CASES, ConformanceCase
from tests.feed_waits import until_drained_and_valid
from tradefabric.core.clock import LiveClock
from tradefabric.data import topics
from tradefabric.model.data import Trade
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.live_feed import LiveFeed, LiveFeedConfig
from tradefabric.node.market_data import MarketDataNode
from tradefabric.venues.fakevenue.scripts import script_for
from tradefabric.venues.fakevenue.server import FakeVenueServer
from tradefabric.venues.registry import venue_entry

Injector = Callable[[FakeVenueServer], Awaitable[None]]

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("case", CASES, ids=lambda c: c.venue)]


class Outcome(msgspec.Struct):
    feed: LiveFeed
    server: FakeVenueServer
    trades: list[Trade]


async def _run(shared_data: Path, case: ConformanceCase, inject: Injector | None) -> Outcome:
    entry = venue_entry(case.venue)
    script = script_for(entry.name, shared_data / case.recording)
    async with FakeVenueServer(script, speed=case.speed) as server:
        node = MarketDataNode(MarketDataConfig(venue=case.venue), clock=LiveClock())
        trades: list[Trade] = []
        node.bus.subscribe(topics.TRADES, trades.append)
        config = LiveFeedConfig(
            symbols=(case.symbol,), channels=entry.default_channels,
            ws_url=server.ws_url, rest_url=server.http_url,
            silence_timeout_s=1.0, rest_fallback_lag_s=0,
        )  # fmt: skip
        feed = LiveFeed(node, config)
        stop = asyncio.Event()
        task = asyncio.create_task(feed.run(stop))
        if inject is not None:
            await inject(server)
        await asyncio.wait_for(server.finished.wait(), timeout=120)
        await until_drained_and_valid(feed)
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    return Outcome(feed, server, trades)


async def _after(server: FakeVenueServer, frames: int) -> None:
    while server.status().frames_streamed < frames and not server.finished.is_set():
        await asyncio.sleep(0.005)


def _assert_book_is_the_venues(outcome: Outcome, case: ConformanceCase) -> None:
    (synced,) = outcome.feed.node.books.all_books()
    truth = outcome.server.script.venue_book(synced.book.symbol)
    assert truth is not None, f"{case.venue}: the fake venue has no book"
    assert synced.book.valid, f"{case.venue}: book still invalid at the end"
    assert synced.book.depth(50) == truth.depth(50)


async def test_subscribe_and_stream(shared_data: Path, case: ConformanceCase) -> None:
    outcome = await _run(shared_data, case, None)
    assert len(outcome.trades) == outcome.server.script.trades_streamed > 0
    assert outcome.feed.status().connection.rejected == {}
    _assert_book_is_the_venues(outcome, case)


async def test_reconnect_resyncs_the_book(shared_data: Path, case: ConformanceCase) -> None:
    async def drop(server: FakeVenueServer) -> None:
        await _after(server, 5_000)
        await server.drop_connections()

    outcome = await _run(shared_data, case, drop)
    assert outcome.feed.status().connection.reconnects >= 1
    _assert_book_is_the_venues(outcome, case)


async def test_sequence_break_resyncs_the_book(shared_data: Path, case: ConformanceCase) -> None:
    async def skip(server: FakeVenueServer) -> None:
        await _after(server, 3_000)
        server.faults.skip_sequenced(1)

    outcome = await _run(shared_data, case, skip)
    (synced,) = outcome.feed.node.books.all_books()
    assert synced.gaps + synced.checksum_failures >= 1
    _assert_book_is_the_venues(outcome, case)


async def test_malformed_frames_are_counted(shared_data: Path, case: ConformanceCase) -> None:
    async def garbage(server: FakeVenueServer) -> None:
        await _after(server, 2_000)
        server.faults.send_malformed(3)

    outcome = await _run(shared_data, case, garbage)
    assert sum(outcome.feed.status().connection.rejected.values()) == 3
    _assert_book_is_the_venues(outcome, case)
