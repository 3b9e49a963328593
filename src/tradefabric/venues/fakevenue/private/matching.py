"""Matching our orders against the replayed market: takers walk the book, makers fill on trades.

- A taker walks the opposite side of the venue's book (the one the public fake
  venue rebuilds from the recording) from the best level, up to its limit price.
  What our orders took is remembered per level until the recorded level shrinks
  by as much (the recording does not know about us), so two of our orders never
  fill from the same resting size.
- A resting maker fills at its own price when a replayed trade prints at or
  through it (a buy when a trade prints at or below its price); one trade's size
  is shared once among our orders in price-time priority. Queue position ahead
  of us is not modelled: the first trade at our price fills us.
"""

from __future__ import annotations

import math

from tradefabric.data.order_book import OrderBook
from tradefabric.model.orders import OrderSide
from tradefabric.venues.fakevenue.private.rules import lot_floor

_WALK_LEVELS = 200


class TakenLiquidity:
    """What our own fills took from each recorded level, until the market takes it too."""

    def __init__(self) -> None:
        # (symbol, from bids?, price) -> [size we took, recorded size when last seen]
        self._taken: dict[tuple[str, bool, float], list[float]] = {}

    def available(self, symbol: str, bids: bool, price: float, recorded: float) -> float:
        """Return the size still available at a level recorded at ``recorded``."""
        key = (symbol, bids, price)
        entry = self._taken.get(key)
        if entry is None:
            return recorded
        taken = entry[0]
        if recorded < entry[1]:
            taken = max(0.0, taken - (entry[1] - recorded))
        if taken <= 0.0:
            del self._taken[key]
            return recorded
        entry[0], entry[1] = taken, recorded
        return max(0.0, recorded - taken)

    def take(self, symbol: str, bids: bool, price: float, size: float, recorded: float) -> None:
        """Record that we took ``size`` from a level recorded at ``recorded``."""
        entry = self._taken.setdefault((symbol, bids, price), [0.0, recorded])
        entry[0] += size
        entry[1] = recorded


def walk(
    book: OrderBook | None,
    taken: TakenLiquidity,
    side: OrderSide,
    quantity: float,
    *,
    limit: float | None,
    lot: float,
) -> list[tuple[float, float, float]]:
    """Return the (price, size, recorded size) levels a taker of ``quantity`` would take.

    Nothing is taken yet: ``commit`` records the walk once the order is accepted.
    """
    if book is None or not book.valid:
        return []
    depth = book.depth(_WALK_LEVELS)
    levels = depth.asks if side is OrderSide.BUY else depth.bids
    bids = side is OrderSide.SELL
    remaining = quantity
    out: list[tuple[float, float, float]] = []
    for price, recorded in levels:
        if remaining <= 1e-12 or (limit is not None and _beyond(side, price, limit)):
            break
        size = lot_floor(min(remaining, taken.available(book.symbol, bids, price, recorded)), lot)
        if size > 0:
            out.append((price, size, recorded))
            remaining = lot_floor(remaining - size, lot)
    return out


def commit(
    book: OrderBook,
    taken: TakenLiquidity,
    side: OrderSide,
    levels: list[tuple[float, float, float]],
) -> None:
    """Record that a walk's levels were taken."""
    bids = side is OrderSide.SELL
    for price, size, recorded in levels:
        taken.take(book.symbol, bids, price, size, recorded)


def _beyond(side: OrderSide, price: float, limit: float) -> bool:
    return price > limit if side is OrderSide.BUY else price < limit


def crosses(side: OrderSide, resting_price: float, trade_price: float) -> bool:
    """Return True when a trade at ``trade_price`` prints at or through a resting order."""
    if math.isnan(trade_price):
        return False
    return trade_price <= resting_price if side is OrderSide.BUY else trade_price >= resting_price
