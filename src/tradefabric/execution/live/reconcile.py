"""Reconciliation: the venue's mass status against the engine's orders and the portfolio.

Run at start, after every user-stream reconnect and periodically. The venue is
the truth (the model is Nautilus' live execution engine reconciliation):

1. every order the venue reports open is matched to ours by client id (or venue
   order id); one we do not hold is adopted as ``external`` (strategy ``external``)
   and its status applied;
2. the venue's trades since the last one known are applied (duplicates change
   nothing); the trades of an order adopted in step 1 are applied to it;
3. every order we hold open that the venue did not report is queried by client id:
   the answer is applied; "no such order" finishes it (REJECTED if never acked, else
   EXPIRED: it is not at the venue). An order whose submit is in flight in this
   process is left to the submit (the venue may not list it yet);
4. a cumulative filled quantity still ahead of the trades (a trade the venue did not
   list) becomes a derived fill;
5. balances and positions are set to the venue's.

Each difference is audited (``reconcile_discrepancy``) and published on
``LIVE_EVENTS``; the run ends with a ``reconcile_summary`` (audited, on ``RECONCILED``
and as an info event). Missing fills are reported once per order, not per trade;
past ``ALERTS_PER_RUN`` discrepancies are only audited (the summary counts them all),
so a node that was down for a day does not page someone ten thousand times.
"""

from __future__ import annotations

import time
from collections import Counter

import msgspec
import structlog

from tradefabric.execution.live.apply import EXTERNAL_PREFIX, EXTERNAL_STRATEGY, ReportApplier
from tradefabric.execution.live.config import LiveSettings
from tradefabric.execution.live.events import (
    LIVE_EVENTS,
    PORTFOLIO_CORRECTED,
    RECONCILED,
    Discrepancy,
    LiveEvent,
    PortfolioCorrection,
    ReconcileSummary,
)
from tradefabric.execution.live.protocol import LiveExecutionClient
from tradefabric.execution.live.reports import MassStatus, OrderStatusReport
from tradefabric.execution.oms import ExecutionEngine
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import OrderSnapshot, OrderStatus

log = structlog.get_logger(__name__)
S = OrderStatus
_OPEN_AT_VENUE = frozenset({S.ACCEPTED, S.PARTIALLY_FILLED, S.CANCEL_PENDING, S.SUBMITTED, S.NEW})
_NS = 1_000_000_000
ALERTS_PER_RUN = 50
"""Discrepancies published as alert events per run; every one is audited regardless."""


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


class _Tally(msgspec.Struct, kw_only=True):
    adopted: int = 0
    fills: int = 0
    derived: int = 0
    resolved: int = 0
    balances: int = 0
    positions: int = 0
    discrepancies: int = 0


class Reconciler:
    """Reconcile one live venue (see the module docstring)."""

    def __init__(
        self,
        engine: ExecutionEngine,
        applier: ReportApplier,
        client: LiveExecutionClient,
        settings: LiveSettings,
        inflight: set[str] | None = None,
    ) -> None:
        """``inflight``: client ids whose submit is still being answered or settled in
        this process (left to that: the venue may not list them yet)."""
        self._inflight = inflight if inflight is not None else set()
        self._engine = engine
        self._applier = applier
        self._client = client
        self._settings = settings
        self.venue = applier.venue
        self._count = 0

    async def run(
        self, reason: str, trades_since_ns: int, symbols: tuple[str, ...] = ()
    ) -> ReconcileSummary:
        """Fetch the venue's mass status and correct the engine by it; return the summary."""
        started = time.perf_counter()
        engine = self._engine
        asked_ns = engine.clock.timestamp_ns()
        ours = {o.symbol for o in engine.open_orders() if o.venue == self.venue}
        since = max(0, trades_since_ns - int(self._settings.trades_lookback_s * _NS))
        mass = await self._client.mass_status(tuple(sorted(ours | set(symbols))), since)
        tally = _Tally()
        self._count = 0
        with engine.audit.batched():  # venue facts: a crash loses what the next run rewrites
            reported = self._orders(mass, tally)
            self._trades(mass, tally)
        await self._missing(reported, tally, asked_ns)
        if self._applier.held:
            # A query answered with more filled than the trades listed: the trade may have
            # happened after the list was taken. Ask again before deriving anything.
            again = await self._client.mass_status(tuple(sorted(ours | set(symbols))), since)
            with engine.audit.batched():
                self._trades(again, tally)
        with engine.audit.batched():
            self._derive(tally)
            self._balances(mass, tally)
            self._positions(mass, tally)
        now = engine.clock.timestamp_ns()
        tally.discrepancies = self._count
        summary = ReconcileSummary(
            venue=self.venue, reason=reason, orders_reported=len(mass.orders),
            trades_reported=len(mass.trades), adopted=tally.adopted, fills_applied=tally.fills,
            fills_derived=tally.derived, orders_resolved=tally.resolved,
            balances_corrected=tally.balances, positions_corrected=tally.positions,
            discrepancies=tally.discrepancies, seconds=time.perf_counter() - started, ts=now,
        )  # fmt: skip
        engine.audit.write("reconcile_summary", now, summary)
        log.info("reconcile_summary", **msgspec.structs.asdict(summary))
        engine.bus.publish(RECONCILED, summary)
        level = "warning" if tally.discrepancies else "info"
        message = (
            f"{reason}: {len(mass.orders)} open orders and {len(mass.trades)} trades reported, "
            f"{tally.discrepancies} discrepancies ({tally.adopted} adopted, {tally.fills} fills "
            f"applied, {tally.derived} derived, {tally.resolved} resolved, {tally.balances} "
            f"balances, {tally.positions} positions corrected)"
        )
        engine.bus.publish(
            LIVE_EVENTS,
            LiveEvent(kind="reconcile_summary", level=level, venue=self.venue,
                      message=message, ts=now),
        )  # fmt: skip
        return summary

    # Steps -------------------------------------------------------------------------------

    def _orders(self, mass: MassStatus, tally: _Tally) -> set[str]:
        applier = self._applier
        reported: set[str] = set()
        for report in mass.orders:
            cid = applier.client_id(report.client_order_id, report.venue_order_id)
            if not cid:
                if report.status not in _OPEN_AT_VENUE:
                    continue
                cid = self._adopt(report)
                tally.adopted += 1
            reported.add(cid)
            applier.on_status(report)
        return reported

    def _adopt(self, report: OrderStatusReport) -> str:
        cid = report.client_order_id or EXTERNAL_PREFIX + report.venue_order_id
        snapshot = OrderSnapshot(
            client_order_id=cid, strategy_id=EXTERNAL_STRATEGY, venue=self.venue,
            symbol=report.symbol, side=report.side, order_type=report.order_type,
            quantity=report.quantity, price=report.price, trigger_price=None,
            time_in_force=report.time_in_force, post_only=report.post_only,
            reduce_only=report.reduce_only, status=S.ACCEPTED, filled_quantity=0.0,
            avg_price=0.0, fees=0.0, tag="adopted from the venue", ts_init=report.ts_event,
            ts_last=report.ts_event, venue_order_id=report.venue_order_id,
        )  # fmt: skip
        self._engine.adopt(snapshot, "external: adopted by reconciliation")
        self._applier.index(cid, report.venue_order_id)
        self._discrepancy(
            "external_order", cid, "no such order",
            f"{report.status} {report.side} {report.quantity} {report.symbol} @ {report.price}",
        )  # fmt: skip
        return cid

    def _trades(self, mass: MassStatus, tally: _Tally) -> None:
        applier = self._applier
        per_order: Counter[str] = Counter()
        for trade in mass.trades:
            if applier.on_trade(trade):
                cid = applier.client_id(trade.client_order_id, trade.venue_order_id)
                per_order[cid] += 1
        for venue_order_id in list(applier.orphans):
            cid = applier.client_id("", venue_order_id)
            if cid:
                per_order[cid] += applier.adopt_orphans(cid, venue_order_id)
        for cid, count in per_order.items():
            if count:
                tally.fills += count
                self._discrepancy("missing_fill", cid, "not applied", f"{count} venue trades")

    async def _missing(self, reported: set[str], tally: _Tally, asked_ns: int) -> None:
        engine = self._engine
        inflight = self._inflight
        # Orders created after the mass status was asked for cannot be in it.
        missing = [
            o for o in engine.open_orders()
            if o.venue == self.venue and o.client_order_id not in reported
            and o.client_order_id not in inflight and o.ts_init <= asked_ns
        ]  # fmt: skip
        for order in missing:
            report = await self._client.query_order(order.symbol, order.client_order_id)
            tally.resolved += 1
            if report is not None:
                self._applier.on_status(report)
                after = engine.order(order.client_order_id)
                status = after.status if after is not None else order.status
                self._discrepancy("order_not_open", order.client_order_id, order.status, status)
                continue
            self._finish_absent(order)

    def _finish_absent(self, order: OrderSnapshot) -> None:
        engine = self._engine
        cid = order.client_order_id
        now = engine.clock.timestamp_ns()
        reason = "not found at the venue (reconciliation)"
        if order.status in (S.NEW, S.SUBMITTED):
            engine.on_rejected(cid, reason, now)
        else:
            engine.on_cancelled(cid, reason, now)
        self._discrepancy("order_missing", cid, order.status, "no such order")

    def _derive(self, tally: _Tally) -> None:
        applier = self._applier
        engine = self._engine
        for cid, (cumulative, avg_price, ts_event) in list(applier.held.items()):
            order = engine.held_order(cid)
            if order is None:
                applier.held.pop(cid, None)
                continue
            before = order.filled_quantity
            fill = applier.derive(order, cumulative, avg_price, ts_event)
            if fill is not None:
                tally.derived += 1
                self._discrepancy(
                    "derived_fill", cid, f"filled {before}", f"filled {cumulative} @ {avg_price}"
                )

    def _balances(self, mass: MassStatus, tally: _Tally) -> None:
        portfolio = self._engine.portfolio
        for balance in mass.balances:
            held = portfolio.balance(self.venue, balance.asset)
            if _close(held, balance.total):
                continue
            portfolio.set_balance(self.venue, balance.asset, balance.total)
            tally.balances += 1
            self._discrepancy("balance", balance.asset, repr(held), repr(balance.total))
            self._engine.bus.publish(
                PORTFOLIO_CORRECTED, PortfolioCorrection(venue=self.venue, currency=balance.asset)
            )

    def _positions(self, mass: MassStatus, tally: _Tally) -> None:
        portfolio = self._engine.portfolio
        for position in mass.positions:
            instrument = InstrumentId(self.venue, position.symbol)
            held = portfolio.quantity(instrument)
            if _close(held, position.quantity):
                continue
            portfolio.set_position(instrument, position.quantity, position.entry_price)
            tally.positions += 1
            self._discrepancy("position", position.symbol, repr(held), repr(position.quantity))
            self._engine.bus.publish(
                PORTFOLIO_CORRECTED, PortfolioCorrection(venue=self.venue, symbol=position.symbol)
            )

    def _discrepancy(self, kind: str, key: str, node: str, venue_value: str) -> None:
        engine = self._engine
        now = engine.clock.timestamp_ns()
        record = Discrepancy(
            venue=self.venue, kind=kind, key=key, node=node, venue_value=venue_value, ts=now
        )
        engine.audit.write("reconcile_discrepancy", now, record)
        self._count += 1
        if self._count > ALERTS_PER_RUN:
            return  # audited; the summary counts them all
        engine.bus.publish(
            LIVE_EVENTS,
            LiveEvent(kind="reconcile_discrepancy", level="warning", venue=self.venue,
                      message=f"{kind} {key}: node {node}, venue {venue_value}", ts=now),
        )  # fmt: skip
