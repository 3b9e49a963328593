"""The order state machine: legal transitions only, each one an ``OrderEvent``.

::

    NEW -> SUBMITTED -> ACCEPTED -> PARTIALLY_FILLED -> FILLED
     |        |            |   \\          |   \\
     v        v            v    -> CANCEL_PENDING -> CANCELLED
  REJECTED  REJECTED    EXPIRED, CANCELLED           (or FILLED / EXPIRED)

A fill may race a cancel request: in ``CANCEL_PENDING`` a partial fill keeps the
order pending its cancel and a complete fill makes it ``FILLED``. Terminal
states (``FILLED``, ``CANCELLED``, ``REJECTED``, ``EXPIRED``) accept nothing; any
other transition raises ``IllegalTransitionError`` rather than being ignored,
because a state machine that shrugs hides venue bugs and our own.
"""

from __future__ import annotations

from tradefabric.core.errors import FatalError
from tradefabric.model.orders import (
    Fill,
    OrderEvent,
    OrderRequest,
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    OrderType,
    TimeInForce,
)

S = OrderStatus

LEGAL_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.NEW: frozenset({S.SUBMITTED, S.REJECTED}),
    S.SUBMITTED: frozenset({S.ACCEPTED, S.REJECTED}),
    S.ACCEPTED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCEL_PENDING, S.CANCELLED, S.EXPIRED}),
    S.PARTIALLY_FILLED: frozenset(
        {S.PARTIALLY_FILLED, S.FILLED, S.CANCEL_PENDING, S.CANCELLED, S.EXPIRED}
    ),
    S.CANCEL_PENDING: frozenset({S.CANCEL_PENDING, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}
"""Every legal (from -> to); a self-transition is a further partial fill."""

TERMINAL = frozenset(s for s, targets in LEGAL_TRANSITIONS.items() if not targets)
OPEN = frozenset({S.ACCEPTED, S.PARTIALLY_FILLED, S.CANCEL_PENDING})
"""States in which an order rests at the venue and may still fill."""

_QTY_EPSILON = 1e-12


class OrderError(FatalError):
    """An order operation is invalid."""


class IllegalTransitionError(OrderError):
    """An order was asked to move to a state its current state cannot reach."""


class Order:
    """One order's mutable state; change it only through the transition methods."""

    __slots__ = (
        "avg_price",
        "client_order_id",
        "fees",
        "fill_ids",
        "filled_quantity",
        "oco_group",
        "order_type",
        "post_only",
        "price",
        "quantity",
        "reduce_only",
        "side",
        "status",
        "strategy_id",
        "symbol",
        "tag",
        "time_in_force",
        "trailing_offset",
        "trigger_price",
        "ts_init",
        "ts_last",
        "venue",
        "venue_order_id",
    )

    def __init__(self, request: OrderRequest, client_order_id: str, ts_init: int) -> None:
        self.client_order_id = client_order_id
        self.strategy_id = request.strategy_id
        self.venue = request.venue
        self.symbol = request.symbol
        self.side: OrderSide = request.side
        self.order_type: OrderType = request.order_type
        self.quantity = request.quantity
        self.price = request.price
        self.trigger_price = request.trigger_price
        self.time_in_force: TimeInForce = request.time_in_force
        self.post_only = request.post_only
        self.reduce_only = request.reduce_only
        self.tag = request.tag
        self.trailing_offset = request.trailing_offset
        self.oco_group = request.oco_group
        self.status = S.NEW
        self.filled_quantity = 0.0
        self.avg_price = 0.0
        self.fees = 0.0
        self.fill_ids: set[str] = set()
        self.ts_init = ts_init
        self.ts_last = ts_init
        self.venue_order_id = ""

    @classmethod
    def from_snapshot(
        cls, snapshot: OrderSnapshot, fill_ids: frozenset[str] = frozenset()
    ) -> Order:
        """Rebuild an order from its saved state (a restart); ``fill_ids`` are those applied."""
        request = OrderRequest(
            strategy_id=snapshot.strategy_id,
            venue=snapshot.venue,
            symbol=snapshot.symbol,
            side=snapshot.side,
            quantity=snapshot.quantity,
            order_type=snapshot.order_type,
            price=snapshot.price,
            trigger_price=snapshot.trigger_price,
            time_in_force=snapshot.time_in_force,
            post_only=snapshot.post_only,
            reduce_only=snapshot.reduce_only,
            tag=snapshot.tag,
            trailing_offset=snapshot.trailing_offset,
            oco_group=snapshot.oco_group,
        )
        order = cls(request, snapshot.client_order_id, snapshot.ts_init)
        order.venue_order_id = snapshot.venue_order_id
        order.status = snapshot.status
        order.filled_quantity = snapshot.filled_quantity
        order.avg_price = snapshot.avg_price
        order.fees = snapshot.fees
        order.fill_ids = set(fill_ids)
        order.ts_last = snapshot.ts_last
        return order

    @property
    def leaves_quantity(self) -> float:
        """Return the quantity still to fill."""
        return max(0.0, self.quantity - self.filled_quantity)

    @property
    def is_open(self) -> bool:
        """Return True while the order rests at the venue and may fill."""
        return self.status in OPEN

    @property
    def is_terminal(self) -> bool:
        """Return True once the order can change no more."""
        return self.status in TERMINAL

    def transition(
        self, status: OrderStatus, ts_event: int, ts_init: int, reason: str = ""
    ) -> OrderEvent:
        """Move to ``status`` (not a fill) and return the event; raise if illegal."""
        if status in (S.PARTIALLY_FILLED, S.FILLED):
            raise IllegalTransitionError(f"{self.client_order_id}: fills go through apply_fill")
        return self._move(status, ts_event, ts_init, reason)

    def apply_fill(self, fill: Fill, ts_init: int) -> OrderEvent | None:
        """Add ``fill``; return the event, or None for a fill id already applied (idempotent)."""
        if fill.fill_id in self.fill_ids:
            return None
        if fill.quantity > self.leaves_quantity + _QTY_EPSILON:
            raise OrderError(
                f"{self.client_order_id}: fill of {fill.quantity} exceeds the "
                f"{self.leaves_quantity} left"
            )
        done = self.filled_quantity + fill.quantity
        complete = done >= self.quantity - _QTY_EPSILON
        if complete:
            target = S.FILLED
        elif self.status is S.CANCEL_PENDING:
            target = S.CANCEL_PENDING
        else:
            target = S.PARTIALLY_FILLED
        event = self._move(target, fill.ts_event, ts_init, f"fill {fill.fill_id}")
        self.avg_price = (self.avg_price * self.filled_quantity + fill.price * fill.quantity) / done
        self.filled_quantity = self.quantity if complete else done
        self.fees += fill.fee
        self.fill_ids.add(fill.fill_id)
        # The event was built before the quantities moved; rebuild it with the new fill total.
        return self._with_total(event)

    def apply_late_fill(self, fill: Fill, ts_init: int) -> OrderEvent | None:
        """Add a fill the venue reports after the order was cancelled or expired.

        Live venues deliver out of order: a partial fill that happened before the
        cancel may arrive after it. The status stays as it is (the event goes from
        the status to itself); quantities, average price and fees move. Return None
        for a fill id already applied; raise ``OrderError`` when it cannot fit.
        """
        if fill.fill_id in self.fill_ids:
            return None
        if self.status not in (S.CANCELLED, S.EXPIRED):
            raise OrderError(f"{self.client_order_id}: a late fill needs a cancelled order")
        if fill.quantity > self.leaves_quantity + _QTY_EPSILON:
            raise OrderError(
                f"{self.client_order_id}: late fill of {fill.quantity} exceeds the "
                f"{self.leaves_quantity} left"
            )
        done = self.filled_quantity + fill.quantity
        self.avg_price = (self.avg_price * self.filled_quantity + fill.price * fill.quantity) / done
        self.filled_quantity = min(done, self.quantity)
        self.fees += fill.fee
        self.fill_ids.add(fill.fill_id)
        self.ts_last = ts_init
        return self._with_total(
            OrderEvent(
                client_order_id=self.client_order_id,
                strategy_id=self.strategy_id,
                venue=self.venue,
                symbol=self.symbol,
                previous=self.status,
                status=self.status,
                filled_quantity=self.filled_quantity,
                reason=f"late fill {fill.fill_id}",
                ts_event=fill.ts_event,
                ts_init=ts_init,
            )
        )

    def _with_total(self, event: OrderEvent) -> OrderEvent:
        return OrderEvent(
            client_order_id=event.client_order_id,
            strategy_id=event.strategy_id,
            venue=event.venue,
            symbol=event.symbol,
            previous=event.previous,
            status=event.status,
            filled_quantity=self.filled_quantity,
            reason=event.reason,
            ts_event=event.ts_event,
            ts_init=event.ts_init,
            venue_order_id=self.venue_order_id,
        )

    def _move(self, status: OrderStatus, ts_event: int, ts_init: int, reason: str) -> OrderEvent:
        previous = self.status
        if status not in LEGAL_TRANSITIONS[previous]:
            raise IllegalTransitionError(
                f"{self.client_order_id}: illegal transition {previous} -> {status}"
            )
        self.status = status
        self.ts_last = ts_init
        return OrderEvent(
            client_order_id=self.client_order_id,
            strategy_id=self.strategy_id,
            venue=self.venue,
            symbol=self.symbol,
            previous=previous,
            status=status,
            filled_quantity=self.filled_quantity,
            reason=reason,
            ts_event=ts_event,
            ts_init=ts_init,
            venue_order_id=self.venue_order_id,
        )

    def snapshot(self) -> OrderSnapshot:
        """Return the order's current state as a frozen record."""
        return OrderSnapshot(
            client_order_id=self.client_order_id,
            strategy_id=self.strategy_id,
            venue=self.venue,
            symbol=self.symbol,
            side=self.side,
            order_type=self.order_type,
            quantity=self.quantity,
            price=self.price,
            trigger_price=self.trigger_price,
            time_in_force=self.time_in_force,
            post_only=self.post_only,
            reduce_only=self.reduce_only,
            status=self.status,
            filled_quantity=self.filled_quantity,
            avg_price=self.avg_price,
            fees=self.fees,
            tag=self.tag,
            ts_init=self.ts_init,
            ts_last=self.ts_last,
            trailing_offset=self.trailing_offset,
            oco_group=self.oco_group,
            venue_order_id=self.venue_order_id,
        )
