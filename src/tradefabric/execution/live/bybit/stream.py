"""The Bybit v5 private WebSocket: authenticate, subscribe, ping, and reconnect forever.

Each (re)connection sends ``{"op":"auth","args":[key, expires_ms, signature]}``,
waits for its answer, subscribes to the category's topics and waits for that
answer too; only then is a reconnect reported (``on_reconnect``), so whatever
reconciles the gap runs with the stream already delivering. ``{"op":"ping"}``
goes out every 20 s, as Bybit asks (it also keeps the disconnect-cancel armed).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import msgspec
import structlog
import websockets
from websockets.asyncio.client import ClientConnection, connect

from tradefabric.core.errors import (
    AuthenticationError,
    DataError,
    RetryableError,
    VenueUnavailableError,
)
from tradefabric.data.feed.backoff import Backoff
from tradefabric.execution.live.bybit.events import Frame, PrivateStreamParser
from tradefabric.venues.bybit.private.signing import Credentials

log = structlog.get_logger(__name__)

PING_INTERVAL_S = 20.0
AUTH_EXPIRES_MS = 10_000
"""How far ahead of now the ``auth`` signature stays valid."""
HANDSHAKE_TIMEOUT_S = 10.0


class PrivateStream:
    """One self-healing private connection feeding a ``PrivateStreamParser``."""

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        topics: tuple[str, ...],
        parser: PrivateStreamParser,
        on_reconnect: Callable[[], None],
        *,
        ping_interval_s: float = PING_INTERVAL_S,
    ) -> None:
        self.url = url
        self._credentials = credentials
        self._topics = list(topics)
        self._parser = parser
        self._on_reconnect = on_reconnect
        self._ping_interval_s = ping_interval_s
        self._backoff = Backoff(initial_s=0.1, maximum_s=5.0)
        self._task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None
        self.ready = asyncio.Event()
        """Set while connected, authenticated and subscribed."""
        self._settled = asyncio.Event()
        self.error: Exception | None = None
        self.connects = 0

    async def start(self, timeout_s: float = HANDSHAKE_TIMEOUT_S) -> None:
        """Connect and wait until subscribed; raise ``AuthenticationError`` if refused."""
        self._task = asyncio.create_task(self._run())
        try:
            await asyncio.wait_for(self._settled.wait(), timeout_s)
        except TimeoutError:
            raise VenueUnavailableError(
                f"private stream {self.url}: not ready in {timeout_s:g} s"
            ) from None
        if self.error is not None:
            raise self.error

    async def close(self) -> None:
        """Close the connection and stop reconnecting."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def subscribe(self, topic: str) -> None:
        """Add ``topic`` now and on every reconnect (its answer is read with the frames)."""
        if topic in self._topics:
            return
        self._topics.append(topic)
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(websockets.ConnectionClosed):
                await ws.send(self._request("subscribe", [topic]))

    async def ping(self) -> None:
        """Send a ping now (no-op while disconnected)."""
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(websockets.ConnectionClosed):
                await ws.send(msgspec.json.encode({"op": "ping", "req_id": "hb"}).decode())

    async def _run(self) -> None:
        while True:
            try:
                await self._session()
            except AuthenticationError as exc:
                # Retrying cannot help; ``start`` raises it, a later refusal stops reconnecting.
                self.error = exc
                self._settled.set()
                log.error("bybit_private_stream_refused", url=self.url, error=str(exc))
                return
            except (
                OSError, TimeoutError, websockets.WebSocketException, RetryableError, DataError,
            ) as exc:  # fmt: skip
                log.warning("bybit_private_stream_lost", url=self.url, error=repr(exc))
            finally:
                self._ws = None
                self.ready.clear()
            await asyncio.sleep(self._backoff.next_delay())

    async def _session(self) -> None:
        async with connect(self.url, ping_interval=None, open_timeout=HANDSHAKE_TIMEOUT_S) as ws:
            await self._handshake(ws)
            self._ws = ws
            self.connects += 1
            self._backoff.reset()
            if self.connects > 1:
                self._on_reconnect()
            self.ready.set()
            self._settled.set()
            pinger = asyncio.create_task(self._ping_loop(ws))
            try:
                async for raw in ws:
                    self._dispatch(raw)
            finally:
                pinger.cancel()

    async def _handshake(self, ws: ClientConnection) -> None:
        expires = time.time_ns() // 1_000_000 + AUTH_EXPIRES_MS
        await ws.send(self._request("auth", self._credentials.ws_auth_args(expires)))
        answer = await self._answer(ws, "auth")
        if not answer.success:
            raise AuthenticationError(f"private stream auth refused: {answer.ret_msg}")
        await ws.send(self._request("subscribe", list(self._topics)))
        answer = await self._answer(ws, "subscribe")
        if not answer.success:
            raise VenueUnavailableError(f"private subscribe refused: {answer.ret_msg}")

    async def _answer(self, ws: ClientConnection, op: str) -> Frame:
        async with asyncio.timeout(HANDSHAKE_TIMEOUT_S):
            while True:
                raw = await ws.recv()
                frame = self._parser.decode(raw)
                if frame.op == op:
                    return frame
                self._parser.on_frame(frame)

    def _dispatch(self, raw: str | bytes) -> None:
        try:
            frame = self._parser.decode(raw)
        except DataError as exc:
            self._parser.rejected["undecodable"] += 1
            log.warning("bybit_private_frame_undecodable", error=str(exc))
            return
        if not frame.op:
            self._parser.on_frame(frame)
        elif not frame.success:
            log.warning("bybit_private_op_refused", op=frame.op, message=frame.ret_msg)

    async def _ping_loop(self, ws: ClientConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.sleep(self._ping_interval_s)
                await ws.send(self._request("ping", []))

    @staticmethod
    def _request(op: str, args: list[str | int] | list[str]) -> str:
        return msgspec.json.encode({"req_id": op, "op": op, "args": args}).decode()
