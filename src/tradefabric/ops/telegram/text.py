"""The control service's views as short Telegram messages (plain text, one fact a line)."""

from __future__ import annotations

from tradefabric.execution.portfolio import BalanceSnapshot, PositionSnapshot
from tradefabric.model.orders import Fill, OrderSnapshot
from tradefabric.ops.control.views import CommandResult, FlatAllReport, PnlView, StatusView

HELP = """Commands (allow-listed chats only):
/status - mode, equity, PnL, orders, risk, feeds
/positions - open positions at the latest prices
/pnl - PnL since start and since UTC midnight
/orders - open orders
/report - PnL, positions, fills and risk in one message
/pause <strategy> [reason] - reject the strategy's new orders
/resume <strategy> - let it trade again
/halt <reason> - halt trading
/reset <reason> - reset a halt (asks to confirm)
/flatall - cancel everything and close every position (asks to confirm)
/help - this list"""


def pnl_lines(pnl: PnlView) -> list[str]:
    """Return the PnL as lines."""
    return [
        f"PnL total {pnl.total:+,.2f} (day {pnl.day:+,.2f})",
        f"realized {pnl.realized:+,.2f} unrealized {pnl.unrealized:+,.2f} fees {pnl.fees:,.2f}",
    ]


def status_text(view: StatusView) -> str:
    """Return the status message."""
    risk = view.risk
    state = f"HALTED: {risk.halt_reason}" if risk.halted else "trading"
    lines = [
        f"mode {view.mode}, {state}",
        f"equity {view.equity:,.2f}",
        *pnl_lines(view.pnl),
        f"trades {view.trades} candles {view.candles} orders {view.orders} "
        f"(open {view.open_orders}) fills {view.fills}",
        f"strategies: {', '.join(view.strategies) or 'none'}",
        f"risk: accepted {risk.accepted} rejected {risk.rejected}",
    ]
    if risk.paused:
        lines.append("paused: " + ", ".join(f"{k} ({v})" for k, v in sorted(risk.paused.items())))
    if view.data is not None:
        for venue in view.data.venues:
            lines.append(f"feed {venue.venue}: parsed {venue.parsed} dropped {venue.dropped}")
    if view.faults:
        lines.append(f"faults: {len(view.faults)} (last: {view.faults[-1].component})")
    lines.append(f"alerts: {view.alerts}")
    return "\n".join(lines)


def positions_text(positions: list[PositionSnapshot]) -> str:
    """Return the open positions message."""
    if not positions:
        return "no open positions"
    return "\n".join(
        f"{p.venue} {p.symbol}: {p.quantity:+g} @ {p.avg_price:,.2f} mark {p.mark:,.2f} "
        f"uPnL {p.unrealized_pnl:+,.2f}"
        for p in positions
    )


def orders_text(orders: list[OrderSnapshot]) -> str:
    """Return the open orders message."""
    if not orders:
        return "no open orders"
    return "\n".join(
        f"{o.strategy_id} {o.side} {o.quantity:g} {o.symbol} {o.order_type}"
        f"{'' if o.price is None else f' @ {o.price:,.2f}'} {o.status} ({o.client_order_id})"
        for o in orders
    )


def report_text(
    view: StatusView, positions: list[PositionSnapshot], balances: list[BalanceSnapshot],
    fills: list[Fill],
) -> str:  # fmt: skip
    """Return the report: money, positions, balances, recent fills, risk."""
    lines = [f"report ({view.mode})", f"equity {view.equity:,.2f}", *pnl_lines(view.pnl)]
    lines += [f"position {p.symbol} {p.quantity:+g} uPnL {p.unrealized_pnl:+,.2f}"
              for p in positions]  # fmt: skip
    lines += [f"balance {b.venue} {b.currency} {b.amount:,.4f}" for b in balances]
    lines.append(f"fills {view.fills} (last {len(fills)}: "
                 f"{sum(f.quantity * f.price for f in fills):,.2f} notional)")  # fmt: skip
    lines.append(f"risk: {'HALTED' if view.risk.halted else 'ok'}, "
                 f"rejected {view.risk.rejected} {dict(view.risk.rejected_by_rule)}")  # fmt: skip
    return "\n".join(lines)


def command_text(result: CommandResult) -> str:
    """Return what a command did."""
    return f"{result.command}: {result.message}"


def flat_text(report: FlatAllReport) -> str:
    """Return what FLAT ALL did and what is left."""
    head = "FLAT ALL done: flat" if report.flat else "FLAT ALL done: NOT flat"
    lines = [
        head,
        f"paused {', '.join(report.paused) or 'none'}; cancelled {len(report.cancelled)} orders; "
        f"closing orders {len(report.closing)}",
    ]
    lines += [f"left {p.venue} {p.symbol} {p.quantity:+g}: {p.reason}" for p in report.left]
    lines += [f"still open {o.client_order_id} {o.symbol}" for o in report.open_orders]
    return "\n".join(lines)
