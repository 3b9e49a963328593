"""Publisher and consumer when Redis dies: bounded buffering, backoff, reconnection, drops.

Each test runs its own redis-server on a free port and kills it for real (SIGKILL),
then restarts it on the same port. The server keeps nothing across the restart, so
what is in it afterwards is exactly what the publisher sent after reconnecting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from tests.streams.helpers import PrivateRedis, recorded_events, stream_entries
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.data import topics
from tradefabric.model.data import Trade
from tradefabric.streams import codec
from tradefabric.streams.connection import connect
from tradefabric.streams.consumer import (
    ConsumerConfig,
    ConsumerStats,
    StreamConsumer,
    subscriptions,
)
from tradefabric.streams.publisher import (
    OverflowPolicy,
    PublisherConfig,
    PublisherStatus,
    StreamPublisher,
)

STREAM = "tfo:trades:binance:BTC/USDT"


@pytest.fixture(scope="module")
def trades(spot_btc: Path) -> list[Trade]:
    return [e for e in recorded_events(spot_btc) if isinstance(e, Trade)][:1500]


@pytest.fixture
def server(tmp_path: Path, redis_server_binary: None) -> Iterator[PrivateRedis]:
    s = PrivateRedis(tmp_path)
    s.start()
    yield s
    s.kill()


def _config(
    buffer_limit: int = 300, on_full: OverflowPolicy = OverflowPolicy.DROP
) -> PublisherConfig:
    return PublisherConfig(
        prefix="tfo",
        source="binance",
        kinds=("trades",),
        buffer_limit=buffer_limit,
        on_full=on_full,
        backoff_initial_s=0.01,
        backoff_max_s=0.2,
        heartbeat_s=0.05,
        close_timeout_s=5.0,
    )


def _publish(bus: MessageBus, clock: SimClock, trades: list[Trade]) -> None:
    for trade in trades:
        clock.advance_to(trade.ts_recv)
        bus.publish(topics.TRADES, trade)


def _wait_for(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_outage_buffers_up_to_the_bound_drops_the_rest_and_recovers(
    server: PrivateRedis, trades: list[Trade]
) -> None:
    bus, clock = MessageBus(), SimClock()
    client = connect(server.url, timeout_s=1.0)
    publisher = StreamPublisher(bus, clock, client, _config())
    _publish(bus, clock, trades[:200])
    assert publisher.flush(5)
    assert client.xlen(STREAM) == 200

    server.kill()
    # The heartbeat finds the dead server even with nothing to send.
    _wait_for(lambda: not publisher.status().connected)
    with structlog.testing.capture_logs() as logs:
        started = time.monotonic()
        _publish(bus, clock, trades[200:1200])
        publishing_s = time.monotonic() - started
    status = publisher.status()
    assert publishing_s < 1.0, "the bus handler must never wait on a dead Redis"
    assert (status.connected, status.buffered, status.dropped) == (False, 300, 700)
    assert status.dropped_by_stream == {STREAM: 700}
    # The oldest events are kept, so the drop is one range: events 500..1199.
    assert (status.first_dropped_clk, status.last_dropped_clk) == (
        trades[500].ts_recv,
        trades[1199].ts_recv,
    )
    assert status.outages == 1 and status.failed_attempts >= 1
    assert "Error" in status.last_error
    drop_logs = [e for e in logs if "dropping" in e["event"]]
    assert len(drop_logs) == 1 and drop_logs[0]["log_level"] == "warning"
    time.sleep(0.3)  # keep failing for a while: backoff, no crash, no change
    assert publisher.status().failed_attempts > status.failed_attempts
    assert publisher.status().buffered == 300

    server.start()
    assert publisher.flush(10)
    status = publisher.status()
    assert (status.connected, status.reconnects, status.published, status.dropped) == (
        True,
        1,
        500,
        700,
    )
    _publish(bus, clock, trades[1200:1500])
    final: PublisherStatus = publisher.close()
    assert (final.published, final.dropped, final.buffered, final.ended) == (800, 700, 0, True)
    # What the restarted server holds: the 300 buffered events, then the ones published after.
    stored = [e.event for _, e in stream_entries(client, STREAM)]
    assert stored == trades[200:500] + trades[1200:1500]
    client.close()


def test_block_policy_holds_the_publisher_until_redis_is_back(
    server: PrivateRedis, trades: list[Trade]
) -> None:
    bus, clock = MessageBus(), SimClock()
    client = connect(server.url, timeout_s=1.0)
    publisher = StreamPublisher(
        bus, clock, client, _config(buffer_limit=50, on_full=OverflowPolicy.BLOCK)
    )
    server.kill()
    _wait_for(lambda: not publisher.status().connected)
    worker = threading.Thread(target=_publish, args=(bus, clock, trades[:400]))
    worker.start()
    worker.join(0.5)
    assert worker.is_alive(), "a full buffer must block the replay, not drop"
    assert publisher.status().buffered == 50
    server.start()
    worker.join(10)
    assert not worker.is_alive()
    status = publisher.close()
    assert (status.published, status.dropped) == (400, 0)
    assert [e.event for _, e in stream_entries(client, STREAM)] == trades[:400]
    client.close()


def test_closing_while_redis_is_down_reports_what_is_lost(
    server: PrivateRedis, trades: list[Trade]
) -> None:
    bus, clock = MessageBus(), SimClock()
    client = connect(server.url, timeout_s=1.0)
    publisher = StreamPublisher(bus, clock, client, _config())
    server.kill()
    _publish(bus, clock, trades[:50])
    started = time.monotonic()
    with structlog.testing.capture_logs() as logs:
        status = publisher.close(timeout_s=0.5)
    assert time.monotonic() - started < 3.0
    assert (status.published, status.dropped, status.buffered, status.ended) == (0, 50, 0, False)
    assert (status.first_dropped_clk, status.last_dropped_clk) == (
        trades[0].ts_recv,
        trades[49].ts_recv,
    )
    assert any(e["event"].startswith("redis publisher closed") for e in logs)


def test_a_publisher_started_while_redis_is_down_connects_when_it_comes_up(
    tmp_path: Path, trades: list[Trade], redis_server_binary: None
) -> None:
    server = PrivateRedis(tmp_path)
    bus, clock = MessageBus(), SimClock()
    client = connect(server.url, timeout_s=1.0)
    publisher = StreamPublisher(bus, clock, client, _config())
    _publish(bus, clock, trades[:100])
    _wait_for(lambda: publisher.status().failed_attempts >= 2)
    try:
        server.start()
        assert publisher.flush(10)
        status = publisher.close()
        assert (status.published, status.dropped, status.outages, status.reconnects) == (
            100,
            0,
            1,
            1,
        )
        raw: Any = client.xrevrange(codec.clock_key("tfo", "binance"), count=1)
        assert codec.decode_watermark(raw[0][1][codec.WATERMARK_FIELD]).end
    finally:
        server.kill()
        client.close()


def test_a_consumer_rides_out_a_redis_restart(server: PrivateRedis, trades: list[Trade]) -> None:
    bus, clock = MessageBus(), SimClock()
    pub_client = connect(server.url, timeout_s=1.0)
    publisher = StreamPublisher(bus, clock, pub_client, _config())
    _publish(bus, clock, trades[:200])
    assert publisher.flush(5)

    seen: list[Trade] = []
    downstream = MessageBus()
    downstream.subscribe(topics.TRADES, seen.append)
    config = ConsumerConfig(
        group="g",
        consumer="c1",
        subscriptions=subscriptions("tfo", "binance", ["BTC/USDT"], "trades"),
        block_ms=50,
    )
    consumer = StreamConsumer(connect(server.url, timeout_s=1.0), config, downstream)
    result: list[ConsumerStats] = []
    worker = threading.Thread(
        target=lambda: result.append(consumer.run(should_stop=lambda: consumer.finished))
    )
    worker.start()
    _wait_for(lambda: len(seen) == 200)
    server.kill()
    time.sleep(0.3)
    assert worker.is_alive(), "the consumer must wait for Redis, not die"
    server.start()
    _publish(bus, clock, trades[200:400])
    assert publisher.close().published == 400
    worker.join(15)
    assert not worker.is_alive()
    # The restarted server lost its streams and groups; the consumer made the group again
    # and read what was published since, nothing twice.
    assert seen == trades[:400]
    assert result[0].errors >= 1 and result[0].finished
    pub_client.close()
