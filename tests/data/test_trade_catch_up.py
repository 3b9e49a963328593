"""TradeCatchUp: a reconnect during a catch-up takes the outage over; no trade goes out twice."""

from __future__ import annotations

import asyncio

from tests.feed_waits import until
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.data import topics
from tradefabric.data.feed.catch_up import TradeCatchUp
from tradefabric.model.data import AggressorSide, Trade

VENUE, SYMBOL = "coinbase", "BTC/USD"
PAGE = 20


def _trade(number: int) -> Trade:
    return Trade(VENUE, SYMBOL, 100.0 + number, 0.01, AggressorSide.BUY, str(number),
                 number * 1_000, number * 1_000)  # fmt: skip


VENUE_TRADES = [_trade(n) for n in range(1, 101)]


class PagedVenue:
    """The venue's REST trades by time, newest page first; the first call may be held."""

    def __init__(self) -> None:
        self.calls = 0
        self.first_call_started = asyncio.Event()
        self.release_first_call = asyncio.Event()
        self.release_first_call.set()

    async def fetch(self, symbol: str, start_ns: int, end_ns: int) -> list[Trade]:
        self.calls += 1
        if self.calls == 1:
            self.first_call_started.set()
            await self.release_first_call.wait()
        inside = [t for t in VENUE_TRADES if start_ns <= t.ts_event < end_ns]
        return inside[-PAGE:]


def _node() -> tuple[MessageBus, PagedVenue, TradeCatchUp, list[Trade]]:
    bus, venue = MessageBus(), PagedVenue()
    catch_up = TradeCatchUp(bus, SimClock(0), VENUE, venue.fetch, settle_s=0.01)
    backfilled: list[Trade] = []
    bus.subscribe(topics.TRADES_BACKFILLED, backfilled.append)
    for trade in VENUE_TRADES[:10]:
        bus.publish(topics.TRADES, trade)
    catch_up.on_disconnected()
    return bus, venue, catch_up, backfilled


def _stream_resumes(bus: MessageBus) -> None:
    for trade in VENUE_TRADES[49:60]:
        bus.publish(topics.TRADES, trade)


async def test_a_second_reconnect_while_waiting_for_the_stream_fills_the_hole_once() -> None:
    bus, _venue, catch_up, backfilled = _node()
    first = asyncio.create_task(catch_up.on_reconnected([SYMBOL]))
    await asyncio.sleep(0)  # the first attempt waits for the stream's first trade
    catch_up.on_disconnected()  # the stall: dropped again before anything arrived
    second = asyncio.create_task(catch_up.on_reconnected([SYMBOL]))
    await asyncio.sleep(0)
    _stream_resumes(bus)
    await asyncio.wait_for(asyncio.gather(first, second), timeout=10)
    assert [int(t.trade_id) for t in backfilled] == list(range(11, 50))
    assert catch_up.recovered == 39


async def test_a_reconnect_while_paging_supersedes_the_attempt_that_pages() -> None:
    bus, venue, catch_up, backfilled = _node()
    venue.release_first_call.clear()
    first = asyncio.create_task(catch_up.on_reconnected([SYMBOL]))
    await asyncio.sleep(0)  # it waits for the stream's first trade
    _stream_resumes(bus)
    await asyncio.wait_for(venue.first_call_started.wait(), timeout=10)
    catch_up.on_disconnected()
    second = asyncio.create_task(catch_up.on_reconnected([SYMBOL]))
    await asyncio.sleep(0)
    bus.publish(topics.TRADES, VENUE_TRADES[60])  # the stream after the second reconnect
    venue.release_first_call.set()
    await asyncio.wait_for(asyncio.gather(first, second), timeout=10)
    assert [int(t.trade_id) for t in backfilled] == list(range(11, 50))
    # The outage is over: a later reconnect with no disconnect finds nothing to do.
    await catch_up.on_reconnected([SYMBOL])
    assert len(backfilled) == 39


class LatestOnlyVenue:
    """A venue serving only its latest ``PAGE`` trades, whatever the time asked (Bybit spot)."""

    def __init__(self) -> None:
        self.now = 10
        """The venue's latest trade so far: the market moves on while the stream is silent."""
        self.calls = 0
        self.first_call_started = asyncio.Event()
        self.release_first_call = asyncio.Event()
        self.release_first_call.set()

    async def fetch(self, symbol: str, start_ns: int, end_ns: int) -> list[Trade]:
        self.calls += 1
        page = VENUE_TRADES[max(0, self.now - PAGE) : self.now]
        if self.calls == 1:
            self.first_call_started.set()
            await self.release_first_call.wait()
        return page


def _rest_poll(bus: MessageBus, catch_up: TradeCatchUp, venue: LatestOnlyVenue, now: int) -> None:
    """The market moves to trade ``now``; a REST poll publishes the latest page, as a poll."""
    venue.now = now
    with catch_up.rest_trades():
        for trade in VENUE_TRADES[now - PAGE : now]:
            bus.publish(topics.TRADES, trade)


async def test_rest_polls_standing_in_for_a_silent_stream_do_not_end_the_outage() -> None:
    # The soak's Bybit spot stall: the socket is back but silent, REST polls stand in,
    # each serving only the latest page, and the stream stays silent past the first wait.
    bus, venue = MessageBus(), LatestOnlyVenue()
    catch_up = TradeCatchUp(
        bus, SimClock(0), VENUE, venue.fetch, first_trade_wait_s=0.05, settle_s=0.01
    )
    backfilled: list[Trade] = []
    bus.subscribe(topics.TRADES_BACKFILLED, backfilled.append)
    published: list[int] = []
    bus.subscribe(topics.TRADES, lambda t: published.append(int(t.trade_id)))
    for trade in VENUE_TRADES[:10]:
        bus.publish(topics.TRADES, trade)
    catch_up.on_disconnected()
    attempt = asyncio.create_task(catch_up.on_reconnected([SYMBOL]))
    await asyncio.sleep(0)
    _rest_poll(bus, catch_up, venue, 40)  # 11..20 were never served while we were away
    # No stream trade within the wait: the hole so far is reported, the outage goes on.
    await until(lambda: len(catch_up.reports) == 1)
    assert not attempt.done()
    _rest_poll(bus, catch_up, venue, 80)  # 41..60 happened between the two polls
    venue.now = 100
    for trade in VENUE_TRADES[89:100]:  # the stream resumes at 90 (81..89 only REST serves)
        bus.publish(topics.TRADES, trade)
    await asyncio.wait_for(attempt, timeout=10)
    assert [int(t.trade_id) for t in backfilled] == list(range(81, 90))
    kept = set(published) | {int(t.trade_id) for t in backfilled}
    lost = set(range(1, 101)) - kept
    assert lost == set(range(11, 21)) | set(range(41, 61))
    reported = {i for r in catch_up.reports for i in range(r.first_missing, r.last_missing + 1)}
    assert lost <= reported
    assert sum(r.unrecoverable for r in catch_up.reports) == len(lost)
    assert [(r.first_missing, r.last_missing) for r in catch_up.reports] == [(11, 20), (41, 80)]
    assert len(published) == len(set(published))


async def test_a_reconnect_while_rest_stands_in_fills_the_whole_outage_once() -> None:
    # The stall outlasts the watchdog: reconnected, silent, dropped and reconnected again,
    # with REST polls in between; the stream then resumes within the wait.
    bus, venue = MessageBus(), LatestOnlyVenue()
    catch_up = TradeCatchUp(bus, SimClock(0), VENUE, venue.fetch, settle_s=0.01)
    backfilled: list[Trade] = []
    bus.subscribe(topics.TRADES_BACKFILLED, backfilled.append)
    for trade in VENUE_TRADES[:10]:
        bus.publish(topics.TRADES, trade)
    catch_up.on_disconnected()
    first = asyncio.create_task(catch_up.on_reconnected([SYMBOL]))
    await asyncio.sleep(0)
    _rest_poll(bus, catch_up, venue, 40)
    catch_up.on_disconnected()
    second = asyncio.create_task(catch_up.on_reconnected([SYMBOL]))
    await asyncio.sleep(0)
    _rest_poll(bus, catch_up, venue, 80)
    venue.now = 100
    for trade in VENUE_TRADES[89:100]:
        bus.publish(topics.TRADES, trade)
    await asyncio.wait_for(asyncio.gather(first, second), timeout=10)
    assert [int(t.trade_id) for t in backfilled] == list(range(81, 90))
    [report] = catch_up.reports
    assert (report.first_missing, report.last_missing) == (11, 80)
    assert (report.recovered, report.unrecoverable) == (40, 30)


async def test_a_reconnect_while_a_silent_round_pages_keeps_the_boundary() -> None:
    # The first round gave up waiting for the stream and pages; a reconnect takes over
    # before it reports: the newer attempt must still fill from the original boundary.
    bus, venue = MessageBus(), LatestOnlyVenue()
    catch_up = TradeCatchUp(
        bus, SimClock(0), VENUE, venue.fetch, first_trade_wait_s=0.05, settle_s=0.01
    )
    for trade in VENUE_TRADES[:10]:
        bus.publish(topics.TRADES, trade)
    catch_up.on_disconnected()
    venue.release_first_call.clear()
    first = asyncio.create_task(catch_up.on_reconnected([SYMBOL]))
    await asyncio.sleep(0)
    _rest_poll(bus, catch_up, venue, 40)
    await asyncio.wait_for(venue.first_call_started.wait(), timeout=10)
    catch_up.on_disconnected()
    second = asyncio.create_task(catch_up.on_reconnected([SYMBOL]))
    await asyncio.sleep(0)
    venue.now = 100
    for trade in VENUE_TRADES[89:100]:
        bus.publish(topics.TRADES, trade)
    venue.release_first_call.set()
    await asyncio.wait_for(asyncio.gather(first, second), timeout=10)
    [report] = catch_up.reports
    assert (report.first_missing, report.last_missing) == (11, 80)
    assert (report.recovered, report.unrecoverable) == (20, 50)


async def test_where_ids_do_not_count_per_symbol_a_hole_is_reported_by_time_only() -> None:
    # Bybit numbers spot trades across every symbol: the ids around a hole do not say
    # how many of this symbol's trades it held, so the report gives its time span only.
    bus, venue = MessageBus(), LatestOnlyVenue()
    catch_up = TradeCatchUp(bus, SimClock(0), VENUE, venue.fetch, settle_s=0.01, counts_ids=False)
    for trade in VENUE_TRADES[:10]:
        bus.publish(topics.TRADES, trade)
    catch_up.on_disconnected()
    attempt = asyncio.create_task(catch_up.on_reconnected([SYMBOL]))
    await asyncio.sleep(0)
    _rest_poll(bus, catch_up, venue, 40)  # publishes 21..40 as REST's
    venue.now = 100
    for trade in VENUE_TRADES[89:100]:
        bus.publish(topics.TRADES, trade)
    await asyncio.wait_for(attempt, timeout=10)
    [report] = catch_up.reports
    assert not report.counted and report.missing_count == -1
    assert (report.first_missing, report.last_missing, report.unrecoverable) == (-1, -1, -1)
    # From trade 10 (the last before the outage) to trade 81 (the oldest REST still serves);
    # 21..40 were published in between.
    assert (report.ts_event, report.ts_until, report.recovered) == (10_000, 81_000, 20)


async def test_a_served_trade_right_after_the_boundary_leaves_nothing_to_report() -> None:
    bus, venue = MessageBus(), LatestOnlyVenue()
    catch_up = TradeCatchUp(bus, SimClock(0), VENUE, venue.fetch, settle_s=0.01)
    for trade in VENUE_TRADES[:10]:
        bus.publish(topics.TRADES, trade)
    catch_up.on_disconnected()
    attempt = asyncio.create_task(catch_up.on_reconnected([SYMBOL]))
    await asyncio.sleep(0)
    venue.now = 30  # REST serves 11..30: trade 11 follows the boundary, nothing is missing
    for trade in VENUE_TRADES[25:30]:
        bus.publish(topics.TRADES, trade)
    await asyncio.wait_for(attempt, timeout=10)
    assert catch_up.reports == []
    assert catch_up.recovered == 15  # 11..25
