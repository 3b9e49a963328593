"""The fake Bybit's private REST endpoints (v5), on the private exchange.

Every reply is ``{"retCode", "retMsg", "result", "retExtInfo", "time"}`` with
HTTP 200, as Bybit answers; the rate limit is announced in
``X-Bapi-Limit-Status`` / ``X-Bapi-Limit-Reset-Timestamp`` and a request over it
gets retCode 10006 without acting. Faults of ``PrivateFaults`` apply to order
requests (create, amend, cancel, cancel-all): the ledger acts, then the answer is
lost (connection cut), replaced by retCode 10016, or delayed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from tradefabric.model.orders import OrderSide, OrderType, TimeInForce
from tradefabric.venues.fakevenue.bybit_private_auth import KeyRing, RefusedError, server_ms
from tradefabric.venues.fakevenue.bybit_private_exchange import CANCEL_BY_USER, BybitExchange
from tradefabric.venues.fakevenue.bybit_private_render import BybitRenderer
from tradefabric.venues.fakevenue.private.exchange import OrderRefusedError
from tradefabric.venues.fakevenue.private.faults import PrivateFaults, RateLimit, ResponseFault
from tradefabric.venues.fakevenue.private.model import OrderParams, OrderView, RejectReason

Params = dict[str, Any]
Handler = Callable[[Params], Params]

_TIF = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}
REQUESTS_PER_WINDOW = 10
"""What ``X-Bapi-Limit`` announces (Bybit's default per-UID order limit per second)."""
WEEK_MS = 7 * 24 * 3600 * 1000
"""The longest range ``/v5/execution/list`` answers (the last 7 days when none is given)."""
WOULD_TAKE_CANCEL_DELAY_S = 0.02
"""How long after the acknowledgement a would-take post-only order is cancelled."""


def reply(
    code: int, message: str, result: Any, headers: dict[str, str] | None = None
) -> web.Response:
    """Return a v5 reply (HTTP 200 whatever the ``retCode``)."""
    body = {
        "retCode": code, "retMsg": message, "result": result, "retExtInfo": {},
        "time": server_ms(),
    }  # fmt: skip
    return web.Response(
        body=msgspec.json.encode(body), content_type="application/json", headers=headers
    )


def _param(params: Params, name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise RefusedError(10001, f"params error: {name} is required")
    return str(value)


def _number(params: Params, name: str) -> float | None:
    text = params.get(name)
    if text is None or text == "":
        return None
    try:
        return float(text)
    except ValueError:
        raise RefusedError(10001, f"params error: {name} {text!r} is not a number") from None


class OrderRateLimit:
    """Bybit's per-key limit on order requests: ``limit`` per fixed one-second window.

    Each answer announces ``X-Bapi-Limit``, ``X-Bapi-Limit-Status`` (requests left)
    and ``X-Bapi-Limit-Reset-Timestamp`` (ms); a request over the limit is refused
    with retCode 10006 before it acts.
    """

    def __init__(self, limit: int = REQUESTS_PER_WINDOW, window_ms: int = 1000) -> None:
        self.limit = limit
        self.window_ms = window_ms
        self._windows: dict[str, tuple[int, int]] = {}
        self.refused = 0

    def take(self, api_key: str) -> dict[str, str]:
        """Count one request of ``api_key``; return the headers, or raise over the limit."""
        now = server_ms()
        start, used = self._windows.get(api_key, (now, 0))
        if now >= start + self.window_ms:
            start, used = now, 0
        reset = str(start + self.window_ms)
        if used >= self.limit:
            self.refused += 1
            headers = {"X-Bapi-Limit": str(self.limit), "X-Bapi-Limit-Status": "0",
                       "X-Bapi-Limit-Reset-Timestamp": reset}  # fmt: skip
            raise RefusedError(10006, "Too many visits. Exceeded the API Rate Limit.", headers)
        self._windows[api_key] = (start, used + 1)
        return {
            "X-Bapi-Limit": str(self.limit), "X-Bapi-Limit-Status": str(self.limit - used - 1),
            "X-Bapi-Limit-Reset-Timestamp": reset,
        }  # fmt: skip


class BybitPrivateRest:
    """The v5 order, execution, account and position endpoints of one category."""

    def __init__(
        self,
        category: str,
        exchange: BybitExchange,
        renderer: BybitRenderer,
        keys: KeyRing,
        faults: PrivateFaults,
    ) -> None:
        self.category = category
        self.exchange = exchange
        self.render = renderer
        self.keys = keys
        self.faults = faults
        self.dcp_products: dict[str, int] = {}
        """DCP product -> window (s) set through ``/v5/order/disconnected-cancel-all``."""
        self.on_dcp_window: Callable[[str, int], None] = lambda _product, _window: None
        self.orders_received = 0
        self.limits = OrderRateLimit()

    def routes(self) -> list[web.RouteDef]:
        """Return every private endpoint."""
        posts: dict[str, Handler] = {
            "/v5/order/create": self._create, "/v5/order/amend": self._amend,
            "/v5/order/cancel": self._cancel, "/v5/order/cancel-all": self._cancel_all,
        }  # fmt: skip
        gets: dict[str, Handler] = {
            "/v5/order/realtime": self._realtime, "/v5/order/history": self._history,
            "/v5/execution/list": self._executions,
            "/v5/account/wallet-balance": self._wallet, "/v5/position/list": self._positions,
        }  # fmt: skip
        routes = [web.post(p, self._signed(h, acts=True)) for p, h in posts.items()]
        routes.append(
            web.post("/v5/order/disconnected-cancel-all", self._signed(self._dcp, acts=False))
        )
        routes += [web.get(p, self._signed(h, acts=False)) for p, h in gets.items()]
        return routes

    # -- the envelope: rate limit, signature, faults ------------------------------------

    def _signed(
        self, handler: Handler, acts: bool
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            payload = await request.text() if request.method == "POST" else request.query_string
            limited = self.faults.take_rate_limit()
            if limited is not None:
                return _rate_limited(limited)
            limit_headers: dict[str, str] = {}
            try:
                self.keys.verify_rest(request, payload)
                if acts:
                    limit_headers = self.limits.take(request.headers["X-BAPI-API-KEY"])
                params = self._decode(request, payload)
                result = handler(params)
            except RefusedError as exc:
                return reply(exc.code, exc.message, {}, exc.headers or limit_headers)
            except OrderRefusedError as exc:
                code, message = self.render.refusal(exc.reason)
                return reply(code, message, {}, limit_headers)
            fault = self.faults.take_response() if acts else None
            response = await self._answer(request, fault, result)
            response.headers.update(limit_headers)
            return response

        return handle

    @staticmethod
    def _decode(request: web.Request, payload: str) -> Params:
        if request.method != "POST":
            return dict(request.query)
        try:
            decoded = msgspec.json.decode(payload or "{}")
        except msgspec.DecodeError:
            raise RefusedError(10001, "params error: body is not JSON") from None
        if not isinstance(decoded, dict):
            raise RefusedError(10001, "params error: body must be an object")
        return decoded

    async def _answer(
        self, request: web.Request, fault: tuple[ResponseFault, float] | None, result: Params
    ) -> web.StreamResponse:
        if fault is None:
            return reply(0, "OK", result)
        kind, seconds = fault
        if kind is ResponseFault.LOSE:
            transport = request.transport
            if transport is not None:
                transport.abort()  # acted, but the answer never leaves
            return web.Response(status=500)
        if kind is ResponseFault.UNKNOWN:
            return reply(10016, "Internal server error.", {})
        await asyncio.sleep(seconds)
        return reply(0, "OK", result)

    def _check_category(self, params: Params) -> None:
        if params.get("category") != self.category:
            raise RefusedError(10001, f"params error: category must be {self.category}")

    # -- order entry --------------------------------------------------------------------

    def _create(self, params: Params) -> Params:
        self._check_category(params)
        self.orders_received += 1
        order = self._order_params(params)
        view, would_take = self.exchange.place_bybit(order)
        if would_take:
            loop = asyncio.get_running_loop()
            loop.call_later(
                WOULD_TAKE_CANCEL_DELAY_S, self.exchange.cancel_would_take, view.venue_order_id
            )
        return _ids(view)

    def _order_params(self, params: Params) -> OrderParams:
        order_type = {"Market": OrderType.MARKET, "Limit": OrderType.LIMIT}.get(
            str(params.get("orderType"))
        )
        side = {"Buy": OrderSide.BUY, "Sell": OrderSide.SELL}.get(str(params.get("side")))
        if order_type is None or side is None:
            raise RefusedError(10001, "params error: side and orderType are required")
        quantity = _number(params, "qty")
        if quantity is None or quantity <= 0:
            raise RefusedError(10001, "params error: qty is required")
        market_in_quote = (
            self.category == "spot" and order_type is OrderType.MARKET and side is OrderSide.BUY
        )
        if market_in_quote and params.get("marketUnit") != "baseCoin":
            raise RefusedError(10001, "the fake venue takes spot market buys in baseCoin only")
        tif = str(params.get("timeInForce") or "GTC")
        if tif != "PostOnly" and tif not in _TIF:
            raise RefusedError(10001, f"params error: timeInForce {tif}")
        price = _number(params, "price") if order_type is OrderType.LIMIT else None
        if order_type is OrderType.LIMIT and price is None:
            raise RefusedError(10001, "params error: price is required for a limit order")
        return OrderParams(
            symbol=_param(params, "symbol"),
            client_order_id=str(params.get("orderLinkId") or uuid.uuid4()),
            side=side, order_type=order_type, quantity=quantity, price=price,
            time_in_force=_TIF.get(tif, TimeInForce.GTC), post_only=tif == "PostOnly",
            reduce_only=bool(params.get("reduceOnly", False)),
        )  # fmt: skip

    def _amend(self, params: Params) -> Params:
        self._check_category(params)
        symbol = _param(params, "symbol")
        link_id = self._link_id(symbol, params)
        view = self.exchange.amend(
            symbol, link_id, _number(params, "qty"), _number(params, "price")
        )
        return _ids(view)

    def _cancel(self, params: Params) -> Params:
        self._check_category(params)
        symbol = _param(params, "symbol")
        view = self.exchange.cancel_by_user(symbol, self._link_id(symbol, params))
        return _ids(view)

    def _link_id(self, symbol: str, params: Params) -> str:
        link_id = str(params.get("orderLinkId") or "")
        if link_id:
            return link_id
        order_id = str(params.get("orderId") or "")
        if not order_id.isdigit():
            raise RefusedError(10001, "params error: orderId or orderLinkId is required")
        view = self.exchange.order(symbol, venue_order_id=int(order_id))
        if view is None:
            code, message = self.render.refusal(_unknown())
            raise RefusedError(code, message)
        return view.client_order_id

    def _cancel_all(self, params: Params) -> Params:
        self._check_category(params)
        symbol = params.get("symbol") or None
        scoped = symbol or params.get("settleCoin") or params.get("baseCoin")
        if self.category == "linear" and not scoped:
            raise RefusedError(10001, "params error: symbol, baseCoin or settleCoin is required")
        cancelled = self.exchange.cancel_all_by(CANCEL_BY_USER, symbol)
        return {"list": [_ids(v) for v in cancelled], "success": "1"}

    def _dcp(self, params: Params) -> Params:
        product = str(params.get("product") or "OPTIONS")
        window = params.get("timeWindow")
        if not isinstance(window, int) or not 3 <= window <= 300:
            raise RefusedError(10001, "params error: timeWindow must be an integer in [3, 300]")
        self.dcp_products[product] = window
        self.on_dcp_window(product, window)
        return {}

    # -- queries ------------------------------------------------------------------------

    def _symbols(self, params: Params) -> list[str]:
        symbol = params.get("symbol")
        return [str(symbol)] if symbol else sorted(self.exchange.rules)

    def _one(self, params: Params) -> list[OrderView]:
        link_id, order_id = params.get("orderLinkId"), params.get("orderId")
        found = [
            self.exchange.order(
                s, client_order_id=str(link_id or ""),
                venue_order_id=int(order_id) if order_id and str(order_id).isdigit() else 0,
            )
            for s in self._symbols(params)
        ]  # fmt: skip
        return [v for v in found if v is not None]

    def _realtime(self, params: Params) -> Params:
        self._check_category(params)
        if params.get("orderLinkId") or params.get("orderId"):
            views = self._one(params)
        else:
            views = [v for s in self._symbols(params) for v in self.exchange.open_orders(s)]
        return self._page(params, [self._order(v) for v in views])

    def _history(self, params: Params) -> Params:
        self._check_category(params)
        views = self._one(params) if params.get("orderLinkId") or params.get("orderId") else []
        return self._page(params, [self._order(v) for v in views if not v.is_open])

    def _order(self, view: OrderView) -> Params:
        return self.render.order(view, self.exchange.end_reasons.get(view.venue_order_id, ""))

    def _executions(self, params: Params) -> Params:
        self._check_category(params)
        now = server_ms()
        end = int(params.get("endTime") or now)
        since = int(params.get("startTime") or end - WEEK_MS)
        if not 0 <= end - since <= WEEK_MS:
            raise RefusedError(10001, "params error: startTime..endTime spans at most 7 days")
        symbol = params.get("symbol")
        fills = [
            f for f in self.exchange.fills_of(str(symbol) if symbol else None, since)
            if f.ts_ms <= end
        ]  # fmt: skip
        listed = []
        for fill in reversed(fills):  # newest first, as Bybit lists them
            order = self.exchange.order(fill.symbol, venue_order_id=fill.venue_order_id)
            assert order is not None  # every fill belongs to an order of the ledger
            listed.append(self.render.execution(fill, order))
        return self._page(params, listed)

    def _wallet(self, params: Params) -> Params:
        if params.get("accountType") != "UNIFIED":
            raise RefusedError(10001, "accountType only support UNIFIED")
        return {"list": [self.render.wallet(self.exchange.account.balances())]}

    def _positions(self, params: Params) -> Params:
        self._check_category(params)
        if self.category != "linear":
            raise RefusedError(10001, "params error: category only support linear, inverse, option")
        if not (params.get("symbol") or params.get("settleCoin") or params.get("baseCoin")):
            raise RefusedError(10001, "params error: symbol or settleCoin is required")
        symbol = params.get("symbol")
        positions = [p for p in self.exchange.account.positions() if symbol in (None, "", p.symbol)]
        now = server_ms()
        return self._page(params, [self.render.position(p, now) for p in positions])

    def _page(self, params: Params, items: list[Params]) -> Params:
        limit = int(params.get("limit") or 20)
        cursor = str(params.get("cursor") or "")
        start = int(cursor) if cursor.isdigit() else 0
        page = items[start : start + limit]
        more = start + limit < len(items)
        return {
            "category": self.category,
            "list": page,
            "nextPageCursor": str(start + limit) if more else "",
        }


def _ids(view: OrderView) -> Params:
    return {"orderId": str(view.venue_order_id), "orderLinkId": view.client_order_id}


def _unknown() -> RejectReason:
    return RejectReason.UNKNOWN_ORDER


def _rate_limited(limit: RateLimit) -> web.Response:
    reset = server_ms() + int(limit.retry_after_s * 1000)
    if limit.status == 418:  # Bybit bans an IP with HTTP 403
        return web.Response(status=403, text="403 Forbidden")
    headers = {
        "X-Bapi-Limit": str(REQUESTS_PER_WINDOW), "X-Bapi-Limit-Status": "0",
        "X-Bapi-Limit-Reset-Timestamp": str(reset),
    }  # fmt: skip
    return reply(10006, "Too many visits. Exceeded the API Rate Limit.", {}, headers)
