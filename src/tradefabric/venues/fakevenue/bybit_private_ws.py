"""The fake Bybit's private stream (``/v5/private``): auth, topics, pings, and DCP.

A connection authenticates with ``{"op":"auth","args":[key, expires_ms, sign]}``,
subscribes to ``order``/``execution``/``wallet``/``position`` (all-in-one or
categorised, e.g. ``order.spot``) and ``dcp``; every account event is pushed to
each connection subscribed to its topic, in order, by that connection's own
sender. Disconnect-cancel: once every connection subscribed to the category's
``dcp`` topic is gone for the product's window (10 s unless set), every open order
of the category is cancelled with ``cancelType`` CancelByDCP, and the cancels go
out on the ``order`` topic to whoever still listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from typing import Any

import msgspec
import structlog

from tradefabric.venues.bybit.private.categories import PrivateCategory
from tradefabric.venues.fakevenue.bybit_private_auth import KeyRing, RefusedError, server_ms
from tradefabric.venues.fakevenue.bybit_private_exchange import CANCEL_BY_DCP, BybitExchange
from tradefabric.venues.fakevenue.bybit_private_render import BybitRenderer, message_id
from tradefabric.venues.fakevenue.private.model import AccountEvent, OrderEvent, UserEvent
from tradefabric.venues.fakevenue.server import ClientConnection

log = structlog.get_logger(__name__)

DEFAULT_DCP_WINDOW_S = 10
_CLOSED_POLL_S = 0.05
PRIVATE_STREAM_MARKER = "private"
"""Put in a private connection's ``streams`` so the replay starts for it too; no public
frame is ever streamed under this name."""


class _Request(msgspec.Struct, frozen=True):
    op: str
    args: list[Any] = []
    req_id: str = ""


class PrivateSession:
    """One private connection: its key, topics and the queue its sender drains."""

    def __init__(self, client: ClientConnection) -> None:
        self.client = client
        self.conn_id = uuid.uuid4().hex[:20]
        self.api_key = ""
        self.topics: set[str] = set()
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.sender: asyncio.Task[None] | None = None
        self.closed = False

    def wants(self, topic: str) -> str:
        """Return the name this session subscribed ``topic`` under ("" when it did not)."""
        if topic in self.topics:
            return topic
        family = topic.split(".", 1)[0]
        return family if family in self.topics else ""


class BybitPrivateStream:
    """Every private session of one category, and its disconnect-cancel."""

    def __init__(
        self,
        category: PrivateCategory,
        exchange: BybitExchange,
        renderer: BybitRenderer,
        keys: KeyRing,
    ) -> None:
        self.category = category.category
        self.dcp_topic = category.dcp_topic
        self.dcp_product = category.dcp_product
        self.exchange = exchange
        self.render = renderer
        self.keys = keys
        self.dcp_window_s = DEFAULT_DCP_WINDOW_S
        self.sessions: dict[int, PrivateSession] = {}
        self._dcp_timer: asyncio.TimerHandle | None = None
        self.dcp_triggered = 0
        self.dcp_cancelled: list[str] = []
        """Client order ids DCP cancelled."""
        self.on_dcp: Callable[[], None] = lambda: None
        exchange.events.subscribe(self._on_event)

    @property
    def dcp_armed(self) -> bool:
        """Return True while the disconnect-cancel counts down (no ``dcp`` connection left)."""
        return self._dcp_timer is not None

    def set_window(self, product: str, window_s: int) -> None:
        """Take a window set through REST (only this category's product applies)."""
        if product == self.dcp_product:
            self.dcp_window_s = window_s

    # -- client messages ----------------------------------------------------------------

    def on_message(self, client: ClientConnection, text: str) -> list[str]:
        """Answer ``auth``, ``subscribe``, ``unsubscribe`` and ``ping``."""
        session = self.sessions.get(id(client))
        if session is None:
            session = self.sessions[id(client)] = PrivateSession(client)
        try:
            request = msgspec.json.decode(text, type=_Request)
        except msgspec.DecodeError:
            return [self._answer(session, "", "", False, "Params Error")]
        handlers: dict[str, Callable[[PrivateSession, _Request], str]] = {
            "auth": self._auth, "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe, "ping": self._pong,
        }  # fmt: skip
        handler = handlers.get(request.op)
        if handler is None:
            return [self._answer(session, request.op, request.req_id, False, "op not found")]
        return [handler(session, request)]

    def _auth(self, session: PrivateSession, request: _Request) -> str:
        if session.api_key:
            return self._answer(session, "auth", request.req_id, False, "Repeat auth")
        try:
            session.api_key = self.keys.verify_ws(request.args)
        except RefusedError as exc:
            return self._answer(session, "auth", request.req_id, False, exc.message)
        return self._answer(session, "auth", request.req_id, True, "")

    def _subscribe(self, session: PrivateSession, request: _Request) -> str:
        if not session.api_key:
            return self._answer(
                session, "subscribe", request.req_id, False, "Request not authorized"
            )
        unknown = [t for t in request.args if not self._serves(str(t))]
        if unknown:
            message = f"error:handler not found,topic:{unknown[0]}"
            return self._answer(session, "subscribe", request.req_id, False, message)
        session.topics.update(str(t) for t in request.args)
        session.client.streams.add(PRIVATE_STREAM_MARKER)
        if session.sender is None:
            session.sender = asyncio.create_task(self._send_loop(session))
        if session.wants(self.dcp_topic):
            self._cancel_dcp_timer()
        return self._answer(session, "subscribe", request.req_id, True, "")

    def _unsubscribe(self, session: PrivateSession, request: _Request) -> str:
        session.topics.difference_update(str(t) for t in request.args)
        return self._answer(session, "unsubscribe", request.req_id, True, "")

    def _pong(self, session: PrivateSession, request: _Request) -> str:
        answer = {
            "req_id": request.req_id, "op": "pong", "args": [str(server_ms())],
            "conn_id": session.conn_id,
        }  # fmt: skip
        return msgspec.json.encode(answer).decode()

    def _serves(self, topic: str) -> bool:
        family, _, scope = topic.partition(".")
        if family == "wallet":
            return not scope
        if family == "dcp":
            return topic in ("dcp", self.dcp_topic)
        return family in ("order", "execution", "position") and scope in ("", self.category)

    @staticmethod
    def _answer(session: PrivateSession, op: str, req_id: str, success: bool, message: str) -> str:
        answer = {
            "success": success, "ret_msg": message, "op": op, "conn_id": session.conn_id,
            "req_id": req_id,
        }  # fmt: skip
        return msgspec.json.encode(answer).decode()

    # -- pushes -------------------------------------------------------------------------

    def _on_event(self, event: UserEvent) -> None:
        now = server_ms()
        if isinstance(event, OrderEvent):
            reason = self.exchange.end_reasons.get(event.order.venue_order_id, "")
            self._push(f"order.{self.category}", [self.render.order(event.order, reason)], now)
            if event.fill is not None:
                execution = self.render.execution(event.fill, event.order)
                self._push(f"execution.{self.category}", [execution], now)
        elif isinstance(event, AccountEvent):
            wallet = self.render.wallet(self.exchange.account.balances())
            self._push("wallet", [wallet], now)
            positions = [self.render.position(p, event.ts_ms) for p in event.positions]
            if positions:
                self._push(f"position.{self.category}", positions, now)

    def _push(self, topic: str, data: list[dict[str, Any]], now_ms: int) -> None:
        for session in list(self.sessions.values()):
            name = session.wants(topic)
            if name and not session.closed:
                frame = {"id": message_id(), "topic": name, "creationTime": now_ms, "data": data}
                session.queue.put_nowait(msgspec.json.encode(frame).decode())

    async def _send_loop(self, session: PrivateSession) -> None:
        ws = session.client.ws
        try:
            while not ws.closed:
                try:
                    text = await asyncio.wait_for(session.queue.get(), _CLOSED_POLL_S)
                except TimeoutError:
                    continue
                try:
                    await ws.send_str(text)
                except (ConnectionError, RuntimeError):
                    break
        finally:
            self._ended(session)

    # -- disconnect-cancel --------------------------------------------------------------

    def _ended(self, session: PrivateSession) -> None:
        session.closed = True
        self.sessions.pop(id(session.client), None)
        if not session.wants(self.dcp_topic):
            return
        if any(s.wants(self.dcp_topic) for s in self.sessions.values()):
            return
        self._cancel_dcp_timer()
        loop = asyncio.get_running_loop()
        self._dcp_timer = loop.call_later(self.dcp_window_s, self._trigger_dcp)
        log.info("fake_bybit_dcp_armed", category=self.category, window_s=self.dcp_window_s)

    def _cancel_dcp_timer(self) -> None:
        if self._dcp_timer is not None:
            self._dcp_timer.cancel()
            self._dcp_timer = None

    def _trigger_dcp(self) -> None:
        self._dcp_timer = None
        cancelled = self.exchange.cancel_all_by(CANCEL_BY_DCP)
        self.dcp_triggered += 1
        self.dcp_cancelled += [v.client_order_id for v in cancelled]
        log.info("fake_bybit_dcp_triggered", category=self.category, cancelled=len(cancelled))
        self.on_dcp()

    def drop(self) -> None:
        """Cut every private connection now (a user-stream drop or a venue restart)."""
        for session in list(self.sessions.values()):
            transport = session.client.request.transport
            if transport is not None:
                transport.abort()

    async def close(self) -> None:
        """Stop every sender (the server is shutting down)."""
        self._cancel_dcp_timer()
        for session in list(self.sessions.values()):
            if session.sender is not None:
                session.sender.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await session.sender
