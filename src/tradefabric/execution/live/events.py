"""What live execution tells people and the record: refused reports, discrepancies, summaries.

Each is audited (``report_rejected``, ``reconcile_discrepancy``, ``reconcile_summary``)
and published on ``LIVE_EVENTS``; the node turns every ``LiveEvent`` into an alert
on ``ops.alerts`` (execution cannot import ops: ops reads execution). Portfolio
corrections made by reconciliation are published on ``PORTFOLIO_CORRECTED`` so the
state recorder stores the corrected balances and positions.
"""

from __future__ import annotations

import msgspec

from tradefabric.core.bus import Topic


class LiveEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One fact about a live venue a person should hear of.

    ``kind``: ``report_rejected``, ``reconcile_discrepancy``, ``reconcile_summary``,
    ``order_unknown`` (an unknown outcome being settled), ``auth_failed``...;
    ``level``: ``info``, ``warning`` or ``critical`` (``ops.alerts.AlertLevel``).
    """

    kind: str
    level: str
    venue: str
    message: str
    ts: int


class ReportRejected(msgspec.Struct, frozen=True, kw_only=True):
    """Audit record: a venue report that cannot be true of our state, and why (not applied)."""

    venue: str
    client_order_id: str
    venue_order_id: str
    report: str
    """The report, as its msgspec JSON."""
    reason: str
    ts: int


class Discrepancy(msgspec.Struct, frozen=True, kw_only=True):
    """Audit record: one difference reconciliation found between the venue and the node.

    ``kind``: ``external_order`` (adopted), ``missing_fill`` (applied from the venue's
    trades), ``derived_fill`` (a cumulative quantity with no trade: a fill derived from
    it), ``order_not_open`` (resolved by a query), ``order_missing`` (the venue never had
    it / no longer has it), ``balance``, ``position``.
    """

    venue: str
    kind: str
    key: str
    """The order's client id, the asset or the symbol."""
    node: str
    """What the node held (text)."""
    venue_value: str
    """What the venue reported (text): the value kept."""
    ts: int


class ReconcileSummary(msgspec.Struct, frozen=True, kw_only=True):
    """Audit record and result of one reconciliation of one venue."""

    venue: str
    reason: str
    """``start``, ``reconnect`` or ``periodic``."""
    orders_reported: int
    trades_reported: int
    adopted: int
    fills_applied: int
    fills_derived: int
    orders_resolved: int
    balances_corrected: int
    positions_corrected: int
    discrepancies: int
    seconds: float
    ts: int


class PortfolioCorrection(msgspec.Struct, frozen=True, kw_only=True):
    """A balance (``currency``) or position (``symbol``) set to the venue's value."""

    venue: str
    currency: str = ""
    symbol: str = ""


LIVE_EVENTS: Topic[LiveEvent] = Topic("execution.live_events", LiveEvent)
PORTFOLIO_CORRECTED: Topic[PortfolioCorrection] = Topic(
    "execution.portfolio_corrected", PortfolioCorrection
)
RECONCILED: Topic[ReconcileSummary] = Topic("execution.reconciled", ReconcileSummary)
