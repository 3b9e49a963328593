"""Soak: the live USD-M feed against the fake venue under a seeded random storm of faults.

One real recording (``usdm_btcusdt_20240808.gz``, ~345 s of BTCUSDT trades,
depth and book tickers) is streamed over real sockets at 10x while a seeded
schedule injects every fault the fake venue knows: dropped connections, stalls
(tripping the silence watchdog), withheld book diffs, malformed frames and
HTTP 429s on REST. At the end the client must hold exactly the venue's book,
account for every trade id (received, or recorded as a gap), show that every
fault class was actually met, and not have grown in memory between the first
and the last third of the run.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import pytest

from tests.conftest import report_figure
from tradefabric.core.clock import LiveClock
from tradefabric.data import topics
from tradefabric.model.data import Trade
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.live_feed import LiveFeed, LiveFeedConfig
from tradefabric.node.market_data import MarketDataNode
from tradefabric.venues.binance.markets import market
from tradefabric.venues.fakevenue.binance import BinanceScript
from tradefabric.venues.fakevenue.faults import HttpFault
from tradefabric.venues.fakevenue.server import FakeVenueServer

RECORDING = "usdm_btcusdt_20240808.gz"
VENUE = "binance-usdm"
SYMBOL = "BTC/USDT"
RAW_SYMBOL = "BTCUSDT"
SPEED = 10.0
"""~345 s of recorded traffic in ~35 s of wall time (about 2,700 frames/s)."""
SEED = int(os.environ.get("TRADEFABRIC_SOAK_SEED", "20240808"))
SILENCE_TIMEOUT_S = 0.5
STALL_S = 0.9
"""Long enough to trip a 0.5 s watchdog once, short enough not to trip it twice."""
FAULT_KINDS = ("drop", "stall", "skip", "malformed", "http429")
ROUNDS = 2
"""Each fault class is injected this many times, in a seeded random order."""
FIRST_FAULT_FRAME = 6_000
LAST_FAULT_FRAME = 66_000
"""Faults stop well before the end: a trade lost in the last frames leaves no later id to
reveal its gap, and the book needs time to resync before the final comparison."""
MEMORY_GROWTH_BOUND = 8 * 1024 * 1024
"""Traced heap growth allowed from the first to the last third (the books alone are ~1 MB)."""
WALL_BOUND_S = 90.0

Fault = Callable[[FakeVenueServer], Awaitable[None]]


class Sample(msgspec.Struct, frozen=True):
    """Progress and memory at one moment of the run."""

    t: float
    frames: int
    traced: int
    rss: int


class TradeTally:
    """Count trades and check their ids increase, without keeping them (memory is measured)."""

    def __init__(self) -> None:
        self.count = 0
        self.last_id = -1
        self.out_of_order = 0

    def __call__(self, trade: Trade) -> None:
        trade_id = int(trade.trade_id)
        if trade_id <= self.last_id:
            self.out_of_order += 1
        self.last_id = trade_id
        self.count += 1


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def _drop(server: FakeVenueServer) -> None:
    await server.drop_connections()


async def _stall(server: FakeVenueServer) -> None:
    server.faults.stall(STALL_S)


async def _skip(server: FakeVenueServer) -> None:
    server.faults.skip_sequenced(1)


async def _malformed(server: FakeVenueServer) -> None:
    server.faults.send_malformed(3)


async def _http429(server: FakeVenueServer) -> None:
    # Rate-limit the next REST calls, then withhold a diff so a snapshot fetch meets them.
    server.faults.fail_http(HttpFault(429, 2, retry_after_s=0.1))
    server.faults.skip_sequenced(1)


FAULTS: dict[str, Fault] = {
    "drop": _drop,
    "stall": _stall,
    "skip": _skip,
    "malformed": _malformed,
    "http429": _http429,
}


def _schedule(rng: random.Random) -> list[tuple[int, str]]:
    """Return (frames streamed, fault) pairs: every class ROUNDS times, shuffled, jittered."""
    kinds = [kind for kind in FAULT_KINDS for _ in range(ROUNDS)]
    rng.shuffle(kinds)
    step = (LAST_FAULT_FRAME - FIRST_FAULT_FRAME) // len(kinds)
    return [
        (FIRST_FAULT_FRAME + i * step + rng.randrange(step // 4), kind)
        for i, kind in enumerate(kinds)
    ]


def _healthy(feed: LiveFeed) -> bool:
    books = feed.node.books.all_books()
    return feed.connection.stats().connected and bool(books) and books[0].book.valid


async def _inject(server: FakeVenueServer, feed: LiveFeed, schedule: list[tuple[int, str]]) -> None:
    # Each fault meets a feed that has recovered from the previous one, so each one counts.
    for at_frame, kind in schedule:
        while server.status().frames_streamed < at_frame or not _healthy(feed):
            await asyncio.sleep(0.005)
        await FAULTS[kind](server)


async def _sample(server: FakeVenueServer, samples: list[Sample]) -> None:
    started = time.monotonic()
    while not server.finished.is_set():
        traced, _ = tracemalloc.get_traced_memory()
        frames = server.status().frames_streamed
        samples.append(Sample(time.monotonic() - started, frames, traced, _rss_bytes()))
        await asyncio.sleep(0.2)


async def _wait_until(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


def _caught_up(feed: LiveFeed, script: BinanceScript, tally: TradeTally) -> bool:
    venue_book = script.book(RAW_SYMBOL)
    books = feed.node.books.all_books()
    missing = sum(g.missing for g in feed.node.trade_gaps)
    return (
        venue_book is not None
        and len(books) == 1
        and books[0].book.valid
        and books[0].book.sequence == venue_book.sequence
        and tally.count + missing == script.trades_streamed
    )


def _thirds(samples: list[Sample]) -> tuple[list[Sample], list[Sample]]:
    end = samples[-1].t
    first = [s for s in samples if s.t <= end / 3]
    last = [s for s in samples if s.t >= 2 * end / 3]
    return first, last


class SoakRun(msgspec.Struct):
    feed: LiveFeed
    server: FakeVenueServer
    script: BinanceScript
    tally: TradeTally
    schedule: list[tuple[int, str]]
    samples: list[Sample]
    traced_peak: int
    seconds: float


async def _soak(shared_data: Path) -> SoakRun:
    started = time.monotonic()
    script = BinanceScript(shared_data / "binance_ws" / RECORDING, market(VENUE))
    schedule = _schedule(random.Random(SEED))
    samples: list[Sample] = []
    async with FakeVenueServer(script, speed=SPEED) as server:
        node = MarketDataNode(MarketDataConfig(venue=VENUE), clock=LiveClock())
        tally = TradeTally()
        node.bus.subscribe(topics.TRADES, tally)
        # markPrice too, so every frame the venue sends (and so every malformed one) reaches us.
        config = LiveFeedConfig(
            symbols=(SYMBOL,), channels=("trade", "bookTicker", "depth", "markPrice"),
            ws_url=server.ws_url, rest_url=server.http_url, silence_timeout_s=SILENCE_TIMEOUT_S,
        )  # fmt: skip
        feed = LiveFeed(node, config)
        stop = asyncio.Event()
        task = asyncio.create_task(feed.run(stop))
        sampler = asyncio.create_task(_sample(server, samples))
        await asyncio.wait_for(_inject(server, feed, schedule), timeout=WALL_BOUND_S - 20)
        remaining = WALL_BOUND_S - 15 - (time.monotonic() - started)
        await asyncio.wait_for(server.finished.wait(), timeout=remaining)
        await sampler
        await _wait_until(lambda: _caught_up(feed, script, tally), timeout_s=10)
        _, traced_peak = tracemalloc.get_traced_memory()
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    seconds = time.monotonic() - started
    return SoakRun(feed, server, script, tally, schedule, samples, traced_peak, seconds)


@pytest.mark.slow
async def test_feed_survives_a_seeded_fault_storm(shared_data: Path) -> None:
    tracemalloc.start()
    try:
        run = await _soak(shared_data)
    finally:
        tracemalloc.stop()
    injected = {kind: sum(k == kind for _, k in run.schedule) for kind in FAULT_KINDS}
    status = run.feed.status()
    conn = status.connection
    venue_faults = run.server.status().faults
    context = f"seed {SEED}, schedule {run.schedule}, status {status}"

    # The book is the venue's own, to the last update id and 100 levels deep.
    (synced,) = run.feed.node.books.all_books()
    venue_book = run.script.book(RAW_SYMBOL)
    assert venue_book is not None
    assert synced.book.valid, context
    assert synced.book.sequence == venue_book.sequence, context
    assert synced.book.depth(100) == venue_book.depth(100), context

    # Every trade id the venue streamed was received once, in order, or recorded as lost.
    gaps = run.feed.node.trade_gaps
    missing = sum(g.missing for g in gaps)
    assert run.tally.out_of_order == 0, context
    assert run.tally.count + missing == run.script.trades_streamed, context
    assert run.tally.last_id >= 0

    # Every fault class was injected by the venue and met by the client.
    assert venue_faults.drops == injected["drop"]
    assert venue_faults.stalled_frames > 0
    assert venue_faults.skipped_sequenced == injected["skip"] + injected["http429"]
    assert venue_faults.malformed_sent == 3 * injected["malformed"]
    assert venue_faults.http_errors == 2 * injected["http429"], "every injected 429 was served"
    assert conn.stalls >= injected["stall"], context
    assert conn.reconnects >= injected["drop"] + injected["stall"], context
    assert conn.rejected.get("MalformedMessageError") == 3 * injected["malformed"], context
    # A REST-polled trade may arrive before the stream repeats it: a stale copy, rejected.
    assert set(conn.rejected) <= {"MalformedMessageError", "StaleMessageError"}, context
    assert status.rest_rate_limited >= 2 * injected["http429"], context
    assert synced.gaps >= injected["skip"] + injected["http429"], context
    resyncs_needed = injected["drop"] + injected["stall"] + injected["skip"] + injected["http429"]
    assert status.snapshots_fetched >= 1 + resyncs_needed, context

    # Memory: no growth from the first third of the run to the last.
    first, last = _thirds(run.samples)
    assert first and last, f"too few memory samples: {len(run.samples)}"
    traced_growth = max(s.traced for s in last) - max(s.traced for s in first)
    rss_growth = max(s.rss for s in last) - max(s.rss for s in first)
    assert traced_growth < MEMORY_GROWTH_BOUND, (traced_growth, first[-1], last[-1])
    assert run.seconds < WALL_BOUND_S

    mib = 1024 * 1024
    report_figure(
        f"usdm soak at {SPEED:g}x, seed {SEED}, {run.seconds:.1f} s: "
        f"{len(run.schedule)} faults ({', '.join(f'{k} x{n}' for k, n in injected.items())}); "
        f"{conn.reconnects} reconnects, {conn.stalls} stalls, rejected {conn.rejected}, "
        f"{status.snapshots_fetched} snapshots ({status.snapshot_failures} failed), "
        f"{status.rest_rate_limited} REST 429s, {synced.gaps} book gaps"
    )
    report_figure(
        f"usdm soak trades: {run.tally.count} received + {missing} lost in {len(gaps)} gaps "
        f"= {run.script.trades_streamed} streamed; book = venue book at id {venue_book.sequence}"
    )
    report_figure(
        f"usdm soak memory (traced heap, first -> last third): {traced_growth / mib:+.2f} MiB "
        f"(bound {MEMORY_GROWTH_BOUND / mib:.0f} MiB), "
        f"traced peak {run.traced_peak / mib:.1f} MiB, RSS {rss_growth / mib:+.2f} MiB"
    )
