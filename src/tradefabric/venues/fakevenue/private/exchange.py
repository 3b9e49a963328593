"""The private exchange: one account's orders, fills and balances, matched on the replay.

Venue-neutral: a protocol decodes a request into ``OrderParams``, calls
``place`` / ``cancel`` / ``cancel_all`` / queries, renders the ``OrderView`` it
gets back, and renders ``events`` (``OrderEvent``, ``AccountEvent``) on its user
stream. A refused request raises ``OrderRefusedError`` with a neutral reason the
protocol maps to its venue's error code. Times are the wall clock in ms (as a
venue stamps its private events), not the replay's.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

import msgspec

from tradefabric.data.order_book import OrderBook
from tradefabric.model.orders import OrderSide, OrderStatus, OrderType, TimeInForce
from tradefabric.venues.fakevenue.private.account import Account, AccountKind
from tradefabric.venues.fakevenue.private.events import UserEvents
from tradefabric.venues.fakevenue.private.matching import TakenLiquidity, commit, crosses, walk
from tradefabric.venues.fakevenue.private.model import (
    AccountEvent,
    ExecKind,
    OrderEvent,
    OrderParams,
    OrderView,
    RejectReason,
    VenueFill,
)
from tradefabric.venues.fakevenue.private.rules import SymbolRules, check, lot_floor, would_take

BookLookup = Callable[[str], OrderBook | None]


class OrderRefusedError(Exception):
    """The venue refused a request; ``reason`` says why, in neutral terms."""

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason


def wall_ms() -> int:
    """Return the wall clock in ms."""
    return time.time_ns() // 1_000_000


class _Order:
    __slots__ = (
        "created_ms",
        "filled",
        "id",
        "locked",
        "params",
        "quote_filled",
        "status",
        "updated_ms",
    )

    def __init__(self, venue_order_id: int, params: OrderParams, now_ms: int) -> None:
        self.id = venue_order_id
        self.params = params
        self.filled = 0.0
        self.quote_filled = 0.0
        self.status = OrderStatus.ACCEPTED
        self.created_ms = now_ms
        self.updated_ms = now_ms
        self.locked = 0.0

    @property
    def remaining(self) -> float:
        return max(0.0, self.params.quantity - self.filled)

    def view(self) -> OrderView:
        p = self.params
        return OrderView(
            venue_order_id=self.id, client_order_id=p.client_order_id, symbol=p.symbol,
            side=p.side, order_type=p.order_type, time_in_force=p.time_in_force,
            post_only=p.post_only, reduce_only=p.reduce_only, price=p.price,
            quantity=p.quantity, filled=self.filled, quote_filled=self.quote_filled,
            status=self.status, created_ms=self.created_ms, updated_ms=self.updated_ms,
        )  # fmt: skip


class PrivateExchange:
    """One account at the fake venue: the ledger of its orders and fills."""

    def __init__(
        self,
        account: Account,
        rules: dict[str, SymbolRules],
        book_of: BookLookup,
        first_order_id: int = 1_000_001,
    ) -> None:
        self.account = account
        self.rules = rules
        self._book_of = book_of
        self.events = UserEvents()
        self._orders: dict[int, _Order] = {}
        self._by_client: dict[tuple[str, str], int] = {}
        self._resting: dict[str, list[_Order]] = {}
        self.fills: list[VenueFill] = []
        self._next_order_id = first_order_id
        self._next_trade_id = 5_000_001
        self._taken = TakenLiquidity()
        self._countdowns: dict[str, asyncio.TimerHandle] = {}
        self.placed = 0
        """Orders accepted so far (a duplicate submission would count twice)."""

    # -- requests ---------------------------------------------------------------

    def place(self, params: OrderParams) -> OrderView:
        """Accept, match and (for a GTC remainder) rest one order; raise ``OrderRefusedError``."""
        rules = self.rules.get(params.symbol)
        if rules is None:
            raise OrderRefusedError(RejectReason.UNKNOWN_SYMBOL, params.symbol)
        existing = self._by_client.get((params.symbol, params.client_order_id))
        if existing is not None and self._orders[existing].status in _OPEN:
            raise OrderRefusedError(RejectReason.DUPLICATE_CLIENT_ID, params.client_order_id)
        book = self._book_of(params.symbol)
        self._check(rules, params, book)
        levels = self._taker_levels(rules, params, book)
        order = self._accept(rules, params, levels)
        if levels and book is not None:
            commit(book, self._taken, params.side, levels)
            for price, size, _recorded in levels:
                self._fill(rules, order, price, size, maker=False)
        self._finish_arrival(rules, order)
        return order.view()

    def cancel(self, symbol: str, client_order_id: str = "", venue_order_id: int = 0) -> OrderView:
        """Cancel one open order by client or venue id; raise ``OrderRefusedError`` when unknown."""
        order = self._find(symbol, client_order_id, venue_order_id)
        if order is None or order.status not in _OPEN:
            wanted = client_order_id or str(venue_order_id)
            raise OrderRefusedError(RejectReason.UNKNOWN_ORDER, wanted)
        self._close(order, OrderStatus.CANCELLED, ExecKind.CANCELED)
        return order.view()

    def cancel_all(self, symbol: str | None = None) -> list[OrderView]:
        """Cancel every open order of ``symbol`` (or of the account); return them."""
        cancelled = []
        for order in list(self._orders.values()):
            if order.status in _OPEN and symbol in (None, order.params.symbol):
                self._close(order, OrderStatus.CANCELLED, ExecKind.CANCELED)
                cancelled.append(order.view())
        return cancelled

    def amend(self, symbol: str, client_order_id: str, quantity: float, price: float) -> OrderView:
        """Change an open limit order's quantity and price in place (its ids are kept).

        The new terms pass the same rules as a new order; the lock follows them; a
        price that now crosses takes what it can at once (a post-only is refused).
        """
        order = self._find(symbol, client_order_id, 0)
        if order is None or order.status not in _OPEN or order.params.price is None:
            raise OrderRefusedError(RejectReason.UNKNOWN_ORDER, client_order_id)
        if quantity <= order.filled:
            raise OrderRefusedError(RejectReason.LOT_SIZE, "below the filled quantity")
        rules = self.rules[symbol]
        wanted = msgspec.structs.replace(order.params, quantity=quantity, price=price)
        book = self._book_of(symbol)
        self._check(rules, wanted, book)
        self._relock(rules, order, wanted)
        order.params = wanted
        order.updated_ms = wall_ms()
        self._publish_order(order, ExecKind.AMENDMENT, None)
        self._take_crossing(rules, order, book)
        return order.view()

    def _relock(self, rules: SymbolRules, order: _Order, wanted: OrderParams) -> None:
        assert wanted.price is not None
        self._release(order)
        remaining = wanted.quantity - order.filled
        asset, need = self.account.lock_need(rules, wanted.side, remaining, wanted.price)
        if not self.account.can_lock(asset, need):
            old = order.params
            assert old.price is not None
            _asset, back = self.account.lock_need(
                rules, old.side, old.quantity - order.filled, old.price
            )
            self.account.lock(asset, back)
            order.locked = back
            raise OrderRefusedError(RejectReason.INSUFFICIENT_BALANCE, asset)
        self.account.lock(asset, need)
        order.locked = need

    def _take_crossing(self, rules: SymbolRules, order: _Order, book: OrderBook | None) -> None:
        levels = walk(
            book, self._taken, order.params.side, order.remaining, limit=order.params.price,
            lot=rules.lot,
        )  # fmt: skip
        if levels and book is not None:
            commit(book, self._taken, order.params.side, levels)
            for price, size, _recorded in levels:
                self._fill(rules, order, price, size, maker=False)
        if order.status is OrderStatus.FILLED:
            resting = self._resting.get(order.params.symbol, [])
            if order in resting:
                resting.remove(order)

    def arm_countdown(self, symbol: str, timeout_ms: int) -> None:
        """Cancel every open order of ``symbol`` unless re-armed within ``timeout_ms`` (0: off)."""
        handle = self._countdowns.pop(symbol, None)
        if handle is not None:
            handle.cancel()
        if timeout_ms > 0:
            loop = asyncio.get_running_loop()
            self._countdowns[symbol] = loop.call_later(timeout_ms / 1000, self.cancel_all, symbol)

    # -- queries ----------------------------------------------------------------

    def order(
        self, symbol: str, client_order_id: str = "", venue_order_id: int = 0
    ) -> OrderView | None:
        """Return one order (open or not) by client or venue id."""
        found = self._find(symbol, client_order_id, venue_order_id)
        return None if found is None else found.view()

    def all_orders(self) -> list[OrderView]:
        """Return every order the venue ever accepted, oldest first."""
        return [o.view() for o in self._orders.values()]

    def open_orders(self, symbol: str | None = None) -> list[OrderView]:
        """Return the open orders of ``symbol`` (or of the account), oldest first."""
        return [
            o.view()
            for o in self._orders.values()
            if o.status in _OPEN and symbol in (None, o.params.symbol)
        ]

    def fills_of(self, symbol: str | None = None, since_ms: int = 0) -> list[VenueFill]:
        """Return the account's fills of ``symbol`` (or all) at or after ``since_ms``."""
        return [f for f in self.fills if f.ts_ms >= since_ms and symbol in (None, f.symbol)]

    # -- the replayed market ----------------------------------------------------

    def on_trade(self, symbol: str, price: float, size: float) -> None:
        """Fill resting orders a replayed trade printed at or through, in price-time priority."""
        resting = self._resting.get(symbol)
        if not resting:
            return
        rules = self.rules[symbol]
        left = size
        for order in sorted(resting, key=_priority):
            if left <= 1e-12:
                break
            price_limit = order.params.price
            if price_limit is None or not crosses(order.params.side, price_limit, price):
                continue
            qty = lot_floor(min(left, order.remaining), rules.lot)
            if qty <= 0:
                continue
            left -= qty
            self._fill(rules, order, price_limit, qty, maker=True)
            if order.status is OrderStatus.FILLED:
                resting.remove(order)

    # -- internals --------------------------------------------------------------

    def _check(self, rules: SymbolRules, params: OrderParams, book: OrderBook | None) -> None:
        bid, ask = (
            (book.best_bid(), book.best_ask())
            if book is not None and book.valid
            else (math.nan, math.nan)
        )
        touch = ask if params.side is OrderSide.BUY else bid
        reference = book.mid() if book is not None and book.valid else math.nan
        reason = check(rules, params, touch if params.order_type is OrderType.MARKET else reference)
        if reason is not None:
            raise OrderRefusedError(reason)
        if params.post_only and would_take(params, bid, ask):
            raise OrderRefusedError(RejectReason.WOULD_TAKE)

    def _taker_levels(
        self, rules: SymbolRules, params: OrderParams, book: OrderBook | None
    ) -> list[tuple[float, float, float]]:
        levels = walk(
            book, self._taken, params.side, params.quantity, limit=params.price, lot=rules.lot
        )
        available = sum(size for _p, size, _r in levels)
        # A FOK the book cannot fill whole is accepted and expires untouched, as venues do.
        if params.time_in_force is TimeInForce.FOK and available + 1e-12 < params.quantity:
            return []
        return levels

    def _accept(
        self, rules: SymbolRules, params: OrderParams, levels: list[tuple[float, float, float]]
    ) -> _Order:
        # Spot: a limit locks its full value at its price, a market the value of its walk.
        if params.price is not None:
            asset, need = self.account.lock_need(rules, params.side, params.quantity, params.price)
        else:
            cost = sum(p * s for p, s, _r in levels)
            filled = sum(s for _p, s, _r in levels)
            asset, need = self.account.lock_need(
                rules, params.side, filled, cost / filled if filled else 0.0
            )
        if not self.account.can_lock(asset, need * (1 + rules.taker_fee)):
            raise OrderRefusedError(RejectReason.INSUFFICIENT_BALANCE, asset)
        order = _Order(self._next_order_id, params, wall_ms())
        self._next_order_id += 1
        self.placed += 1
        self._orders[order.id] = order
        self._by_client[(params.symbol, params.client_order_id)] = order.id
        self.account.lock(asset, need)
        order.locked = need
        self._publish_order(order, ExecKind.NEW, None)
        return order

    def _finish_arrival(self, rules: SymbolRules, order: _Order) -> None:
        if order.status is OrderStatus.FILLED:
            return
        rests = (
            order.params.order_type is OrderType.LIMIT
            and order.params.time_in_force is TimeInForce.GTC
        )
        if rests:
            self._resting.setdefault(order.params.symbol, []).append(order)
            self._publish_account(rules)
            return
        self._close(order, OrderStatus.EXPIRED, ExecKind.EXPIRED)

    def _fill(
        self, rules: SymbolRules, order: _Order, price: float, qty: float, *, maker: bool
    ) -> None:
        fee_rate = rules.maker_fee if maker else rules.taker_fee
        p = order.params
        asset, unlock = self.account.lock_need(
            rules, p.side, qty, p.price if p.price is not None else price
        )
        unlock = min(unlock, order.locked)
        self.account.unlock(asset, unlock)
        order.locked -= unlock
        fill = VenueFill(
            trade_id=self._next_trade_id, venue_order_id=order.id,
            client_order_id=p.client_order_id, symbol=p.symbol, side=p.side, price=price,
            quantity=qty, fee=price * qty * fee_rate, fee_asset=rules.quote, maker=maker,
            ts_ms=wall_ms(),
        )  # fmt: skip
        self._next_trade_id += 1
        realized = self.account.apply_fill(rules, fill)
        if realized:
            fill = msgspec.structs.replace(fill, realized_pnl=realized)
        self.fills.append(fill)
        order.filled = round(order.filled + qty, 12)
        order.quote_filled += price * qty
        order.updated_ms = fill.ts_ms
        order.status = (
            OrderStatus.FILLED if order.remaining <= 1e-12 else OrderStatus.PARTIALLY_FILLED
        )
        if order.status is OrderStatus.FILLED:
            self._release(order)
        self._publish_order(order, ExecKind.TRADE, fill)
        self._publish_account(rules, p.symbol)

    def _close(self, order: _Order, status: OrderStatus, kind: ExecKind) -> None:
        order.status = status
        order.updated_ms = wall_ms()
        self._release(order)
        resting = self._resting.get(order.params.symbol, [])
        if order in resting:
            resting.remove(order)
        self._publish_order(order, kind, None)
        self._publish_account(self.rules[order.params.symbol])

    def _release(self, order: _Order) -> None:
        if order.locked:
            rules = self.rules[order.params.symbol]
            asset, _need = self.account.lock_need(rules, order.params.side, 0.0, 0.0)
            self.account.unlock(asset, order.locked)
            order.locked = 0.0

    def _find(self, symbol: str, client_order_id: str, venue_order_id: int) -> _Order | None:
        order_id = venue_order_id or self._by_client.get((symbol, client_order_id), 0)
        order = self._orders.get(order_id)
        return order if order is not None and order.params.symbol == symbol else None

    def _publish_order(self, order: _Order, kind: ExecKind, fill: VenueFill | None) -> None:
        self.events.publish(
            OrderEvent(order=order.view(), kind=kind, fill=fill, ts_ms=order.updated_ms)
        )

    def _publish_account(self, rules: SymbolRules, symbol: str = "") -> None:
        account = self.account
        assets = (
            (account.margin_asset,)
            if account.kind is AccountKind.MARGIN
            else (rules.base, rules.quote)
        )
        positions = (
            (account.position(symbol),) if symbol and account.kind is AccountKind.MARGIN else ()
        )
        self.events.publish(
            AccountEvent(
                balances=tuple(account.balance(a) for a in assets),
                positions=positions,
                ts_ms=wall_ms(),
            )
        )


_OPEN = (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)


def _priority(order: _Order) -> tuple[float, int]:
    price = order.params.price or 0.0
    return (-price if order.params.side is OrderSide.BUY else price, order.id)
