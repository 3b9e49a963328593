"""Kraken's authenticated WebSocket v2: ``executions`` and ``balances``, order entry by request.

One connection carries the account's events (subscribed with a token from
``GetWebSocketsToken``, fetched afresh for every connection as Kraken asks) and
``add_order`` / ``cancel_order`` requests, answered by ``req_id``. When the
connection drops, every request still waiting fails with ``ConnectionError`` (its
outcome unknown), the stream reconnects with a new token and resubscribes, and
``on_reconnected`` tells the owner to reconcile what happened meanwhile. So does a
gap in a channel's ``sequence`` (a message lost while the connection stayed up).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable

import aiohttp
import msgspec
import structlog

from tradefabric.core.errors import TradefabricError
from tradefabric.execution.live.kraken.parse import WsBalance, WsExecution

log = structlog.get_logger(__name__)

TokenSource = Callable[[], Awaitable[str]]


_NULL = msgspec.Raw(b"null")


class _Message(msgspec.Struct, frozen=True):
    channel: str = ""
    type: str = ""
    method: str = ""
    req_id: int | None = None
    success: bool | None = None
    error: str | None = None
    result: msgspec.Raw = _NULL
    data: msgspec.Raw = _NULL
    sequence: int | None = None


class StreamHandlers(msgspec.Struct, frozen=True):
    """What the stream calls: executions (with ``snapshot``), balances, and a reconnect."""

    on_executions: Callable[[list[WsExecution], bool], None]
    on_balances: Callable[[list[WsBalance]], None]
    on_reconnected: Callable[[], None]


class KrakenPrivateStream:
    """The authenticated v2 connection, kept open until ``close``."""

    def __init__(
        self, url: str, token: TokenSource, handlers: StreamHandlers, reconnect_s: float = 0.2
    ) -> None:
        self._url = url
        self._token_source = token
        self._handlers = handlers
        self._reconnect_s = reconnect_s
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[_Message]] = {}
        self._ids = itertools.count(1)
        self._ready = asyncio.Event()
        self._reconnect_pending = False
        self.token = ""
        self.connections = 0
        self.gaps = 0
        """Channel messages found missing by their ``sequence`` (each asks for reconciling)."""
        self._sequences: dict[str, int] = {}
        self._decoder = msgspec.json.Decoder(_Message)
        self._executions = msgspec.json.Decoder(list[WsExecution])
        self._balances = msgspec.json.Decoder(list[WsBalance])

    async def start(self, token: str, timeout_s: float = 10.0) -> None:
        """Connect with ``token``, subscribe, and return once the executions snapshot arrived.

        Later connections fetch a fresh token from the token source.
        """
        self.token = token
        self._session = aiohttp.ClientSession()
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), timeout_s)

    async def close(self) -> None:
        """Close the connection and stop reconnecting."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    @property
    def connected(self) -> bool:
        """Return True while subscribed."""
        return self._ready.is_set() and self._ws is not None and not self._ws.closed

    async def request(self, method: str, params: dict[str, object], timeout_s: float) -> _Message:
        """Send ``method`` with the token; return its answer (raise on timeout or drop)."""
        ws = self._ws
        if ws is None or ws.closed:
            raise ConnectionError("kraken private stream is not connected")
        req_id = next(self._ids)
        future: asyncio.Future[_Message] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = future
        body = {"method": method, "params": {**params, "token": self.token}, "req_id": req_id}
        try:
            await ws.send_str(msgspec.json.encode(body).decode())
            return await asyncio.wait_for(future, timeout_s)
        finally:
            self._pending.pop(req_id, None)

    async def _run(self) -> None:
        while True:
            try:
                await self._connect_once()
            except (aiohttp.ClientError, OSError, RuntimeError) as exc:
                log.warning("kraken_stream_error", error=repr(exc))
            except (TradefabricError, msgspec.DecodeError) as exc:
                # A token refused or a garbled frame: reconnect (reconciliation follows).
                log.warning("kraken_stream_failed", error=repr(exc))
            self._drop_pending()
            log.info("kraken_stream_reconnecting", connections=self.connections)
            if self._ready.is_set():
                self._ready.clear()
                self._reconnect_pending = True
            await asyncio.sleep(self._reconnect_s)

    async def _connect_once(self) -> None:
        assert self._session is not None
        if self.connections:
            self.token = await self._token_source()
        async with self._session.ws_connect(self._url, heartbeat=10.0) as ws:
            self._ws = ws
            self.connections += 1
            self._sequences.clear()
            await self._subscribe(ws)
            async for message in ws:
                if message.type is aiohttp.WSMsgType.TEXT:
                    self._on_text(message.data)
                elif message.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                    break
        self._ws = None

    async def _subscribe(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        for channel, extra in (("balances", {}), ("executions", {"snap_trades": False})):
            params = {"channel": channel, "token": self.token, "snap_orders": True, **extra}
            body = {"method": "subscribe", "params": params, "req_id": next(self._ids)}
            await ws.send_str(msgspec.json.encode(body).decode())

    def _drop_pending(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("kraken private stream dropped"))
        self._pending.clear()

    def _on_text(self, text: str) -> None:
        message = self._decoder.decode(text)
        if message.req_id is not None and message.req_id in self._pending:
            future = self._pending[message.req_id]
            if not future.done():
                future.set_result(message)
            return
        if message.method == "subscribe" and message.success is False:
            log.error("kraken_subscribe_refused", error=message.error)
            return
        if message.data == _NULL:
            return
        self._check_sequence(message)
        if message.channel == "executions":
            self._on_executions(message)
        elif message.channel == "balances":
            self._handlers.on_balances(self._balances.decode(message.data))

    def _check_sequence(self, message: _Message) -> None:
        # Kraken numbers each channel's messages; a skipped number is an event we never got.
        if message.sequence is None:
            return
        last = self._sequences.get(message.channel)
        self._sequences[message.channel] = message.sequence
        if last is not None and message.sequence != last + 1:
            self.gaps += 1
            log.warning(
                "kraken_sequence_gap", channel=message.channel, sequence=message.sequence,
                last=last,
            )  # fmt: skip
            self._handlers.on_reconnected()

    def _on_executions(self, message: _Message) -> None:
        snapshot = message.type == "snapshot"
        self._handlers.on_executions(self._executions.decode(message.data), snapshot)
        if snapshot:
            self._ready.set()
            if self._reconnect_pending:
                self._reconnect_pending = False
                self._handlers.on_reconnected()
