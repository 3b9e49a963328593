"""A scheduler on a bus and a clock the test moves, with the alerts it published."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.time import NS_PER_MINUTE, parse_utc
from tradefabric.node.schedule import JobStats, ScheduledJob, Scheduler
from tradefabric.ops.alerts import ALERTS, Alert

MIDNIGHT = parse_utc("2024-08-02")
JOBS = "tests.node.sched_jobs"


class Node:
    """A bus, a clock moved by the test, the alerts published, and a scheduler over them."""

    def __init__(self, tmp_path: Path, *entries: ScheduledJob, run_dir: Path | None = None):
        self.bus = MessageBus()
        self.clock = SimClock(MIDNIGHT)
        self.alerts: list[Alert] = []
        self.bus.subscribe(ALERTS, self.alerts.append)
        self.flushes = 0
        self.scheduler = Scheduler(
            self.bus, self.clock, entries, tmp_path / "jobs", run_dir=run_dir,
            flush=self._flush, defaults={"daily_report": {"initial_equity": 100_000.0}},
        )  # fmt: skip
        self.scheduler.start()

    def _flush(self) -> None:
        self.flushes += 1

    def to_minute(self, minute: int) -> None:
        self.clock.advance_to(MIDNIGHT + minute * NS_PER_MINUTE)

    def stats(self, name: str) -> JobStats:
        return next(s for s in self.scheduler.stats() if s.name == name)

    def kinds(self, name: str) -> list[str]:
        return [a.kind for a in self.alerts if a.component == f"job:{name}"]


def entry(job: str, cron: str = "* * * * *", **fields: Any) -> ScheduledJob:
    return msgspec.convert({"job": job, "cron": cron, **fields}, ScheduledJob)
