"""Coinbase Advanced Trade's private REST on the fake venue, over the neutral ledger.

Every request needs ``Authorization: Bearer <CDP JWT>`` (``coinbase_private_auth``;
refused: HTTP 401 ``Unauthorized``). An injected rate limit answers 429 before
anything is done. Endpoints under ``/api/v3/brokerage``: ``POST orders`` (a
``client_order_id`` seen before returns that order, creating nothing, as Coinbase
does), ``POST orders/batch_cancel``, ``POST orders/edit``, ``GET orders/historical/batch``,
``orders/historical/fills``, ``orders/historical/{order_id}``, ``accounts``.
A refused create is HTTP 200 ``{"success": false, "error_response": {...}}``
(``REJECT_ERRORS``). An accepted create's answer may be lost, replaced by a 503
or delayed on command.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import msgspec
from aiohttp import web

from tradefabric.model.orders import OrderSide, OrderType, TimeInForce
from tradefabric.venues.coinbase.markets import product_id, unified_symbol
from tradefabric.venues.coinbase.timestamps import parse_rfc3339_ns
from tradefabric.venues.fakevenue.coinbase_private_auth import CdpKeys, JwtRefusedError
from tradefabric.venues.fakevenue.coinbase_private_render import (
    order_uuid,
    rest_fill,
    rest_order,
)
from tradefabric.venues.fakevenue.private.exchange import OrderRefusedError, PrivateExchange
from tradefabric.venues.fakevenue.private.faults import PrivateFaults, ResponseFault
from tradefabric.venues.fakevenue.private.model import (
    OrderEvent,
    OrderParams,
    OrderView,
    RejectReason,
    UserEvent,
)

API = "/api/v3/brokerage"
Json = dict[str, object]

REJECT_ERRORS: dict[RejectReason, tuple[str, str]] = {
    RejectReason.PRICE_TICK: ("INVALID_PRICE_PRECISION", "Invalid price precision"),
    RejectReason.PRICE_BAND: ("INVALID_LIMIT_PRICE", "Limit price too far from the market"),
    RejectReason.LOT_SIZE: ("INVALID_SIZE_PRECISION", "Invalid size precision"),
    RejectReason.MIN_NOTIONAL: ("INVALID_BASE_SIZE_TOO_SMALL", "Order size is too small"),
    RejectReason.WOULD_TAKE: (
        "INVALID_LIMIT_PRICE_POST_ONLY", "Post only order would cross the book",
    ),
    RejectReason.INSUFFICIENT_BALANCE: (
        "INSUFFICIENT_FUND", "Insufficient balance in source account",
    ),
    RejectReason.DUPLICATE_CLIENT_ID: ("DUPLICATE_CLIENT_ORDER_ID", "Duplicate client order id"),
    RejectReason.UNKNOWN_SYMBOL: ("INVALID_PRODUCT_ID", "Product not found"),
    RejectReason.UNKNOWN_ORDER: ("UNKNOWN_FAILURE_REASON", "Order not found"),
}  # fmt: skip
"""The ledger's neutral refusals -> Coinbase's ``error_response`` codes."""

_CONFIGS: dict[str, tuple[OrderType, TimeInForce]] = {
    "limit_limit_gtc": (OrderType.LIMIT, TimeInForce.GTC),
    "limit_limit_fok": (OrderType.LIMIT, TimeInForce.FOK),
    "sor_limit_ioc": (OrderType.LIMIT, TimeInForce.IOC),
    "market_market_ioc": (OrderType.MARKET, TimeInForce.IOC),
}


class _LimitBody(msgspec.Struct, frozen=True):
    base_size: str
    limit_price: str = ""
    post_only: bool = False


class _Create(msgspec.Struct, frozen=True):
    client_order_id: str
    product_id: str
    side: str
    order_configuration: dict[str, _LimitBody]


class _EditBody(msgspec.Struct, frozen=True):
    order_id: str
    price: str
    size: str


EDIT_ERRORS: dict[RejectReason, str] = {
    RejectReason.INSUFFICIENT_BALANCE: "INSUFFICIENT_FUNDS",
    RejectReason.WOULD_TAKE: "INVALID_EDITED_PRICE_POST_ONLY",
    RejectReason.LOT_SIZE: "INVALID_EDITED_SIZE",
    RejectReason.PRICE_TICK: "INVALID_EDITED_PRICE",
    RejectReason.PRICE_BAND: "INVALID_EDITED_PRICE",
    RejectReason.MIN_NOTIONAL: "INVALID_EDITED_SIZE",
}
"""The ledger's refusals of an amend -> Coinbase's ``edit_failure_reason``."""


class _CancelBody(msgspec.Struct, frozen=True):
    order_ids: list[str]


Handler = Callable[[web.Request], Awaitable[web.Response]]


class CoinbasePrivateApi:
    """The private REST endpoints over one account's ledger."""

    def __init__(self, keys: CdpKeys, exchange: PrivateExchange, faults: PrivateFaults) -> None:
        self.keys = keys
        self.exchange = exchange
        self.faults = faults
        self.orders_received = 0
        self.requests: dict[str, int] = {}
        self._ids: dict[str, OrderView] = {}
        """Venue order id -> the order's first view (its symbol and number)."""
        exchange.events.subscribe(self._on_event)

    def _on_event(self, event: UserEvent) -> None:
        # Every order the ledger holds is found by its UUID, however it was placed.
        if isinstance(event, OrderEvent):
            self._ids.setdefault(order_uuid(event.order.venue_order_id), event.order)

    def routes(self) -> list[web.RouteDef]:
        """Return the endpoints (the literal ``historical/*`` before ``{order_id}``)."""
        return [
            web.post(API + "/orders", self._guard("create", self.create)),
            web.post(API + "/orders/batch_cancel", self._guard("cancel", self.batch_cancel)),
            web.post(API + "/orders/edit", self._guard("edit", self.edit)),
            web.get(API + "/orders/historical/batch", self._guard("list", self.list_orders)),
            web.get(API + "/orders/historical/fills", self._guard("fills", self.list_fills)),
            web.get(API + "/orders/historical/{order_id}", self._guard("get", self.get_order)),
            web.get(API + "/accounts", self._guard("accounts", self.accounts)),
        ]

    def _guard(self, name: str, handler: Handler) -> Handler:
        async def serve(request: web.Request) -> web.Response:
            self.requests[name] = self.requests.get(name, 0) + 1
            if self.faults.take_rate_limit() is not None:
                return _json({"error": "RATE_LIMIT_EXCEEDED", "message": "Too many requests"}, 429)
            auth = request.headers.get("Authorization", "")
            try:
                self.keys.verify(
                    auth.removeprefix("Bearer "), f"{request.method} {request.host}{request.path}"
                )
            except JwtRefusedError:
                return web.Response(status=401, text="Unauthorized\n")
            return await handler(request)

        return serve

    # -- orders -------------------------------------------------------------------------

    async def create(self, request: web.Request) -> web.Response:
        """``POST /orders``."""
        try:
            body = msgspec.json.decode(await request.read(), type=_Create)
            params = self._params(body)
        except (msgspec.DecodeError, KeyError, ValueError) as exc:
            return _json({"error": "INVALID_ARGUMENT", "message": str(exc)}, 400)
        existing = self._by_client(params.symbol, params.client_order_id)
        if existing is not None:
            return _json(_created(existing))
        try:
            view = self.exchange.place(params)
        except OrderRefusedError as refused:
            error, message = REJECT_ERRORS[refused.reason]
            return _json(_refused(error, message, body))
        self.orders_received += 1
        fault = self.faults.take_response()
        if fault is not None:
            kind, seconds = fault
            if kind is ResponseFault.DELAY:
                await asyncio.sleep(seconds)
            elif kind is ResponseFault.UNKNOWN:
                return web.Response(status=503, text="upstream request timeout")
            elif request.transport is not None:
                request.transport.abort()  # accepted; the answer never leaves
                return web.Response(status=500)
        return _json(_created(view))

    def _params(self, body: _Create) -> OrderParams:
        ((name, cfg),) = body.order_configuration.items()
        kind, tif = _CONFIGS[name]
        return OrderParams(
            symbol=unified_symbol(body.product_id), client_order_id=body.client_order_id,
            side=OrderSide(body.side.lower()), order_type=kind, quantity=float(cfg.base_size),
            price=float(cfg.limit_price) if kind is OrderType.LIMIT else None,
            time_in_force=tif, post_only=cfg.post_only,
        )  # fmt: skip

    def _by_client(self, symbol: str, client_order_id: str) -> OrderView | None:
        return self.exchange.order(symbol, client_order_id) if client_order_id else None

    def find(self, venue_id: str) -> OrderView | None:
        """Return the current view of one order by its UUID."""
        first = self._ids.get(venue_id)
        if first is None:
            return None
        return self.exchange.order(first.symbol, venue_order_id=first.venue_order_id)

    async def batch_cancel(self, request: web.Request) -> web.Response:
        """``POST /orders/batch_cancel``: one result per id."""
        body = msgspec.json.decode(await request.read(), type=_CancelBody)
        results = []
        for venue_id in body.order_ids:
            view = self.find(venue_id)
            if view is None or not view.is_open:
                reason = "UNKNOWN_CANCEL_ORDER" if view is None else "INVALID_CANCEL_REQUEST"
                results.append({"success": False, "failure_reason": reason, "order_id": venue_id})
                continue
            self.exchange.cancel(view.symbol, venue_order_id=view.venue_order_id)
            results.append(
                {"success": True, "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON",
                 "order_id": venue_id}
            )  # fmt: skip
        return _json({"results": results})

    async def edit(self, request: web.Request) -> web.Response:
        """``POST /orders/edit``: new ``size`` and ``price`` of an open GTC limit order."""
        body = msgspec.json.decode(await request.read(), type=_EditBody)
        view = self.find(body.order_id)
        if view is None or not view.is_open or view.time_in_force is not TimeInForce.GTC:
            return _json(_edit_refused("ORDER_NOT_FOUND"))
        try:
            self.exchange.amend(
                view.symbol, view.client_order_id, float(body.size), float(body.price)
            )
        except OrderRefusedError as refused:
            return _json(
                _edit_refused(EDIT_ERRORS.get(refused.reason, "UNKNOWN_EDIT_ORDER_FAILURE_REASON"))
            )
        return _json({"success": True, "errors": []})

    # -- queries ------------------------------------------------------------------------

    def render(self, view: OrderView) -> Json:
        """Return a REST order with its fills' totals."""
        fills = [
            f
            for f in self.exchange.fills_of(view.symbol)
            if f.venue_order_id == view.venue_order_id
        ]
        return rest_order(view, fills)

    async def list_orders(self, request: web.Request) -> web.Response:
        """``GET orders/historical/batch`` by ``order_status`` and ``product_ids``."""
        q = request.query
        statuses = set(q.getall("order_status", []))
        products = {p for v in q.getall("product_ids", []) for p in v.split(",")}
        orders = []
        for view in self._views():
            rendered = self.render(view)
            if statuses and rendered["status"] not in statuses:
                continue
            if products and product_id(view.symbol) not in products:
                continue
            orders.append(rendered)
        return _json({"orders": orders, "sequence": "0", "has_next": False, "cursor": ""})

    def _views(self) -> list[OrderView]:
        found = (self.find(venue_id) for venue_id in self._ids)
        return sorted((v for v in found if v is not None), key=lambda v: -v.created_ms)

    async def get_order(self, request: web.Request) -> web.Response:
        """``GET orders/historical/{order_id}``."""
        view = self.find(request.match_info["order_id"])
        if view is None:
            return _json({"error": "NOT_FOUND", "message": "order not found"}, 404)
        return _json({"order": self.render(view)})

    async def list_fills(self, request: web.Request) -> web.Response:
        """``GET orders/historical/fills`` by ``order_ids`` and ``start_sequence_timestamp``."""
        q = request.query
        wanted = {i for v in q.getall("order_ids", []) for i in v.split(",") if i}
        start = q.get("start_sequence_timestamp", "")
        since_ms = parse_rfc3339_ns(start) // 1_000_000 if start else 0
        fills = [
            rest_fill(f) for f in self.exchange.fills_of(since_ms=since_ms)
            if not wanted or order_uuid(f.venue_order_id) in wanted
        ]  # fmt: skip
        return _json({"fills": list(reversed(fills)), "cursor": ""})

    async def accounts(self, _request: web.Request) -> web.Response:
        """``GET accounts``: one account per asset, ``available_balance`` and ``hold``."""
        accounts = [
            {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, b.asset)), "name": f"{b.asset} Wallet",
             "currency": b.asset,
             "available_balance": {"value": f"{b.free:.10f}", "currency": b.asset},
             "default": False, "active": True, "type": "ACCOUNT_TYPE_CRYPTO", "ready": True,
             "hold": {"value": f"{b.locked:.10f}", "currency": b.asset}}
            for b in self.exchange.account.balances()
        ]  # fmt: skip
        return _json({"accounts": accounts, "has_next": False, "cursor": "", "size": len(accounts)})


def _created(view: OrderView) -> Json:
    return {
        "success": True,
        "success_response": {
            "order_id": order_uuid(view.venue_order_id), "product_id": product_id(view.symbol),
            "side": view.side.value.upper(), "client_order_id": view.client_order_id,
        },
    }  # fmt: skip


def _refused(error: str, message: str, body: _Create) -> Json:
    return {
        "success": False, "failure_reason": "UNKNOWN_FAILURE_REASON", "order_id": "",
        "error_response": {
            "error": error, "message": message, "error_details": "",
            "preview_failure_reason": f"PREVIEW_{error}",
        },
        "order_configuration": msgspec.to_builtins(body.order_configuration),
    }  # fmt: skip


def _edit_refused(reason: str) -> Json:
    return {
        "success": False,
        "errors": [{"edit_failure_reason": reason, "preview_failure_reason": f"PREVIEW_{reason}"}],
    }


def _json(body: object, status: int = 200) -> web.Response:
    return web.Response(
        status=status, body=msgspec.json.encode(body), content_type="application/json"
    )
