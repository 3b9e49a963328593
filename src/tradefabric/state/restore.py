"""Load a fresh kernel from the store, after catching the store up from the audit log.

The audit log is written before each action and the store after it, off the
hot path, so after a crash the log may be ahead of the store by what the
recorder had queued. ``catch_up`` replays the log's orders and fills onto the
store's state (an order's NEW record, its events and fills rebuild it through
the same ``Order`` code the engine uses, so values are bit-identical), then
``restore`` loads orders, positions, balances, tallies and the halt into the
kernel. ``attach`` does both, starts the recorder, applies pending resets
(audited) and gives the engine client order ids from the store.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import structlog

from tradefabric.execution.orders import Order, OrderError
from tradefabric.execution.portfolio import Portfolio, PortfolioTotals
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import Fill, OrderEvent, OrderSnapshot, OrderStatus
from tradefabric.risk.audit import AuditRecord, log_files
from tradefabric.state.ids import ClientIdAllocator
from tradefabric.state.recorder import KernelParts, Recorder
from tradefabric.state.records import StateBatch
from tradefabric.state.store import StateStore

log = structlog.get_logger(__name__)

LOST_ON_RESTART = "venue state lost on restart"


class RestoreReport(msgspec.Struct, frozen=True, kw_only=True):
    """What a restart found and did."""

    orders: int
    open_orders: int
    fills: int
    positions: int
    halted: bool
    caught_up_orders: int
    """Orders the audit log knew newer than the store (the recorder's lost tail)."""
    caught_up_fills: int
    resets_applied: int = 0
    expired: int = 0
    parents_resumed: int = 0
    """Open parent orders of execution algorithms that resume at the first market event."""


class AuditState(msgspec.Struct, frozen=True, kw_only=True):
    """Orders (their latest state) and applied fills, rebuilt from an audit log."""

    orders: dict[str, OrderSnapshot]
    fills: list[Fill]


def audit_state(path: Path, known: dict[str, OrderSnapshot] | None = None) -> AuditState:
    """Rebuild every order and applied fill from the audit log at ``path`` (all its files).

    ``known`` orders (from the store) stand in for orders whose NEW record is in
    files no longer present. A fill reported twice, or for an unknown order, was
    audited but never applied, as in the engine.
    """
    orders: dict[str, Order] = {}
    fills: list[Fill] = []
    seen: set[tuple[str, str]] = set()
    decoder = msgspec.json.Decoder(AuditRecord)
    for file in log_files(path):
        with file.open("rb") as f:
            for line in f:
                try:
                    record = decoder.decode(line)
                except msgspec.DecodeError:
                    continue  # a torn line (verify reports it); its action never happened
                _apply(record, orders, fills, seen, known or {})
    return AuditState(orders={k: o.snapshot() for k, o in orders.items()}, fills=fills)


def _apply(
    record: AuditRecord,
    orders: dict[str, Order],
    fills: list[Fill],
    seen: set[tuple[str, str]],
    known: dict[str, OrderSnapshot],
) -> None:
    kind = record.kind
    if kind == "order":
        snapshot = msgspec.json.decode(record.data, type=OrderSnapshot)
        orders[snapshot.client_order_id] = Order.from_snapshot(snapshot)
    elif kind == "fill":
        fill = msgspec.json.decode(record.data, type=Fill)
        order = _order(fill.client_order_id, orders, known)
        key = (fill.client_order_id, fill.fill_id)
        if order is None or key in seen or order.status is OrderStatus.FILLED:
            return
        try:
            if order.is_terminal:  # a live venue's late fill (execution.live)
                order.apply_late_fill(fill, fill.ts_init)
            else:
                order.apply_fill(fill, fill.ts_init)
        except OrderError:
            return  # the engine refused it too
        seen.add(key)
        fills.append(fill)
    elif kind == "order_event":
        event = msgspec.json.decode(record.data, type=OrderEvent)
        order = _order(event.client_order_id, orders, known)
        if order is not None:
            order.status = event.status
            order.filled_quantity = event.filled_quantity
            order.ts_last = event.ts_init
            order.venue_order_id = event.venue_order_id or order.venue_order_id


def _order(
    client_id: str, orders: dict[str, Order], known: dict[str, OrderSnapshot]
) -> Order | None:
    order = orders.get(client_id)
    if order is None and client_id in known:
        order = orders[client_id] = Order.from_snapshot(known[client_id])
    return order


def catch_up(store: StateStore, audit_path: Path, initial_balances: Portfolio) -> tuple[int, int]:
    """Write to ``store`` what the audit log at ``audit_path`` holds and it misses.

    ``initial_balances`` is a fresh portfolio (the config's balances) the store's
    positions are loaded into before the missing fills are applied. Return
    (orders written, fills written).
    """
    stored = {o.client_order_id: o for o in store.orders()}
    state = audit_state(audit_path, stored)
    # An order the store holds newer (another run folder's node wrote it) never goes back.
    stale = tuple(
        o for k, o in state.orders.items()
        if k not in stored or (stored[k] != o and o.ts_last > stored[k].ts_last)
    )  # fmt: skip
    stored_fills = {(f.client_order_id, f.fill_id) for f in store.fills()}
    missing = [f for f in state.fills if (f.client_order_id, f.fill_id) not in stored_fills]
    if not stale and not missing:
        return 0, 0
    portfolio = initial_balances
    _load_portfolio(store, portfolio)
    touched: set[InstrumentId] = set()
    for fill in missing:
        portfolio.on_fill(fill)
        touched.add(InstrumentId(fill.venue, fill.symbol))
    venues = {instrument.venue for instrument in touched}
    store.write(
        StateBatch(
            orders=stale,
            fills=tuple(missing),
            positions=tuple(portfolio.position(i).snapshot() for i in sorted(touched)),
            balances=tuple(b for v in sorted(venues) for b in portfolio.venue_balances(v)),
            totals=portfolio.totals() if missing else None,
        )
    )
    log.info("state store caught up from the audit log", orders=len(stale), fills=len(missing))
    return len(stale), len(missing)


def _load_portfolio(store: StateStore, portfolio: Portfolio) -> None:
    portfolio.restore(store.positions(), store.balances(), store.totals() or PortfolioTotals())


def restore(kernel: KernelParts, store: StateStore) -> RestoreReport:
    """Catch the store up from the kernel's audit log, then load it into the fresh kernel."""
    orders_caught = fills_caught = 0
    if kernel.audit.path is not None:
        initial: dict[str, dict[str, float]] = {}
        for b in kernel.portfolio.balances():  # the config's, the kernel being fresh
            initial.setdefault(b.venue, {})[b.currency] = b.amount
        orders_caught, fills_caught = catch_up(store, kernel.audit.path, Portfolio(initial))
    orders = store.orders()
    fills = store.fills()
    fill_ids: dict[str, set[str]] = {}
    for fill in fills:
        fill_ids.setdefault(fill.client_order_id, set()).add(fill.fill_id)
    opened = kernel.execution.restore_orders(orders, fill_ids)
    _load_portfolio(store, kernel.portfolio)
    risk = store.risk()
    if risk is not None:
        kernel.risk.restore_halt(risk)
    return RestoreReport(
        orders=len(orders), open_orders=opened, fills=len(fills),
        positions=len(store.positions()), halted=kernel.risk.halted,
        caught_up_orders=orders_caught, caught_up_fills=fills_caught,
    )  # fmt: skip


def attach(
    kernel: KernelParts,
    store: StateStore,
    *,
    venue_state_lost: bool = False,
    live_venues: frozenset[str] = frozenset(),
    id_block: int = 100,
    risk_interval_ns: int = 60_000_000_000,
) -> tuple[Recorder, RestoreReport]:
    """Restore ``kernel`` from ``store``, then record into it; return the recorder and report.

    Call before any market data flows. Parent orders of execution algorithms are
    rebuilt and resume at the first market event (``ExecAlgorithmEngine.restore``).
    ``venue_state_lost`` (simulated venues,
    which keep nothing across a restart) finishes the restored open orders
    (audited, recorded), except those on ``live_venues``, which keep their orders:
    the live engine's reconciliation settles them against the venue. Pending ``risk
    reset`` requests are applied through ``RiskEngine.reset``, which audits them with
    the operator's name.
    """
    report = restore(kernel, store)
    recorder = Recorder(store, kernel, risk_interval_ns=risk_interval_ns)
    resets = store.pending_resets()
    for request in resets:
        kernel.risk.reset(request.operator, request.reason)
    if resets:
        store.mark_resets_applied(resets[-1].ts, kernel.clock.timestamp_ns())
    expired = (
        kernel.execution.expire_open(LOST_ON_RESTART, keep=live_venues) if venue_state_lost else []
    )
    kernel.execution.set_id_source(ClientIdAllocator(store, block=id_block))
    recorder.flush()
    # After the orders (restored, the lost ones finished and stored): each parent adopts
    # its children from them, so what filled before the crash is never sent again.
    resumed = kernel.algorithms.restore(store.parents(), store.orders(), store.fills())
    report = msgspec.structs.replace(
        report, resets_applied=len(resets), expired=len(expired), parents_resumed=resumed
    )
    log.info("state restored", **msgspec.structs.asdict(report))
    return recorder, report
