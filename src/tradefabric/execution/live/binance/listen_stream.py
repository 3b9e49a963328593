"""Binance USD-M's user data stream: a listen key, kept alive, and its WebSocket.

``POST /fapi/v1/listenKey`` gives the key (the account's live one, extended, if
there is one), ``PUT`` keeps it alive (it lives 60 minutes from the last
keep-alive), and ``<stream_url>/<key>`` streams the account's events. A
``listenKeyExpired`` event, a refused keep-alive (-1125) or a dropped socket
make the stream take a key again and reconnect; ``on_reconnect`` then tells the
client that events may have been missed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import aiohttp
import msgspec
import structlog

from tradefabric.core.errors import TradefabricError
from tradefabric.execution.live.binance.rest import BinanceRest
from tradefabric.execution.live.binance.wire import EventType

log = structlog.get_logger(__name__)

LISTEN_KEY_PATH = "/fapi/v1/listenKey"


class _ListenKey(msgspec.Struct, frozen=True):
    listenKey: str  # noqa: N815  (Binance's field name)


class ListenKeyStream:
    """The USD-M user stream, reconnected and kept alive in the background."""

    def __init__(
        self,
        rest: BinanceRest,
        stream_url: str,
        *,
        on_event: Callable[[bytes], None],
        on_reconnect: Callable[[], None],
        keepalive_s: float = 1800.0,
        reconnect_delay_s: float = 0.5,
    ) -> None:
        self._rest = rest
        self._stream_url = stream_url.rstrip("/")
        self._on_event = on_event
        self._on_reconnect = on_reconnect
        self._keepalive_s = keepalive_s
        self._reconnect_delay_s = reconnect_delay_s
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._type_decoder = msgspec.json.Decoder(EventType)
        self.listen_key = ""
        self.connects = 0

    async def start(self) -> None:
        """Take a listen key and connect; then keep both up in the background."""
        self._session = aiohttp.ClientSession()
        try:
            await self._connect()
        except BaseException:
            await self._session.close()
            raise
        self._tasks = [asyncio.create_task(self._run()), asyncio.create_task(self._keepalive())]

    async def stop(self) -> None:
        """Close the stream (the key is left to expire: another session may share it)."""
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()

    async def _connect(self) -> None:
        assert self._session is not None
        answer = msgspec.convert(await self._rest.keyed("POST", LISTEN_KEY_PATH), _ListenKey)
        self.listen_key = answer.listenKey
        self._ws = await self._session.ws_connect(
            f"{self._stream_url}/{self.listen_key}", heartbeat=20.0
        )
        self.connects += 1

    async def _run(self) -> None:
        while True:
            ws = self._ws
            assert ws is not None
            try:
                await self._read(ws)
            except (aiohttp.ClientError, OSError) as exc:
                log.warning("binance_user_stream_read_failed", error=type(exc).__name__)
            await ws.close()
            await self._reconnect()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            raw = message.data.encode()
            try:
                kind = self._type_decoder.decode(raw).e
            except msgspec.DecodeError:
                log.warning("binance_user_stream_malformed_frame", size=len(raw))
                continue
            if kind == "listenKeyExpired":
                log.info("binance_listen_key_expired")
                return
            self._on_event(raw)

    async def _reconnect(self) -> None:
        while True:
            await asyncio.sleep(self._reconnect_delay_s)
            try:
                await self._connect()
            except (TradefabricError, aiohttp.ClientError, OSError) as exc:
                log.warning("binance_user_stream_reconnect_failed", error=type(exc).__name__)
                continue
            log.info("binance_user_stream_reconnected", connects=self.connects)
            self._on_reconnect()
            return

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self._keepalive_s)
            try:
                await self._rest.keyed("PUT", LISTEN_KEY_PATH, {"listenKey": self.listen_key})
            except TradefabricError as exc:
                # The key is gone (-1125): drop the socket, the stream takes a new key.
                log.warning("binance_listen_key_keepalive_refused", error=type(exc).__name__)
                if self._ws is not None:
                    await self._ws.close()
