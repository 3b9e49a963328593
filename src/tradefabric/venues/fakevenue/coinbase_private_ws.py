"""Coinbase's ``user`` and ``heartbeats`` channels on the fake venue (``/ws-user``).

A client sends ``{"type": "subscribe", "channel": "user"|"heartbeats",
"product_ids": [...], "jwt": "..."}``; a refused JWT gets ``{"type": "error",
"message": "authentication failure"}``. Each subscribe is acknowledged on the
``subscriptions`` channel; ``user`` then sends a ``snapshot`` of the open orders and
an ``update`` for every change of the account's orders, each carrying the order's
cumulative state (never an execution). ``heartbeats`` ticks every second with a
counter. Every message has the connection's ``sequence_num``.

Faults: ``drop_user_stream`` / ``restart`` cut every connection;
``POST /_fault/user_replay?count=N`` re-sends each connection's last N ``user``
messages newest first (duplicates, older states after newer ones);
``POST /_fault/user_skip?count=N`` withholds the next N user updates (their
``sequence_num`` is used up: the next message, a heartbeat at the latest, shows the gap).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable

import msgspec
from aiohttp import WSMsgType, web

from tradefabric.venues.coinbase.markets import product_id
from tradefabric.venues.coinbase.timestamps import format_rfc3339_ns
from tradefabric.venues.fakevenue.coinbase_private_api import CoinbasePrivateApi
from tradefabric.venues.fakevenue.coinbase_private_auth import JwtRefusedError
from tradefabric.venues.fakevenue.coinbase_private_render import user_order
from tradefabric.venues.fakevenue.private.model import OrderEvent, OrderView, UserEvent

WS_USER_PATH = "/ws-user"
Json = dict[str, object]
_KEPT = 50


class _Subscribe(msgspec.Struct, frozen=True):
    type: str
    channel: str = ""
    product_ids: list[str] = []
    jwt: str = ""


class _Session:
    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.outbox: asyncio.Queue[str] = asyncio.Queue()
        self.sequence = 0
        self.products: set[str] = set()
        self.user = False
        self.sent_user: deque[Json] = deque(maxlen=_KEPT)
        self.unsubscribe: list[Callable[[], None]] = []
        self.heartbeat: asyncio.Task[None] | None = None

    def abort(self) -> None:
        if self.request.transport is not None:
            self.request.transport.abort()


class CoinbaseUserWs:
    """Serve the ``user`` channel over the REST API's ledger and keys."""

    def __init__(self, api: CoinbasePrivateApi) -> None:
        self.api = api
        self.sessions: list[_Session] = []
        self.replayed = 0
        self.skip = 0
        """User updates still to withhold (``POST /_fault/user_skip?count=N``)."""
        self._decoder = msgspec.json.Decoder(_Subscribe)
        api.faults.drop_hooks.append(self.drop_all)
        api.faults.restart_hooks.append(self.drop_all)

    def routes(self) -> list[web.RouteDef]:
        """Return the WebSocket endpoint and its faults (replay, skip)."""
        return [
            web.get(WS_USER_PATH, self._on_connect),
            web.post("/_fault/user_replay", self._replay),
            web.post("/_fault/user_skip", self._skip),
        ]

    async def _skip(self, request: web.Request) -> web.Response:
        self.skip += int(request.query.get("count", "1"))
        return web.json_response({"injected": "user_skip", "count": self.skip})

    def drop_all(self) -> None:
        """Cut every user connection."""
        for session in list(self.sessions):
            session.abort()

    async def _on_connect(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        session = _Session(request)
        self.sessions.append(session)
        writer = asyncio.create_task(_write(ws, session))
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self._on_text(session, message.data)
        finally:
            self.sessions.remove(session)
            for unsubscribe in session.unsubscribe:
                unsubscribe()
            for task in (writer, session.heartbeat):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        return ws

    def _on_text(self, session: _Session, text: str) -> None:
        try:
            call = self._decoder.decode(text)
            self.api.keys.verify(call.jwt, None)
        except (msgspec.DecodeError, JwtRefusedError):
            session.outbox.put_nowait('{"type":"error","message":"authentication failure"}')
            return
        if call.type != "subscribe" or call.channel not in ("user", "heartbeats"):
            session.outbox.put_nowait('{"type":"error","message":"Failure to subscribe"}')
            return
        if call.channel == "heartbeats":
            if session.heartbeat is None:
                session.heartbeat = asyncio.create_task(self._heartbeats(session))
            self._send(
                session, "subscriptions", [{"subscriptions": {"heartbeats": ["heartbeats"]}}]
            )
            return
        session.products.update(call.product_ids)
        if not session.user:
            session.user = True
            session.unsubscribe.append(self.api.exchange.events.subscribe(self._deliver(session)))
        self._send(session, "subscriptions", [{"subscriptions": {"user": ["fake-user"]}}])
        snapshot: list[Json] = [
            self._user_order(v) for v in self.api.exchange.open_orders() if self._wants(session, v)
        ]
        event: Json = {"type": "snapshot", "orders": snapshot}
        self._send(session, "user", [event])

    def _wants(self, session: _Session, view: OrderView) -> bool:
        return not session.products or product_id(view.symbol) in session.products

    def _user_order(self, view: OrderView) -> Json:
        fees = sum(
            f.fee for f in self.api.exchange.fills_of(view.symbol)
            if f.venue_order_id == view.venue_order_id
        )  # fmt: skip
        return user_order(view, fees)

    def _deliver(self, session: _Session) -> Callable[[UserEvent], None]:
        def deliver(event: UserEvent) -> None:
            if isinstance(event, OrderEvent) and self._wants(session, event.order):
                events: list[Json] = [{"type": "update", "orders": [self._user_order(event.order)]}]
                self._send(session, "user", events)

        return deliver

    def _send(self, session: _Session, channel: str, events: list[Json]) -> None:
        session.sequence += 1
        body: Json = {
            "channel": channel, "client_id": "",
            "timestamp": format_rfc3339_ns(time.time_ns(), 6),
            "sequence_num": session.sequence, "events": events,
        }  # fmt: skip
        if channel == "user":
            session.sent_user.append(body)
            if self.skip > 0 and events and events[0].get("type") == "update":
                self.skip -= 1  # lost on the way: the next message shows the gap
                return
        session.outbox.put_nowait(msgspec.json.encode(body).decode())

    async def _heartbeats(self, session: _Session) -> None:
        counter = 0
        while True:
            counter += 1
            now = format_rfc3339_ns(time.time_ns(), 6)
            self._send(session, "heartbeats", [{"current_time": now, "heartbeat_counter": counter}])
            await asyncio.sleep(1.0)

    async def _replay(self, request: web.Request) -> web.Response:
        count = int(request.query.get("count", "2"))
        for session in self.sessions:
            for body in list(session.sent_user)[-count:][::-1]:
                session.sequence += 1
                again = {**body, "sequence_num": session.sequence}
                session.outbox.put_nowait(msgspec.json.encode(again).decode())
                self.replayed += 1
        return web.json_response({"injected": "user_replay", "count": count})


async def _write(ws: web.WebSocketResponse, session: _Session) -> None:
    while True:
        text = await session.outbox.get()
        try:
            await ws.send_str(text)
        except ConnectionError:
            return
