"""The execution engine (OMS): the only road from a strategy to a venue.

``submit`` rounds the request to tick and lot, creates the order (NEW), asks the
risk engine (which audits its decision), and only then sends the order to its
venue. Venue reports move each order through its state machine; every
transition is audited and published on ``execution.topics.ORDER_EVENTS``, every
fill applied to the portfolio and published on ``FILLS``. Strategies get a
``StrategyContext`` bound to this engine, never the venue clients.

Memory stays flat however long the run: a finished order's final state is
published once on ``ORDERS_CLOSED`` (the run record writes it) and the engine
keeps only the ``keep_finished`` most recent finished orders, for lookups and
idempotent resubmission; open orders are always kept.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Iterable

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock
from tradefabric.execution import topics
from tradefabric.execution.client import ExecutionClient
from tradefabric.execution.orders import Order, OrderError
from tradefabric.execution.portfolio import Portfolio
from tradefabric.execution.precision import Precision
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import (
    Fill,
    OrderEvent,
    OrderRequest,
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    OrderType,
)
from tradefabric.risk.audit import AuditLog
from tradefabric.risk.engine import RiskEngine


class ExecutionEngine:
    """Orders from strategies through risk to venues, and venue reports back."""

    def __init__(
        self,
        bus: MessageBus,
        clock: Clock,
        risk: RiskEngine,
        portfolio: Portfolio,
        audit: AuditLog,
        *,
        keep_finished: int = 10_000,
    ) -> None:
        self._bus = bus
        self._clock = clock
        self.risk = risk
        self.portfolio = portfolio
        self._audit = audit
        self._venues: dict[str, ExecutionClient] = {}
        self._precisions: dict[InstrumentId, Precision] = {}
        self._orders: dict[str, Order] = {}
        """Every order not yet finished, plus the most recent finished ones."""
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._keep_finished = keep_finished
        self._open: dict[str, Order] = {}
        self._counters: dict[str, int] = {}
        self._id_source: Callable[[str], str] | None = None
        self._cancel_requested: set[str] = set()
        self.prices: dict[str, dict[str, float]] = {}
        """venue -> symbol -> latest market price (the kernel writes it on every event)."""
        risk.attach(self, self._on_halt)

    @property
    def bus(self) -> MessageBus:
        """Return the bus order events and fills are published on."""
        return self._bus

    @property
    def clock(self) -> Clock:
        """Return the node's clock."""
        return self._clock

    @property
    def audit(self) -> AuditLog:
        """Return the audit log every order action is written to first."""
        return self._audit

    def add_venue(self, venue: ExecutionClient) -> None:
        """Route orders for ``venue.name`` to ``venue``."""
        self._venues[venue.name] = venue
        venue.connect(self)

    def add_instrument(self, instrument: InstrumentId, precision: Precision) -> None:
        """Round orders on ``instrument`` with ``precision``."""
        self._precisions[instrument] = precision

    def precision(self, instrument: InstrumentId) -> Precision | None:
        """Return the tick/lot orders on ``instrument`` are rounded with, or None."""
        return self._precisions.get(instrument)

    def set_id_source(self, source: Callable[[str], str]) -> None:
        """Take client order ids from ``source(strategy_id)`` (unique across restarts and nodes).

        Without one, ids are ``<strategy>-<n>`` counted from 1 in this process.
        """
        self._id_source = source

    def restore_orders(self, orders: Iterable[OrderSnapshot], fill_ids: dict[str, set[str]]) -> int:
        """Hold saved orders again (a restart); return how many are open.

        ``fill_ids`` maps a client order id to the fills already applied to it, so a
        venue reporting one of them again changes nothing. Finished orders are only
        kept for lookups and idempotent resubmission.
        """
        opened = 0
        for snapshot in orders:
            client_id = snapshot.client_order_id
            order = Order.from_snapshot(snapshot, frozenset(fill_ids.get(client_id, ())))
            self._orders[client_id] = order
            if order.is_terminal:
                self._finished[client_id] = None
            else:
                self._open[client_id] = order
                opened += 1
        while len(self._finished) > self._keep_finished:
            old, _ = self._finished.popitem(last=False)
            self._orders.pop(old, None)
        return opened

    def expire_open(self, reason: str, keep: frozenset[str] = frozenset()) -> list[OrderSnapshot]:
        """Finish every open order the venue no longer knows (a simulated venue after a restart).

        An order never acknowledged by its venue becomes REJECTED, a resting one
        EXPIRED; each transition is audited and published like any other. Orders on
        the ``keep`` venues (live venues: reconciliation settles them) stay open.
        """
        now = self._clock.timestamp_ns()
        finished = []
        for order in list(self._open.values()):
            if order.venue in keep:
                continue
            unacknowledged = order.status in (OrderStatus.NEW, OrderStatus.SUBMITTED)
            status = OrderStatus.REJECTED if unacknowledged else OrderStatus.EXPIRED
            self._emit(order.transition(status, now, now, reason))
            self._close(order)
            finished.append(order.snapshot())
        return finished

    def update_price(self, instrument: InstrumentId, price: float) -> None:
        """Record the latest market price (reference for market orders' notional)."""
        self.prices.setdefault(instrument.venue, {})[instrument.symbol] = price

    # Strategy side -------------------------------------------------------------------------

    def submit(self, request: OrderRequest, system: bool = False) -> OrderSnapshot:
        """Create, risk-check and send an order; return its state after the decision.

        Submitting a ``client_order_id`` that exists returns that order unchanged
        (idempotent resubmission); nothing is sent twice.
        """
        existing = self._orders.get(request.client_order_id) if request.client_order_id else None
        if existing is not None:
            return existing.snapshot()
        if request.venue not in self._venues:
            raise OrderError(f"no venue client for {request.venue!r}")
        client_id = request.client_order_id or self._next_id(request.strategy_id)
        now = self._clock.timestamp_ns()
        order = Order(self._rounded(request), client_id, now)
        # Audited before it exists: if the audit log cannot be written, there is no order.
        self._audit.write("order", now, order.snapshot())
        self._orders[client_id] = order
        problem = _invalid(order)
        if problem:
            self._emit(order.transition(OrderStatus.REJECTED, now, now, problem))
            self._close(order)
            return order.snapshot()
        decision = self.risk.check(order.snapshot(), system)
        if not decision.accepted:
            self._emit(order.transition(OrderStatus.REJECTED, now, now, decision.reason))
            self._close(order)
            return order.snapshot()
        self._emit(order.transition(OrderStatus.SUBMITTED, now, now))
        self._open[client_id] = order
        self._venues[order.venue].submit(order.snapshot())
        return order.snapshot()

    def cancel(self, client_order_id: str) -> None:
        """Ask the venue to cancel an open order; unknown or finished orders are ignored."""
        order = self._open.get(client_order_id)
        if order is None or client_order_id in self._cancel_requested:
            return
        now = self._clock.timestamp_ns()
        self._cancel_requested.add(client_order_id)
        self._audit.write("cancel", now, order.snapshot())
        if order.status is not OrderStatus.SUBMITTED:
            self._emit(order.transition(OrderStatus.CANCEL_PENDING, now, now))
        self._venues[order.venue].cancel(client_order_id)

    def cancel_all(self, strategy_id: str | None = None) -> None:
        """Cancel every open order (of one strategy when given)."""
        for client_id, order in list(self._open.items()):
            if strategy_id is None or order.strategy_id == strategy_id:
                self.cancel(client_id)

    def flatten_all(self) -> None:
        """Close every position with reduce-only market orders sent as system orders."""
        for position in self.portfolio.positions():
            if abs(position.quantity) <= 0.0:
                continue
            side = OrderSide.SELL if position.quantity > 0 else OrderSide.BUY
            request = OrderRequest(
                strategy_id="risk",
                venue=position.venue,
                symbol=position.symbol,
                side=side,
                quantity=abs(position.quantity),
                reduce_only=True,
                tag="flatten on halt",
            )
            self.submit(request, system=True)

    def order(self, client_order_id: str) -> OrderSnapshot | None:
        """Return an order's current state, or None."""
        order = self._orders.get(client_order_id)
        return None if order is None else order.snapshot()

    def orders(self) -> list[OrderSnapshot]:
        """Return the orders still held (open ones and recent finished ones), by creation.

        Every finished order of the run was published on ``ORDERS_CLOSED``.
        """
        return [o.snapshot() for o in self._orders.values()]

    def open_order_snapshots(self) -> list[OrderSnapshot]:
        """Return the orders not finished yet, in creation order."""
        return [o.snapshot() for o in self._orders.values() if not o.is_terminal]

    @property
    def orders_held(self) -> int:
        """Return how many orders the engine holds in memory (open + recent finished)."""
        return len(self._orders)

    # TradingState (read by the risk engine) ---------------------------------------------------

    def position_quantity(self, instrument: InstrumentId) -> float:
        """Return the signed quantity held on ``instrument``."""
        return self.portfolio.quantity(instrument)

    def gross_exposure_except(self, instrument: InstrumentId) -> float:
        """Return the gross notional of every other position, at the latest prices."""
        total = 0.0
        for p in self.portfolio.positions():
            if (p.venue, p.symbol) != (instrument.venue, instrument.symbol):
                price = self.prices.get(p.venue, {}).get(p.symbol, p.mark)
                total += abs(p.quantity * price)
        return total

    def open_orders(self) -> Iterable[OrderSnapshot]:
        """Return every order still open."""
        return [o.snapshot() for o in self._open.values()]

    def open_order_count(self) -> int:
        """Return how many orders are still open."""
        return len(self._open)

    def open_orders_on(self, instrument: InstrumentId) -> list[OrderSnapshot]:
        """Return the orders still open on ``instrument`` (only those are snapshotted)."""
        venue, symbol = instrument.venue, instrument.symbol
        return [
            o.snapshot() for o in self._open.values() if o.symbol == symbol and o.venue == venue
        ]

    def last_price(self, instrument: InstrumentId) -> float:
        """Return the latest market price of ``instrument``, NaN when unknown."""
        return self.prices.get(instrument.venue, {}).get(instrument.symbol, math.nan)

    # Venue side (ExecutionReports) ------------------------------------------------------------

    def on_accepted(self, client_order_id: str, ts_event: int, venue_order_id: str = "") -> None:
        """Apply a venue acceptance (``venue_order_id``: the venue's id, live venues)."""
        order = self._orders[client_order_id]
        if venue_order_id:
            order.venue_order_id = venue_order_id
        self._emit(order.transition(OrderStatus.ACCEPTED, ts_event, self._clock.timestamp_ns()))
        if client_order_id in self._cancel_requested:
            # The cancel was sent before the venue had the order; it is pending now.
            now = self._clock.timestamp_ns()
            self._emit(order.transition(OrderStatus.CANCEL_PENDING, ts_event, now))

    def on_rejected(self, client_order_id: str, reason: str, ts_event: int) -> None:
        """Apply a venue rejection."""
        order = self._orders[client_order_id]
        now = self._clock.timestamp_ns()
        self._emit(order.transition(OrderStatus.REJECTED, ts_event, now, reason))
        self._close(order)

    def on_fill(self, fill: Fill) -> None:
        """Audit a fill, apply it to its order and the portfolio, publish both."""
        order = self._orders.get(fill.client_order_id)
        now = self._clock.timestamp_ns()
        self._audit.write("fill", now, fill)
        event = None if order is None else order.apply_fill(fill, now)
        if order is None or event is None:
            return  # the same fill reported twice
        self.portfolio.on_fill(fill)
        self._emit(event)
        self._bus.publish(topics.FILLS, fill)
        if order.is_terminal:
            self._close(order)

    def on_cancelled(
        self,
        client_order_id: str,
        reason: str,
        ts_event: int,
        status: OrderStatus | None = None,
    ) -> None:
        """Apply a cancel: CANCELLED when we asked for it, EXPIRED when the venue decided.

        ``status`` (live venues, which say which it was) overrides that guess: a cancel
        asked for before a restart, or by a person at the venue, is still CANCELLED.
        """
        order = self._orders.get(client_order_id)
        if order is None or order.is_terminal:
            return
        # CANCEL_PENDING is a cancel we asked for, also one asked before a restart.
        requested = (
            client_order_id in self._cancel_requested or order.status is OrderStatus.CANCEL_PENDING
        )
        if status is None:
            status = OrderStatus.CANCELLED if requested else OrderStatus.EXPIRED
        self._emit(order.transition(status, ts_event, self._clock.timestamp_ns(), reason))
        self._close(order)

    # Live venues (execution.live) ----------------------------------------------------------

    def held_order(self, client_order_id: str) -> Order | None:
        """Return the engine's own order object (read it; change it only through the engine)."""
        return self._orders.get(client_order_id)

    def cancel_requested(self, client_order_id: str) -> bool:
        """Return True when a cancel of the order was asked for and is not settled yet."""
        return client_order_id in self._cancel_requested

    def set_venue_order_id(self, client_order_id: str, venue_order_id: str) -> None:
        """Record the venue's id of an order (reported before or without its ack)."""
        order = self._orders.get(client_order_id)
        if order is not None and venue_order_id:
            order.venue_order_id = venue_order_id

    def adopt(self, snapshot: OrderSnapshot, reason: str) -> OrderSnapshot:
        """Hold an order the venue has and this node did not send (external), audited.

        It enters as NEW (audited as an ``order``, like any other), then SUBMITTED and
        ACCEPTED with ``reason``; fills then apply to it as to our own orders. The
        venue's cumulative fill is not taken from ``snapshot``: trades bring it.
        """
        now = self._clock.timestamp_ns()
        request = OrderRequest(
            strategy_id=snapshot.strategy_id, venue=snapshot.venue, symbol=snapshot.symbol,
            side=snapshot.side, quantity=snapshot.quantity, order_type=snapshot.order_type,
            price=snapshot.price, trigger_price=snapshot.trigger_price,
            time_in_force=snapshot.time_in_force, post_only=snapshot.post_only,
            reduce_only=snapshot.reduce_only, tag=snapshot.tag,
        )  # fmt: skip
        order = Order(request, snapshot.client_order_id, now)
        order.venue_order_id = snapshot.venue_order_id
        self._audit.write("order", now, order.snapshot())
        self._orders[order.client_order_id] = order
        self._open[order.client_order_id] = order
        self._emit(order.transition(OrderStatus.SUBMITTED, snapshot.ts_last, now, reason))
        self._emit(order.transition(OrderStatus.ACCEPTED, snapshot.ts_last, now, reason))
        return order.snapshot()

    def on_late_fill(self, fill: Fill) -> bool:
        """Apply a fill reported after its order was cancelled or expired; False if a repeat.

        Audited, applied to the portfolio and published like any fill; the order's
        status stays terminal. Raise ``OrderError`` when it cannot fit the order.
        """
        order = self._orders.get(fill.client_order_id)
        if order is None:
            raise OrderError(f"late fill {fill.fill_id}: unknown order {fill.client_order_id}")
        if fill.fill_id in order.fill_ids:
            return False
        now = self._clock.timestamp_ns()
        self._audit.write("fill", now, fill)
        event = order.apply_late_fill(fill, now)
        if event is None:
            return False
        self.portfolio.on_fill(fill)
        self._emit(event)
        self._bus.publish(topics.FILLS, fill)
        return True

    # Internals -------------------------------------------------------------------------------

    def _emit(self, event: OrderEvent) -> None:
        self._audit.write("order_event", event.ts_init, event)
        self._bus.publish(topics.ORDER_EVENTS, event)

    def _close(self, order: Order) -> None:
        client_id = order.client_order_id
        self._open.pop(client_id, None)
        self._cancel_requested.discard(client_id)
        self._bus.publish(topics.ORDERS_CLOSED, order.snapshot())
        finished = self._finished
        finished[client_id] = None
        while len(finished) > self._keep_finished:
            old, _ = finished.popitem(last=False)
            self._orders.pop(old, None)

    def _next_id(self, strategy_id: str) -> str:
        if self._id_source is not None:
            candidate = self._id_source(strategy_id)
            while candidate in self._orders:
                candidate = self._id_source(strategy_id)
            return candidate
        n = self._counters.get(strategy_id, 0) + 1
        self._counters[strategy_id] = n
        candidate = f"{strategy_id}-{n}"
        while candidate in self._orders:
            n += 1
            self._counters[strategy_id] = n
            candidate = f"{strategy_id}-{n}"
        return candidate

    def _rounded(self, request: OrderRequest) -> OrderRequest:
        precision = self._precisions.get(InstrumentId(request.venue, request.symbol))
        if precision is None:
            return request
        buy = request.side is OrderSide.BUY
        price = request.price
        trigger = request.trigger_price
        return OrderRequest(
            strategy_id=request.strategy_id,
            venue=request.venue,
            symbol=request.symbol,
            side=request.side,
            quantity=precision.quantity(request.quantity),
            order_type=request.order_type,
            price=None if price is None else precision.passive_price(price, buy),
            trigger_price=None if trigger is None else precision.aggressive_price(trigger, buy),
            time_in_force=request.time_in_force,
            post_only=request.post_only,
            reduce_only=request.reduce_only,
            client_order_id=request.client_order_id,
            tag=request.tag,
            trailing_offset=request.trailing_offset,
            oco_group=request.oco_group,
        )

    def _on_halt(self, flatten: bool) -> None:
        self.cancel_all()
        if flatten:
            self.flatten_all()


_NEEDS_PRICE = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})
_NEEDS_TRIGGER = frozenset({OrderType.STOP_MARKET, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT})


def _positive(value: float | None) -> bool:
    return value is not None and value > 0.0


def _invalid(order: Order) -> str:
    """Return why an order cannot be sent at all ("" when it can)."""
    kind = order.order_type
    if not order.quantity > 0.0:
        return f"quantity {order.quantity} is not positive after rounding to the lot"
    if kind in _NEEDS_PRICE and not _positive(order.price):
        return f"a {kind} order needs a positive price"
    if kind in _NEEDS_TRIGGER and not _positive(order.trigger_price):
        return f"a {kind} order needs a positive trigger price"
    if (kind is OrderType.TRAILING_STOP) != _positive(order.trailing_offset):
        return "trailing_offset (positive) belongs to trailing-stop orders, and only to them"
    if order.post_only and kind is not OrderType.LIMIT:
        return "post-only applies to limit orders only"
    return ""
