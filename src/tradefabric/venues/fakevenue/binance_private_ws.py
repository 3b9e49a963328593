"""Binance spot's WebSocket API on the fake venue (``/ws-api/v3``): orders and the user stream.

Requests are ``{"id", "method", "params"}``; answers ``{"id", "status", "result"}``
or ``{"id", "status", "error": {"code", "msg"}}``. Methods:

- ``session.logon`` (Ed25519 keys only), ``session.status``, ``session.logout``:
  a logged-on session may leave ``apiKey`` and ``signature`` out of its requests.
- ``userDataStream.subscribe`` (logged on) and ``userDataStream.subscribe.signature``
  (any key, signed): the account's events then arrive on this connection as
  ``{"subscriptionId": N, "event": {...}}`` (``executionReport``,
  ``outboundAccountPosition``); ``userDataStream.unsubscribe``.
- ``order.place``, ``order.cancel``, ``order.status``, ``openOrders.status``,
  ``openOrders.cancelAll``: the REST handlers' logic and answers.
- ``ping``, ``time``.

The spot listen-key endpoints were retired (2026-02-20): there are none here.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping

import msgspec
from aiohttp import WSMsgType, web

from tradefabric.venues.fakevenue.binance_private_api import (
    Answer,
    Handler,
    SignedApi,
    rate_limited,
)
from tradefabric.venues.fakevenue.binance_private_auth import BinanceApiError
from tradefabric.venues.fakevenue.binance_private_render import account_position, execution_report
from tradefabric.venues.fakevenue.binance_private_spot import SpotApi
from tradefabric.venues.fakevenue.private.faults import ResponseFault
from tradefabric.venues.fakevenue.private.model import AccountEvent, OrderEvent, UserEvent

WS_API_PATH = "/ws-api/v3"


class _Request(msgspec.Struct, frozen=True):
    method: str
    id: int | str | None = None
    params: dict[str, object] = {}


class _Session:
    """One WebSocket API connection: its logon and its user stream subscriptions."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.ws = ws
        self.request = request
        self.api_key = ""
        self.subscriptions: dict[int, Callable[[], None]] = {}
        self.outbox: asyncio.Queue[str] = asyncio.Queue()

    def abort(self) -> None:
        if self.request.transport is not None:
            self.request.transport.abort()


class WsApi:
    """Serve the spot WebSocket API over the ledger."""

    def __init__(self, spot: SpotApi) -> None:
        self.spot = spot
        self.api: SignedApi = spot.api
        self.sessions: list[_Session] = []
        self._next_subscription = 0
        self._decoder = msgspec.json.Decoder(_Request)
        self._methods: dict[str, Handler] = {
            "order.place": spot.new_order,
            "order.cancel": spot.cancel,
            "order.status": spot.query,
            "openOrders.status": spot.open_orders,
            "openOrders.cancelAll": spot.cancel_all,
        }
        faults = self.api.faults
        faults.drop_hooks.append(self.drop_user_streams)
        faults.restart_hooks.append(self.drop_all)

    def routes(self) -> list[web.RouteDef]:
        """Return the WebSocket API endpoint."""
        return [web.get(WS_API_PATH, self._on_connect)]

    def drop_user_streams(self) -> None:
        """Cut every connection that carries a user stream subscription."""
        for session in list(self.sessions):
            if session.subscriptions:
                session.abort()

    def drop_all(self) -> None:
        """Cut every connection (a venue restart)."""
        for session in list(self.sessions):
            session.abort()

    async def _on_connect(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        session = _Session(ws, request)
        self.sessions.append(session)
        writer = asyncio.create_task(self._write(session))
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._on_text(session, message.data)
        finally:
            self.sessions.remove(session)
            for unsubscribe in session.subscriptions.values():
                unsubscribe()
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    async def _write(self, session: _Session) -> None:
        while True:
            text = await session.outbox.get()
            try:
                await session.ws.send_str(text)
            except ConnectionError:
                return

    async def _on_text(self, session: _Session, text: str) -> None:
        try:
            call = self._decoder.decode(text)
        except msgspec.DecodeError:
            await session.ws.send_str(_reply(None, BinanceApiError(400, -1000, "Invalid JSON")))
            return
        try:
            answer = self._dispatch(session, call)
            if call.method == "order.place":
                await self._answer_fault(session)
        except BinanceApiError as error:
            await session.ws.send_str(_reply(call.id, error))
            return
        except ConnectionError:
            return
        await session.ws.send_str(_reply(call.id, answer))

    def _dispatch(self, session: _Session, call: _Request) -> Answer:
        limit = self.api.faults.take_rate_limit()
        if limit is not None:
            raise rate_limited(limit)
        session_methods: dict[str, Callable[[_Session, Mapping[str, object]], Answer]] = {
            "session.logon": self._logon,
            "session.status": lambda s, _p: {"apiKey": s.api_key or None},
            "session.logout": self._logout,
            "userDataStream.subscribe": self._subscribe,
            "userDataStream.subscribe.signature": self._subscribe_signed,
            "userDataStream.unsubscribe": self._unsubscribe,
            "ping": lambda _s, _p: {},
            "time": lambda _s, _p: {"serverTime": self.api.keys.server_ms()},
        }
        if call.method in session_methods:
            return session_methods[call.method](session, call.params)
        handler = self._methods.get(call.method)
        if handler is None:
            raise BinanceApiError(400, -1000, f"Unknown method: {call.method}")
        params = self._authorize(session, call.params)
        if call.method == "order.place":
            self.api.orders_received += 1
        return self.api.act(handler, params)

    def _authorize(self, session: _Session, params: Mapping[str, object]) -> dict[str, str]:
        if session.api_key and "signature" not in params:
            self.api.keys.check_timestamp({k: str(v) for k, v in params.items()})
        else:
            self.api.keys.verify_ws(params)
        return {k: _wire(v) for k, v in params.items() if k not in ("apiKey", "signature")}

    def _logon(self, session: _Session, params: Mapping[str, object]) -> Answer:
        api_key = self.api.keys.verify_ws(params)
        if not self.api.keys.is_ed25519(api_key):
            raise BinanceApiError(400, -4056, "HMAC_SHA256 API key is not supported.")
        session.api_key = api_key
        now = self.api.keys.server_ms()
        return {
            "apiKey": api_key, "authorizedSince": now, "connectedSince": now,
            "returnRateLimits": False, "serverTime": now, "userDataStream": False,
        }  # fmt: skip

    def _logout(self, session: _Session, _params: Mapping[str, object]) -> Answer:
        session.api_key = ""
        return {"apiKey": None, "serverTime": self.api.keys.server_ms()}

    def _subscribe(self, session: _Session, _params: Mapping[str, object]) -> Answer:
        if not session.api_key:
            raise BinanceApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        return self._add_subscription(session)

    def _subscribe_signed(self, session: _Session, params: Mapping[str, object]) -> Answer:
        self.api.keys.verify_ws(params)
        return self._add_subscription(session)

    def _unsubscribe(self, session: _Session, params: Mapping[str, object]) -> Answer:
        wanted = params.get("subscriptionId")
        for sid in list(session.subscriptions):
            if wanted is None or wanted == sid:
                session.subscriptions.pop(sid)()
        return {}

    def _add_subscription(self, session: _Session) -> Answer:
        sid = self._next_subscription
        self._next_subscription += 1

        def deliver(event: UserEvent) -> None:
            payload = self._render(event)
            if payload is not None:
                text = msgspec.json.encode({"subscriptionId": sid, "event": payload}).decode()
                session.outbox.put_nowait(text)

        session.subscriptions[sid] = self.spot.exchange.events.subscribe(deliver)
        return {"subscriptionId": sid}

    def _render(self, event: UserEvent) -> dict[str, object] | None:
        if isinstance(event, OrderEvent):
            return execution_report(event, self.spot.cancel_ids.get(event.order.venue_order_id, ""))
        if isinstance(event, AccountEvent):
            return account_position(event)
        return None

    async def _answer_fault(self, session: _Session) -> None:
        fault = self.api.faults.take_response()
        if fault is None:
            return
        kind, seconds = fault
        if kind is ResponseFault.DELAY:
            await asyncio.sleep(seconds)
        elif kind is ResponseFault.UNKNOWN:
            raise BinanceApiError(
                400, -1007, "Timeout waiting for response from backend server. "
                "Send status unknown; execution status unknown.",
            )  # fmt: skip
        else:
            session.abort()
            raise ConnectionError("answer lost on command")


def _wire(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _reply(request_id: int | str | None, answer: Answer | BinanceApiError) -> str:
    if isinstance(answer, BinanceApiError):
        error: dict[str, object] = {"code": answer.code, "msg": answer.msg}
        retry_after = answer.headers.get("Retry-After")
        if retry_after is not None:
            # The WebSocket API says until when the limit holds, in epoch ms.
            now = time.time_ns() // 1_000_000
            error["data"] = {"serverTime": now, "retryAfter": now + int(float(retry_after) * 1000)}
        body: dict[str, object] = {"id": request_id, "status": answer.status, "error": error}
    else:
        body = {"id": request_id, "status": 200, "result": answer}
    return msgspec.json.encode(body).decode()
