"""Live Binance feed against the local fake venue, over real sockets, with injected faults."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import msgspec
import pytest

from tests.conftest import report_figure
from tests.feed_waits import until_drained_and_valid
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import LiveClock, SimClock
from tradefabric.data import topics
from tradefabric.data.candles import CandleAggregator
from tradefabric.model.data import Candle, MarkPrice, OpenInterest, Trade
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.live_feed import LiveFeed, LiveFeedConfig
from tradefabric.node.market_data import MarketDataNode
from tradefabric.venues.binance.markets import market
from tradefabric.venues.fakevenue.binance import BinanceScript
from tradefabric.venues.fakevenue.faults import HttpFault
from tradefabric.venues.fakevenue.server import FakeVenueServer

SPOT = ("spot_btcusdt_20240808.gz", "binance", "BTC/USDT")
USDM = ("usdm_btcusdt_20240808.gz", "binance-usdm", "BTC/USDT:USDT")

Injector = Callable[[FakeVenueServer], Awaitable[None]]


class Run(msgspec.Struct):
    feed: LiveFeed
    server: FakeVenueServer
    script: BinanceScript
    trades: list[Trade]


async def _run(
    shared_data: Path,
    recording: tuple[str, str, str],
    inject: Injector | None = None,
    *,
    speed: float = 0.0,
    record_dir: Path | None = None,
    fallback_lag_s: float = 2.0,
) -> Run:
    file, venue, symbol = recording
    script = BinanceScript(shared_data / "binance_ws" / file, market(venue))
    async with FakeVenueServer(script, speed=speed) as server:
        node = MarketDataNode(MarketDataConfig(venue=venue), clock=LiveClock())
        trades: list[Trade] = []
        node.bus.subscribe(topics.TRADES, trades.append)
        config = LiveFeedConfig(
            symbols=(symbol,), ws_url=server.ws_url, rest_url=server.http_url,
            silence_timeout_s=1.0, record_dir=record_dir, rest_fallback_lag_s=fallback_lag_s,
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
    return Run(feed, server, script, trades)


async def _after_frames(server: FakeVenueServer, frames: int) -> None:
    while server.status().frames_streamed < frames:
        await asyncio.sleep(0.005)


def _assert_book_equals_venue(run: Run, raw_symbol: str) -> None:
    (book,) = run.feed.node.books.all_books()
    venue_book = run.script.book(raw_symbol)
    assert venue_book is not None
    assert book.book.valid
    assert book.book.sequence == venue_book.sequence
    assert book.book.depth(100) == venue_book.depth(100)


@pytest.mark.slow
async def test_clean_stream_delivers_every_trade_and_the_venue_book(shared_data: Path) -> None:
    run = await _run(shared_data, SPOT)
    ids = [int(t.trade_id) for t in run.trades]
    assert len(ids) == run.script.trades_streamed > 9000
    assert ids == sorted(set(ids))
    _assert_book_equals_venue(run, "BTCUSDT")
    status = run.feed.status()
    assert status.connection.reconnects == 0
    assert status.connection.rejected == {}
    # Ticks cut candles on the venue's clock, so replayed 2024 trades are never "late".
    assert run.feed.node.candles.late_trades == 0
    report_figure(
        f"live spot via fake venue: {len(ids)} trades, {status.snapshots_fetched} snapshot(s), "
        f"book = venue book at id {run.feed.node.books.all_books()[0].book.sequence}"
    )


@pytest.mark.slow
async def test_drop_reconnects_resyncs_and_records_lost_trades(shared_data: Path) -> None:
    async def drop_twice(server: FakeVenueServer) -> None:
        await _after_frames(server, 10_000)
        await server.drop_connections()
        await _after_frames(server, 40_000)
        await server.drop_connections()

    run = await _run(shared_data, USDM, drop_twice)
    status = run.feed.status()
    assert status.connection.reconnects >= 2
    assert status.snapshots_fetched >= 3
    _assert_book_equals_venue(run, "BTCUSDT")
    gaps = run.feed.node.trade_gaps
    received = len(run.trades)
    missing = sum(g.missing for g in gaps)
    assert received + missing == run.script.trades_streamed
    assert run.feed.backfill is not None
    reports = run.feed.backfill.reports
    assert len(reports) == len(gaps)
    assert all(
        r.recovered + r.unrecoverable == r.last_missing - r.first_missing + 1 for r in reports
    )
    report_figure(
        f"usdm with 2 drops: {received} trades received, {missing} lost in {len(gaps)} gaps"
    )


@pytest.mark.slow
async def test_skipped_diff_is_detected_and_resynced(shared_data: Path) -> None:
    async def skip(server: FakeVenueServer) -> None:
        await _after_frames(server, 5_000)
        server.faults.skip_sequenced(1)

    run = await _run(shared_data, SPOT, skip)
    (book,) = run.feed.node.books.all_books()
    assert book.gaps == 1
    assert run.feed.status().snapshots_fetched == 2
    _assert_book_equals_venue(run, "BTCUSDT")


@pytest.mark.slow
async def test_stall_trips_the_watchdog(shared_data: Path) -> None:
    async def stall(server: FakeVenueServer) -> None:
        await _after_frames(server, 2_000)
        server.faults.stall(2.5)

    run = await _run(shared_data, SPOT, stall, speed=20.0)
    status = run.feed.status()
    assert status.connection.stalls >= 1
    assert status.connection.reconnects >= 1
    _assert_book_equals_venue(run, "BTCUSDT")


@pytest.mark.slow
async def test_malformed_frames_and_rate_limits(shared_data: Path) -> None:
    async def faults(server: FakeVenueServer) -> None:
        server.faults.fail_http(HttpFault(429, 2, retry_after_s=0.2))
        await _after_frames(server, 3_000)
        server.faults.send_malformed(5)

    run = await _run(shared_data, SPOT, faults)
    status = run.feed.status()
    assert status.connection.rejected == {"MalformedMessageError": 5}
    assert status.rest_rate_limited == 2
    assert len(run.trades) == run.script.trades_streamed
    _assert_book_equals_venue(run, "BTCUSDT")


@pytest.mark.slow
async def test_recorded_session_replays_to_the_same_trades(
    shared_data: Path, tmp_path: Path
) -> None:
    # Trades only from the stream: a REST poll's trades are not in the recording.
    run = await _run(shared_data, SPOT, record_dir=tmp_path, fallback_lag_s=0)
    (recording,) = run.feed.connection.recordings
    node = MarketDataNode(MarketDataConfig(venue="binance"))
    replayed: list[Trade] = []
    node.bus.subscribe(topics.TRADES, replayed.append)
    node.replay(recording)
    assert [t.trade_id for t in replayed] == [t.trade_id for t in run.trades]
    assert [t.ts_recv for t in replayed] == [t.ts_recv for t in run.trades]


@pytest.mark.slow
async def test_usdm_mark_price_and_open_interest(shared_data: Path) -> None:
    file, venue, symbol = USDM
    script = BinanceScript(shared_data / "binance_ws" / file, market(venue))
    async with FakeVenueServer(script, speed=20.0) as server:
        node = MarketDataNode(MarketDataConfig(venue=venue), clock=LiveClock())
        marks: list[MarkPrice] = []
        interest: list[OpenInterest] = []
        node.bus.subscribe(topics.MARK_PRICES, marks.append)
        node.bus.subscribe(topics.OPEN_INTEREST, interest.append)
        config = LiveFeedConfig(
            symbols=("BTC/USDT",), channels=("trade", "depth", "markPrice", "forceOrder"),
            ws_url=server.ws_url, rest_url=server.http_url, poll_interval_s=0.2,
        )  # fmt: skip
        feed = LiveFeed(node, config)
        stop = asyncio.Event()
        task = asyncio.create_task(feed.run(stop))
        await asyncio.sleep(2.0)
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    assert len(marks) >= 10  # one per second of venue time, 20x speed
    assert {m.symbol for m in marks} == {symbol}
    assert all(55_000 < m.mark_price < 70_000 and m.funding_rate == 0.0001 for m in marks)
    assert len(interest) >= 3
    assert all(i.symbol == symbol and i.open_interest > 0 for i in interest)


@pytest.mark.slow
async def test_lost_trades_are_backfilled_and_candles_revised(shared_data: Path) -> None:
    async def drop(server: FakeVenueServer) -> None:
        await _after_frames(server, 15_000)
        await server.drop_connections()

    file, venue, symbol = SPOT
    script = BinanceScript(shared_data / "binance_ws" / file, market(venue))
    async with FakeVenueServer(script, speed=25.0) as server:
        node = MarketDataNode(MarketDataConfig(venue=venue), clock=LiveClock())
        live: list[Trade] = []
        recovered: list[Trade] = []
        revised: list[Candle] = []
        node.bus.subscribe(topics.TRADES, live.append)
        node.bus.subscribe(topics.TRADES_BACKFILLED, recovered.append)
        node.bus.subscribe(topics.CANDLES, lambda c: revised.append(c) if c.revision else None)
        # Without the REST fallback, the outage's trades can only come back by backfill.
        config = LiveFeedConfig(
            symbols=(symbol,), ws_url=server.ws_url, rest_url=server.http_url,
            rest_fallback_lag_s=0,
        )  # fmt: skip
        feed = LiveFeed(node, config)
        stop = asyncio.Event()
        task = asyncio.create_task(feed.run(stop))
        await drop(server)
        await asyncio.wait_for(server.finished.wait(), timeout=60)
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    assert feed.backfill is not None
    (report,) = feed.backfill.reports
    assert report.recovered == report.last_missing - report.first_missing + 1 > 0
    assert report.unrecoverable == 0
    ids = sorted(int(t.trade_id) for t in live + recovered)
    assert ids == list(range(ids[0], ids[0] + script.trades_streamed))  # nothing lost
    assert revised, "candles closed during the outage were revised"
    # Each revised candle now equals the candle built offline from every trade, in order.
    truth = _candles_from(sorted(live + recovered, key=lambda t: int(t.trade_id)))
    latest = {(c.interval, c.ts_open): c for c in sorted(revised, key=lambda c: c.revision)}
    for key, candle in latest.items():
        expected = truth[key]
        assert (candle.open, candle.high, candle.low, candle.close, candle.trades) == (
            expected.open, expected.high, expected.low, expected.close, expected.trades,
        ), key  # fmt: skip
        assert candle.volume == pytest.approx(expected.volume, rel=1e-12)
    report_figure(
        f"spot drop at 25x: {report.recovered} trades backfilled by REST, "
        f"{len(revised)} candle revisions"
    )


def _candles_from(trades: list[Trade]) -> dict[tuple[str, int], Candle]:
    clock = SimClock(start_ns=trades[0].ts_recv)
    bus = MessageBus()
    built: dict[tuple[str, int], Candle] = {}
    bus.subscribe(topics.CANDLES, lambda c: built.__setitem__((c.interval, c.ts_open), c))
    aggregator = CandleAggregator(bus, clock, ("1s", "1m"))
    for trade in trades:
        bus.publish(topics.TRADES, trade)
    aggregator.flush()
    return built


@contextlib.asynccontextmanager
async def _spot_feed_at_10x(
    shared_data: Path, *, lag_s: float, probe_s: float = 5.0
) -> AsyncIterator[Run]:
    """Run the spot feed (REST fallback on) against the fake venue at 10x until the block ends."""
    file, venue, symbol = SPOT
    script = BinanceScript(shared_data / "binance_ws" / file, market(venue))
    async with FakeVenueServer(script, speed=10.0) as server:
        node = MarketDataNode(MarketDataConfig(venue=venue), clock=LiveClock())
        trades: list[Trade] = []
        node.bus.subscribe(topics.TRADES, trades.append)
        node.bus.subscribe(topics.TRADES_BACKFILLED, trades.append)
        config = LiveFeedConfig(
            symbols=(symbol,), ws_url=server.ws_url, rest_url=server.http_url,
            silence_timeout_s=30.0, rest_fallback_lag_s=lag_s, rest_probe_s=probe_s,
        )  # fmt: skip
        feed = LiveFeed(node, config)
        stop = asyncio.Event()
        task = asyncio.create_task(feed.run(stop))
        yield Run(feed, server, script, trades)
        stop.set()
        await asyncio.wait_for(task, timeout=10)


@pytest.mark.slow
async def test_rest_fallback_covers_a_silent_stream_without_double_counting(
    shared_data: Path,
) -> None:
    async with _spot_feed_at_10x(shared_data, lag_s=0.5) as run:
        await _after_frames(run.server, 8_000)
        run.server.faults.stall(3.0)
        await asyncio.sleep(3.5)
        await _after_frames(run.server, 16_000)
    feed, trades = run.feed, run.trades
    source = feed.status().trade_source
    assert source is not None
    assert source.switches_to_rest == 1
    assert source.trades_from_rest > 50
    assert source.source == "websocket"  # switched back once the stream was fresh again
    ids = sorted(int(t.trade_id) for t in trades)
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # every id exactly once
    assert feed.status().connection.reconnects == 0
    # The hand-over back to the stream can straddle a trade; the backfill recovers it.
    assert feed.backfill is not None
    assert all(r.unrecoverable == 0 for r in feed.backfill.reports)
    report_figure(
        f"spot stall 3s at 10x: {source.trades_from_rest} trades came by REST, "
        f"{sum(r.recovered for r in feed.backfill.reports)} by backfill, none lost or doubled"
    )


@pytest.mark.slow
async def test_a_busy_but_late_stream_loses_the_race_to_rest_and_wins_it_back(
    shared_data: Path,
) -> None:
    reasons: set[str] = set()
    async with _spot_feed_at_10x(shared_data, lag_s=1.0, probe_s=0.5) as run:
        await _after_frames(run.server, 6_000)
        # The delay builds to 3 s over 4 s: frames keep coming, so the stream never goes silent.
        run.server.faults.lag(3.0, duration_s=8.0, ramp_s=4.0)
        for _ in range(100):
            await asyncio.sleep(0.1)
            source = run.feed.status().trade_source
            assert source is not None
            reasons.add(source.reason)
        await _after_frames(run.server, 30_000)
    feed, trades, server = run.feed, run.trades, run.server
    source = feed.status().trade_source
    assert source is not None
    assert any("behind REST" in r for r in reasons), reasons
    assert not any("silent" in r for r in reasons), reasons
    assert source.source == "websocket" and source.reason == "stream caught up"
    assert source.trades_from_rest > 50
    ids = sorted(int(t.trade_id) for t in trades)
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # every id exactly once
    assert server.status().faults.lagged_frames > 0
    report_figure(
        f"spot stream lagging up to 3 s at 10x (still busy): REST won the race "
        f"({sorted(r for r in reasons if 'behind' in r)[:1]}), {source.trades_from_rest} trades "
        f"by REST, back on the stream after; none lost or doubled"
    )
