"""Ingestion and downstream in separate processes, against the local Redis.

Process A (``tradefabric stream publish``) replays a real recording and publishes;
process B (``tradefabric stream consume``) builds candles and book tops from what
it reads. Their result must be exactly what one process computes. Consumers are
killed for real (SIGKILL) and restarted, and two of them share a group.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
import redis

from tests.conftest import report_figure
from tests.streams.conftest import REDIS_URL
from tests.streams.helpers import line_count, run_cli, start_cli, stream_entries
from tradefabric.node.config import MarketDataConfig
from tradefabric.streams.event_log import EventRecord, read_event_log
from tradefabric.streams.pipeline import (
    DownstreamResult,
    SampleConfig,
    publish_recording,
    single_process,
)
from tradefabric.streams.publisher import OverflowPolicy, PublisherConfig

pytestmark = [pytest.mark.redis, pytest.mark.slow]

SAMPLE = SampleConfig(interval_ms=250, depth=10)
KINDS = ("trades", "quotes", "books")


def _consume_args(prefix: str, consumer: str, *extra: str) -> list[str]:
    return [
        "stream", "consume", "--redis", REDIS_URL, "--prefix", prefix, "--venue", "binance",
        "--symbols", "BTC/USDT", "--group", "g", "--consumer", consumer, "--until-end",
        "--timeout", "120", "--json", *extra,
    ]  # fmt: skip


def _finish(process: subprocess.Popen[str], stderr_path: Path) -> Any:
    out, _ = process.communicate(timeout=150)
    assert process.returncode == 0, stderr_path.read_text()[-3000:]
    return json.loads(out)


def _publish_here(client: redis.Redis, prefix: str, recording: Path) -> int:
    """Publish the recording from this process; return the entries of the consumed kinds."""
    summary = publish_recording(
        recording,
        MarketDataConfig(venue="binance"),
        client,
        PublisherConfig(prefix=prefix, source="binance", on_full=OverflowPolicy.BLOCK),
        sample=SAMPLE,
    )
    assert summary.publisher.dropped == 0
    return sum(client.xlen(f"{prefix}:{kind}:binance:BTC/USDT") for kind in KINDS)


def _pending(client: redis.Redis, prefix: str) -> int:
    """Return the entries of the group read but not acknowledged, over the consumed kinds."""
    total = 0
    for kind in KINDS:
        info: Any = client.xpending(f"{prefix}:{kind}:binance:BTC/USDT", "g")
        total += info["pending"]
    return total


def _all_entries(client: redis.Redis, prefix: str) -> dict[tuple[str, str], Any]:
    entries: dict[tuple[str, str], Any] = {}
    for kind in KINDS:
        key = f"{prefix}:{kind}:binance:BTC/USDT"
        for entry_id, entry in stream_entries(client, key):
            entries[(key, entry_id)] = entry.event
    return entries


def _check_exactly_once(records: list[EventRecord], entries: dict[tuple[str, str], Any]) -> None:
    keys = [(r.stream, r.entry_id) for r in records]
    assert len(keys) == len(set(keys)), "an entry was written twice"
    assert set(keys) == set(entries), "entries missing or foreign"
    assert all(r.decode_event() == entries[(r.stream, r.entry_id)] for r in records)


def test_split_node_computes_exactly_what_one_process_computes(
    client: redis.Redis, prefix: str, spot_btc: Path, tmp_path: Path
) -> None:
    out = tmp_path / "downstream.json"
    consumer_err = tmp_path / "consumer.err"
    # B first, so it consumes while A is still publishing.
    consumer = start_cli(
        *_consume_args(prefix, "b1", "--out", str(out), "--max-hold-ms", "0"),
        stderr_path=consumer_err,
    )
    published = run_cli(
        "stream", "publish", str(spot_btc), "--venue", "binance", "--redis", REDIS_URL,
        "--prefix", prefix, "--book-interval-ms", str(SAMPLE.interval_ms),
        "--book-depth", str(SAMPLE.depth), "--json",
    )  # fmt: skip
    assert published.returncode == 0, published.stderr[-3000:]
    ingest = json.loads(published.stdout)
    consumed = _finish(consumer, consumer_err)

    reference = single_process(spot_btc, MarketDataConfig(venue="binance"), SAMPLE)
    result = msgspec.json.decode(out.read_bytes(), type=DownstreamResult)
    assert len(reference.candles) == 352 and len(reference.book_tops) > 1300
    assert result.candles == reference.candles
    assert result.book_tops == reference.book_tops
    # The same bytes: a file written by one process can stand in for the other's.
    assert out.read_bytes() == msgspec.json.encode(reference)

    events = ingest["replay"]["events"]
    assert consumed["stopped_by"] == "end"
    assert consumed["stats"]["by_kind"] == {
        "trades": events["trades"],
        "quotes": events["quotes"],
        "books": ingest["book_samples"],
    }
    assert consumed["stats"]["forced_releases"] == 0
    assert ingest["publisher"]["dropped"] == 0
    report_figure(
        f"redis streams split node: {len(result.candles)} candles and "
        f"{len(result.book_tops)} book tops identical to one process "
        f"({consumed['stats']['delivered']:,} events via Redis)"
    )


def test_a_killed_consumer_resumes_without_loss_or_duplicates(
    client: redis.Redis, prefix: str, spot_btc: Path, tmp_path: Path
) -> None:
    total = _publish_here(client, prefix, spot_btc)
    events_out = tmp_path / "events.jsonl"
    err = tmp_path / "consumer.err"
    args = _consume_args(prefix, "c1", "--events-out", str(events_out), "--batch", "50")
    process = start_cli(*args, stderr_path=err)
    deadline = time.monotonic() + 60
    while line_count(events_out) < 3000:
        assert process.poll() is None, err.read_text()[-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    written_before = line_count(events_out)
    pending_total = _pending(client, prefix)
    assert pending_total > 0
    assert process.returncode == -signal.SIGKILL
    assert 3000 <= written_before < total, "the consumer must die mid-stream"

    restarted = start_cli(*args, stderr_path=err)
    stats = _finish(restarted, err)["stats"]
    _check_exactly_once(read_event_log(events_out), _all_entries(client, prefix))
    # Everything the dead consumer had read but not acknowledged came back to it: what it
    # had already written was recognized and dropped, the rest processed.
    assert stats["redelivered"] + stats["duplicates_dropped"] == pending_total
    assert stats["delivered"] == total - written_before
    assert _pending(client, prefix) == 0
    report_figure(
        f"redis streams consumer SIGKILLed after {written_before:,} of {total:,} events: "
        f"{pending_total} pending re-read on restart ({stats['duplicates_dropped']} already "
        "written, dropped), union exactly once"
    )


def test_two_consumers_in_one_group_split_the_work_exactly_once(
    client: redis.Redis, prefix: str, spot_btc: Path, tmp_path: Path
) -> None:
    logs = [tmp_path / "c1.jsonl", tmp_path / "c2.jsonl"]
    errs = [tmp_path / "c1.err", tmp_path / "c2.err"]
    processes = [
        start_cli(
            *_consume_args(prefix, f"c{i + 1}", "--events-out", str(logs[i]), "--batch", "100"),
            stderr_path=errs[i],
        )
        for i in range(2)
    ]
    # Wait until both have joined the group, so both are there when entries arrive.
    deadline = time.monotonic() + 60
    while True:
        try:
            joined = client.xinfo_consumers(f"{prefix}:trades:binance:BTC/USDT", "g")
        except redis.exceptions.ResponseError:
            joined = []
        if len(joined) == 2:
            break
        assert time.monotonic() < deadline, "consumers did not join"
        time.sleep(0.05)
    total = _publish_here(client, prefix, spot_btc)
    stats = [_finish(p, e)["stats"] for p, e in zip(processes, errs, strict=True)]

    shares = [read_event_log(path) for path in logs]
    _check_exactly_once(shares[0] + shares[1], _all_entries(client, prefix))
    assert [s["delivered"] for s in stats] == [len(share) for share in shares]
    assert sum(len(share) for share in shares) == total
    assert all(len(share) > total // 20 for share in shares), [len(s) for s in shares]
    report_figure(
        "redis streams: two consumers in one group took "
        f"{len(shares[0]):,} + {len(shares[1]):,} = {total:,} entries, each exactly once"
    )


def _acked(client: redis.Redis, prefix: str) -> set[tuple[str, str]]:
    """Return the entries the group has acknowledged: delivered and no longer pending."""
    acked: set[tuple[str, str]] = set()
    for kind in KINDS:
        key = f"{prefix}:{kind}:binance:BTC/USDT"
        groups: Any = client.xinfo_groups(key)
        last = groups[0]["last-delivered-id"].decode()
        pending: Any = client.xpending_range(key, "g", min="-", max="+", count=1_000_000)
        unacked = {p["message_id"].decode() for p in pending}
        raw: Any = client.xrange(key, max=last)
        acked |= {(key, i.decode()) for i, _ in raw if i.decode() not in unacked}
    return acked


def test_a_killed_out_consumer_has_every_acked_event_on_disk(
    client: redis.Redis, prefix: str, spot_btc: Path, tmp_path: Path
) -> None:
    total = _publish_here(client, prefix, spot_btc)
    out = tmp_path / "downstream.json"
    journal = tmp_path / "downstream.json.events.jsonl"
    err = tmp_path / "consumer.err"
    args = _consume_args(prefix, "o1", "--out", str(out), "--batch", "50", "--max-hold-ms", "0")
    process = start_cli(*args, stderr_path=err)
    deadline = time.monotonic() + 60
    while line_count(journal) < 3000:
        assert process.poll() is None, err.read_text()[-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not out.exists(), "the consumer must die before writing --out"

    # The durable write came first: every entry Redis holds as acknowledged is on disk.
    acked = _acked(client, prefix)
    on_disk = {(r.stream, r.entry_id) for r in read_event_log(journal)}
    journaled = len(read_event_log(journal))
    # Acks follow the journal by up to one batch (50): journal first, then acknowledge.
    assert 3000 - 50 <= len(acked) < total, "the consumer must die mid-stream, having acked"
    assert acked <= on_disk, f"{len(acked - on_disk)} acknowledged entries are not on disk"

    restarted = start_cli(*args, stderr_path=err)
    summary = _finish(restarted, err)
    assert summary["events_replayed"] == journaled
    _check_exactly_once(read_event_log(journal), _all_entries(client, prefix))
    # Built from the journal plus the rest: exactly what one uninterrupted process builds.
    reference = single_process(spot_btc, MarketDataConfig(venue="binance"), SAMPLE)
    assert out.read_bytes() == msgspec.json.encode(reference)
    assert _pending(client, prefix) == 0
    report_figure(
        f"stream consume --out SIGKILLed after {len(acked):,} of {total:,} acked events: all "
        f"on disk; restart replayed {journaled:,}, result identical to one process"
    )
