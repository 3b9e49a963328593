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


STOP_KINDS = frozenset({OrderType.STOP_MARKET, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP})
"""Orders triggered by the price moving against them (a buy stop above the market)."""
TRIGGER_KINDS = STOP_KINDS | {OrderType.TAKE_PROFIT}
"""Orders that wait for a trigger before they take or rest."""


class SimOrder:
    """An order as the venue holds it: what is left, when it arrives, its queue estimate."""

    __slots__ = (
        "active",
        "arrival_ns",
        "buy",
        "cancel_at_ns",
        "client_order_id",
        "extreme",
        "leaves",
        "oco_group",
        "order_type",
        "post_only",
        "price",
        "queue_ahead",
        "reduce_only",
        "seq",
        "siblings",
        "side",
        "strategy_id",
        "symbol",
        "time_in_force",
        "trailing_offset",
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
        self.trailing_offset = order.trailing_offset or 0.0
        self.extreme = math.nan
        """A trailing stop's best price since arrival (highest for a sell, lowest for a buy)."""
        self.oco_group = order.oco_group
        self.siblings: list[SimOrder] = []
        """The orders of its OCO group (itself included); empty outside a group."""

    @property
    def takes_at_any_price(self) -> bool:
        """Return True for market orders and triggered stop-market/take-profit/trailing."""
        return self.order_type is OrderType.MARKET or (
            self.triggered and self.order_type is not OrderType.STOP_LIMIT
        )

    @property
    def rests_as_limit(self) -> bool:
        """Return True for a limit order, or a stop-limit once triggered."""
        return self.order_type is OrderType.LIMIT or (
            self.triggered and self.order_type is OrderType.STOP_LIMIT
        )

    def marketable(self, best_opposite: float) -> bool:
        """Return True if the order would take liquidity offered at ``best_opposite``."""
        if self.takes_at_any_price:
            return True
        if not self.rests_as_limit or math.isnan(best_opposite):
            return False
        return best_opposite <= self.price if self.buy else best_opposite >= self.price

    def priority(self) -> tuple[float, int]:
        """Return the sort key of price-time priority among our own resting orders."""
        if math.isnan(self.price):
            return (0.0, self.seq)
        return (-self.price if self.buy else self.price, self.seq)

    def trigger_reached(self, high: float, low: float) -> bool:
        """Return True if prices ranging over [low, high] reach the trigger.

        Stops trigger against us (buy: high at or above; sell: low at or below),
        take-profits in our favour (buy: low at or below; sell: high at or above).
        """
        if self.order_type is OrderType.TAKE_PROFIT:
            return low <= self.trigger_price if self.buy else high >= self.trigger_price
        return high >= self.trigger_price if self.buy else low <= self.trigger_price

    def start_trailing(self, reference: float) -> None:
        """Anchor a trailing stop at ``reference`` (its first price) unless anchored."""
        if math.isnan(self.extreme):
            self.extreme = reference
            if math.isnan(self.trigger_price):
                offset = self.trailing_offset
                self.trigger_price = reference + offset if self.buy else reference - offset
        self.trail(reference)

    def trail(self, best: float) -> None:
        """Move a trailing stop's trigger after a new best price; it never moves back."""
        offset = self.trailing_offset
        if self.buy:
            self.extreme = min(self.extreme, best)
            self.trigger_price = min(self.trigger_price, self.extreme + offset)
        else:
            self.extreme = max(self.extreme, best)
            self.trigger_price = max(self.trigger_price, self.extreme - offset)


def cancel_siblings(order: SimOrder, ts_event: int) -> list[SimReport]:
    """Cancel the rest of ``order``'s OCO group after it filled; return the reports."""
    reports: list[SimReport] = []
    for sibling in order.siblings:
        if sibling is order or sibling.leaves <= 0.0:
            continue
        sibling.leaves = 0.0
        if not sibling.active:
            sibling.active = True
            reports.append(SimReport(ReportKind.ACCEPTED, sibling, ts_event))
        reason = f"OCO: {order.client_order_id} filled"
        reports.append(SimReport(ReportKind.CANCELLED, sibling, ts_event, reason))
    return reports


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
