"""The native Coinbase Advanced Trade live client: REST order entry, ``user`` stream fills.

- ``submit``: ``POST /orders`` with our ``client_order_id``; a timeout or 5xx is an
  unknown outcome (``OrderStatusUnknownError``), settled by ``query_order`` (the
  orders of the product, matched on ``client_order_id``), never by resending.
- ``cancel`` / ``cancel_all``: ``POST /orders/batch_cancel`` by venue order id;
  ``modify``: ``POST /orders/edit`` (size and price of a GTC limit, ids kept).
- Fills are derived from the ``user`` channel's cumulative state (``fills``) and
  keyed ``<order_id>:<cumulative quantity>`` on the stream and in ``mass_status``
  alike, so each fill is reported once however often an update repeats.
- Coinbase has no dead man's switch: ``supports_cancel_after`` is False and
  ``heartbeat`` does nothing (the guard process cancels for it).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal

import msgspec

from tradefabric.core.errors import OrderRejectedError
from tradefabric.execution.live.coinbase.errors import create_refused
from tradefabric.execution.live.coinbase.fills import (
    CumulativeState,
    FillDeriver,
    merge_to_checkpoints,
)
from tradefabric.execution.live.coinbase.jwt import JwtSigner
from tradefabric.execution.live.coinbase.parse import (
    VENUE,
    Account,
    RestFill,
    RestOrder,
    UserOrder,
    balances,
    rest_order,
    rest_trades,
    user_order,
)
from tradefabric.execution.live.coinbase.rest import CoinbaseRest
from tradefabric.execution.live.coinbase.stream import CoinbaseUserStream
from tradefabric.execution.live.decimals import decimals_of, wire_decimal
from tradefabric.execution.live.protocol import LiveReports
from tradefabric.execution.live.reports import MassStatus, OrderStatusReport, TradeReport
from tradefabric.model.orders import (
    LiquiditySide,
    OrderSnapshot,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from tradefabric.venues.coinbase.markets import product_id
from tradefabric.venues.coinbase.timestamps import format_rfc3339_ns

DEFAULT_INCREMENTS = ("0.01", "0.00000001")
_CLOSED = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED}
)
"""(price, size) increments of a product the config does not name."""


class CoinbaseClientConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Where and how the client talks to Coinbase (the key is passed separately)."""

    rest_url: str = "https://api.coinbase.com"
    ws_user_url: str = "wss://advanced-trade-ws-user.coinbase.com"
    symbols: tuple[str, ...] = ()
    """Products of the ``user`` subscription (empty: all)."""
    increments: Mapping[str, tuple[str, str]] = msgspec.field(default_factory=dict)
    """Symbol -> (price increment, size increment), as the products list them."""
    request_timeout_s: float = 5.0


class _CreateError(msgspec.Struct, frozen=True):
    error: str = "UNKNOWN_FAILURE_REASON"
    message: str = ""


class _CreateSuccess(msgspec.Struct, frozen=True):
    order_id: str


class _Created(msgspec.Struct, frozen=True):
    success: bool
    success_response: _CreateSuccess | None = None
    error_response: _CreateError | None = None
    failure_reason: str = ""


class _CancelResult(msgspec.Struct, frozen=True):
    success: bool
    order_id: str = ""
    failure_reason: str = ""


class _Cancelled(msgspec.Struct, frozen=True):
    results: tuple[_CancelResult, ...] = ()


class _Orders(msgspec.Struct, frozen=True):
    orders: tuple[RestOrder, ...] = ()
    has_next: bool = False
    cursor: str = ""


class _EditError(msgspec.Struct, frozen=True):
    edit_failure_reason: str = "UNKNOWN_EDIT_ORDER_FAILURE_REASON"
    preview_failure_reason: str = ""


class _Edited(msgspec.Struct, frozen=True):
    success: bool
    errors: tuple[_EditError, ...] = ()


class _OneOrder(msgspec.Struct, frozen=True):
    order: RestOrder


class _Fills(msgspec.Struct, frozen=True):
    fills: tuple[RestFill, ...] = ()
    cursor: str = ""


class _Accounts(msgspec.Struct, frozen=True):
    accounts: tuple[Account, ...] = ()
    has_next: bool = False
    cursor: str = ""


class CoinbaseLiveClient:
    """``LiveExecutionClient`` for Coinbase Advanced Trade spot."""

    name = VENUE
    supports_modify = True
    supports_cancel_after = False

    def __init__(self, key_name: str, private_pem: str, config: CoinbaseClientConfig) -> None:
        self.config = config
        signer = JwtSigner(key_name, private_pem)
        self.rest = CoinbaseRest(config.rest_url, signer, config.request_timeout_s)
        products = tuple(product_id(s) for s in config.symbols)
        self.stream = CoinbaseUserStream(
            config.ws_user_url,
            signer,
            product_ids=products,
            on_orders=self._on_orders,
            on_reconnected=self._on_reconnected,
        )
        self.fills = FillDeriver()
        self._reports: LiveReports | None = None
        self._ids: dict[str, str] = {}
        """Client order id -> venue order id (cancel needs the venue's)."""
        self._client_ids: dict[str, str] = {}
        self._quantities: dict[str, float] = {}

    # -- LiveExecutionClient ----------------------------------------------------------

    async def connect(self, reports: LiveReports) -> None:
        """Check the key (``/accounts``), then open the ``user`` stream."""
        self._reports = reports
        await self.rest.get("/accounts", {"limit": "1"})
        await self.stream.start()

    async def close(self) -> None:
        """Close the stream and the REST session."""
        await self.stream.close()
        await self.rest.close()

    async def submit(self, order: OrderSnapshot) -> str:
        """``POST /orders``; return the venue order id."""
        body = {
            "client_order_id": order.client_order_id, "product_id": product_id(order.symbol),
            "side": order.side.value.upper(), "order_configuration": self._configuration(order),
        }  # fmt: skip
        raw = await self.rest.post("/orders", body, order_entry=True)
        created = msgspec.json.decode(raw, type=_Created)
        if not created.success or created.success_response is None:
            err = created.error_response or _CreateError(created.failure_reason or "UNKNOWN")
            raise create_refused(err.error, err.message)
        venue_id = created.success_response.order_id
        self._remember(order.client_order_id, venue_id)
        return venue_id

    async def cancel(self, symbol: str, client_order_id: str) -> None:
        """``batch_cancel`` the order (its venue id from memory or a query)."""
        venue_id = self._ids.get(client_order_id)
        if venue_id is None:
            found = await self.query_order(symbol, client_order_id)
            if found is None:
                raise OrderRejectedError(
                    f"coinbase: no order {client_order_id}", code="UNKNOWN_CANCEL_ORDER"
                )
            venue_id = found.venue_order_id
        results = await self._batch_cancel([venue_id])
        if results and not results[0].success:
            reason = results[0].failure_reason
            raise OrderRejectedError(f"coinbase cancel refused: {reason}", code=reason)

    async def cancel_all(self, symbol: str | None = None) -> None:
        """Cancel every open order (of ``symbol``), 100 ids per ``batch_cancel``."""
        ids = [o.venue_order_id for o in await self._open_orders(symbol)]
        for start in range(0, len(ids), 100):
            await self._batch_cancel(ids[start : start + 100])

    async def modify(
        self, symbol: str, client_order_id: str, quantity: float, price: float | None
    ) -> None:
        """``POST /orders/edit``: new size and limit price of an open GTC limit order.

        Coinbase wants both: a ``price`` of None keeps the order's current one.
        """
        current = await self.query_order(symbol, client_order_id)
        if current is None or current.price is None:
            raise OrderRejectedError(
                f"coinbase: no open limit order {client_order_id}", code="ORDER_NOT_FOUND"
            )
        price_inc, size_inc = self.config.increments.get(symbol, DEFAULT_INCREMENTS)
        body = {
            "order_id": current.venue_order_id,
            "price": wire_decimal(
                current.price if price is None else price, decimals_of(float(price_inc))
            ),
            "size": wire_decimal(quantity, decimals_of(float(size_inc))),
        }
        raw = await self.rest.post("/orders/edit", body, order_entry=True)
        edited = msgspec.json.decode(raw, type=_Edited)
        if not edited.success:
            reason = edited.errors[0].edit_failure_reason if edited.errors else "UNKNOWN"
            raise OrderRejectedError(f"coinbase edit refused: {reason}", code=reason)

    async def query_order(self, symbol: str, client_order_id: str) -> OrderStatusReport | None:
        """Return the order with ``client_order_id``, or None when Coinbase never had it.

        By its venue id when this client knows it, else among the product's orders
        (after an unknown outcome the venue id was never seen).
        """
        venue_id = self._ids.get(client_order_id)
        if venue_id is not None:
            raw = await self.rest.get(f"/orders/historical/{venue_id}")
            return rest_order(msgspec.json.decode(raw, type=_OneOrder).order)
        params = {"product_ids": product_id(symbol), "limit": "1000"}
        for order in await self._orders(params):
            if order.client_order_id == client_order_id:
                self._remember(client_order_id, order.order_id)
                return rest_order(order)
        return None

    async def mass_status(self, symbols: tuple[str, ...], trades_since_ns: int) -> MassStatus:
        """Return open orders, fills since ``trades_since_ns`` and balances, account-wide.

        ``symbols`` is the least the caller needs, not a filter: every product is in.
        """
        orders = await self._open_orders(None)
        trades = await self._trades_since(trades_since_ns)
        raw = await self.rest.get("/accounts", {"limit": "250"})
        accounts = list(msgspec.json.decode(raw, type=_Accounts).accounts)
        return MassStatus(
            venue=VENUE, ts_event=time.time_ns(), orders=tuple(orders), trades=tuple(trades),
            balances=balances(accounts, time.time_ns()),
        )  # fmt: skip

    async def heartbeat(self, timeout_s: float) -> None:
        """Do nothing: Coinbase has no cancel-after (the guard process covers it)."""

    # -- REST helpers -----------------------------------------------------------------

    def _remember(self, client_order_id: str, venue_id: str) -> None:
        if client_order_id:
            self._ids[client_order_id] = venue_id
            self._client_ids[venue_id] = client_order_id

    def _configuration(self, order: OrderSnapshot) -> dict[str, object]:
        price_inc, size_inc = self.config.increments.get(order.symbol, DEFAULT_INCREMENTS)
        size = wire_decimal(order.quantity, decimals_of(float(size_inc)))
        if order.order_type is not OrderType.LIMIT or order.price is None:
            return {"market_market_ioc": {"base_size": size}}
        price = wire_decimal(order.price, decimals_of(float(price_inc)))
        limit: dict[str, object] = {"base_size": size, "limit_price": price}
        if order.time_in_force is TimeInForce.IOC:
            return {"sor_limit_ioc": limit}
        if order.time_in_force is TimeInForce.FOK:
            return {"limit_limit_fok": limit}
        return {"limit_limit_gtc": {**limit, "post_only": order.post_only}}

    async def _batch_cancel(self, venue_ids: list[str]) -> tuple[_CancelResult, ...]:
        raw = await self.rest.post("/orders/batch_cancel", {"order_ids": venue_ids})
        return msgspec.json.decode(raw, type=_Cancelled).results

    async def _orders(self, params: dict[str, str]) -> list[RestOrder]:
        out: list[RestOrder] = []
        cursor = ""
        while True:
            page = {**params, "cursor": cursor} if cursor else params
            got = msgspec.json.decode(
                await self.rest.get("/orders/historical/batch", page), type=_Orders
            )
            out.extend(got.orders)
            if not got.has_next or not got.cursor:
                return out
            cursor = got.cursor

    async def _open_orders(self, symbol: str | None) -> list[OrderStatusReport]:
        params = {"order_status": "OPEN", "limit": "1000"}
        if symbol is not None:
            params["product_ids"] = product_id(symbol)
        orders = await self._orders(params)
        for o in orders:
            self._remember(o.client_order_id, o.order_id)
        return sorted((rest_order(o) for o in orders), key=lambda r: r.ts_event)

    async def _trades_since(self, since_ns: int) -> list[TradeReport]:
        # Whole orders' fills are needed: trade ids count the cumulative quantity.
        params = {"limit": "1000"}
        if since_ns > 0:
            params["start_sequence_timestamp"] = format_rfc3339_ns(since_ns, 6)
        raw = await self.rest.get("/orders/historical/fills", params)
        recent = msgspec.json.decode(raw, type=_Fills).fills
        order_ids = sorted({f.order_id for f in recent})
        if not order_ids:
            return []
        every = msgspec.json.decode(
            await self.rest.get("/orders/historical/fills", {"order_ids": ",".join(order_ids)}),
            type=_Fills,
        ).fills
        trades = merge_to_checkpoints(
            rest_trades(list(every), self._client_ids), self.fills.checkpoints
        )
        return [t for t in trades if t.ts_event >= since_ns]

    # -- the user stream --------------------------------------------------------------

    def _on_orders(self, orders: tuple[UserOrder, ...], ts: int, snapshot: bool) -> None:
        reports = self._reports
        if reports is None:
            return
        for o in orders:
            self._remember(o.client_order_id, o.order_id)
            state = CumulativeState(
                Decimal(o.cumulative_quantity or "0"), Decimal(o.avg_price or "0"),
                Decimal(o.total_fees or "0"),
            )  # fmt: skip
            if self.fills.is_stale(o.order_id, state):
                self.fills.duplicates += 1
                continue  # an older state arriving late: already reported
            status = self._with_quantity(user_order(o, ts))
            fill = self._derive(o, state, status)
            if fill is not None:
                reports.on_trade(fill)
            reports.on_order_status(status)

    def _with_quantity(self, status: OrderStatusReport) -> OrderStatusReport:
        # A closed order's leaves_quantity is 0: its size is the one seen while open.
        known = self._quantities.get(status.venue_order_id, 0.0)
        if status.status in _CLOSED and status.quantity < known:
            return msgspec.structs.replace(status, quantity=known)
        self._quantities[status.venue_order_id] = status.quantity  # an edit may shrink it
        return status

    def _derive(
        self, o: UserOrder, state: CumulativeState, status: OrderStatusReport
    ) -> TradeReport | None:
        price_inc, _size = self.config.increments.get(status.symbol, DEFAULT_INCREMENTS)
        limit = (
            Decimal(o.limit_price)
            if status.order_type is OrderType.LIMIT and o.limit_price
            else None
        )
        derived = self.fills.apply(
            o.order_id, state, limit=limit, post_only=o.post_only, tick=Decimal(price_inc)
        )
        if derived is None:
            return None
        return TradeReport(
            venue=VENUE, symbol=status.symbol, client_order_id=status.client_order_id,
            venue_order_id=o.order_id, trade_id=derived.trade_id, side=status.side,
            price=float(derived.price), quantity=float(derived.quantity), fee=float(derived.fee),
            fee_currency=status.symbol.split("/")[1],
            liquidity=LiquiditySide.MAKER if derived.maker else LiquiditySide.TAKER,
            ts_event=status.ts_event,
        )  # fmt: skip

    def _on_reconnected(self) -> None:
        if self._reports is not None:
            self._reports.on_stream_reconnected(VENUE)
