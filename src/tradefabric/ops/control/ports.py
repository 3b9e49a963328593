"""What the control service reads of a running node, as structural types.

``ops`` never imports the node (``tests/test_import_graph.py``); the
``TradingNode`` satisfies these protocols as it is, and mypy checks that where
the node hands itself to the service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock
from tradefabric.data.order_book import OrderBook
from tradefabric.execution.oms import ExecutionEngine
from tradefabric.execution.portfolio import Portfolio
from tradefabric.model.identifiers import InstrumentId
from tradefabric.ops.alerts import Alert
from tradefabric.ops.equity import EquityCurve
from tradefabric.risk.audit import AuditLog
from tradefabric.risk.engine import RiskEngine
from tradefabric.strategies.base import Strategy


class VenueFrames(Protocol):
    """One venue's frame counts in the data engine (``DataEngineStats.venues``)."""

    @property
    def venue(self) -> str: ...
    @property
    def queued(self) -> int: ...
    @property
    def parsed(self) -> int: ...
    @property
    def dropped(self) -> int: ...
    @property
    def duplicates(self) -> int: ...
    @property
    def rejected(self) -> Mapping[str, int]: ...
    @property
    def parse_errors(self) -> int: ...


class DataStats(Protocol):
    """The data engine's queue state (``DataEngine.stats()``)."""

    @property
    def capacity(self) -> int: ...
    @property
    def depth(self) -> int: ...
    @property
    def high_water(self) -> int: ...
    @property
    def venues(self) -> Sequence[VenueFrames]: ...


class Fault(Protocol):
    """One isolated component fault (``FaultRecord``)."""

    @property
    def component(self) -> str: ...
    @property
    def error_type(self) -> str: ...
    @property
    def error(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def ts(self) -> int: ...


class Status(Protocol):
    """The node's progress and health (``NodeStatus``)."""

    @property
    def mode(self) -> str: ...
    @property
    def trades(self) -> int: ...
    @property
    def candles(self) -> int: ...
    @property
    def orders(self) -> int: ...
    @property
    def fills(self) -> int: ...
    @property
    def last_market_ts(self) -> int: ...
    @property
    def faults(self) -> Sequence[Fault]: ...
    @property
    def data(self) -> DataStats | None: ...


class Kernel(Protocol):
    """The trading kernel's parts the service reads and commands."""

    @property
    def audit(self) -> AuditLog: ...
    @property
    def execution(self) -> ExecutionEngine: ...
    @property
    def portfolio(self) -> Portfolio: ...
    @property
    def risk(self) -> RiskEngine: ...
    @property
    def strategies(self) -> Sequence[Strategy]: ...
    @property
    def equity_curve(self) -> EquityCurve: ...

    def mark_to_market(self) -> float:
        """Mark every position at the latest price and return the equity."""
        ...


class Cache(Protocol):
    """The node's read side by instrument (``NodeCache``)."""

    def instruments(self) -> list[InstrumentId]:
        """Return every instrument the node trades."""
        ...

    def book(self, instrument: InstrumentId) -> OrderBook | None:
        """Return the live book of ``instrument`` or None."""
        ...

    def latest_price(self, instrument: InstrumentId) -> float | None:
        """Return the last price seen for ``instrument`` or None."""
        ...


class JobStatus(Protocol):
    """One scheduled job as the scheduler counts it (``node.schedule.JobStats``)."""

    @property
    def name(self) -> str: ...
    @property
    def cron(self) -> str: ...
    @property
    def runs(self) -> int: ...
    @property
    def failures(self) -> int: ...
    @property
    def skipped(self) -> int: ...
    @property
    def running(self) -> bool: ...
    @property
    def last_error(self) -> str: ...
    @property
    def next_ns(self) -> int: ...
    @property
    def event(self) -> str: ...


class JobSource(Protocol):
    """What holds the scheduled jobs (the node)."""

    def job_stats(self) -> Sequence[JobStatus]:
        """Return each scheduled job's counts (empty: no schedule)."""
        ...


class Node(JobSource, Protocol):
    """A running trading node as the control service sees it."""

    @property
    def bus(self) -> MessageBus: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def kernel(self) -> Kernel: ...
    @property
    def cache(self) -> Cache: ...
    @property
    def alerts(self) -> Sequence[Alert]: ...
    @property
    def integrity(self) -> object | None:
        """The cross-venue checks when configured (None: not run)."""
        ...

    def status(self) -> Status:
        """Return the node's progress and health."""
        ...

    def reload_config(self) -> str:
        """Re-read the config file, apply what may change at runtime, say what was done;
        raise ``ConfigError`` naming what cannot change (then nothing is applied)."""
        ...

    def run_job(self, name: str) -> str:
        """Start scheduled job ``name`` now; raise ``ConfigError`` when there is none."""
        ...
