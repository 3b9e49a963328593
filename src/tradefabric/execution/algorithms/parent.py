"""One parent order's state and the ``AlgoContext`` its algorithm works through."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from tradefabric.core.clock import SimClock
from tradefabric.core.time import NS_PER_MS
from tradefabric.data.order_book import OrderBook
from tradefabric.execution.algorithms.base import ExecAlgorithm
from tradefabric.execution.algorithms.tactics import tactics_for
from tradefabric.model.data import Trade
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import (
    ChildMark,
    Fill,
    LiquiditySide,
    OrderRequest,
    OrderSnapshot,
    OrderStatus,
    OrderType,
    ParentSnapshot,
    TimeInForce,
)

if TYPE_CHECKING:
    from tradefabric.execution.algorithms.engine import ExecAlgorithmEngine

_ALARM_REPEAT_NS = 10**18
"""An alarm is a timer whose next due time never comes in practice."""
EPSILON = 1e-12


class _Child:
    __slots__ = ("filled", "open", "post_only", "quantity")

    def __init__(self, quantity: float, post_only: bool) -> None:
        self.quantity = quantity
        self.filled = 0.0
        self.open = True
        self.post_only = post_only


class Parent:
    """A parent order: its children, its fills, and the context given to its algorithm."""

    def __init__(
        self, engine: ExecAlgorithmEngine, request: OrderRequest, parent_id: str, seed: int
    ) -> None:
        self._engine = engine
        self.request = request
        self.parent_id = parent_id
        self.side = request.side
        self.quantity = request.quantity
        self.price = request.price
        self.post_only = request.post_only
        # Seeded by the run's seed and the parent's id: the same parent jitters the same way.
        self.rng = random.Random(f"{seed}:{parent_id}")
        self.tactics = tactics_for(request.venue)
        self.precision = engine.execution.precision(InstrumentId(request.venue, request.symbol))
        self.children: dict[str, _Child] = {}
        self.marks: list[ChildMark] = []
        self.pending = 0.0
        """Quantity of delayed children not sent yet."""
        self.algorithm: ExecAlgorithm | None = None
        self.status = OrderStatus.SUBMITTED
        self.reason = ""
        self.notional = 0.0
        self.fees = 0.0
        self.maker = 0.0
        self.market_volume = 0.0
        self.market_notional = 0.0
        self.arrival_price: float | None = None
        self.forecast_bps: float | None = None
        self.done_sending = False
        self.cancelling = False
        self.ts_init = engine.clock.timestamp_ns()
        self.ts_last = self.ts_init
        self._next_child = 1
        """The number of the next child: ids are never reused, across restarts too."""

    @classmethod
    def from_snapshot(
        cls, engine: ExecAlgorithmEngine, snapshot: ParentSnapshot, seed: int
    ) -> Parent:
        """Rebuild a parent a previous run of the node stored (its children: ``adopt``)."""
        request = OrderRequest(
            strategy_id=snapshot.strategy_id, venue=snapshot.venue, symbol=snapshot.symbol,
            side=snapshot.side, quantity=snapshot.quantity,
            order_type=OrderType.MARKET if snapshot.price is None else OrderType.LIMIT,
            price=snapshot.price, post_only=snapshot.post_only,
            reduce_only=snapshot.reduce_only, client_order_id=snapshot.parent_id,
            exec_algorithm=snapshot.exec_algorithm, exec_params=snapshot.exec_params,
        )  # fmt: skip
        parent = cls(engine, request, snapshot.parent_id, seed)
        parent.status = snapshot.status
        parent.reason = snapshot.reason
        parent.marks = list(snapshot.marks)
        parent.arrival_price = snapshot.arrival_price
        parent.forecast_bps = snapshot.forecast_bps
        parent.market_volume = snapshot.market_volume
        parent.market_notional = snapshot.market_notional
        parent.ts_init, parent.ts_last = snapshot.ts_init, snapshot.ts_last
        return parent

    def adopt(self, orders: list[OrderSnapshot], fills: list[Fill]) -> None:
        """Take over the children sent before a restart: their fills count, their ids stay used.

        The orders (restored from the state store, caught up from the audit log) are the
        truth: a child sent after the parent's last stored state is still found by its tag.
        """
        for order in sorted(orders, key=child_number):
            if order.client_order_id in self.children:
                continue
            child = _Child(order.quantity, order.post_only)
            child.filled = order.filled_quantity
            child.open = order.status not in _FINAL
            self.children[order.client_order_id] = child
            self._next_child = max(self._next_child, child_number(order) + 1)
        for fill in fills:
            if fill.client_order_id in self.children:
                self._add_fill(fill)

    # AlgoContext -----------------------------------------------------------------------------

    @property
    def filled(self) -> float:
        """Return the quantity filled so far (from the children's order events)."""
        return sum(c.filled for c in self.children.values())

    @property
    def working(self) -> float:
        """Return the unfilled quantity of open children plus delayed ones not sent."""
        open_left = sum(c.quantity - c.filled for c in self.children.values() if c.open)
        return open_left + self.pending

    @property
    def clock(self) -> SimClock:
        """Return the algorithm clock."""
        return self._engine.clock

    def now_ns(self) -> int:
        """Return the algorithm clock's time."""
        return self._engine.clock.timestamp_ns()

    def spawn(
        self,
        quantity: float,
        *,
        order_type: OrderType = OrderType.MARKET,
        price: float | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        post_only: bool = False,
        delay_ms: float = 0.0,
    ) -> None:
        """Send a child now, or after uniform(0, ``delay_ms``) on the algorithm clock."""
        request = OrderRequest(
            strategy_id=self.request.strategy_id, venue=self.request.venue,
            symbol=self.request.symbol, side=self.side, quantity=quantity,
            order_type=order_type, price=price, time_in_force=time_in_force,
            post_only=post_only, reduce_only=self.request.reduce_only,
            tag=f"{CHILD_TAG}{self.parent_id}",
        )  # fmt: skip
        if delay_ms <= 0.0:
            self._send(request)
            return
        delay_ns = max(1, int(self.rng.uniform(0.0, delay_ms) * NS_PER_MS))
        self.pending += quantity

        def send(_due: int) -> None:
            self.pending -= quantity
            # Sent even after the algorithm finished (it was decided before); not after a cancel.
            if not self.cancelling and self.status not in _FINAL:
                self._send(request)
            self._engine.settle(self)

        self.alarm(self.now_ns() + delay_ns, send)

    def _send(self, request: OrderRequest) -> None:
        child_id = f"{self.parent_id}-c{self._next_child}"
        self._next_child += 1
        self.children[child_id] = _Child(request.quantity, request.post_only)
        self.marks.append(self._engine.mark(child_id, request))
        self._engine.register_child(child_id, self)
        self._engine.execution.submit(msgspec.structs.replace(request, client_order_id=child_id))
        self._engine.publish(self)

    def cancel(self, child_id: str) -> None:
        """Cancel one open child."""
        child = self.children.get(child_id)
        if child is not None and child.open:
            self._engine.execution.cancel(child_id)

    def cancel_children(self) -> None:
        """Cancel every open child."""
        for child_id in [c for c, child in self.children.items() if child.open]:
            self.cancel(child_id)

    def open_children(self) -> list[OrderSnapshot]:
        """Return the open children's current state."""
        out = []
        for child_id, child in self.children.items():
            snapshot = self._engine.execution.order(child_id) if child.open else None
            if snapshot is not None:
                out.append(snapshot)
        return out

    def alarm(self, at_ns: int, callback: Callable[[int], None]) -> None:
        """Call ``callback`` once at ``at_ns`` (at the next market event if already due)."""
        clock = self._engine.clock
        fired = False

        def fire(due: int) -> None:
            nonlocal fired
            if fired:
                return
            fired = True
            self._engine.guarded(self, functools.partial(callback, due))

        clock.set_timer(_ALARM_REPEAT_NS, fire, max(at_ns, clock.timestamp_ns() + 1))

    def book(self) -> OrderBook | None:
        """Return the parent's valid book, or None."""
        return self._engine.book(self.request.venue, self.request.symbol)

    def finish(self, reason: str) -> None:
        """Send nothing more; the parent ends when its open children do."""
        self.done_sending = True
        if reason and not self.reason:
            self.reason = reason
        self._engine.settle(self)

    # Engine side ------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Return True while the algorithm may still send children."""
        return not (self.done_sending or self.cancelling or self.status in _FINAL)

    def on_child_event(self, child_id: str, status: OrderStatus, filled: float) -> bool:
        """Apply a child's order event; return True when the child just finished."""
        child = self.children[child_id]
        child.filled = filled
        if status in _FINAL and child.open:
            child.open = False
            return True
        return False

    def on_fill(self, fill: Fill) -> None:
        """Add a child's fill to the parent's price, fees and maker share."""
        self._add_fill(fill)
        self.ts_last = self.now_ns()

    def _add_fill(self, fill: Fill) -> None:
        self.notional += fill.price * fill.quantity
        self.fees += fill.fee
        if fill.liquidity is LiquiditySide.MAKER:
            self.maker += fill.quantity

    def on_market_trade(self, trade: Trade) -> None:
        """Add a market trade of the parent's instrument to its market VWAP."""
        if trade.ts_event > self.ts_init:
            self.market_volume += trade.size
            self.market_notional += trade.price * trade.size

    def is_post_only_rejection(self, child_id: str, previous: OrderStatus) -> bool:
        """Return True for a venue's rejection of a post-only child (it would have taken).

        Decided by where the rejection came from, not its text: a child rejected after
        it was sent (not by risk, which rejects a NEW order) was refused by the venue.
        """
        return self.children[child_id].post_only and previous is not OrderStatus.NEW

    def snapshot(self) -> ParentSnapshot:
        """Return the parent's current state."""
        filled = self.filled
        request = self.request
        return ParentSnapshot(
            parent_id=self.parent_id, strategy_id=request.strategy_id, venue=request.venue,
            symbol=request.symbol, side=request.side, quantity=self.quantity,
            exec_algorithm=request.exec_algorithm, exec_params=request.exec_params,
            price=request.price, status=self.status, filled_quantity=filled,
            avg_price=self.notional / filled if filled > 0 else 0.0, fees=self.fees,
            maker_quantity=self.maker, children=tuple(self.children),
            arrival_price=self.arrival_price, forecast_bps=self.forecast_bps,
            reason=self.reason, ts_init=self.ts_init, ts_last=self.ts_last,
            marks=tuple(self.marks), market_volume=self.market_volume,
            market_notional=self.market_notional, post_only=request.post_only,
            reduce_only=request.reduce_only,
        )  # fmt: skip


CHILD_TAG = "algo "
"""A child order's tag is this and its parent's id."""


def child_number(order: OrderSnapshot) -> int:
    """Return the number of a child order (``<parent id>-c<n>``); 0 when it has none."""
    _, _, number = order.client_order_id.rpartition("-c")
    return int(number) if number.isdigit() else 0


_FINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)
