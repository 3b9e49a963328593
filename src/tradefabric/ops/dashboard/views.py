"""What the dashboard sends the browser: one snapshot of the node, JSON of frozen structs."""

from __future__ import annotations

import msgspec

from tradefabric.execution.portfolio import BalanceSnapshot, PositionSnapshot
from tradefabric.model.orders import Fill, OrderSnapshot
from tradefabric.ops.alerts import Alert
from tradefabric.ops.control.service import ControlService
from tradefabric.ops.control.views import BookView, EquityCurveView, IntegrityView, StatusView

FILLS_SHOWN = 50
ALERTS_SHOWN = 50
EQUITY_POINTS = 500


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """Everything one page shows, read from the control service at one moment."""

    status: StatusView
    balances: list[BalanceSnapshot]
    positions: list[PositionSnapshot]
    orders: list[OrderSnapshot]
    fills: list[Fill]
    alerts: list[Alert]
    books: list[BookView]
    equity: EquityCurveView
    integrity: IntegrityView


class SessionInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What the page needs before it may read: whether to ask for a token."""

    auth: str
    refresh_s: float


def take_snapshot(service: ControlService) -> Snapshot:
    """Read every view the page shows from ``service`` (call off the node's loop)."""
    return Snapshot(
        status=service.status(), balances=service.balances(), positions=service.positions(),
        orders=service.open_orders(), fills=service.fills(FILLS_SHOWN),
        alerts=service.alerts(ALERTS_SHOWN), books=service.books(),
        equity=service.equity_curve(EQUITY_POINTS), integrity=service.integrity(),
    )  # fmt: skip
