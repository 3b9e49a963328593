"""Pre-trade checks as pure functions: one order and a frozen view of the state in,
a rejection reason (or None) out.

Each rule is a plain function so it can be tested on its own and read in one
place; the engine builds the ``PreTradeInput`` and runs them in ``RULES`` order,
stopping at the first rejection.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import msgspec

from tradefabric.model.orders import OrderSide, OrderType
from tradefabric.risk.config import RiskConfig


class PreTradeInput(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the checks may look at for one order."""

    venue: str
    symbol: str
    side: OrderSide
    order_type: OrderType
    quantity: float
    limit_price: float | None
    """The order's limit price (or stop trigger for stop orders); None for market orders."""
    reference_price: float
    """The price notionals are computed at: the limit price, else the last price."""
    reduce_only: bool
    position_quantity: float
    """Signed quantity held on (venue, symbol) now."""
    other_exposure: float
    """Gross notional of every other position."""
    open_orders: int
    consensus_price: float | None
    """The integrity layer's consensus price for the symbol; None when it has none."""
    orders_in_window: int
    """Orders sent to this venue within the rate window, this one excluded."""
    blacklist_reason: str
    """Why the symbol is blacklisted now, "" when it is not."""
    resting_buy_prices: tuple[float, ...]
    """Limit prices of our own open buy orders on (venue, symbol)."""
    resting_sell_prices: tuple[float, ...]
    halted: bool
    strategy_paused: bool = False
    """The order's strategy was paused by a person (``RiskEngine.pause``)."""
    venue_tripped: str = ""
    """Why the order's venue's circuit breaker is open ("" when it is closed)."""


Check = Callable[[PreTradeInput, RiskConfig], str | None]


def check_halt(order: PreTradeInput, _config: RiskConfig) -> str | None:
    """Reject everything while trading is halted."""
    return "trading halted: a person must reset the risk engine" if order.halted else None


def check_paused(order: PreTradeInput, _config: RiskConfig) -> str | None:
    """Reject the orders of a strategy a person paused."""
    return "strategy paused by an operator" if order.strategy_paused else None


def check_venue_tripped(order: PreTradeInput, _config: RiskConfig) -> str | None:
    """Reject orders on a venue whose circuit breaker tripped (until it is re-armed)."""
    return f"venue {order.venue} tripped: {order.venue_tripped}" if order.venue_tripped else None


def check_order_notional(order: PreTradeInput, config: RiskConfig) -> str | None:
    """Reject an order worth more than ``max_order_notional``."""
    notional = order.quantity * order.reference_price
    if notional > config.max_order_notional:
        return f"order notional {notional:.2f} > max {config.max_order_notional:.2f}"
    return None


def _projected_quantity(order: PreTradeInput) -> float:
    return order.position_quantity + order.quantity * order.side.sign


def check_position(order: PreTradeInput, config: RiskConfig) -> str | None:
    """Reject an order that would take the symbol's position past ``max_position_notional``."""
    projected = abs(_projected_quantity(order)) * order.reference_price
    if projected > config.max_position_notional and projected > _current_notional(order):
        return f"position notional {projected:.2f} > max {config.max_position_notional:.2f}"
    return None


def _current_notional(order: PreTradeInput) -> float:
    return abs(order.position_quantity) * order.reference_price


def check_total_position(order: PreTradeInput, config: RiskConfig) -> str | None:
    """Reject an order that would take gross exposure past ``max_total_notional``."""
    projected = abs(_projected_quantity(order)) * order.reference_price
    total = order.other_exposure + projected
    if total > config.max_total_notional and projected > _current_notional(order):
        return f"total notional {total:.2f} > max {config.max_total_notional:.2f}"
    return None


def check_open_orders(order: PreTradeInput, config: RiskConfig) -> str | None:
    """Reject a new order when ``max_open_orders`` are already open."""
    if order.open_orders >= config.max_open_orders:
        return f"{order.open_orders} open orders >= max {config.max_open_orders}"
    return None


def check_price_band(order: PreTradeInput, config: RiskConfig) -> str | None:
    """Reject a limit/stop price further than ``price_band_bps`` from the consensus price."""
    consensus = order.consensus_price
    if order.limit_price is None or consensus is None or not math.isfinite(consensus):
        return None
    deviation = abs(order.limit_price - consensus) / consensus * 10_000.0
    if deviation > config.price_band_bps:
        return (
            f"price {order.limit_price} is {deviation:.1f} bps from consensus {consensus} "
            f"> band {config.price_band_bps:.1f}"
        )
    return None


def check_rate_limit(order: PreTradeInput, config: RiskConfig) -> str | None:
    """Reject an order past ``max_orders_per_window`` for its venue."""
    if order.orders_in_window >= config.max_orders_per_window:
        return (
            f"{order.orders_in_window} orders to {order.venue} in {config.rate_window_s:g}s "
            f">= max {config.max_orders_per_window}"
        )
    return None


def check_blacklist(order: PreTradeInput, _config: RiskConfig) -> str | None:
    """Reject orders on blacklisted (illiquid or wide-spread) symbols, unless reduce-only."""
    if order.blacklist_reason and not order.reduce_only:
        return f"{order.venue}:{order.symbol} blacklisted: {order.blacklist_reason}"
    return None


def check_self_trade(order: PreTradeInput, config: RiskConfig) -> str | None:
    """Reject an order that could match one of our own resting orders (wash trade)."""
    if not config.self_trade_prevention:
        return None
    marketable = order.order_type is not OrderType.LIMIT
    price = order.limit_price
    if order.side is OrderSide.BUY:
        hits = [p for p in order.resting_sell_prices if marketable or (price or 0.0) >= p]
    else:
        hits = [p for p in order.resting_buy_prices if marketable or (price or 0.0) <= p]
    if hits:
        return f"could match our own resting {order.side.opposite} order at {hits[0]}"
    return None


RULES: tuple[tuple[str, Check], ...] = (
    ("halt", check_halt),
    ("strategy_paused", check_paused),
    ("venue_tripped", check_venue_tripped),
    ("blacklist", check_blacklist),
    ("rate_limit", check_rate_limit),
    ("max_open_orders", check_open_orders),
    ("max_order_notional", check_order_notional),
    ("max_position", check_position),
    ("max_total_position", check_total_position),
    ("price_band", check_price_band),
    ("self_trade", check_self_trade),
)
"""Every pre-trade rule, in the order the engine applies them."""


def first_rejection(order: PreTradeInput, config: RiskConfig) -> tuple[str, str] | None:
    """Return (rule, reason) of the first rule that rejects ``order``, or None."""
    for name, check in RULES:
        reason = check(order, config)
        if reason is not None:
            return name, reason
    return None
