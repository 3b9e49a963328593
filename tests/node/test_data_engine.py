"""The data engine's bounded queue on real Binance frames: the same books and trades as a
direct replay when it keeps up; when full, drops counted, books invalidated, one alert per
episode; a parser bug in one frame never stops the engine."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.data import topics
from tradefabric.data.book_sync import OrderBooks
from tradefabric.model.data import Trade
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.data_engine import DataEngine
from tradefabric.node.market_data import MarketDataNode
from tradefabric.ops.alerts import ALERTS, Alert
from tradefabric.venues.registry import sequence_rules, venue_entry
from tradefabric.venues.replay.recording import RecordedLine, read_recording

RECORDING = "spot_btcusdt_20240808.gz"


class _Pipeline:
    def __init__(self, capacity: int) -> None:
        self.clock = SimClock()
        self.bus = MessageBus()
        self.books = OrderBooks(self.bus, self.clock, sequence_rules())
        self.engine = DataEngine(self.bus, self.clock, self.books, capacity)
        self.queue = self.engine.queue_for("binance", venue_entry("binance").make_parser(self.bus))
        self.trades: list[Trade] = []
        self.alerts: list[Alert] = []
        self.bus.subscribe(topics.TRADES, self.trades.append)
        self.bus.subscribe(ALERTS, self.alerts.append)

    def feed(self, lines: list[RecordedLine], drain_every: int | None) -> None:
        for i, line in enumerate(lines, 1):
            self.clock.advance_to(max(self.clock.timestamp_ns(), line.ts_recv))
            self.queue.on_frame(line.raw, line.ts_recv)
            if drain_every and i % drain_every == 0:
                self.engine.drain()

    def top(self) -> tuple[float, float, bool]:
        book = self.books.book("binance", "BTC/USDT")
        assert book is not None
        return book.best_bid(), book.best_ask(), book.valid


def _lines(shared_data: Path, count: int | None = None) -> list[RecordedLine]:
    lines = read_recording(shared_data / "binance_ws" / RECORDING)
    return list(itertools.islice(lines, count))


def test_a_queue_that_keeps_up_gives_what_a_direct_replay_gives(shared_data: Path) -> None:
    direct = MarketDataNode(MarketDataConfig(venue="binance"))
    direct_trades: list[Trade] = []
    direct.bus.subscribe(topics.TRADES, direct_trades.append)
    direct.replay(shared_data / "binance_ws" / RECORDING)
    book = direct.books.book("binance", "BTC/USDT")
    assert book is not None

    queued = _Pipeline(capacity=1_000)
    queued.feed(_lines(shared_data), drain_every=64)
    queued.engine.drain()
    assert queued.trades == direct_trades and len(direct_trades) == 9_757
    assert queued.top() == (book.best_bid(), book.best_ask(), True)
    stats = queued.engine.stats()
    assert stats.dropped == 0 and stats.depth == 0 and stats.high_water == 64
    assert stats.venues[0].parsed == stats.venues[0].queued


def test_a_full_queue_drops_newest_counts_invalidates_and_alerts_once(shared_data: Path) -> None:
    lines = _lines(shared_data, 6_000)
    pipeline = _Pipeline(capacity=100)
    pipeline.feed(lines[:3_000], drain_every=1)
    assert pipeline.top()[2]  # the book is valid before the overload

    pipeline.feed(lines[3_000:3_500], drain_every=None)  # the engine does not get to run
    stats = pipeline.engine.stats()
    assert (stats.depth, stats.dropped) == (100, 400)
    assert not pipeline.top()[2]  # missed updates: invalid until rebuilt from a snapshot
    assert [(a.kind, a.component) for a in pipeline.alerts] == [("data_dropped", "feed:binance")]
    assert "queue full (100 frames)" in pipeline.alerts[0].message

    assert pipeline.engine.drain() == 100  # what was accepted is not lost
    pipeline.feed(lines[3_500:3_800], drain_every=None)  # a second episode: a second alert
    assert len(pipeline.alerts) == 2
    assert pipeline.engine.stats().dropped == 400 + 200


class _BuggyParser:
    def __init__(self) -> None:
        self.frames = 0

    def on_frame(self, raw: bytes, ts_recv: int) -> None:
        self.frames += 1
        if self.frames == 2:
            raise IndexError("parser bug")


def test_a_parser_bug_in_one_frame_does_not_stop_the_engine() -> None:
    async def scenario() -> tuple[int, int, int]:
        clock = SimClock()
        bus = MessageBus()
        engine = DataEngine(bus, clock, OrderBooks(bus, clock, sequence_rules()), 10)
        parser = _BuggyParser()
        queue = engine.queue_for("binance", parser)
        stop = asyncio.Event()
        task = asyncio.create_task(engine.run(stop))
        for i in range(5):
            queue.on_frame(b"{}", i)
            await asyncio.sleep(0)
        stop.set()
        await task
        venue = engine.stats().venues[0]
        return parser.frames, venue.parsed, venue.parse_errors

    assert asyncio.run(scenario()) == (5, 4, 1)
