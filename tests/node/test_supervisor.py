"""The supervisor restarts a crashed component with backoff, alerts, and feeds the venue's
circuit breaker; a live feed can be run again after a crash without doubling its work."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.execution.helpers import Harness
from tests.feed_waits import until
from tradefabric.core.clock import LiveClock
from tradefabric.data import topics
from tradefabric.data.feed.backoff import Backoff
from tradefabric.execution.live.events import LIVE_EVENTS, LiveEvent
from tradefabric.model.data import Trade
from tradefabric.model.orders import OrderRequest, OrderSide, OrderStatus
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.live_feed import LiveFeed, LiveFeedConfig
from tradefabric.node.live_venues import alert_live_events
from tradefabric.node.market_data import MarketDataNode
from tradefabric.node.supervisor import RestartPolicy, Supervisor, alert_on_breaker_events
from tradefabric.ops.alerts import ALERTS, Alert
from tradefabric.venues.fakevenue.scripts import script_for
from tradefabric.venues.fakevenue.server import FakeVenueServer
from tradefabric.venues.registry import venue_profile

FAST = RestartPolicy(initial_s=0.01, maximum_s=0.05, stable_s=60.0)


class Crashing:
    """A component that crashes ``times`` times, then runs until stopped."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.runs = 0

    async def __call__(self, stop: asyncio.Event) -> None:
        self.runs += 1
        if self.runs <= self.times:
            raise RuntimeError(f"crash {self.runs}")
        await stop.wait()


def test_a_crashing_feed_is_restarted_alerted_and_trips_its_venue(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    alerts: list[Alert] = []
    h.bus.subscribe(ALERTS, alerts.append)
    alert_on_breaker_events(h.bus)
    h.candle(60000.0, 60010.0, 59990.0, 60000.0)
    supervisor = Supervisor("feed:binance", "binance", h.bus, h.clock, FAST)
    component = Crashing(times=3)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(supervisor.run(component, stop))
        await until(lambda: component.runs >= 4)
        stop.set()
        await asyncio.wait_for(task, timeout=5)

    asyncio.run(scenario())
    assert (supervisor.restarts, supervisor.last_error) == (3, "RuntimeError: crash 3")
    assert [a.kind for a in alerts] == ["component_crashed"] * 2 + [
        "component_crashed", "venue_tripped"
    ]  # fmt: skip
    assert "binance trading stopped, data keeps flowing" in alerts[-1].message
    order = h.execution.submit(OrderRequest(strategy_id="t", venue="binance", symbol="BTC/USDT",
                                            side=OrderSide.BUY, quantity=0.01))  # fmt: skip
    assert order.status is OrderStatus.REJECTED
    assert h.kernel.risk.rejected_by_rule == {"venue_tripped": 1}


def test_a_run_that_lasted_resets_the_backoff_and_stop_ends_restarts(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    backoff = Backoff(0.01, 0.05)

    async def lasting_then_crash(stop: asyncio.Event) -> None:
        await asyncio.sleep(0.03)  # longer than stable_s
        raise RuntimeError("late crash")

    async def scenario() -> list[int]:
        stop = asyncio.Event()
        policy = RestartPolicy(initial_s=0.01, maximum_s=0.05, stable_s=0.02)
        supervisor = Supervisor("feed:x", "x", h.bus, h.clock, policy, backoff=backoff)
        task = asyncio.create_task(supervisor.run(lasting_then_crash, stop))
        attempts: list[int] = []
        await until(lambda: attempts.append(backoff.attempt) or supervisor.restarts >= 3)
        stop.set()
        await asyncio.wait_for(task, timeout=5)
        return attempts

    # Each crash came after a stable run: the backoff starts again from its first delay.
    assert max(asyncio.run(scenario())) == 1


async def test_a_live_feed_runs_again_without_doubling_its_subscriptions(
    shared_data: Path, tmp_path: Path
) -> None:
    recording = shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
    async with FakeVenueServer(script_for("coinbase", recording), speed=20.0) as server:
        node = MarketDataNode(MarketDataConfig(venue="coinbase"), clock=LiveClock())
        published: list[Trade] = []
        node.bus.subscribe(topics.TRADES, published.append)
        node.bus.subscribe(topics.TRADES_BACKFILLED, published.append)
        config = LiveFeedConfig(
            symbols=("BTC/USDT",), channels=venue_profile("coinbase").default_channels,
            ws_url=server.ws_url, rest_url=server.http_url,
        )  # fmt: skip
        feed = LiveFeed(node, config, sink=node.parser)  # the node outlives each run
        handlers = {}
        for _ in range(2):
            stop = asyncio.Event()
            task = asyncio.create_task(feed.run(stop))
            start = len(published)
            await until(lambda s=start: len(published) >= s + 500, 60)
            stop.set()
            await asyncio.wait_for(task, timeout=20)
            # The bus's own table: the second run must not have added handlers.
            handlers[len(handlers)] = {k: len(v) for k, v in node.bus._handlers.items()}
        assert handlers[0] == handlers[1]
        assert feed.catch_up is not None and feed.backfill is not None
    ids = [t.trade_id for t in published]
    assert len(ids) == len(set(ids)) >= 1_000


def test_live_execution_failures_count_for_the_venues_breaker(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    alert_live_events(h.bus, h.clock)
    h.candle(60000.0, 60010.0, 59990.0, 60000.0)
    now = h.clock.timestamp_ns()
    for kind in ("heartbeat_failed", "order_unknown", "auth_failed", "order_unknown"):
        h.bus.publish(LIVE_EVENTS, LiveEvent(kind=kind, level="warning", venue="binance",
                                             message=kind, ts=now))  # fmt: skip
    # heartbeat_failed is not a failure of trading; the other three trip the default breaker.
    assert h.kernel.risk.breakers.open_venues()["binance"].endswith("order_unknown: order_unknown")
