"""Coinbase's ``user`` channel with ``heartbeats``, each subscribe carrying a fresh JWT.

Messages are ``{"channel": "user", "sequence_num": N, "events": [{"type":
"snapshot"|"update", "orders": [...]}]}``; ``heartbeats`` arrive every second and
keep the subscription open (Coinbase closes a quiet channel in 60-90 s). A
``subscriptions`` ack, then the snapshot of open orders, mark the stream ready.
On a drop the stream reconnects and resubscribes; the owner reconciles
(``on_reconnected``), as it does on a gap in ``sequence_num``. An ``error``
message (a refused JWT) is logged and kept in ``errors``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import aiohttp
import msgspec
import structlog

from tradefabric.execution.live.coinbase.jwt import JwtSigner
from tradefabric.execution.live.coinbase.parse import UserOrder
from tradefabric.venues.coinbase.timestamps import parse_rfc3339_ns

log = structlog.get_logger(__name__)


class _Event(msgspec.Struct, frozen=True):
    type: str = ""
    orders: tuple[UserOrder, ...] = ()


class _Message(msgspec.Struct, frozen=True):
    channel: str = ""
    type: str = ""
    message: str = ""
    timestamp: str = ""
    sequence_num: int = 0
    events: tuple[_Event, ...] = ()


OrdersHandler = Callable[[tuple[UserOrder, ...], int, bool], None]


class CoinbaseUserStream:
    """The ``user`` + ``heartbeats`` subscription of one key."""

    def __init__(
        self,
        url: str,
        signer: JwtSigner,
        *,
        product_ids: tuple[str, ...],
        on_orders: OrdersHandler,
        on_reconnected: Callable[[], None],
        reconnect_s: float = 0.2,
    ) -> None:
        self._url = url
        self._signer = signer
        self._products = product_ids
        self._on_orders = on_orders
        self._on_reconnected = on_reconnected
        self._reconnect_s = reconnect_s
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._was_ready = False
        self.connections = 0
        self.heartbeats = 0
        self.errors: list[str] = []
        self.gaps = 0
        """Messages found missing by ``sequence_num`` (each asks for reconciling)."""
        self._last_sequence: int | None = None
        self._decoder = msgspec.json.Decoder(_Message)

    async def start(self, timeout_s: float = 10.0) -> None:
        """Connect, subscribe, and return once the user snapshot arrived."""
        self._session = aiohttp.ClientSession()
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), timeout_s)

    async def close(self) -> None:
        """Stop the stream."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        while True:
            try:
                await self._connect_once()
            except (aiohttp.ClientError, OSError, msgspec.DecodeError) as exc:
                log.warning("coinbase_user_stream_error", error=repr(exc))
            log.info("coinbase_user_stream_reconnecting", connections=self.connections)
            if self._ready.is_set():
                self._ready.clear()
                self._was_ready = True
            await asyncio.sleep(self._reconnect_s)

    async def _connect_once(self) -> None:
        assert self._session is not None
        async with self._session.ws_connect(self._url, heartbeat=10.0) as ws:
            self.connections += 1
            self._last_sequence = None
            for channel in ("heartbeats", "user"):
                body: dict[str, object] = {
                    "type": "subscribe", "channel": channel, "jwt": self._signer.token(),
                }  # fmt: skip
                if channel == "user" and self._products:
                    body["product_ids"] = list(self._products)
                await ws.send_str(msgspec.json.encode(body).decode())
            async for message in ws:
                if message.type is aiohttp.WSMsgType.TEXT:
                    self._on_text(message.data)

    def _check_sequence(self, sequence: int) -> None:
        # sequence_num counts every message of the connection (heartbeats too): a
        # skipped number is a message we never got; a repeat or an older one is ignored.
        last = self._last_sequence
        if last is not None and sequence <= last:
            return
        self._last_sequence = sequence
        if last is not None and sequence != last + 1 and self._ready.is_set():
            self.gaps += 1
            log.warning("coinbase_sequence_gap", sequence=sequence, last=last)
            self._on_reconnected()

    def _on_text(self, text: str) -> None:
        message = self._decoder.decode(text)
        if message.type == "error":
            self.errors.append(message.message)
            log.error("coinbase_user_stream_refused", message=message.message)
            return
        self._check_sequence(message.sequence_num)
        if message.channel == "heartbeats":
            self.heartbeats += 1
            return
        if message.channel != "user":
            return
        ts = parse_rfc3339_ns(message.timestamp) if message.timestamp else 0
        for event in message.events:
            snapshot = event.type == "snapshot"
            self._on_orders(event.orders, ts, snapshot)
            if snapshot and not self._ready.is_set():
                self._ready.set()
                if self._was_ready:
                    self._on_reconnected()
