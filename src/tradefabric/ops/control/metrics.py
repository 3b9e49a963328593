"""Prometheus metrics read from the node's own counters at scrape time.

Nothing is counted twice and nothing runs on the hot path: each scrape asks the
control service for one ``MetricsSnapshot`` (built on the node's loop from the
data engine's stats, the node status, the risk engine and the portfolio) and
turns it into metric families.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tradefabric.ops.control.ports import Node
from tradefabric.ops.control.service import ControlService
from tradefabric.ops.control.views import JobView, VenueFeedView, job_views

PREFIX = "tradefabric_"


class MetricsSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The figures of one scrape, read together on the node's loop."""

    venues: list[VenueFeedView]
    queue_depth: int
    queue_high_water: int
    queue_capacity: int
    trades: int
    candles: int
    orders: int
    open_orders: int
    fills: int
    risk_accepted: int
    risk_rejected: int
    equity: float
    halted: bool
    faults: dict[str, int]
    """Component -> faults isolated so far."""
    alerts: int
    paused: list[str]
    rejections_by_rule: dict[str, int]
    jobs: list[JobView]
    """The scheduled jobs (``schedule:``)."""


def snapshot(node: Node) -> MetricsSnapshot:
    """Read the figures of one scrape (call on the node's loop)."""
    status = node.status()
    kernel = node.kernel
    data = status.data
    faults: dict[str, int] = {}
    for fault in status.faults:
        faults[fault.component] = faults.get(fault.component, 0) + 1
    venues = [
        VenueFeedView(venue=v.venue, queued=v.queued, parsed=v.parsed, dropped=v.dropped,
                      duplicates=v.duplicates, rejected=sum(v.rejected.values()),
                      parse_errors=v.parse_errors)
        for v in (data.venues if data else ())
    ]  # fmt: skip
    return MetricsSnapshot(
        venues=venues,
        queue_depth=data.depth if data else 0,
        queue_high_water=data.high_water if data else 0,
        queue_capacity=data.capacity if data else 0,
        trades=status.trades, candles=status.candles, orders=status.orders,
        open_orders=len(kernel.execution.open_order_snapshots()), fills=status.fills,
        risk_accepted=kernel.risk.accepted, risk_rejected=kernel.risk.rejected,
        equity=kernel.portfolio.equity(), halted=kernel.risk.halted, faults=faults,
        alerts=len(node.alerts), paused=sorted(kernel.risk.paused),
        rejections_by_rule=dict(kernel.risk.rejected_by_rule), jobs=job_views(node),
    )  # fmt: skip


_VENUE_COUNTERS = (
    ("frames_queued", "Frames the socket readers queued", "queued"),
    ("frames_parsed", "Frames the data engine parsed", "parsed"),
    ("frames_dropped", "Frames dropped at a full queue", "dropped"),
    ("frames_duplicate", "Frames already seen (reconnect, REST fallback)", "duplicates"),
    ("frames_rejected", "Frames the parser refused (malformed, gap...)", "rejected"),
    ("frames_parse_errors", "Frames whose parser raised a bug", "parse_errors"),
)
_COUNTERS = (
    ("trades", "Trades seen", "trades"),
    ("candles", "Candles closed", "candles"),
    ("orders", "Orders created", "orders"),
    ("fills", "Fills", "fills"),
    ("risk_accepted", "Orders the risk engine accepted", "risk_accepted"),
    ("risk_rejections", "Orders the risk engine rejected", "risk_rejected"),
    ("alerts", "Alerts published", "alerts"),
)
_GAUGES = (
    ("queue_depth", "Frames waiting in the data engine's queue", "queue_depth"),
    ("queue_high_water", "Most frames ever waiting in the queue", "queue_high_water"),
    ("queue_capacity", "Frames the queue holds before dropping", "queue_capacity"),
    ("open_orders", "Orders open now", "open_orders"),
    ("equity", "Portfolio equity in the quote currency", "equity"),
    ("halted", "1 while trading is halted", "halted"),
)


class NodeCollector(Collector):
    """Collect the node's metrics at scrape time through the control service."""

    def __init__(self, service: ControlService) -> None:
        self._service = service

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family of one scrape."""
        snap = self._service.read(snapshot)
        for name, doc, field in _VENUE_COUNTERS:
            family = CounterMetricFamily(PREFIX + name, doc, labels=["venue"])
            for venue in snap.venues:
                family.add_metric([venue.venue], getattr(venue, field))
            yield family
        for name, doc, field in _COUNTERS:
            yield CounterMetricFamily(PREFIX + name, doc, value=getattr(snap, field))
        for name, doc, field in _GAUGES:
            yield GaugeMetricFamily(PREFIX + name, doc, value=float(getattr(snap, field)))
        faults = CounterMetricFamily(
            PREFIX + "component_faults", "Faults isolated per component", labels=["component"]
        )
        for component, count in sorted(snap.faults.items()):
            faults.add_metric([component], count)
        yield faults
        by_rule = CounterMetricFamily(
            PREFIX + "risk_rejections_by_rule", "Orders rejected, by risk rule", labels=["rule"]
        )
        for rule, count in sorted(snap.rejections_by_rule.items()):
            by_rule.add_metric([rule], count)
        yield by_rule
        paused = GaugeMetricFamily(
            PREFIX + "strategy_paused", "1 per strategy paused by an operator", labels=["strategy"]
        )
        for strategy in snap.paused:
            paused.add_metric([strategy], 1.0)
        yield paused
        yield from _job_metrics(snap.jobs)


_JOB_COUNTERS = (
    ("job_runs", "Runs of a scheduled job that ended", "runs"),
    ("job_failures", "Runs of a scheduled job that failed", "failures"),
    ("job_skipped", "Due minutes skipped: the job's previous run still going", "skipped"),
)


def _job_metrics(jobs: list[JobView]) -> Iterator[Metric]:
    for name, doc, field in _JOB_COUNTERS:
        family = CounterMetricFamily(PREFIX + name, doc, labels=["job"])
        for job in jobs:
            family.add_metric([job.name], getattr(job, field))
        yield family
    running = GaugeMetricFamily(PREFIX + "job_running", "1 while a job runs", labels=["job"])
    for job in jobs:
        running.add_metric([job.name], 1.0 if job.running else 0.0)
    yield running
