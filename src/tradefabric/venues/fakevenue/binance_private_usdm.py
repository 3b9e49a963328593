"""Binance USD-M futures' private API on the fake venue: signed REST and the listen-key stream.

- ``POST/PUT/DELETE/GET /fapi/v1/order`` (LIMIT with timeInForce GTC/IOC/FOK/GTX,
  GTX being post-only; MARKET; ``reduceOnly``; PUT amends a limit's quantity and
  price in place), ``GET /fapi/v1/openOrders``, ``DELETE /fapi/v1/allOpenOrders``,
  ``GET /fapi/v1/userTrades``, ``GET /fapi/v2/account`` and ``/fapi/v3/account``,
  ``GET /fapi/v2/positionRisk`` and ``/fapi/v3/positionRisk``,
  ``GET /fapi/v1/leverageBracket``, ``POST /fapi/v1/countdownCancelAll`` (the dead
  man's switch: ``countdownTime`` ms, 0 disarms).
- ``POST/PUT/DELETE /fapi/v1/listenKey`` (API key header, no signature): a key
  lives 60 minutes from its last keep-alive; the stream is ``/ws/<listenKey>``
  with ``ORDER_TRADE_UPDATE`` and ``ACCOUNT_UPDATE``; an expired key gets
  ``listenKeyExpired`` and its streams are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Mapping
from typing import Final

import msgspec
from aiohttp import web

from tradefabric.model.orders import OrderType
from tradefabric.venues.fakevenue.binance_private_api import (
    Answer,
    Json,
    RejectCodes,
    SignedApi,
    number,
    order_id,
    order_params,
    required,
)
from tradefabric.venues.fakevenue.binance_private_auth import BinanceApiError
from tradefabric.venues.fakevenue.binance_private_render import (
    account_update,
    num,
    order_trade_update,
    usdm_order,
    usdm_position,
    usdm_trade,
)
from tradefabric.venues.fakevenue.binance_private_spot import NOT_FOUND, select_trades
from tradefabric.venues.fakevenue.private.exchange import PrivateExchange, wall_ms
from tradefabric.venues.fakevenue.private.model import (
    AccountEvent,
    OrderEvent,
    RejectReason,
    UserEvent,
)

USDM_CODES: Final[RejectCodes] = {
    RejectReason.PRICE_TICK: (-4014, "Price not increased by tick size."),
    RejectReason.PRICE_BAND: (-4016, "Limit price can't be higher than the allowed band."),
    RejectReason.LOT_SIZE: (-1111, "Precision is over the maximum defined for this asset."),
    RejectReason.MIN_NOTIONAL: (
        -4164, "Order's notional must be no smaller than the minimum "
        "(unless you choose reduce only).",
    ),
    RejectReason.WOULD_TAKE: (
        -5022, "Due to the order could not be executed as maker, the Post Only order will be "
        "rejected. The order will not be recorded in the order history",
    ),
    RejectReason.INSUFFICIENT_BALANCE: (-2019, "Margin is insufficient."),
    RejectReason.DUPLICATE_CLIENT_ID: (-4116, "ClientOrderId is duplicated."),
    RejectReason.UNKNOWN_SYMBOL: (-1121, "Invalid symbol."),
    RejectReason.UNKNOWN_ORDER: (-2011, "Unknown order sent."),
}  # fmt: skip
"""The ledger's refusals as USD-M's codes (post-only would take: -5022)."""

LISTEN_KEY_TTL_S: Final = 3600.0
USDM_TRADES_WINDOW_MS: Final = 7 * 24 * 3_600_000
_NO_KEY = BinanceApiError(400, -1125, "This listenKey does not exist.")


class UsdmApi:
    """USD-M's private endpoints and user streams over one margin account."""

    def __init__(self, api: SignedApi, exchange: PrivateExchange) -> None:
        self.api = api
        self.exchange = exchange
        self._keys: dict[str, float] = {}
        self._streams: dict[str, list[tuple[web.WebSocketResponse, web.Request]]] = {}
        api.faults.drop_hooks.append(self.drop_streams)
        api.faults.restart_hooks.append(self.drop_streams)
        api.faults.expire_hooks.append(self.expire_all)

    def routes(self) -> list[web.RouteDef]:
        """Return the signed endpoints, the listen key endpoints and the stream."""
        r, p = self.api.route, "/fapi"
        routes = [
            r("POST", f"{p}/v1/order", self.new_order, order_entry=True),
            r("DELETE", f"{p}/v1/order", self.cancel),
            r("PUT", f"{p}/v1/order", self.modify, order_entry=True),
            r("GET", f"{p}/v1/order", self.query),
            r("GET", f"{p}/v1/openOrders", self.open_orders),
            r("DELETE", f"{p}/v1/allOpenOrders", self.cancel_all),
            r("GET", f"{p}/v1/userTrades", self.trades),
            r("POST", f"{p}/v1/countdownCancelAll", self.countdown),
            r("GET", f"{p}/v1/leverageBracket", self.leverage_brackets),
        ]
        for version in ("v2", "v3"):
            routes += [
                r("GET", f"{p}/{version}/account", self.account),
                r("GET", f"{p}/{version}/positionRisk", self.positions),
            ]
        k = self.api.keyed_route
        routes += [
            k("POST", f"{p}/v1/listenKey", self.create_key),
            k("PUT", f"{p}/v1/listenKey", self.keep_alive),
            k("DELETE", f"{p}/v1/listenKey", self.delete_key),
            web.get("/ws/{listen_key}", self._on_stream),
        ]
        return routes

    # -- signed REST ---------------------------------------------------------------

    def new_order(self, params: Mapping[str, str]) -> Answer:
        """Place an order (GTX: post-only); answer as ``RESULT``."""
        type_ = required(params, "type")
        if type_ not in ("LIMIT", "MARKET"):
            raise BinanceApiError(400, -1116, "Invalid orderType.")
        kind = OrderType.LIMIT if type_ == "LIMIT" else OrderType.MARKET
        tif = required(params, "timeInForce") if kind is OrderType.LIMIT else "GTC"
        view = self.exchange.place(order_params(params, kind, tif == "GTX", tif))
        return usdm_order(view)

    def cancel(self, params: Mapping[str, str]) -> Answer:
        """Cancel one order (-2011 when it is not open)."""
        client, venue = order_id(params)
        return usdm_order(self.exchange.cancel(required(params, "symbol"), client, venue))

    def modify(self, params: Mapping[str, str]) -> Answer:
        """Amend an open limit order's quantity and price in place (-2013 when not open)."""
        symbol = required(params, "symbol")
        client, venue = order_id(params)
        found = self.exchange.order(symbol, client, venue)
        if found is None or not found.is_open:
            raise NOT_FOUND
        if required(params, "side") != found.side.value.upper():
            raise BinanceApiError(400, -1117, "Invalid side.")
        amended = self.exchange.amend(
            symbol, found.client_order_id, number(params, "quantity"), number(params, "price")
        )
        return usdm_order(amended)

    def query(self, params: Mapping[str, str]) -> Answer:
        """Return one order, open or not (-2013 when the venue never had it)."""
        client, venue = order_id(params)
        view = self.exchange.order(required(params, "symbol"), client, venue)
        if view is None:
            raise NOT_FOUND
        return usdm_order(view)

    def open_orders(self, params: Mapping[str, str]) -> Answer:
        """Return the open orders of ``symbol`` (or all)."""
        return [usdm_order(v) for v in self.exchange.open_orders(params.get("symbol") or None)]

    def cancel_all(self, params: Mapping[str, str]) -> Answer:
        """Cancel every open order of ``symbol``."""
        self.exchange.cancel_all(required(params, "symbol"))
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    def trades(self, params: Mapping[str, str]) -> Answer:
        """Return the account's trades of ``symbol``, oldest first."""
        return [usdm_trade(f) for f in select_trades(self.exchange, params, USDM_TRADES_WINDOW_MS)]

    def countdown(self, params: Mapping[str, str]) -> Answer:
        """Arm (or with 0 disarm) the symbol's cancel-all countdown."""
        symbol = required(params, "symbol")
        countdown = int(required(params, "countdownTime"))
        self.exchange.arm_countdown(symbol, countdown)
        return {"symbol": symbol, "countdownTime": str(countdown)}

    def leverage_brackets(self, params: Mapping[str, str]) -> Answer:
        """Return each symbol's notional brackets (one: 125x up to 50,000, as BTCUSDT's first)."""
        symbol = params.get("symbol")
        bracket = {"bracket": 1, "initialLeverage": 125, "notionalCap": 50_000,
                   "notionalFloor": 0, "maintMarginRatio": 0.004, "cum": 0.0}  # fmt: skip
        return [
            {"symbol": s, "brackets": [bracket]}
            for s in sorted(self.exchange.rules)
            if symbol in (None, "", s)
        ]

    def account(self, _params: Mapping[str, str]) -> Answer:
        """Return the margin account: wallet balances and positions."""
        now = wall_ms()
        assets = [
            {"asset": b.asset, "walletBalance": num(b.free + b.locked),
             "availableBalance": num(b.free), "marginBalance": num(b.free + b.locked),
             "unrealizedProfit": num(0.0), "updateTime": now}
            for b in self.exchange.account.balances()
        ]  # fmt: skip
        total = sum(b.free + b.locked for b in self.exchange.account.balances())
        body: Json = {
            "totalWalletBalance": num(total), "availableBalance": num(total),
            "canTrade": True, "assets": assets,
            "positions": [usdm_position(p, now) for p in self.exchange.account.positions()],
        }  # fmt: skip
        return body

    def positions(self, params: Mapping[str, str]) -> Answer:
        """Return every position (or ``symbol``'s)."""
        now = wall_ms()
        symbol = params.get("symbol")
        return [
            usdm_position(p, now)
            for p in self.exchange.account.positions()
            if symbol in (None, "", p.symbol)
        ]

    # -- listen keys and the user stream -----------------------------------------------

    def create_key(self, _params: Mapping[str, str]) -> Answer:
        """Return the account's live listen key (extended), or a new one."""
        now = time.monotonic()
        live = [k for k, expires in self._keys.items() if expires > now]
        key = live[0] if live else secrets.token_urlsafe(48)[:64]
        self._keys[key] = now + LISTEN_KEY_TTL_S
        return {"listenKey": key}

    def keep_alive(self, params: Mapping[str, str]) -> Answer:
        """Extend a listen key by 60 minutes (-1125 when it does not exist or expired)."""
        key = params.get("listenKey") or self._only_key()
        if self._keys.get(key, 0.0) <= time.monotonic():
            raise _NO_KEY
        self._keys[key] = time.monotonic() + LISTEN_KEY_TTL_S
        return {"listenKey": key}

    def delete_key(self, params: Mapping[str, str]) -> Answer:
        """Close a listen key and its streams."""
        key = params.get("listenKey") or self._only_key()
        self._keys.pop(key, None)
        for ws, _request in self._streams.pop(key, []):
            asyncio.get_running_loop().create_task(ws.close())
        return {}

    def expire_all(self) -> None:
        """Expire every listen key now: each stream gets ``listenKeyExpired``, then closes."""
        for key in list(self._keys):
            self._keys[key] = 0.0
            for ws, _request in self._streams.pop(key, []):
                event = {
                    "stream": key,
                    "data": {"e": "listenKeyExpired", "E": wall_ms(), "listenKey": key},
                }
                asyncio.get_running_loop().create_task(_send_then_close(ws, event))

    def drop_streams(self) -> None:
        """Cut every user stream connection abruptly."""
        for streams in self._streams.values():
            for _ws, request in streams:
                if request.transport is not None:
                    request.transport.abort()

    def _only_key(self) -> str:
        return next(iter(self._keys), "")

    async def _on_stream(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["listen_key"]
        if self._keys.get(key, 0.0) <= time.monotonic():
            return web.Response(status=400, body=_NO_KEY.body(), content_type="application/json")
        ws = web.WebSocketResponse(autoping=True, heartbeat=None)
        await ws.prepare(request)
        outbox: asyncio.Queue[str] = asyncio.Queue()
        self._streams.setdefault(key, []).append((ws, request))
        unsubscribe = self.exchange.events.subscribe(lambda e: _queue(outbox, e))
        writer = asyncio.create_task(_write(ws, outbox))
        try:
            async for _message in ws:
                pass
        finally:
            unsubscribe()
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            with contextlib.suppress(ValueError):
                self._streams.get(key, []).remove((ws, request))
        return ws


def _queue(outbox: asyncio.Queue[str], event: UserEvent) -> None:
    if isinstance(event, OrderEvent):
        outbox.put_nowait(msgspec.json.encode(order_trade_update(event)).decode())
    elif isinstance(event, AccountEvent):
        outbox.put_nowait(msgspec.json.encode(account_update(event)).decode())


async def _write(ws: web.WebSocketResponse, outbox: asyncio.Queue[str]) -> None:
    while True:
        text = await outbox.get()
        try:
            await ws.send_str(text)
        except ConnectionError:
            return


async def _send_then_close(ws: web.WebSocketResponse, event: object) -> None:
    with contextlib.suppress(ConnectionError):
        await ws.send_str(msgspec.json.encode(event).decode())
        await ws.close()
