"""The node's scheduler: cron minutes of the node's clock start jobs in real worker processes
at lower priority, one run per name at a time; every end is alerted and no failure, crash or
timeout reaches the node."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pyarrow as pa
import pytest

from tests.feed_waits import until
from tests.node.sched_harness import JOBS, MIDNIGHT, Node, entry
from tests.ops.run_folder import real_candles, write_run
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import NS_PER_MINUTE, parse_utc
from tradefabric.core.worker import JobRequest
from tradefabric.node.kernel import load_config
from tradefabric.ops.alerts import AlertLevel
from tradefabric.store.catalog import Catalog
from tradefabric.store.catalog_writer import CatalogWriter


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_due_job_runs_in_a_lower_priority_worker_off_the_loop(tmp_path: Path) -> None:
    release, pid_file = tmp_path / "go", tmp_path / "pid"
    args = {"release": str(release), "pid_file": str(pid_file)}
    node = Node(tmp_path, entry(f"{JOBS}:wait_for_release", "5 0 * * *", name="w", args=args,
                                 nice=5))  # fmt: skip
    node.to_minute(4)
    assert not node.stats("w").running and not pid_file.exists()
    node.to_minute(5)
    assert node.stats("w").running
    # The worker is a process of its own, blocked until this loop (the node's) lets it go:
    # the loop keeps running while the job runs.
    await until(pid_file.exists)
    worker = int(pid_file.read_text())
    assert worker != os.getpid()
    release.touch()
    await until(lambda: node.kinds("w") == ["job_finished"])
    stats = node.stats("w")
    assert (stats.runs, stats.failures, stats.running) == (1, 0, False)
    assert stats.last_summary == {
        "pid": worker, "niceness": min(19, os.nice(0) + 5), "due_ns": MIDNIGHT + 5 * NS_PER_MINUTE,
    }  # fmt: skip
    assert stats.next_ns == parse_utc("2024-08-03") + 5 * NS_PER_MINUTE
    assert node.alerts[0].level is AlertLevel.INFO and "w finished in" in node.alerts[0].message
    await until(lambda: not _alive(worker))


async def test_one_run_per_name_at_a_time_a_busy_minute_is_skipped(tmp_path: Path) -> None:
    release, pid_file = tmp_path / "go", tmp_path / "pid"
    args = {"release": str(release), "pid_file": str(pid_file)}
    node = Node(tmp_path, entry(f"{JOBS}:wait_for_release", name="w", args=args))
    node.to_minute(1)
    await until(pid_file.exists)
    node.to_minute(3)  # minutes 2 and 3 come while the first run still goes
    assert node.stats("w").skipped == 2
    assert node.kinds("w") == ["job_skipped", "job_skipped"]
    assert "previous run is still going" in node.alerts[0].message
    release.touch()
    await until(lambda: node.kinds("w")[-1:] == ["job_finished"])
    pid_file.unlink()
    node.to_minute(4)  # free again: this minute runs
    await until(lambda: node.kinds("w").count("job_finished") == 2)
    assert (node.stats("w").runs, node.stats("w").skipped) == (2, 2)


async def test_failures_crashes_and_timeouts_are_alerted_and_the_next_run_goes(
    tmp_path: Path,
) -> None:
    node = Node(
        tmp_path,
        entry(f"{JOBS}:fail", name="bug"),
        entry(f"{JOBS}:crash", name="crash"),
        entry("tests.node.no_such_module:job", name="missing"),
        entry(f"{JOBS}:hang", name="slow", timeout_s=0.5, args={"pid_file": str(tmp_path / "p")}),
    )
    node.to_minute(1)
    names = ("bug", "crash", "missing", "slow")
    await until(lambda: all(node.kinds(n) == ["job_failed"] for n in names), timeout_s=20)
    errors = {n: node.stats(n).last_error for n in names}
    assert errors["bug"] == "RuntimeError: boom in bug"
    assert errors["crash"] == "the worker ended (exit 3) without a result"
    assert errors["missing"].startswith("ConfigError: job 'tests.node.no_such_module:job': cannot")
    assert errors["slow"] == "timed out after 0.5 s"
    assert not _alive(int((tmp_path / "p").read_text()))  # the hung worker was killed
    assert all(a.level is AlertLevel.WARNING for a in node.alerts)
    assert "Traceback" in (tmp_path / "jobs" / "bug.log").read_text()  # the job's own log
    node.to_minute(2)  # the scheduler goes on: every entry runs (and fails) again
    await until(lambda: all(node.stats(n).failures == 2 for n in names), timeout_s=20)


async def test_stopping_ends_a_running_job_and_starts_no_more(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    node = Node(tmp_path, entry(f"{JOBS}:hang", name="h", args={"pid_file": str(pid_file)}))
    node.to_minute(1)
    await until(pid_file.exists)
    worker = int(pid_file.read_text())
    await node.scheduler.stop()
    assert not _alive(worker)
    assert not node.stats("h").running
    node.to_minute(5)
    assert not node.stats("h").running and node.stats("h").runs == 0


async def test_the_daily_report_job_writes_yesterdays_report(
    shared_data: Path, tmp_path: Path
) -> None:
    run_dir = write_run(shared_data, tmp_path / "run", days=1.5)
    for report in (run_dir / "reports").iterdir():
        report.unlink()  # the backtest wrote them at its end: the job writes them now
    node = Node(tmp_path, entry("daily_report", "5 0 * * *"), run_dir=run_dir)
    node.to_minute(5)
    assert node.flushes == 1  # the run folder was flushed before the worker read it
    await until(lambda: node.kinds("daily_report") == ["job_finished"], timeout_s=30)
    day = "2024-08-01"
    html = run_dir / "reports" / f"daily-{day}.html"
    assert node.stats("daily_report").last_summary == {"day": day, "html": str(html)}
    twin = msgspec.json.decode((run_dir / "reports" / f"daily-{day}.json").read_bytes())
    assert twin["day"] == day and twin["fills"] > 0 and twin["start_equity"] == 100_000.0
    assert "<html" in html.read_text()


def test_the_schedule_loads_from_yaml_and_refuses_bad_entries(tmp_path: Path) -> None:
    config = tmp_path / "node.yaml"
    config.write_text(
        "schedule:\n"
        "  - {job: daily_report, cron: '5 0 * * *'}\n"
        "  - {job: retrain, cron: '0 3 * * 0', args: {config: model.yaml}, nice: 15}\n"
        "  - {job: compact, cron: '@daily', args: {catalog: cat, data_type: trades}}\n"
    )
    loaded = load_config(config).schedule
    assert [(e.label, e.nice) for e in loaded] == [("daily_report", 10), ("retrain", 15),
                                                    ("compact", 10)]  # fmt: skip
    assert loaded[1].target == "tradefabric.research.jobs:retrain_job"
    bad = {
        "{job: retrain, cron: '0 25 * * *', args: {config: m.yaml}}": "schedule: retrain: cron "
        "'0 25 * * *': hour '25': 25 outside 0-23",
        "{job: retrain, cron: '0 3 * * 0'}": "schedule: retrain: args: Object missing required "
        "field `config`",
        "{job: compact, cron: '* * * * *', args: {catalog: c, bogus: 1}}": "unknown field `bogus`",
        "{job: reprot, cron: '* * * * *'}": "unknown job 'reprot'; use daily_report, compact",
        "{job: daily_report, cron: '* * * * *', nice: 20}": "nice must be 0-19",
    }
    for line, message in bad.items():
        config.write_text(f"schedule:\n  - {line}\n")
        with pytest.raises(ConfigError) as info:
            load_config(config)
        assert str(config) in str(info.value) and message in str(info.value), info.value
    config.write_text("schedule:\n" + "  - {job: daily_report, cron: '5 0 * * *'}\n" * 2)
    with pytest.raises(ConfigError, match=r"names must be unique; give `name:` to \['daily_rep"):
        load_config(config)


def _real_candle_table(shared_data: Path, start: int, count: int) -> pa.Table:
    """Return ``count`` real 1m BTC/USDT candles of 2024-08-01 from minute ``start``."""
    rows = real_candles(shared_data, "2024-08-01", 1)[start : start + count]
    return pa.table({
        "venue": [c.venue for c in rows], "symbol": [c.symbol for c in rows],
        "interval": [c.interval for c in rows], "ts_open": [c.ts_open for c in rows],
        "open": [c.open for c in rows], "high": [c.high for c in rows],
        "low": [c.low for c in rows], "close": [c.close for c in rows],
        "volume": [c.volume for c in rows], "ts_event": [c.ts_event for c in rows],
    })  # fmt: skip


async def test_the_compact_job_merges_a_feeds_small_files(
    shared_data: Path, tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog"
    writer = CatalogWriter(catalog)
    for start in range(0, 1440, 480):  # a live feed's flushes: three files in one partition
        writer.write_table("candles", _real_candle_table(shared_data, start, 480), "feed", "append")
    everything = "SELECT ts_open, open, high, low, close, volume FROM candles ORDER BY ts_open"
    before = Catalog(catalog).query(everything).rows
    node = Node(tmp_path, entry("compact", "30 0 * * *", args={"catalog": str(catalog)}))
    node.to_minute(30)
    await until(lambda: node.kinds("compact") == ["job_finished"], timeout_s=30)
    summary = node.stats("compact").last_summary
    assert summary == {"partitions": 1, "files_before": 3, "files_after": 1, "rows": 1440,
                       "duplicates": 0, "version": 4}  # fmt: skip
    assert Catalog(catalog).query(everything).rows == before
    assert len(Catalog(catalog).files()) == 1


async def test_an_updated_schedule_keeps_counts_and_lets_a_removed_run_finish(
    tmp_path: Path,
) -> None:
    release, pid_file = tmp_path / "go", tmp_path / "pid"
    args = {"release": str(release), "pid_file": str(pid_file)}
    waiting = entry(f"{JOBS}:wait_for_release", name="w", args=args)
    failing = entry(f"{JOBS}:fail", "0 * * * *", name="bug")
    node = Node(tmp_path, waiting, failing)
    assert node.scheduler.run_now("bug") == "bug: started"
    await until(lambda: node.stats("bug").failures == 1)
    node.to_minute(1)
    await until(pid_file.exists)
    assert node.scheduler.run_now("w") == "w: the previous run is still going, not started again"
    hourly = entry(f"{JOBS}:fail", "30 * * * *", name="bug")
    changes = node.scheduler.update([hourly, entry("daily_report", "5 0 * * sun")])
    assert changes == [
        "schedule: changed bug (30 * * * *)", "schedule: added daily_report (5 0 * * sun)",
        "schedule: removed w",
    ]  # fmt: skip
    assert node.stats("bug").failures == 1  # kept by name
    release.touch()  # the removed entry's run ends and is reported
    await until(lambda: node.kinds("w") == ["job_finished"])
    node.to_minute(30)
    await until(lambda: node.stats("bug").failures == 2)
    assert [s.name for s in node.scheduler.stats()] == ["bug", "daily_report"]
    with pytest.raises(ConfigError, match=r"no scheduled job 'w' \(scheduled: \['bug', 'daily"):
        node.scheduler.run_now("w")


def test_a_worker_ends_when_its_node_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    request = JobRequest(name="h", target=f"{JOBS}:hang", args={"pid_file": str(pid_file)},
                         due_ns=0, parent_pid=0)  # fmt: skip
    (tmp_path / "request.json").write_bytes(msgspec.json.encode(request))
    # A stand-in node: starts the worker with its own pid as the parent, then waits.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    node = subprocess.Popen([sys.executable, "-c", NODE.format(tmp=str(tmp_path))], env=env)
    try:
        deadline = time.monotonic() + 30
        while not pid_file.exists():  # the worker is up and running the job
            assert time.monotonic() < deadline and node.poll() is None
            time.sleep(0.01)
        worker = int(pid_file.read_text())
        assert _alive(worker)
    finally:
        node.kill()  # kill -9: no cleanup of its own
        node.wait()
    deadline = time.monotonic() + 10
    while _alive(worker) and not _zombie(worker):
        assert time.monotonic() < deadline, "the worker outlived its node"
        time.sleep(0.01)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except OSError:
        return False


NODE = """
import json, os, subprocess, sys, threading
from pathlib import Path
tmp = Path({tmp!r})
request = json.loads((tmp / "request.json").read_text())
request["parent_pid"] = os.getpid()
(tmp / "request.json").write_text(json.dumps(request))
subprocess.Popen([sys.executable, "-m", "tradefabric.core.worker", str(tmp / "request.json"),
                  str(tmp / "result.json")], start_new_session=True)
threading.Event().wait()
"""
