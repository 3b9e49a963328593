"""Kraken's signed REST (``/0/private/*``) on the fake venue, over the neutral ledger.

A request is a url-encoded POST with ``nonce``; ``API-Key`` names the key and
``API-Sign`` is ``base64(HMAC-SHA512(secret, path + SHA256(nonce + body)))``.
Refusals are Kraken's own strings in ``{"error": [...], "result": {}}`` with HTTP
200: an injected rate limit (``EAPI:Rate limit exceeded``, nothing done), an
unknown key (``EAPI:Invalid key``), a bad signature (``EAPI:Invalid signature``),
a nonce not above the key's last (``EAPI:Invalid nonce``), then the ledger's
refusals mapped by ``REJECT_ERRORS``. An accepted ``AddOrder``'s answer may be
lost, replaced by ``EService:Unavailable`` or delayed on command.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

import msgspec
from aiohttp import web

from tradefabric.model.orders import OrderSide, OrderType, TimeInForce
from tradefabric.venues.fakevenue.kraken_private_render import (
    number_of,
    rest_order,
    rest_trade,
    txid,
)
from tradefabric.venues.fakevenue.private.exchange import OrderRefusedError, PrivateExchange
from tradefabric.venues.fakevenue.private.faults import PrivateFaults, ResponseFault
from tradefabric.venues.fakevenue.private.model import OrderParams, OrderView, RejectReason
from tradefabric.venues.kraken.symbols import rest_pair_to_symbol, symbol_to_rest_pair
from tradefabric.venues.kraken.timestamps import ns_to_rfc3339

REJECT_ERRORS: dict[RejectReason, str] = {
    RejectReason.PRICE_TICK: "EOrder:Invalid price:tick size",
    RejectReason.PRICE_BAND: "EOrder:Invalid price",
    RejectReason.LOT_SIZE: "EOrder:Order minimum not met",
    RejectReason.MIN_NOTIONAL: "EOrder:Cost minimum not met",
    RejectReason.WOULD_TAKE: "EOrder:Post only order",
    RejectReason.INSUFFICIENT_BALANCE: "EOrder:Insufficient funds",
    RejectReason.DUPLICATE_CLIENT_ID: "EOrder:Duplicate order",
    RejectReason.UNKNOWN_SYMBOL: "EQuery:Unknown asset pair",
    RejectReason.UNKNOWN_ORDER: "EOrder:Unknown order",
}
"""The ledger's neutral refusals -> Kraken's error strings."""

TIFS = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC}
"""Kraken spot's time in force (``GTD`` aside): no fill-or-kill."""
Params = dict[str, str]
Result = object


class KrakenError(Exception):
    """A refusal as Kraken answers it (one error string)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class KrakenKey(msgspec.Struct, frozen=True):
    """One registered key and its base64 secret."""

    api_key: str
    secret: str


class KrakenKeys:
    """The keys the fake accepts, each key's last nonce, and the WebSocket tokens issued."""

    def __init__(self, keys: tuple[KrakenKey, ...]) -> None:
        self._keys = {k.api_key: k for k in keys}
        self.last_nonce: dict[str, int] = {}
        self.tokens: set[str] = set()

    def verify(self, api_key: str, signature: str, path: str, body: str) -> Params:
        """Return the body's parameters once the key, signature and nonce pass."""
        key = self._keys.get(api_key)
        if key is None:
            raise KrakenError("EAPI:Invalid key")
        params = dict(parse_qsl(body, keep_blank_values=True))
        nonce = params.get("nonce", "")
        digest = hashlib.sha256((nonce + body).encode()).digest()
        expected = hmac.new(base64.b64decode(key.secret), path.encode() + digest, hashlib.sha512)
        try:
            given = base64.b64decode(signature, validate=True)
        except binascii.Error as exc:
            raise KrakenError("EAPI:Invalid signature") from exc
        if not hmac.compare_digest(expected.digest(), given):
            raise KrakenError("EAPI:Invalid signature")
        if not nonce.isdigit() or int(nonce) <= self.last_nonce.get(api_key, 0):
            raise KrakenError("EAPI:Invalid nonce")
        self.last_nonce[api_key] = int(nonce)
        return params

    def issue_token(self) -> str:
        """Return a new WebSocket token."""
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return token


Handler = Callable[[Params], Result]


class KrakenPrivateApi:
    """The private REST endpoints over one account's ledger."""

    def __init__(
        self,
        keys: KrakenKeys,
        exchange: PrivateExchange,
        faults: PrivateFaults,
        price_decimals: Callable[[str], int],
    ) -> None:
        self.keys = keys
        self.exchange = exchange
        self.faults = faults
        self.price_decimals = price_decimals
        self.orders_received = 0
        self.requests: dict[str, int] = {}
        self.cancel_after: asyncio.TimerHandle | None = None
        self.cancel_after_fired = 0

    def routes(self) -> list[web.RouteDef]:
        """Return every ``/0/private/<method>`` endpoint."""
        handlers: dict[str, Handler] = {
            "AddOrder": self.add_order, "CancelOrder": self.cancel_order,
            "CancelAll": self.cancel_all, "CancelAllOrdersAfter": self.cancel_all_after,
            "OpenOrders": self.open_orders, "QueryOrders": self.query_orders,
            "TradesHistory": self.trades_history, "Balance": self.balance,
            "BalanceEx": self.balance_ex, "GetWebSocketsToken": self.ws_token,
        }  # fmt: skip
        return [
            web.post(f"/0/private/{name}", self._serve(name, handler))
            for name, handler in handlers.items()
        ]

    def _serve(
        self, name: str, handler: Handler
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def serve(request: web.Request) -> web.Response:
            self.requests[name] = self.requests.get(name, 0) + 1
            try:
                result = await self._act(request, name, handler)
            except KrakenError as error:
                return _reply({"error": [error.error], "result": {}})
            return _reply({"error": [], "result": result})

        return serve

    async def _act(self, request: web.Request, name: str, handler: Handler) -> Result:
        if self.faults.take_rate_limit() is not None:
            raise KrakenError("EAPI:Rate limit exceeded")
        body = (await request.read()).decode()
        headers = request.headers
        params = self.keys.verify(
            headers.get("API-Key", ""), headers.get("API-Sign", ""), request.path, body
        )
        result = self.act(handler, params)
        if name == "AddOrder":
            self.orders_received += 1
            await self._answer_fault(request)
        return result

    def act(self, handler: Handler, params: Params) -> Result:
        """Run ``handler``; a ledger refusal becomes Kraken's error string."""
        try:
            return handler(params)
        except OrderRefusedError as error:
            raise KrakenError(REJECT_ERRORS[error.reason]) from error

    async def _answer_fault(self, request: web.Request) -> None:
        fault = self.faults.take_response()
        if fault is None:
            return
        kind, seconds = fault
        if kind is ResponseFault.DELAY:
            await asyncio.sleep(seconds)
        elif kind is ResponseFault.UNKNOWN:
            raise KrakenError("EService:Unavailable")
        elif request.transport is not None:
            request.transport.abort()  # accepted; the answer never leaves

    # -- orders -------------------------------------------------------------------------

    def place(self, params: OrderParams) -> OrderView:
        """Place one order on the ledger (REST and WS share it)."""
        return self.exchange.place(params)

    def add_order(self, p: Params) -> Result:
        """``AddOrder``: ``ordertype``, ``type``, ``volume``, ``pair``, ``price``, ``oflags``..."""
        kind = {"limit": OrderType.LIMIT, "market": OrderType.MARKET}.get(p.get("ordertype", ""))
        side = {"buy": OrderSide.BUY, "sell": OrderSide.SELL}.get(p.get("type", ""))
        if kind is None or side is None or "volume" not in p or "pair" not in p:
            raise KrakenError("EGeneral:Invalid arguments")
        symbol = rest_pair_to_symbol(p["pair"])
        view = self.place(
            OrderParams(
                symbol=symbol,
                client_order_id=p.get("cl_ord_id", ""),
                side=side,
                order_type=kind,
                quantity=_number(p["volume"]),
                price=_number(p["price"]) if kind is OrderType.LIMIT else None,
                time_in_force=_tif(p.get("timeinforce", "GTC")),
                post_only="post" in p.get("oflags", "").split(","),
            )
        )
        pair = symbol_to_rest_pair(symbol)
        return {
            "descr": {"order": f"{side.value} {view.quantity:.8f} {pair} @ {kind.value}"},
            "txid": [txid("O", view.venue_order_id)],
        }

    def locate(self, client_order_id: str = "", order_txid: str = "") -> OrderView | None:
        """Return an order by client id or txid, whatever its pair."""
        number = number_of(order_txid) if order_txid else 0
        for symbol in self.exchange.rules:
            view = self.exchange.order(symbol, client_order_id, number)
            if view is not None:
                return view
        return None

    def cancel(self, client_order_id: str = "", order_txid: str = "") -> OrderView:
        """Cancel one order by client id or txid (``EOrder:Unknown order`` otherwise)."""
        view = self.locate(client_order_id, order_txid)
        if view is None or not view.is_open:
            raise KrakenError("EOrder:Unknown order")
        return self.exchange.cancel(view.symbol, venue_order_id=view.venue_order_id)

    def cancel_order(self, p: Params) -> Result:
        """``CancelOrder`` by ``txid`` or ``cl_ord_id``."""
        self.cancel(p.get("cl_ord_id", ""), p.get("txid", ""))
        return {"count": 1}

    def cancel_all(self, _p: Params) -> Result:
        """``CancelAll``: every open order."""
        return {"count": len(self.exchange.cancel_all())}

    def cancel_all_after(self, p: Params) -> Result:
        """``CancelAllOrdersAfter``: cancel everything ``timeout`` s from now unless re-armed."""
        timeout = int(p.get("timeout", "0") or 0)
        if self.cancel_after is not None:
            self.cancel_after.cancel()
            self.cancel_after = None
        now_ns = time.time_ns()
        if timeout > 0:
            loop = asyncio.get_running_loop()
            self.cancel_after = loop.call_later(timeout, self._fire_cancel_after)
        trigger = ns_to_rfc3339(now_ns + timeout * 1_000_000_000) if timeout else "0"
        return {"currentTime": ns_to_rfc3339(now_ns), "triggerTime": trigger}

    def _fire_cancel_after(self) -> None:
        self.cancel_after = None
        self.cancel_after_fired += 1
        self.exchange.cancel_all()

    # -- queries ------------------------------------------------------------------------

    def _render(self, view: OrderView) -> dict[str, object]:
        fee = sum(
            f.fee for f in self.exchange.fills_of(view.symbol)
            if f.venue_order_id == view.venue_order_id
        )  # fmt: skip
        return rest_order(view, self.price_decimals(view.symbol), fee)

    def open_orders(self, _p: Params) -> Result:
        """``OpenOrders``: ``{"open": {txid: order}}``."""
        return {
            "open": {
                txid("O", v.venue_order_id): self._render(v) for v in self.exchange.open_orders()
            }
        }

    def query_orders(self, p: Params) -> Result:
        """``QueryOrders`` by ``txid`` (comma-separated) or ``cl_ord_id``: ``{txid: order}``."""
        if "cl_ord_id" in p:
            view = self.locate(client_order_id=p["cl_ord_id"])
            views = [] if view is None else [view]
        elif "txid" in p:
            found = (self.locate(order_txid=t) for t in p["txid"].split(","))
            views = [v for v in found if v is not None]
        else:
            raise KrakenError("EGeneral:Invalid arguments")
        return {txid("O", v.venue_order_id): self._render(v) for v in views}

    def trades_history(self, p: Params) -> Result:
        """``TradesHistory`` since ``start`` (UNIX seconds): ``{"trades": {...}, "count": n}``."""
        since_ms = int(float(p.get("start", "0") or 0) * 1000)
        fills = self.exchange.fills_of(since_ms=since_ms)
        trades = {
            txid("T", f.trade_id): rest_trade(f, self.price_decimals(f.symbol)) for f in fills
        }
        return {"trades": trades, "count": len(trades)}

    def balance(self, _p: Params) -> Result:
        """``Balance``: asset -> total."""
        return {
            _code(b.asset): f"{b.free + b.locked:.10f}" for b in self.exchange.account.balances()
        }

    def balance_ex(self, _p: Params) -> Result:
        """``BalanceEx``: asset -> ``{"balance", "hold_trade"}``."""
        return {
            _code(b.asset): {
                "balance": f"{b.free + b.locked:.10f}",
                "hold_trade": f"{b.locked:.10f}",
            }
            for b in self.exchange.account.balances()
        }

    def ws_token(self, _p: Params) -> Result:
        """``GetWebSocketsToken``: a token for the authenticated WebSocket."""
        return {"token": self.keys.issue_token(), "expires": 900}


_CODES = {"BTC": "XXBT", "ETH": "XETH", "USD": "ZUSD"}


def _code(asset: str) -> str:
    return _CODES.get(asset, asset)


def _tif(name: str) -> TimeInForce:
    tif = TIFS.get(name)
    if tif is None:
        raise KrakenError("EGeneral:Invalid arguments:timeinforce")
    return tif


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise KrakenError("EGeneral:Invalid arguments") from exc


def _reply(body: object) -> web.Response:
    return web.Response(body=msgspec.json.encode(body), content_type="application/json")
