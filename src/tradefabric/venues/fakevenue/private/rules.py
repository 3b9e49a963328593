"""A symbol's trading rules as data: tick, lot, minimum notional, price band, post-only.

Checked before an order reaches the book, in the order venues check them;
the first broken rule is returned as a neutral ``RejectReason``.
"""

from __future__ import annotations

import math

import msgspec

from tradefabric.model.orders import OrderSide, OrderType
from tradefabric.venues.fakevenue.private.model import OrderParams, RejectReason

_EPS = 1e-9


class SymbolRules(msgspec.Struct, frozen=True, kw_only=True):
    """One symbol's filters and the assets it trades (``base``/``quote``)."""

    symbol: str
    base: str
    quote: str
    tick: float
    lot: float
    min_qty: float
    min_notional: float
    band_up: float = 5.0
    """A limit price above ``reference * band_up`` is refused (Binance's PERCENT_PRICE)."""
    band_down: float = 0.2
    maker_fee: float = 0.001
    taker_fee: float = 0.001


def on_grid(value: float, step: float) -> bool:
    """Return True when ``value`` is a whole multiple of ``step`` (to 1e-9 of a step)."""
    ratio = value / step
    return abs(ratio - round(ratio)) < 1e-6


def lot_floor(value: float, step: float) -> float:
    """Return ``value`` rounded down to a multiple of ``step``, printed cleanly."""
    steps = math.floor(value / step + _EPS)
    decimals = max(0, -math.floor(math.log10(step) + _EPS))
    return round(steps * step, decimals + 2)


def check(rules: SymbolRules, order: OrderParams, reference: float) -> RejectReason | None:
    """Return the first rule ``order`` breaks, None when it passes.

    ``reference`` is the price a market order is valued at (the opposite touch)
    and the centre of the price band; NaN when the book is empty.
    """
    if order.quantity < rules.min_qty - _EPS or not on_grid(order.quantity, rules.lot):
        return RejectReason.LOT_SIZE
    price = order.price
    if order.order_type is OrderType.LIMIT:
        if price is None or price <= 0 or not on_grid(price, rules.tick):
            return RejectReason.PRICE_TICK
        if not math.isnan(reference) and not (
            reference * rules.band_down <= price <= reference * rules.band_up
        ):
            return RejectReason.PRICE_BAND
    valued_at = price if price is not None else reference
    if not math.isnan(valued_at) and valued_at * order.quantity < rules.min_notional - _EPS:
        return RejectReason.MIN_NOTIONAL
    return None


def would_take(order: OrderParams, best_bid: float, best_ask: float) -> bool:
    """Return True when a limit ``order`` would match the book at arrival."""
    if order.price is None:
        return True
    if order.side is OrderSide.BUY:
        return not math.isnan(best_ask) and order.price >= best_ask
    return not math.isnan(best_bid) and order.price <= best_bid
