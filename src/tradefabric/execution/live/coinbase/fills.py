"""Fills derived from the Coinbase ``user`` channel's cumulative order state.

The user channel carries no executions, only each order's running totals
(``cumulative_quantity``, ``avg_price``, ``total_fees``). A fill is the change
between the highest state seen for the order and a higher one:

- quantity = ``cum_new - cum_old``
- price = ``(cum_new * avg_new - cum_old * avg_old) / quantity`` (rounded to the tick
  when the instrument is known: every fill of a tick-priced order is on the tick)
- fee = ``fees_new - fees_old``
- trade id = ``"<order_id>:<cum_new>"`` (the cumulative quantity, normalized)

An update whose cumulative quantity is not above the highest seen (a duplicate, a
snapshot repeating an old state, or an older update arriving late) derives nothing:
dedup is on (venue order id, cumulative state). Arithmetic is ``Decimal`` on the
venue's own strings, so no float error accumulates.

REST fills (``historical/fills``) are keyed the same way (``rest_trade_ids``): each
order's fills in trade order, the id being the cumulative quantity after the
fill. One stream update per execution (how the fake venue, and Coinbase for
separate matches, report) gives the same ids on both sides, so reconciliation
does not count a fill twice. Updates that coalesce several executions derive one
fill whose id matches the REST fill that completes it; the REST fills before it
carry ids the stream never produced (documented limit: reconciliation's held
cumulative quantity is what keeps the order's filled total right).

Liquidity is not in the user channel. A post-only order's fills are maker, a
market order's taker; a limit order's fill at exactly its limit price is taken
as maker (a resting order fills at its own price) and one at a better price as
taker (only a crossing order gets price improvement). A taker filling exactly at
its limit is mislabelled maker; REST fills carry the venue's own indicator.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec


class CumulativeState(msgspec.Struct, frozen=True):
    """An order's running totals as the venue printed them."""

    quantity: Decimal
    avg_price: Decimal
    fees: Decimal


class DerivedFill(msgspec.Struct, frozen=True):
    """One fill worked out from two cumulative states."""

    trade_id: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    maker: bool


def cumulative_id(order_id: str, cumulative: Decimal) -> str:
    """Return the trade id of the fill that brought ``order_id`` to ``cumulative``."""
    text = format(cumulative.normalize(), "f")
    return f"{order_id}:{text}"


class FillDeriver:
    """The highest cumulative state seen per order, and the fills between states."""

    def __init__(self) -> None:
        self._seen: dict[str, CumulativeState] = {}
        self.duplicates = 0
        """Updates that derived nothing because their state was not new."""

    def known(self, order_id: str) -> CumulativeState | None:
        """Return the highest state seen for ``order_id``."""
        return self._seen.get(order_id)

    def is_stale(self, order_id: str, state: CumulativeState) -> bool:
        """Return True when ``state`` is below the highest seen (an older update)."""
        seen = self._seen.get(order_id)
        return seen is not None and state.quantity < seen.quantity

    def apply(
        self,
        order_id: str,
        state: CumulativeState,
        *,
        limit: Decimal | None,
        post_only: bool,
        tick: Decimal | None,
    ) -> DerivedFill | None:
        """Record ``state``; return the fill it adds, None when it adds none.

        ``limit`` is the order's limit price (None: a market order).
        """
        seen = self._seen.get(order_id)
        old = seen or CumulativeState(Decimal(0), Decimal(0), Decimal(0))
        if state.quantity <= old.quantity:
            if seen is None:
                self._seen[order_id] = state
            elif state.quantity > 0:
                self.duplicates += 1
            return None
        self._seen[order_id] = state
        qty = state.quantity - old.quantity
        price = (state.quantity * state.avg_price - old.quantity * old.avg_price) / qty
        if tick is not None and tick > 0:
            price = (price / tick).to_integral_value() * tick
        return DerivedFill(
            trade_id=cumulative_id(order_id, state.quantity), quantity=qty, price=price,
            fee=state.fees - old.fees, maker=post_only or (limit is not None and price == limit),
        )  # fmt: skip

    def forget(self, order_id: str) -> None:
        """Drop a closed order's state."""
        self._seen.pop(order_id, None)
