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
would carry ids the stream never produced, so ``merge_to_checkpoints`` merges REST
fills back into the stream's fills at the cumulative quantities the stream derived
them at (kept by ``FillDeriver``): within one client's life, stream and REST agree
exactly. After a restart the checkpoints are gone; only a coalesced update from
before it can then differ from REST (reported as a discrepancy, not hidden).

Liquidity is not in the user channel. A post-only order's fills are maker, a
market order's taker; a limit order's fill at exactly its limit price is taken
as maker (a resting order fills at its own price) and one at a better price as
taker (only a crossing order gets price improvement). A taker filling exactly at
its limit is mislabelled maker; REST fills carry the venue's own indicator.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import msgspec

from tradefabric.execution.live.reports import TradeReport


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
        self._checkpoints: dict[str, frozenset[Decimal]] = {}
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
        self._checkpoints[order_id] = self._checkpoints.get(order_id, frozenset()) | {
            state.quantity
        }
        qty = state.quantity - old.quantity
        price = (state.quantity * state.avg_price - old.quantity * old.avg_price) / qty
        if tick is not None and tick > 0:
            price = (price / tick).to_integral_value() * tick
        return DerivedFill(
            trade_id=cumulative_id(order_id, state.quantity), quantity=qty, price=price,
            fee=state.fees - old.fees, maker=post_only or (limit is not None and price == limit),
        )  # fmt: skip

    @property
    def checkpoints(self) -> Mapping[str, frozenset[Decimal]]:
        """Return, per order, the cumulative quantities a fill was derived at."""
        return self._checkpoints


def merge_to_checkpoints(
    trades: list[TradeReport], checkpoints: Mapping[str, frozenset[Decimal]]
) -> list[TradeReport]:
    """Merge REST fills into the fills the stream derived, where the stream coalesced.

    ``checkpoints`` are the cumulative quantities the stream derived a fill at, per
    order. REST fills (in trade order, ids ``<order>:<cumulative>``) between two
    checkpoints become one trade with the later checkpoint's id, size-weighted price
    and summed fee: the very fill the stream reported. Fills past the last
    checkpoint (the stream has not seen them) stay one per execution.
    """
    out: list[TradeReport] = []
    pending: dict[str, list[TradeReport]] = {}
    for trade in trades:
        seen = checkpoints.get(trade.venue_order_id, frozenset())
        group = pending.setdefault(trade.venue_order_id, [])
        group.append(trade)
        if _cumulative_of(trade.trade_id) in seen:
            out.append(_merged(group))
            group.clear()
    for group in pending.values():
        out.extend(group)  # beyond what the stream saw: one trade per execution
    return sorted(out, key=lambda t: (t.ts_event, t.trade_id))


def _cumulative_of(trade_id: str) -> Decimal:
    return Decimal(trade_id.rpartition(":")[2])


def _merged(group: list[TradeReport]) -> TradeReport:
    if len(group) == 1:
        return group[0]
    qty = sum(t.quantity for t in group)
    price = sum(t.price * t.quantity for t in group) / qty
    last = group[-1]
    return msgspec.structs.replace(last, quantity=qty, price=price, fee=sum(t.fee for t in group))
