"""TradeCatchUp: a reconnect during a catch-up takes the outage over; no trade goes out twice."""

from __future__ import annotations

import asyncio

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
