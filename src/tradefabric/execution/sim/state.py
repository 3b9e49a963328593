"""The simulated venue's own view of an order, and the fills and reports it produces."""

from __future__ import annotations

import enum
import math

import msgspec

from tradefabric.model.orders import (
    LiquiditySide,
    OrderSide,
    OrderSnapshot,
    OrderType,
    TimeInForce,
)


class ReportKind(enum.StrEnum):
    """What the simulated venue tells the execution engine."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FILL = "fill"
    CANCELLED = "cancelled"


class SimReport(msgspec.Struct, frozen=True, gc=False):
    """One report waiting to be delivered (delivered after matching, never during it)."""

    kind: ReportKind
    order: SimOrder
    ts_event: int
    reason: str = ""
    price: float = 0.0
    quantity: float = 0.0
    liquidity: LiquiditySide = LiquiditySide.TAKER
    slippage_bps: float = 0.0


class SimOrder:
    """An order as the venue holds it: what is left, when it arrives, its queue estimate."""

    __slots__ = (
        "active",
        "arrival_ns",
        "buy",
        "cancel_at_ns",
        "client_order_id",
        "leaves",
        "order_type",
        "post_only",
        "price",
        "queue_ahead",
        "reduce_only",
        "seq",
        "side",
        "strategy_id",
        "symbol",
        "time_in_force",
        "trigger_price",
        "triggered",
    )

    def __init__(self, order: OrderSnapshot, arrival_ns: int, seq: int) -> None:
        self.client_order_id = order.client_order_id
        self.strategy_id = order.strategy_id
        self.symbol = order.symbol
        self.side: OrderSide = order.side
        self.buy = order.side is OrderSide.BUY
        self.order_type: OrderType = order.order_type
        self.time_in_force: TimeInForce = order.time_in_force
        self.post_only = order.post_only
        self.reduce_only = order.reduce_only
        self.price = order.price if order.price is not None else math.nan
        self.trigger_price = order.trigger_price if order.trigger_price is not None else math.nan
        self.leaves = order.quantity - order.filled_quantity
        self.arrival_ns = arrival_ns
        self.seq = seq
        self.active = False
        self.triggered = False
        self.queue_ahead = 0.0
        self.cancel_at_ns = -1
        """When a cancel request reaches the venue; -1 while none is on its way."""

    @property
    def takes_at_any_price(self) -> bool:
        """Return True for market orders and triggered stops."""
        return self.order_type is OrderType.MARKET or self.triggered

    def marketable(self, best_opposite: float) -> bool:
        """Return True if the order would take liquidity offered at ``best_opposite``."""
        if self.takes_at_any_price:
            return True
        if self.order_type is not OrderType.LIMIT or math.isnan(best_opposite):
            return False
        return best_opposite <= self.price if self.buy else best_opposite >= self.price

    def priority(self) -> tuple[float, int]:
        """Return the sort key of price-time priority among our own resting orders."""
        return (-self.price if self.buy else self.price, self.seq)


def record_fill(
    order: SimOrder,
    positions: dict[str, float],
    *,
    ts_event: int,
    price: float,
    quantity: float,
    liquidity: LiquiditySide,
    slippage_bps: float,
) -> SimReport:
    """Take ``quantity`` off ``order`` and onto the venue's net ``positions``; return the report."""
    positions[order.symbol] = positions.get(order.symbol, 0.0) + (
        quantity if order.buy else -quantity
    )
    order.leaves -= quantity
    if order.leaves < 1e-12:
        order.leaves = 0.0  # float dust from partial fills is no order
    return SimReport(
        ReportKind.FILL, order, ts_event, price=price, quantity=quantity,
        liquidity=liquidity, slippage_bps=slippage_bps,
    )  # fmt: skip
