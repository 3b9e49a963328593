"""What the control service answers and records: frozen structs, JSON on the wire."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from tradefabric.integrity.events import ConsensusPrice, VenueDeviation
from tradefabric.model.orders import OrderSnapshot

if TYPE_CHECKING:  # the ports import the node's components: ctl loads only the views
    from tradefabric.ops.control.ports import JobSource


class Credentials(msgspec.Struct, frozen=True, kw_only=True):
    """Who asks: the control token and the operator's name (recorded in the audit log)."""

    token: str
    operator: str


class ControlCommand(msgspec.Struct, frozen=True, kw_only=True):
    """Audit record of one operator command, written before the command acts."""

    command: str
    operator: str
    target: str = ""
    """The strategy a pause/resume/cancel names ("" for all)."""
    reason: str = ""
    ts: int


class ControlDenied(msgspec.Struct, frozen=True, kw_only=True):
    """Audit record of a command refused (wrong token, or a front end's own check)."""

    command: str
    operator: str
    ts: int
    reason: str = ""
    """Why, when a front end refused it ("cross-origin request"); "" for a wrong token."""


class PnlView(msgspec.Struct, frozen=True, kw_only=True):
    """Profit and loss in the quote currency: since the node started and since UTC midnight."""

    total: float
    day: float
    realized: float
    unrealized: float
    fees: float


class FaultView(msgspec.Struct, frozen=True, kw_only=True):
    """One isolated component fault."""

    component: str
    error_type: str
    error: str
    action: str
    ts: int


class VenueFeedView(msgspec.Struct, frozen=True, kw_only=True):
    """One venue's frames through the data engine."""

    venue: str
    queued: int
    parsed: int
    dropped: int
    duplicates: int
    rejected: int
    parse_errors: int


class DataView(msgspec.Struct, frozen=True, kw_only=True):
    """The data engine: queue depth now and at worst, and each venue's frames."""

    capacity: int
    depth: int
    high_water: int
    venues: list[VenueFeedView]


class RiskView(msgspec.Struct, frozen=True, kw_only=True):
    """The risk engine's state: halt, paused strategies, decisions so far."""

    halted: bool
    halt_reason: str
    paused: dict[str, str]
    """Strategy id -> why it was paused."""
    accepted: int
    rejected: int
    rejected_by_rule: dict[str, int]
    day_high: float
    tripped: dict[str, str] = {}
    """Venue -> why its circuit breaker stopped its trading (``risk.venue_breaker``)."""


class BookView(msgspec.Struct, frozen=True, kw_only=True):
    """One instrument's top of book and last price (NaN: none seen)."""

    venue: str
    symbol: str
    valid: bool
    best_bid: float
    best_ask: float
    last_price: float


class StatusView(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a person glances at: progress, money, risk, health."""

    mode: str
    ts: int
    trades: int
    candles: int
    orders: int
    open_orders: int
    fills: int
    equity: float
    pnl: PnlView
    risk: RiskView
    strategies: list[str]
    faults: list[FaultView]
    alerts: int
    last_market_ts: int
    data: DataView | None


class CommandResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a command did."""

    command: str
    operator: str
    message: str
    ts: int


class PositionLeft(msgspec.Struct, frozen=True, kw_only=True):
    """A position FLAT ALL did not close, and why."""

    venue: str
    symbol: str
    quantity: float
    reason: str


class FlatAllReport(msgspec.Struct, frozen=True, kw_only=True):
    """What FLAT ALL did and what is left when it returned."""

    operator: str
    paused: list[str]
    """Strategies paused first, so none re-opens a position."""
    cancelled: list[str]
    """Client ids of the open orders asked to cancel."""
    closing: list[OrderSnapshot]
    """The reduce-only market orders sent, as they stood after the risk check."""
    left: list[PositionLeft]
    """Positions still open at return (refused by the slippage guard or not filled yet)."""
    open_orders: list[OrderSnapshot]
    """Orders still open at return."""
    flat: bool
    ts: int


class EquityCurveView(msgspec.Struct, frozen=True, kw_only=True):
    """The equity curve's latest samples (oldest first) and the equity marked now."""

    ts: list[int]
    equity: list[float]
    now_ts: int
    """The latest market event's time (the clock's before any), the curve's time base."""
    now_equity: float


class IntegrityView(msgspec.Struct, frozen=True, kw_only=True):
    """The latest cross-venue consensus per asset and each series' deviation from it."""

    configured: bool
    """False: the node runs no integrity checks (no ``integrity:`` section)."""
    consensus: list[ConsensusPrice]
    deviations: list[VenueDeviation]


class JobView(msgspec.Struct, frozen=True, kw_only=True):
    """One scheduled job: its cron, what its runs did, and when it is due next."""

    name: str
    cron: str
    runs: int
    failures: int
    skipped: int
    running: bool
    last_error: str
    next_ns: int
    """0 for a job run on an event."""
    event: str = ""
    """The bus event that starts it (``regime_change``), instead of a cron."""


def job_views(node: JobSource) -> list[JobView]:
    """Return ``node``'s scheduled jobs as views (call on the node's loop)."""
    return [
        JobView(name=j.name, cron=j.cron, runs=j.runs, failures=j.failures, skipped=j.skipped,
                running=j.running, last_error=j.last_error, next_ns=j.next_ns, event=j.event)
        for j in node.job_stats()
    ]  # fmt: skip
