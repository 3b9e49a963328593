"""``tradefabric audit verify``, ``risk reset`` and ``state show``: the state a node leaves."""

from __future__ import annotations

import getpass
import time
from pathlib import Path
from typing import Annotated

import msgspec
import typer

from tradefabric.cli.output import fail, print_json, stdout
from tradefabric.core.errors import TradefabricError
from tradefabric.execution.portfolio import BalanceSnapshot, PositionSnapshot
from tradefabric.model.orders import OrderSnapshot, ParentSnapshot
from tradefabric.risk.audit_verify import verify_audit
from tradefabric.risk.engine import RiskSnapshot
from tradefabric.state.config import open_store_at
from tradefabric.state.records import ResetRequest

audit_app = typer.Typer(help="The audit log: verify its hash chain.", no_args_is_help=True)
risk_app = typer.Typer(help="The risk engine's stored halt.", no_args_is_help=True)
state_app = typer.Typer(help="The state store a node restores from.", no_args_is_help=True)

StateOption = Annotated[
    str,
    typer.Option(
        "--state",
        help="The state store: an SQLite file, or postgresql://... (#schema at the end).",
    ),
]


@audit_app.command("verify")
def audit_verify(
    path: Annotated[Path, typer.Argument(help="An audit log file, or the folder holding it.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Check the hash chain: exit 0 when intact, 1 naming the first bad seq and line."""
    verdict = verify_audit(path)
    if json_output:
        print_json(verdict)
    elif verdict.ok:
        stdout.print(f"{verdict.records} records, chain intact", highlight=False)
    else:
        where = f"{verdict.file} line {verdict.line}: " if verdict.line else ""
        stdout.print(
            f"BROKEN at seq {verdict.seq}: {where}{verdict.problem} "
            f"({verdict.records} good records before it)",
            highlight=False,
        )
    if not verdict.ok:
        raise typer.Exit(code=1)


@risk_app.command("reset")
def risk_reset(
    reason: Annotated[str, typer.Option("--reason", help="Why trading may resume (audited).")],
    state: StateOption,
    operator: Annotated[
        str | None, typer.Option("--operator", help="Who resets (default: the login name).")
    ] = None,
) -> None:
    """Reset a halted node: stored now, applied and audited by the node when it starts."""
    if not reason.strip():
        raise fail(TradefabricError("--reason: say why trading may resume"))
    who = operator or getpass.getuser()
    try:
        store = open_store_at(state)
        try:
            risk = store.risk()
            if risk is None or not risk.halted:
                stdout.print("not halted: nothing to reset", highlight=False)
                return
            store.request_reset(ResetRequest(operator=who, reason=reason, ts=time.time_ns()))
        finally:
            store.close()
    except TradefabricError as exc:
        raise fail(exc) from exc
    stdout.print(
        f"reset by {who} stored (halt was: {risk.reason}); the node applies and audits it "
        "when it starts",
        highlight=False,
    )


class StateView(msgspec.Struct, frozen=True, kw_only=True):
    """What ``state show`` prints."""

    halt: RiskSnapshot | None
    pending_resets: list[ResetRequest]
    orders_total: int
    open_orders: list[OrderSnapshot]
    positions: list[PositionSnapshot]
    balances: list[BalanceSnapshot]
    fills: int
    client_order_id_counter: int
    parents_total: int = 0
    """Parent orders of execution algorithms."""
    open_parents: list[ParentSnapshot] = []
    """The ones a restart resumes."""


@state_app.command("show")
def state_show(
    state: StateOption,
    json_output: Annotated[bool, typer.Option("--json", help="Print the state as JSON.")] = False,
) -> None:
    """Print the stored halt, open orders, positions and balances."""
    try:
        store = open_store_at(state)
        try:
            orders = store.orders()
            view = StateView(
                halt=store.risk(),
                pending_resets=store.pending_resets(),
                orders_total=len(orders),
                open_orders=[o for o in orders if o.status in _OPEN],
                positions=store.positions(),
                balances=store.balances(),
                fills=len(store.fills()),
                client_order_id_counter=store.counter("client_order_id"),
                parents_total=len(store.parents()),
                open_parents=store.parents(open_only=True),
            )
        finally:
            store.close()
    except TradefabricError as exc:
        raise fail(exc) from exc
    if json_output:
        print_json(view)
    else:
        _print(view)


_OPEN = frozenset({"new", "submitted", "accepted", "partially_filled", "cancel_pending"})


def _print(view: StateView) -> None:
    halt = view.halt
    if halt is not None and halt.halted:
        stdout.print(f"HALTED: {halt.reason}", highlight=False)
        for r in view.pending_resets:
            stdout.print(f"  reset pending by {r.operator}: {r.reason}", highlight=False)
    else:
        stdout.print("trading: not halted", highlight=False)
    stdout.print(
        f"orders: {view.orders_total} ({len(view.open_orders)} open), fills: {view.fills}, "
        f"client order id counter: {view.client_order_id_counter}",
        highlight=False,
    )
    for o in view.open_orders:
        stdout.print(
            f"  {o.client_order_id} {o.venue}:{o.symbol} {o.side} {o.quantity:g} "
            f"{o.order_type} {o.status} filled {o.filled_quantity:g}",
            highlight=False,
        )
    if view.parents_total:
        stdout.print(
            f"parent orders: {view.parents_total} ({len(view.open_parents)} open, resumed at "
            "the next start)",
            highlight=False,
        )
    for parent in view.open_parents:
        stdout.print(
            f"  {parent.parent_id} {parent.exec_algorithm} {parent.venue}:{parent.symbol} "
            f"{parent.side} {parent.quantity:g} filled {parent.filled_quantity:g} "
            f"({len(parent.children)} children)",
            highlight=False,
        )
    for p in view.positions:
        stdout.print(
            f"position {p.venue}:{p.symbol} {p.quantity:+g} @ {p.avg_price:g} "
            f"realized {p.realized_pnl:+.2f} fees {p.fees:.2f}",
            highlight=False,
        )
    for b in view.balances:
        stdout.print(f"balance {b.venue} {b.currency} {b.amount:.8g}", highlight=False)
