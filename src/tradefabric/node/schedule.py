"""Batch work on a cron schedule, each run in a worker process at lower priority.

``schedule:`` in the config lists jobs (``{job: daily_report, cron: "5 0 * * *"}``);
the node's ``Scheduler`` checks every minute of the node's clock against each entry
and starts a matching one as ``python -m tradefabric.core.worker`` (``os.nice`` in
the child). The node's loop only waits on the child's exit, so the hot path never
waits for a report, a compaction or a retraining. One run per entry at a time: a
minute that comes while the previous run is still going is skipped (counted,
alerted). Every end is logged and published as an alert (``job_finished``,
``job_failed``); a failure, a crash, a timeout or a job that cannot even start is
that run's failure and never the node's.

An entry may instead run on an ``event:`` of the node's bus (``EVENTS``:
``{job: regime_backtest, event: regime_change, min_interval: 6h}``): each event starts
the job with the event in ``JobRequest.event``; an event within ``min_interval`` of the
entry's last event-started run starts nothing (counted as skipped, logged, not
alerted), so a flapping regime does not start a storm of workers.

Built-in jobs (``BUILTIN_JOBS``) have their ``args:`` checked when the config loads;
any other ``module:function`` is called with the ``JobRequest`` and checks its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
import structlog

from tradefabric.analytics import topics as analytics_topics
from tradefabric.core.bus import MessageBus, Topic
from tradefabric.core.clock import Clock
from tradefabric.core.cron import Cron, parse_cron
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import interval_to_ns
from tradefabric.core.worker import JobRequest, JobResult
from tradefabric.ops.alerts import ALERTS, Alert, AlertLevel
from tradefabric.ops.jobs import (
    CompactArgs,
    DailyReportArgs,
    RegimeBacktestArgs,
    RetrainArgs,
    S3CopyArgs,
    job_args,
)

log = structlog.get_logger(__name__)

NS_PER_MINUTE = 60_000_000_000
_NAME = re.compile(r"[A-Za-z0-9_.:-]+")
"""An entry's name names its files in the work folder."""
STOP_GRACE_S = 5.0
"""How long a job may take to end after SIGTERM when the node stops, before SIGKILL."""


class BuiltinJob(msgspec.Struct, frozen=True):
    """A job the scheduler knows by name: its function and its arguments' type."""

    target: str
    args: type[msgspec.Struct]
    flush_run: bool = False
    """The node flushes its run folder (event streams, equity) before starting it."""


BUILTIN_JOBS: dict[str, BuiltinJob] = {
    "daily_report": BuiltinJob("tradefabric.ops.jobs:daily_report", DailyReportArgs, True),
    "compact": BuiltinJob("tradefabric.ops.jobs:compact_catalog", CompactArgs),
    "retrain": BuiltinJob("tradefabric.research.jobs:retrain_job", RetrainArgs),
    "s3_copy": BuiltinJob("tradefabric.ops.jobs:s3_copy", S3CopyArgs, True),
    "regime_backtest": BuiltinJob(
        "tradefabric.research.jobs:regime_backtest_job", RegimeBacktestArgs
    ),
}

EVENTS: dict[str, Topic[Any]] = {"regime_change": analytics_topics.REGIME_CHANGES}
"""The bus events an entry can run on (``event:``; the message reaches the job as JSON)."""


class ScheduledJob(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One ``schedule:`` entry: which job, when (cron, UTC), its arguments and limits."""

    job: str
    """A built-in job (``daily_report``, ``compact``, ``retrain``, ``s3_copy``,
    ``regime_backtest``) or ``module:function``."""
    cron: str = ""
    """``minute hour day-of-month month day-of-week`` in UTC (``core.cron``)."""
    event: str = ""
    """Instead of ``cron``: an event of ``EVENTS`` (``regime_change``) that starts a run
    (not ``on:``, which YAML reads as a boolean)."""
    min_interval: str = "6h"
    """``event:`` only: events this soon after the last event-started run start nothing."""
    name: str = ""
    """The entry's name in logs and alerts (default: the job's); must be unique."""
    args: dict[str, Any] = msgspec.field(default_factory=dict)
    nice: int = 10
    """Added to the worker's niceness (0-19): batch work yields the CPU to the node."""
    timeout_s: float | None = None
    """A run still going after this long is killed and counted as failed."""

    def __post_init__(self) -> None:
        where = f"schedule: {self.label}"
        if not _NAME.fullmatch(self.label):
            raise ConfigError(f"{where}: a name is letters, digits and _ . : - only")
        self._check_trigger(where)
        if not 0 <= self.nice <= 19:
            raise ConfigError(f"{where}: nice must be 0-19, got {self.nice}")
        if self.timeout_s is not None and not self.timeout_s > 0:
            raise ConfigError(f"{where}: timeout_s must be > 0")
        builtin = BUILTIN_JOBS.get(self.job)
        if builtin is not None:
            job_args(self.args, builtin.args, f"{where}: args")
        elif ":" not in self.job:
            known = ", ".join(BUILTIN_JOBS)
            raise ConfigError(f"{where}: unknown job {self.job!r}; use {known} or module:function")

    def _check_trigger(self, where: str) -> None:
        if bool(self.cron) == bool(self.event):
            raise ConfigError(f"{where}: give either cron: or event:, not both or none")
        if self.event and self.event not in EVENTS:
            known = ", ".join(EVENTS)
            raise ConfigError(f"{where}: event: unknown event {self.event!r}; use {known}")
        try:
            if self.cron:
                parse_cron(self.cron)
            interval_to_ns(self.min_interval)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from exc

    @property
    def label(self) -> str:
        """Return the entry's name (its job's, unless named)."""
        return self.name or self.job

    @property
    def target(self) -> str:
        """Return the ``module:function`` the worker calls."""
        builtin = BUILTIN_JOBS.get(self.job)
        return builtin.target if builtin is not None else self.job


def check_schedule(entries: Sequence[ScheduledJob]) -> None:
    """Refuse two entries of one name (one run per name at a time needs unique names)."""
    labels = [e.label for e in entries]
    repeated = sorted({n for n in labels if labels.count(n) > 1})
    if repeated:
        raise ConfigError(f"schedule: names must be unique; give `name:` to {repeated}")


class JobStats(msgspec.Struct, frozen=True, kw_only=True):
    """What the scheduler did for one entry."""

    name: str
    cron: str
    """Empty for an entry run on an ``event:``."""
    runs: int
    failures: int
    skipped: int
    running: bool
    last_error: str
    last_summary: Any
    next_ns: int
    """0 for an entry run on an ``event:``."""
    event: str = ""


class _Entry:
    def __init__(self, job: ScheduledJob) -> None:
        self.task: asyncio.Task[None] | None = None
        self.runs = self.failures = self.skipped = 0
        self.last_error = ""
        self.last_summary: Any = None
        self.last_event_ns: int | None = None
        """When the last event-started run started (node time): ``min_interval`` counts from it."""
        self.configure(job)

    def configure(self, job: ScheduledJob) -> None:
        self.job = job
        self.cron: Cron | None = parse_cron(job.cron) if job.cron else None
        self.min_interval_ns = interval_to_ns(job.min_interval)

    def stats(self, now_ns: int) -> JobStats:
        next_ns = self.cron.next_after(now_ns) if self.cron is not None else 0
        return JobStats(
            name=self.job.label, cron=self.job.cron, runs=self.runs, failures=self.failures,
            skipped=self.skipped, running=self.task is not None, last_error=self.last_error,
            last_summary=self.last_summary, next_ns=next_ns, event=self.job.event,
        )  # fmt: skip


class Scheduler:
    """Start each entry's job at the minutes its cron names, on ``clock``'s time.

    ``work_dir`` holds each run's request, result and log (``<name>.log``, appended).
    ``defaults`` are arguments the node fills in per job (the daily report's initial
    equity); ``flush`` is called before a job that reads the run folder.
    """

    def __init__(
        self,
        bus: MessageBus,
        clock: Clock,
        entries: Sequence[ScheduledJob],
        work_dir: Path,
        *,
        run_dir: Path | None = None,
        defaults: Mapping[str, Mapping[str, Any]] | None = None,
        flush: Callable[[], None] | None = None,
    ) -> None:
        check_schedule(entries)
        self._bus = bus
        self._clock = clock
        self._entries = {e.label: _Entry(e) for e in entries}
        self.work_dir = work_dir
        self._run_dir = run_dir
        self._defaults = defaults or {}
        self._flush = flush
        self._stopped = False
        self._ticking = False
        self._listening: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Check every minute of the clock from now on (a paper/live clock needs the loop),
        and listen to the events ``event:`` entries run on."""
        if self._entries and not self._ticking:
            self.work_dir.mkdir(parents=True, exist_ok=True)
            self._clock.set_timer(NS_PER_MINUTE, self._on_minute)
            self._ticking = True
        for event in {e.job.event for e in self._entries.values() if e.job.event} - self._listening:
            self._bus.subscribe(EVENTS[event], self._listener(event), owner="scheduler")
            self._listening.add(event)

    def update(self, entries: Sequence[ScheduledJob]) -> list[str]:
        """Run ``entries`` from the next minute on (a config reload); return what changed.

        An entry kept by name keeps its counters and its run in progress; a removed
        entry's run in progress finishes and is reported, and is not started again."""
        check_schedule(entries)
        old, new = self._entries, {}
        changed = []
        for job in entries:
            entry = old.get(job.label)
            if entry is None:
                entry = _Entry(job)
                changed.append(f"schedule: added {job.label} ({job.cron or job.event})")
            elif entry.job != job:
                entry.configure(job)
                changed.append(f"schedule: changed {job.label} ({job.cron or job.event})")
            new[job.label] = entry
        changed += [f"schedule: removed {name}" for name in old if name not in new]
        self._entries = new
        self.start()
        return changed

    def stats(self) -> list[JobStats]:
        """Return each entry's runs, failures, skips, last outcome and next due time."""
        now = self._clock.timestamp_ns()
        return [entry.stats(now) for entry in self._entries.values()]

    def run_now(self, name: str) -> str:
        """Start entry ``name`` now (an operator's request); say what happened."""
        entry = self._entries.get(name)
        if entry is None:
            raise ConfigError(f"no scheduled job {name!r} (scheduled: {sorted(self._entries)})")
        if self._stopped:
            raise ConfigError(f"{name}: the scheduler has stopped")
        if entry.task is not None:
            return f"{name}: the previous run is still going, not started again"
        self._launch(entry, self._clock.timestamp_ns())
        return f"{name}: started"

    def _on_minute(self, due_ns: int) -> None:
        if self._stopped:
            return
        for entry in self._entries.values():
            if entry.cron is not None and entry.cron.matches(due_ns):
                self._launch(entry, due_ns)

    def _listener(self, event: str) -> Callable[[Any], None]:
        def on_event(message: Any) -> None:
            self.on_event(event, message)

        return on_event

    def on_event(self, event: str, message: Any) -> None:
        """Start every entry run on ``event`` with ``message``, unless it ran too recently."""
        if self._stopped:
            return
        now = self._clock.timestamp_ns()
        for entry in self._entries.values():
            if entry.job.event != event:
                continue
            last = entry.last_event_ns
            if last is not None and now - last < entry.min_interval_ns:
                entry.skipped += 1  # no alert: a flapping regime must not flood the channel
                log.info("job_skipped", job=entry.job.label, event_name=event,
                         reason=f"within min_interval {entry.job.min_interval}")  # fmt: skip
                continue
            if self._launch(entry, now, msgspec.to_builtins(message)):
                entry.last_event_ns = now

    def _launch(self, entry: _Entry, due_ns: int, event: Any = None) -> bool:
        name = entry.job.label
        if entry.task is not None:
            entry.skipped += 1
            log.warning("job_skipped", job=name, due=due_ns, reason="previous run still going")
            self._alert(entry, "job_skipped", AlertLevel.WARNING,
                        f"{name}: skipped, the previous run is still going")  # fmt: skip
            return False
        builtin = BUILTIN_JOBS.get(entry.job.job)
        if builtin is not None and builtin.flush_run and self._flush is not None:
            self._flush()  # on the loop: the buffered event streams reach the disk first
        entry.task = asyncio.get_running_loop().create_task(self._run(entry, due_ns, event))
        self._tasks.add(entry.task)
        entry.task.add_done_callback(self._tasks.discard)
        return True

    async def _run(self, entry: _Entry, due_ns: int, event: Any) -> None:
        name = entry.job.label
        log.info("job_started", job=name, due=due_ns)
        try:
            result = await self._execute(entry, due_ns, event)
        except asyncio.CancelledError:
            entry.task = None
            raise
        except Exception as exc:  # it could not even start: that run failed, not the node
            result = JobResult(ok=False, error=f"{type(exc).__name__}: {exc}")
        entry.task = None
        entry.runs += 1
        self._report(entry, result)

    def _request(self, entry: _Entry, due_ns: int, event: Any) -> JobRequest:
        job = entry.job
        args = {**self._defaults.get(job.job, {}), **job.args}
        run_dir = str(self._run_dir) if self._run_dir is not None else None
        return JobRequest(
            name=job.label, target=job.target, args=args, due_ns=due_ns,
            run_dir=run_dir, nice=job.nice, parent_pid=os.getpid(), event=event,
        )  # fmt: skip

    async def _execute(self, entry: _Entry, due_ns: int, event: Any) -> JobResult:
        name = entry.job.label
        request_path = self.work_dir / f"{name}.request.json"
        result_path = self.work_dir / f"{name}.result.json"
        request_path.write_bytes(msgspec.json.encode(self._request(entry, due_ns, event)))
        result_path.unlink(missing_ok=True)
        with (self.work_dir / f"{name}.log").open("ab") as job_log:
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tradefabric.core.worker", request_path, result_path,
                stdin=asyncio.subprocess.DEVNULL, stdout=job_log, stderr=job_log,
                env=_child_env(), start_new_session=True,  # a ^C to the node is not the job's
            )  # fmt: skip
        try:
            await asyncio.wait_for(child.wait(), timeout=entry.job.timeout_s)
        except TimeoutError:
            await _end(child)
            return JobResult(ok=False, error=f"timed out after {entry.job.timeout_s:g} s")
        except asyncio.CancelledError:
            await _end(child)
            raise
        return _read_result(result_path, child.returncode)

    def _report(self, entry: _Entry, result: JobResult) -> None:
        name = entry.job.label
        if result.ok:
            entry.last_summary, entry.last_error = result.summary, ""
            log.info("job_finished", job=name, seconds=round(result.seconds, 3),
                     niceness=result.niceness, summary=result.summary)  # fmt: skip
            message = f"{name} finished in {result.seconds:.1f} s: {_short(result.summary)}"
            self._alert(entry, "job_finished", AlertLevel.INFO, message)
            return
        entry.failures += 1
        entry.last_error = result.error
        log.error("job_failed", job=name, error=result.error)
        message = f"{name} failed: {result.error} (log: {self.work_dir / (name + '.log')})"
        self._alert(entry, "job_failed", AlertLevel.WARNING, message)

    def _alert(self, entry: _Entry, kind: str, level: AlertLevel, message: str) -> None:
        self._bus.publish(ALERTS, Alert(
            kind=kind, level=level, component=f"job:{entry.job.label}", message=message,
            ts=self._clock.timestamp_ns(),
        ))  # fmt: skip

    async def stop(self) -> None:
        """Start nothing more; end running jobs (SIGTERM, then SIGKILL) and wait for them."""
        self._stopped = True
        tasks = list(self._tasks)  # removed entries' runs too
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _child_env() -> dict[str, str]:
    """Return the environment with this process's import path, so the worker imports
    the same tradefabric and the same user modules (``module:function`` jobs)."""
    paths = [p for p in sys.path if p]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


async def _end(child: asyncio.subprocess.Process) -> None:
    if child.returncode is not None:
        return
    child.terminate()
    try:
        await asyncio.wait_for(child.wait(), timeout=STOP_GRACE_S)
    except TimeoutError:
        child.kill()
        await child.wait()


def _read_result(path: Path, returncode: int | None) -> JobResult:
    try:
        return msgspec.json.decode(path.read_bytes(), type=JobResult)
    except (OSError, msgspec.DecodeError):
        return JobResult(ok=False, error=f"the worker ended (exit {returncode}) without a result")


def _short(summary: Any, limit: int = 300) -> str:
    text = msgspec.json.encode(summary).decode()
    return text if len(text) <= limit else text[: limit - 3] + "..."
