"""Redis Streams throughput: our publisher and consumer next to redis-benchmark's XADD, same run.

Run from the repository root:

    .venv/bin/python bench/bench_redis_streams.py [--repeat 3] [--json]

It starts a private ``redis-server`` on a free port (no persistence), so the
figures are not disturbed by anything else using the shared Redis, and runs
there, in this order:

- floor: ``redis-benchmark -t xadd`` (on Redis versions whose redis-benchmark has
  no built-in xadd test, the same command given explicitly, ``XADD <key> * e
  <payload>`` with a payload the size of our average entry), twice: the default
  50 connections without pipelining, and one connection pipelining as deep as our
  publisher's batches, which is how our publisher talks to Redis;
- publish: the trades and quotes of the real recordings (pre-decoded, in bus
  order) published on a bus with a ``StreamPublisher`` attached, timed until
  every entry is in Redis (encode, buffer, pipelined ``XADD``, watermarks);
- consume: one ``StreamConsumer`` reading all of it back in a group (``XREADGROUP``,
  decode, ordered release, publish on a bus with a SimClock, ``XACK``), timed
  until it has acknowledged the publisher's end.

Each figure is the best of ``--repeat`` runs; the run checks that every event
came back equal, so a broken path cannot produce a figure. Consuming is bound by
redis-py's reply parser: it prints which one it uses (``hiredis`` when installed,
which about doubles the consume figure, else redis-py's pure Python one).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec
from redis.utils import HIREDIS_AVAILABLE

from tradefabric.core.bus import MessageBus, Topic
from tradefabric.core.clock import SimClock
from tradefabric.data import topics
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.market_data import MarketDataNode
from tradefabric.streams import codec
from tradefabric.streams.connection import connect
from tradefabric.streams.consumer import ConsumerConfig, StreamConsumer, subscriptions
from tradefabric.streams.publisher import OverflowPolicy, PublisherConfig, StreamPublisher

RECORDINGS = (
    ("spot_btcusdt_20240808.gz", "binance", "BTC/USDT"),
    ("usdm_btcusdt_20240808.gz", "binance-usdm", "BTC/USDT:USDT"),
)
BATCH = 500
KINDS = ("trades", "quotes")


def shared_data_dir() -> Path:
    """Return ``$TRADEFABRIC_SHARED_DATA`` or ``<repo>/../shared/data``."""
    override = os.environ.get("TRADEFABRIC_SHARED_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load_events(venue: str, path: Path) -> list[tuple[Topic[Any], Any]]:
    """Return the trades and quotes of a recording with their topics, in bus order."""
    node = MarketDataNode(MarketDataConfig(venue=venue, candle_intervals=("1m",)))
    events: list[tuple[Topic[Any], Any]] = []
    node.bus.subscribe(topics.TRADES, lambda e: events.append((topics.TRADES, e)))
    node.bus.subscribe(topics.QUOTES, lambda e: events.append((topics.QUOTES, e)))
    node.replay(path)
    return events


# ---------------------------------------------------------------------------- Redis


def free_port() -> int:
    """Return a TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start a private redis-server without persistence; return it and its port."""
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = connect(f"redis://127.0.0.1:{port}/0", timeout_s=0.5)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return server, port
        except Exception:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.02)


def redis_benchmark(port: int, args: list[str]) -> dict[str, float]:
    """Run redis-benchmark with ``--csv``; return requests/s per test name."""
    result = subprocess.run(
        ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "--csv", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    rows = list(csv.reader(io.StringIO(result.stdout)))
    return {row[0]: float(row[1]) for row in rows[1:] if len(row) > 1}


def xadd_floor(port: int, requests: int, payload_size: int) -> tuple[str, dict[str, float]]:
    """Return how the XADD floor was measured and its requests/s, per configuration."""
    builtin = redis_benchmark(port, ["-t", "xadd", "-n", str(requests)])
    configs = {"50 connections, no pipelining": ["-c", "50"], "1 connection, pipelined": [
        "-c", "1", "-P", str(BATCH)]}  # fmt: skip
    figures: dict[str, float] = {}
    if builtin:
        how = "redis-benchmark -t xadd"
        for name, extra in configs.items():
            command = ["-t", "xadd", "-n", str(requests), *extra]
            figures[name] = max(redis_benchmark(port, command).values())
        return how, figures
    payload = "x" * payload_size
    how = (
        "redis-benchmark -t xadd gave no figure (this redis-benchmark has no built-in xadd "
        f"test); measured the same command explicitly: XADD bench:xadd * e <{payload_size} bytes>"
    )
    for name, extra in configs.items():
        command = ["-n", str(requests), *extra, "XADD", "bench:xadd", "*", "e", payload]
        figures[name] = max(redis_benchmark(port, command).values())
    return how, figures


# ---------------------------------------------------------------------------- runs


def publish_run(url: str, events: list[tuple[Topic[Any], Any]], prefix: str) -> float:
    """Publish ``events`` through a ``StreamPublisher``; return seconds until all are in Redis."""
    client = connect(url)
    bus, clock = MessageBus(), SimClock()
    config = PublisherConfig(
        prefix=prefix,
        source="bench",
        kinds=KINDS,
        maxlen=0,
        batch_size=BATCH,
        buffer_limit=200_000,
        on_full=OverflowPolicy.BLOCK,
    )
    publisher = StreamPublisher(bus, clock, client, config)
    publish = bus.publish
    advance = clock.advance_to
    started = time.perf_counter()
    for topic, event in events:
        advance(event.ts_recv)
        publish(topic, event)
    publisher.flush(600)
    seconds = time.perf_counter() - started
    status = publisher.close()
    if status.published != len(events) or status.dropped:
        raise SystemExit(f"publish check failed: {status}")
    client.close()
    return seconds


def consume_run(
    url: str, events: list[tuple[Topic[Any], Any]], prefix: str, markets: list[tuple[str, str]]
) -> float:
    """Consume everything published under ``prefix``; return seconds until the end is acked."""
    client = connect(url)
    subs = tuple(
        sub
        for venue, symbol in markets
        for sub in subscriptions(prefix, venue, [symbol], KINDS, source="bench")
    )
    config = ConsumerConfig(
        group=f"g{uuid.uuid4().hex[:6]}", consumer="c1", subscriptions=subs, batch=BATCH
    )
    bus, clock = MessageBus(), SimClock()
    received: list[Any] = []
    bus.subscribe(topics.TRADES, received.append)
    bus.subscribe(topics.QUOTES, received.append)
    consumer = StreamConsumer(client, config, bus, clock)
    started = time.perf_counter()
    stats = consumer.run(should_stop=lambda: consumer.finished)
    seconds = time.perf_counter() - started
    if received != [event for _, event in events] or stats.acked != len(events):
        raise SystemExit(f"consume check failed: {len(received)} of {len(events)}, {stats}")
    client.close()
    return seconds


def kind_of(topic: Topic[Any]) -> str:
    """Return the stream kind of a bus topic."""
    return next(kind.name for kind in codec.KINDS if kind.topic == topic)


def average_entry_size(events: list[tuple[Topic[Any], Any]]) -> int:
    """Return the mean size in bytes of the msgpack envelopes of ``events``."""
    sample = events[:: max(1, len(events) // 1000)]
    sizes = [
        len(codec.encode(codec.KINDS_BY_NAME[kind_of(topic)].entry_type(0, 0, event)))
        for topic, event in sample
    ]
    return sum(sizes) // len(sizes)


def main() -> int:
    """Run the benchmark; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("redis-server") is None or shutil.which("redis-benchmark") is None:
        print("redis-server and redis-benchmark are needed", file=sys.stderr)
        return 2
    data = shared_data_dir() / "binance_ws"
    events: list[tuple[Topic[Any], Any]] = []
    markets: list[tuple[str, str]] = []
    for name, venue, symbol in RECORDINGS:
        events += load_events(venue, data / name)
        markets.append((venue, symbol))
    # Two recordings of the same hour: merge them in time as one node would publish them.
    events.sort(key=lambda item: item[1].ts_recv)
    entry_size = average_entry_size(events)

    with tempfile.TemporaryDirectory() as workdir:
        server, port = start_redis(Path(workdir))
        try:
            url = f"redis://127.0.0.1:{port}/0"
            version = connect(url).info("server")["redis_version"]
            how, floors = xadd_floor(port, max(200_000, len(events)), entry_size)
            publish_s, consume_s = [], []
            for _ in range(args.repeat):
                prefix = f"bench{uuid.uuid4().hex[:8]}"
                publish_s.append(publish_run(url, events, prefix))
                consume_s.append(consume_run(url, events, prefix, markets))
                connect(url).flushall()
        finally:
            server.kill()
            server.wait()

    n = len(events)
    report = {
        "redis_version": version,
        "events": n,
        "average_entry_bytes": entry_size,
        "redis_py_parser": "hiredis" if HIREDIS_AVAILABLE else "pure Python",
        "floor_method": how,
        "floor_xadd_per_s": floors,
        "publish_events_per_s": n / min(publish_s),
        "consume_events_per_s": n / min(consume_s),
    }
    if args.json:
        sys.stdout.write(msgspec.json.encode(report).decode() + "\n")
        return 0
    pipelined = floors["1 connection, pipelined"]
    print(f"Redis {version} (private server), {n:,} real trades and quotes, ~{entry_size} B each")
    print(f"redis-py reply parser: {report['redis_py_parser']}")
    print(f"floor: {how}")
    for name, value in floors.items():
        print(f"  XADD, {name + ':':32} {value:>12,.0f} entries/s")
    print(
        f"publish (encode, buffer, XADD pipelines of {BATCH}):  "
        f"{report['publish_events_per_s']:>12,.0f} events/s "
        f"({report['publish_events_per_s'] / pipelined:.0%} of the pipelined floor)"
    )
    print(
        f"consume (XREADGROUP, decode, ordered release, bus, XACK): "
        f"{report['consume_events_per_s']:>12,.0f} events/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
