"""The consumer against the local Redis: order, acks, restarts, duplicates, claims."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.streams.helpers import recorded_events
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.errors import ConfigError
from tradefabric.data import topics
from tradefabric.model.data import Quote, Trade
from tradefabric.node.config import MarketDataConfig
from tradefabric.streams.consumer import (
    ConsumerConfig,
    Delivery,
    StreamConsumer,
    Subscription,
    subscriptions,
)
from tradefabric.streams.event_log import EventLog, read_event_log
from tradefabric.streams.pipeline import Downstream, publish_recording, single_process
from tradefabric.streams.publisher import OverflowPolicy, PublisherConfig, StreamPublisher

pytestmark = pytest.mark.redis

Event = Trade | Quote


@pytest.fixture(scope="module")
def events(spot_btc: Path) -> list[Event]:
    return recorded_events(spot_btc)[:4000]


@pytest.fixture
def published(client: redis.Redis, prefix: str, events: list[Event]) -> list[Event]:
    """Publish the events (trades and quotes) under ``prefix``; return them in bus order."""
    bus, clock = MessageBus(), SimClock()
    config = PublisherConfig(prefix=prefix, source="binance", on_full=OverflowPolicy.BLOCK)
    with StreamPublisher(bus, clock, client, config):
        for event in events:
            clock.advance_to(event.ts_recv)
            topic: Any = topics.TRADES if isinstance(event, Trade) else topics.QUOTES
            bus.publish(topic, event)
    return events


def _consumer(
    client: redis.Redis,
    prefix: str,
    name: str,
    bus: MessageBus | None = None,
    processed: set[tuple[str, str]] | None = None,
    **options: Any,
) -> StreamConsumer:
    config = ConsumerConfig(
        group="g",
        consumer=name,
        subscriptions=subscriptions(prefix, "binance", ["BTC/USDT"], "trades,quotes"),
        batch=options.pop("batch", 200),
        **options,
    )
    return StreamConsumer(client, config, bus or MessageBus(), processed=processed or ())


def _collect(bus: MessageBus) -> list[Event]:
    seen: list[Event] = []
    bus.subscribe(topics.TRADES, seen.append)
    bus.subscribe(topics.QUOTES, seen.append)
    return seen


def _poll_until(consumer: StreamConsumer, done: Callable[[list[Delivery]], bool]) -> list[Delivery]:
    got: list[Delivery] = []
    for _ in range(100):
        got += consumer.poll()
        if done(got):
            return got
    raise AssertionError(f"only {len(got)} deliveries")


def _pending(client: redis.Redis, prefix: str) -> int:
    total = 0
    for kind in ("trades", "quotes"):
        info: Any = client.xpending(f"{prefix}:{kind}:binance:BTC/USDT", "g")
        total += info["pending"]
    return total


def test_events_come_back_on_the_bus_in_the_publishers_order(
    client: redis.Redis, prefix: str, published: list[Event]
) -> None:
    bus = MessageBus()
    seen = _collect(bus)
    clock = SimClock()
    consumer = StreamConsumer(
        client,
        ConsumerConfig(
            group="g",
            consumer="c1",
            subscriptions=subscriptions(prefix, "binance", ["BTC/USDT"], "trades,quotes"),
            batch=100,
        ),
        bus,
        clock,
    )
    clock_seen: list[int] = []
    bus.subscribe(topics.TRADES, lambda t: clock_seen.append(clock.timestamp_ns() - t.ts_recv))
    stats = consumer.run(should_stop=lambda: consumer.finished)
    # Trades and quotes travel in two streams read 100 at a time, yet the bus sees them
    # interleaved exactly as the publisher's bus did, each at its own publisher time.
    assert seen == published
    assert set(clock_seen) == {0}
    assert (stats.delivered, stats.acked, stats.redelivered, stats.forced_releases) == (
        4000,
        4000,
        0,
        0,
    )
    assert stats.by_kind == {
        "trades": sum(isinstance(e, Trade) for e in published),
        "quotes": sum(isinstance(e, Quote) for e in published),
    }
    assert stats.finished and stats.end_clk == published[-1].ts_recv
    assert _pending(client, prefix) == 0


def test_a_restarted_consumer_gets_its_unacknowledged_entries_again(
    client: redis.Redis, prefix: str, published: list[Event]
) -> None:
    first = _consumer(client, prefix, "c1")
    before_crash = _poll_until(first, lambda got: len(got) >= 300)
    assert _pending(client, prefix) >= len(before_crash)
    pending_at_crash = _pending(client, prefix)
    del first  # killed before acknowledging anything

    bus = MessageBus()
    seen = _collect(bus)
    again = _consumer(client, prefix, "c1", bus)
    stats = again.run(should_stop=lambda: again.finished)
    # Nothing is lost: the pending entries come first, flagged, then the rest.
    assert stats.redelivered == pending_at_crash
    assert sorted(seen, key=published.index) == published
    assert seen[: len(before_crash)] == [d.event for d in before_crash]
    assert _pending(client, prefix) == 0


def test_redeliveries_already_in_the_event_log_are_dropped(
    client: redis.Redis, prefix: str, published: list[Event], tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    first = _consumer(client, prefix, "c1")
    written = _poll_until(first, lambda got: len(got) >= 300)
    log.write(written)  # synced to disk ...
    log.close()  # ... and killed before the XACK
    with path.open("ab") as f:
        f.write(b'{"stream":"torn')  # the line the crash cut short

    log = EventLog(path)
    assert len(log.processed) == len(written)
    again = _consumer(client, prefix, "c1", processed=log.processed)
    stats = again.run(sink=log.write, should_stop=lambda: again.finished)
    log.close()
    assert stats.duplicates_dropped == len(written)
    records = read_event_log(path)
    keys = [(r.stream, r.entry_id) for r in records]
    assert len(keys) == len(set(keys)) == 4000
    events = [r.decode_event() for r in records]
    assert sorted(events, key=published.index) == published
    assert _pending(client, prefix) == 0


def test_entries_left_by_a_dead_consumer_are_claimed_by_another(
    client: redis.Redis, prefix: str, published: list[Event]
) -> None:
    dead = _consumer(client, prefix, "dead")
    lost_with_it = _poll_until(dead, lambda got: len(got) >= 300)
    pending_dead = _pending(client, prefix)
    del dead

    bus = MessageBus()
    seen = _collect(bus)
    deliveries: list[Delivery] = []
    survivor = _consumer(client, prefix, "survivor", bus, claim_idle_ms=100)
    stats = survivor.run(
        sink=deliveries.extend,
        should_stop=lambda: survivor.finished and survivor.delivered == 4000,
    )
    assert stats.claimed == pending_dead
    claimed = [d for d in deliveries if d.redelivered]
    assert len(claimed) == pending_dead
    assert {d.entry_id for d in lost_with_it} <= {d.entry_id for d in claimed}
    assert sorted(seen, key=published.index) == published
    assert _pending(client, prefix) == 0


def test_consumer_config_is_checked(prefix: str) -> None:
    subs = subscriptions(prefix, "binance", ["BTC/USDT"], "trades")
    with pytest.raises(ConfigError):
        ConsumerConfig(group="", consumer="c", subscriptions=subs)
    with pytest.raises(ConfigError):
        ConsumerConfig(group="g", consumer="c", subscriptions=subs + subs)
    with pytest.raises(ConfigError):
        ConsumerConfig(group="g", consumer="c", subscriptions=(Subscription("x:y", ""),))
    assert subs == (Subscription(f"{prefix}:trades:binance:BTC/USDT", f"{prefix}:clock:binance"),)


def test_without_the_publishers_order_candles_come_out_wrong(
    client: redis.Redis, prefix: str, spot_btc: Path
) -> None:
    """The control for the split-node test: ordering is what makes it exact."""
    config = MarketDataConfig(venue="binance")
    publisher = PublisherConfig(prefix=prefix, source="binance", on_full=OverflowPolicy.BLOCK)
    publish_recording(spot_btc, config, client, publisher)
    reference = single_process(spot_btc, config)
    results = {}
    for ordered in (True, False):
        downstream = Downstream()
        consumer = StreamConsumer(
            client,
            ConsumerConfig(
                group=f"ordered-{ordered}",
                consumer="c1",
                subscriptions=subscriptions(prefix, "binance", ["BTC/USDT"], "trades,books"),
                ordered=ordered,
            ),
            downstream.bus,
            downstream.clock,
        )
        consumer.run(should_stop=lambda c=consumer: c.finished)
        results[ordered] = (downstream.finish(consumer.end_clk), downstream.candles)
    assert results[True][0] == reference
    # Unordered, a batch of book samples (one a second) reaches far past the trades
    # read with it and moves the clock there: candles close early, trades arrive late.
    unordered, aggregator = results[False]
    assert aggregator is not None and aggregator.late_trades > 100
    assert unordered.candles != reference.candles
    assert unordered.book_tops == reference.book_tops
