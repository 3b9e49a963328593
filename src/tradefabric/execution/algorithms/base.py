"""The execution algorithm plugin interface: what an algorithm is given and must do.

An ``ExecAlgorithm`` works one parent order. It never talks to a venue: it asks its
``AlgoContext`` to spawn child orders (each goes through the execution engine and
its risk check like any order), to cancel them, and to call it back later on the
algorithm clock. The engine tells it when a child finished and when its book moved.
The algorithm clock is market time (the venue time of the latest book change or
trade), so the same data gives the same children in a backtest and in paper trading.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from tradefabric.core.errors import FatalError
from tradefabric.data.order_book import OrderBook
from tradefabric.execution.algorithms.tactics import VenueTactics
from tradefabric.execution.precision import Precision
from tradefabric.model.orders import (
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    OrderType,
    TimeInForce,
)

if TYPE_CHECKING:
    from collections.abc import Callable


POST_ONLY_REJECTED = "post-only rejected"
"""The ``tag`` a child's snapshot carries in ``on_child_done`` when the venue refused it
for being post-only (it would have taken)."""


class AlgoError(FatalError):
    """An execution algorithm was asked for something it cannot do."""


class AlgoContext(Protocol):
    """What the engine gives an algorithm for one parent (``engine._Parent``)."""

    parent_id: str
    side: OrderSide
    quantity: float
    price: float | None
    post_only: bool
    rng: random.Random
    tactics: VenueTactics
    precision: Precision | None
    ts_init: int
    """When the parent arrived (algorithm clock), kept across restarts."""

    @property
    def filled(self) -> float:
        """Return the quantity filled so far."""
        ...

    @property
    def working(self) -> float:
        """Return the unfilled quantity of children still open (or still to be sent)."""
        ...

    @property
    def active(self) -> bool:
        """Return True while the parent accepts new children."""
        ...

    def now_ns(self) -> int:
        """Return the algorithm clock's time (market time)."""
        ...

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
        """Send a child order (after a random delay of up to ``delay_ms`` when given)."""
        ...

    def cancel(self, child_id: str) -> None:
        """Cancel one open child."""
        ...

    def cancel_children(self) -> None:
        """Cancel every open child."""
        ...

    def open_children(self) -> list[OrderSnapshot]:
        """Return the children still open."""
        ...

    def alarm(self, at_ns: int, callback: Callable[[int], None]) -> None:
        """Call ``callback(at_ns)`` once at ``at_ns`` on the algorithm clock."""
        ...

    def book(self) -> OrderBook | None:
        """Return the parent's valid L2 book, or None."""
        ...

    def finish(self, reason: str) -> None:
        """Say the algorithm sends nothing more; the parent ends when its children do."""
        ...


class ExecAlgorithm:
    """Base of execution algorithms; subclasses set ``name`` and ``Params``.

    Override ``start`` (send the first children, set alarms), and when needed
    ``on_child_done`` (a child reached a terminal state), ``on_book`` (the book of
    the parent's instrument changed) and ``on_cancel`` (the parent is cancelled;
    the engine cancels the open children itself).
    """

    name: ClassVar[str] = ""
    Params: ClassVar[type[Any]]

    def __init__(self, ctx: AlgoContext, params: Any) -> None:
        self.ctx = ctx
        self.params = params
        self.active = True
        """False once the parent is finished or cancelled: alarms then do nothing."""

    def start(self) -> None:
        """Begin working the parent."""
        raise NotImplementedError

    def resume(self) -> None:
        """Go on working a parent restored after a restart (its children adopted).

        The default starts again on what is left, unless a child is still open (a live
        venue kept it): the algorithm then goes on when that child finishes.
        """
        if not self.ctx.open_children():
            self.start()

    def on_child_done(self, child: OrderSnapshot) -> None:
        """Handle a child that reached a terminal state."""

    def on_book(self, book: OrderBook) -> None:
        """Handle a change of the parent's book."""

    def on_cancel(self) -> None:
        """Stop: the parent is cancelled."""
        self.active = False

    def child_size(self) -> float:
        """Return the typical child quantity (what the pre-trade forecast is asked about)."""
        return self.ctx.quantity

    @property
    def remaining(self) -> float:
        """Return the quantity neither filled nor working."""
        return max(0.0, self.ctx.quantity - self.ctx.filled - self.ctx.working)

    def lot(self, quantity: float) -> float:
        """Return ``quantity`` rounded down to the instrument's lot."""
        precision = self.ctx.precision
        return quantity if precision is None else precision.quantity(quantity)


TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)
