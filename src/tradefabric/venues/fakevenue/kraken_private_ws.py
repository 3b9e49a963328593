"""Kraken's authenticated WebSocket v2 on the fake venue (``/ws-auth/v2``).

Requests are ``{"method", "params": {..., "token"}, "req_id"}``; answers
``{"method", "req_id", "result", "success": true, "time_in", "time_out"}`` or
``{"method", "req_id", "error": "...", "success": false, ...}``. Served:

- ``subscribe`` ``executions`` (a snapshot of the open orders, then every order
  change and trade as ``update``; ``sequence`` counts the channel's messages) and
  ``balances`` (a snapshot, then changes); a token ``GetWebSocketsToken`` did not
  issue is refused with ``ESession:Invalid session``.
- ``add_order``, ``cancel_order`` (by ``order_id`` or ``cl_ord_id`` lists),
  ``amend_order`` (by ``cl_ord_id``: new ``order_qty`` and ``limit_price``), ``ping``.

An ``add_order``'s answer may be lost (never sent: the connection stays up),
replaced by ``EService:Unavailable`` or delayed on command; ``drop_user_stream``
and ``restart`` cut every connection; ``POST /_fault/user_skip?count=N`` withholds
the next N account updates (their ``sequence`` numbers are used up: a gap).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import msgspec
from aiohttp import WSMsgType, web

from tradefabric.model.orders import OrderSide, OrderType, TimeInForce
from tradefabric.venues.fakevenue.kraken_private_api import (
    REJECT_ERRORS,
    KrakenError,
    KrakenPrivateApi,
)
from tradefabric.venues.fakevenue.kraken_private_render import (
    txid,
    ws_balances,
    ws_executions,
    ws_order_fields,
)
from tradefabric.venues.fakevenue.private.exchange import OrderRefusedError
from tradefabric.venues.fakevenue.private.faults import ResponseFault
from tradefabric.venues.fakevenue.private.model import (
    AccountEvent,
    OrderEvent,
    OrderParams,
    UserEvent,
)
from tradefabric.venues.kraken.timestamps import ns_to_rfc3339

WS_AUTH_PATH = "/ws-auth/v2"
Json = dict[str, object]


class _Request(msgspec.Struct, frozen=True):
    method: str
    params: dict[str, object] = {}
    req_id: int | None = None


class _Session:
    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.outbox: asyncio.Queue[str] = asyncio.Queue()
        self.unsubscribe: list[Callable[[], None]] = []
        self.channels: set[str] = set()
        self.sequences: dict[str, int] = {}

    def abort(self) -> None:
        if self.request.transport is not None:
            self.request.transport.abort()


class KrakenPrivateWs:
    """Serve the authenticated v2 connection over the REST API's ledger and keys."""

    def __init__(self, api: KrakenPrivateApi) -> None:
        self.api = api
        self.sessions: list[_Session] = []
        self.lost_answers = 0
        self.skip = 0
        """Account updates still to withhold (``POST /_fault/user_skip?count=N``)."""
        self._decoder = msgspec.json.Decoder(_Request)
        api.faults.drop_hooks.append(self.drop_all)
        api.faults.restart_hooks.append(self.drop_all)

    def routes(self) -> list[web.RouteDef]:
        """Return the authenticated WebSocket endpoint."""
        return [web.get(WS_AUTH_PATH, self._on_connect), web.post("/_fault/user_skip", self._skip)]

    async def _skip(self, request: web.Request) -> web.Response:
        self.skip += int(request.query.get("count", "1"))
        return web.json_response({"injected": "user_skip", "count": self.skip})

    def drop_all(self) -> None:
        """Cut every authenticated connection."""
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
                    await self._on_text(session, message.data)
        finally:
            self.sessions.remove(session)
            for unsubscribe in session.unsubscribe:
                unsubscribe()
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    async def _on_text(self, session: _Session, text: str) -> None:
        time_in = time.time_ns()
        try:
            call = self._decoder.decode(text)
        except msgspec.DecodeError:
            session.outbox.put_nowait(
                _answer("", None, time_in, error="EGeneral:Invalid arguments")
            )
            return
        try:
            result = self._dispatch(session, call)
            if call.method == "add_order" and not await self._answer_fault():
                return
        except KrakenError as error:
            session.outbox.put_nowait(_answer(call.method, call.req_id, time_in, error=error.error))
            return
        session.outbox.put_nowait(_answer(call.method, call.req_id, time_in, result=result))
        if call.method == "subscribe":
            self._snapshot(session, str(call.params.get("channel", "")))

    def _dispatch(self, session: _Session, call: _Request) -> Json:
        if call.method == "ping":
            return {}
        if self.api.faults.take_rate_limit() is not None:
            raise KrakenError("EOrder:Rate limit exceeded")
        if str(call.params.get("token", "")) not in self.api.keys.tokens:
            raise KrakenError("ESession:Invalid session")
        methods: dict[str, Callable[[_Session, dict[str, object]], Json]] = {
            "subscribe": self._subscribe, "add_order": self._add_order,
            "cancel_order": self._cancel_order, "amend_order": self._amend_order,
        }  # fmt: skip
        handler = methods.get(call.method)
        if handler is None:
            raise KrakenError("EGeneral:Invalid arguments:method")
        return handler(session, call.params)

    def _subscribe(self, session: _Session, params: dict[str, object]) -> Json:
        channel = str(params.get("channel", ""))
        if channel not in ("executions", "balances"):
            raise KrakenError("EGeneral:Invalid arguments:channel")
        if not session.unsubscribe:
            session.unsubscribe.append(self.api.exchange.events.subscribe(self._deliver(session)))
        session.channels.add(channel)
        return {"channel": channel, "snapshot": True}

    def _snapshot(self, session: _Session, channel: str) -> None:
        if channel == "executions":
            data = [
                {**ws_order_fields(v), "exec_type": "new"} for v in self.api.exchange.open_orders()
            ]
        else:
            data = [
                {"asset": b.asset, "asset_class": "currency", "balance": b.free + b.locked}
                for b in self.api.exchange.account.balances()
            ]
        self._send(session, channel, "snapshot", data)

    def _send(self, session: _Session, channel: str, kind: str, data: list[Json]) -> None:
        sequence = session.sequences.get(channel, 0) + 1
        session.sequences[channel] = sequence
        body = {"channel": channel, "type": kind, "data": data, "sequence": sequence}
        if kind == "update" and self.skip > 0:
            self.skip -= 1  # lost on the way: the next message shows the gap
            return
        session.outbox.put_nowait(msgspec.json.encode(body).decode())

    def _deliver(self, session: _Session) -> Callable[[UserEvent], None]:
        def deliver(event: UserEvent) -> None:
            if isinstance(event, OrderEvent) and "executions" in session.channels:
                self._send(session, "executions", "update", ws_executions(event))
            elif isinstance(event, AccountEvent) and "balances" in session.channels:
                self._send(session, "balances", "update", ws_balances(event))

        return deliver

    def _add_order(self, _session: _Session, p: dict[str, object]) -> Json:
        kind = {"limit": OrderType.LIMIT, "market": OrderType.MARKET}.get(str(p.get("order_type")))
        side = {"buy": OrderSide.BUY, "sell": OrderSide.SELL}.get(str(p.get("side")))
        qty, symbol = p.get("order_qty"), p.get("symbol")
        if kind is None or side is None or not isinstance(qty, int | float) or not symbol:
            raise KrakenError("EGeneral:Invalid arguments")
        price = p.get("limit_price")
        if str(p.get("time_in_force", "gtc")) not in ("gtc", "ioc"):
            raise KrakenError("EGeneral:Invalid arguments:time_in_force")
        if kind is OrderType.LIMIT and not isinstance(price, int | float):
            raise KrakenError("EGeneral:Invalid arguments:limit_price")
        tifs = {"gtc": TimeInForce.GTC, "ioc": TimeInForce.IOC}
        params = OrderParams(
            symbol=str(symbol), client_order_id=str(p.get("cl_ord_id", "")), side=side,
            order_type=kind, quantity=float(qty),
            price=float(price) if isinstance(price, int | float) else None,
            time_in_force=tifs.get(str(p.get("time_in_force", "gtc")), TimeInForce.GTC),
            post_only=p.get("post_only") is True,
        )  # fmt: skip
        try:
            view = self.api.place(params)
        except OrderRefusedError as error:
            raise KrakenError(REJECT_ERRORS[error.reason]) from error
        self.api.orders_received += 1
        result: Json = {"order_id": txid("O", view.venue_order_id)}
        if params.client_order_id:
            result["cl_ord_id"] = params.client_order_id
        return result

    def _cancel_order(self, _session: _Session, p: dict[str, object]) -> Json:
        by_client = p.get("cl_ord_id")
        by_txid = p.get("order_id")
        if isinstance(by_client, list) and by_client:
            view = self.api.cancel(client_order_id=str(by_client[0]))
        elif isinstance(by_txid, list) and by_txid:
            view = self.api.cancel(order_txid=str(by_txid[0]))
        else:
            raise KrakenError("EGeneral:Invalid arguments:order_id")
        result: Json = {"order_id": txid("O", view.venue_order_id)}
        if view.client_order_id:
            result["cl_ord_id"] = view.client_order_id
        return result

    def _amend_order(self, _session: _Session, p: dict[str, object]) -> Json:
        view = self.api.locate(client_order_id=str(p.get("cl_ord_id", "")))
        qty, price = p.get("order_qty"), p.get("limit_price", view.price if view else None)
        if view is None or not view.is_open:
            raise KrakenError("EOrder:Unknown order")
        if not isinstance(qty, int | float) or not isinstance(price, int | float):
            raise KrakenError("EGeneral:Invalid arguments:order_qty")
        try:
            amended = self.api.exchange.amend(
                view.symbol, view.client_order_id, float(qty), float(price)
            )
        except OrderRefusedError as error:
            raise KrakenError(REJECT_ERRORS[error.reason]) from error
        return {"amend_id": txid("A", amended.updated_ms), "cl_ord_id": view.client_order_id}

    async def _answer_fault(self) -> bool:
        """Apply a pending answer fault; return False when the answer is lost."""
        fault = self.api.faults.take_response()
        if fault is None:
            return True
        kind, seconds = fault
        if kind is ResponseFault.DELAY:
            await asyncio.sleep(seconds)
            return True
        if kind is ResponseFault.UNKNOWN:
            raise KrakenError("EService:Unavailable")
        self.lost_answers += 1
        return False


async def _write(ws: web.WebSocketResponse, session: _Session) -> None:
    while True:
        text = await session.outbox.get()
        try:
            await ws.send_str(text)
        except ConnectionError:
            return


def _answer(
    method: str,
    req_id: int | None,
    time_in: int,
    *,
    result: Json | None = None,
    error: str = "",
) -> str:
    body: Json = {"method": method, "req_id": req_id, "success": not error}
    if error:
        body["error"] = error
    else:
        body["result"] = result or {}
    body["time_in"] = ns_to_rfc3339(time_in)
    body["time_out"] = ns_to_rfc3339(time.time_ns())
    return msgspec.json.encode(body).decode()
