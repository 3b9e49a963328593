"""What Bybit's matching does beyond the venue-neutral private exchange.

- A post-only order that would take is *acknowledged* (the create succeeds) and
  cancelled a moment later on the order stream with ``rejectReason``
  EC_PostOnlyWillTakeLiquidity, where Binance refuses it outright.
- ``/v5/order/amend`` changes quantity and price in place; an amended price that
  crosses the book takes liquidity as a new taker would.
- Disconnect-cancel (DCP) cancels every open order with ``cancelType`` CancelByDCP.

The reasons an order ended are kept by venue order id, for the renderer.
"""

from __future__ import annotations

import math

import msgspec

from tradefabric.model.orders import OrderStatus
from tradefabric.venues.fakevenue.private.account import Account
from tradefabric.venues.fakevenue.private.exchange import (
    BookLookup,
    OrderRefusedError,
    PrivateExchange,
    _Order,
)
from tradefabric.venues.fakevenue.private.matching import commit, walk
from tradefabric.venues.fakevenue.private.model import (
    ExecKind,
    OrderParams,
    OrderView,
    RejectReason,
)
from tradefabric.venues.fakevenue.private.rules import SymbolRules, check

CANCEL_BY_USER = "CancelByUser"
CANCEL_BY_DCP = "CancelByDCP"
POST_ONLY_WOULD_TAKE = "EC_PostOnlyWillTakeLiquidity"
_EPS = 1e-12


class BybitExchange(PrivateExchange):
    """The private exchange with Bybit's post-only, amend and DCP behaviour."""

    def __init__(
        self, account: Account, rules: dict[str, SymbolRules], book_of: BookLookup
    ) -> None:
        super().__init__(account, rules, book_of)
        self.end_reasons: dict[int, str] = {}
        """Venue order id -> ``cancelType`` or ``rejectReason`` of how it ended."""

    def place_bybit(self, params: OrderParams) -> tuple[OrderView, bool]:
        """Place as Bybit does; return the view and whether a would-take cancel is due."""
        try:
            return self.place(params), False
        except OrderRefusedError as exc:
            if exc.reason is not RejectReason.WOULD_TAKE:
                raise
        # Acknowledged without touching the book; ``cancel_would_take`` ends it.
        order = self._accept(self.rules[params.symbol], params, [])
        return order.view(), True

    def cancel_would_take(self, venue_order_id: int) -> None:
        """Cancel an acknowledged post-only order that would have taken liquidity."""
        order = self._orders.get(venue_order_id)
        if order is not None and order.status is OrderStatus.ACCEPTED:
            self.end_reasons[venue_order_id] = POST_ONLY_WOULD_TAKE
            self._close(order, OrderStatus.CANCELLED, ExecKind.CANCELED)

    def cancel_by_user(
        self, symbol: str, client_order_id: str = "", venue_order_id: int = 0
    ) -> OrderView:
        """Cancel one order at the user's request (``cancelType`` CancelByUser)."""
        found = self._find(symbol, client_order_id, venue_order_id)
        if found is not None:
            self.end_reasons[found.id] = CANCEL_BY_USER
        return self.cancel(symbol, client_order_id, venue_order_id)

    def cancel_all_by(self, reason: str, symbol: str | None = None) -> list[OrderView]:
        """Cancel every open order of ``symbol`` (or all), recording ``reason``."""
        for view in self.open_orders(symbol):
            self.end_reasons[view.venue_order_id] = reason
        return self.cancel_all(symbol)

    def amend(
        self, symbol: str, client_order_id: str, quantity: float | None, price: float | None
    ) -> OrderView:
        """Amend an open order's total quantity and price; raise ``OrderRefusedError``."""
        order = self._find(symbol, client_order_id, 0)
        if order is None or order.status not in (
            OrderStatus.ACCEPTED,
            OrderStatus.PARTIALLY_FILLED,
        ):
            raise OrderRefusedError(RejectReason.UNKNOWN_ORDER, client_order_id)
        new = msgspec.structs.replace(
            order.params,
            quantity=order.params.quantity if quantity is None else quantity,
            price=order.params.price if price is None else price,
        )
        rules = self.rules[symbol]
        book = self._book_of(symbol)
        reference = book.mid() if book is not None and book.valid else math.nan
        reason = check(rules, new, reference)
        if reason is not None or new.quantity < order.filled - _EPS:
            raise OrderRefusedError(reason or RejectReason.LOT_SIZE)
        self._release(order)
        order.params = new
        asset, need = self.account.lock_need(rules, new.side, order.remaining, new.price or 0.0)
        self.account.lock(asset, need)
        order.locked = need
        self._publish_order(order, ExecKind.NEW, None)
        self._take_after_amend(order)
        return order.view()

    def _take_after_amend(self, order: _Order) -> None:
        params = order.params
        rules = self.rules[params.symbol]
        book = self._book_of(params.symbol)
        levels = walk(
            book, self._taken, params.side, order.remaining, limit=params.price, lot=rules.lot
        )
        if book is not None and levels:
            commit(book, self._taken, params.side, levels)
            for level_price, size, _recorded in levels:
                self._fill(rules, order, level_price, size, maker=False)
        if order.status is OrderStatus.FILLED:
            resting = self._resting.get(params.symbol, [])
            if order in resting:
                resting.remove(order)
