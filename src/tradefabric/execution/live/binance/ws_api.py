"""Binance spot's WebSocket API session: order entry and the user data stream on one socket.

With an Ed25519 key the session logs on once (``session.logon``) and then
subscribes (``userDataStream.subscribe``); its requests need no signature. With an
HMAC key every request is signed and the stream is subscribed with
``userDataStream.subscribe.signature``. (The spot listen-key endpoints were
retired on 2026-02-20.)

When the socket drops, requests waiting for an answer fail by type (an order
entry as ``OrderStatusUnknownError``), the session reconnects and subscribes
again, and ``on_reconnect`` tells the client that events may have been missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Mapping

import aiohttp
import msgspec
import structlog

from tradefabric.core.errors import TradefabricError, VenueUnavailableError
from tradefabric.execution.live.binance.errors import error_for, lost
from tradefabric.execution.live.binance.rest import RetryGate
from tradefabric.execution.live.binance.signing import Signer, ws_payload
from tradefabric.execution.live.binance.wire import WsApiMessage

log = structlog.get_logger(__name__)


class WsApiSession:
    """One WebSocket API connection, kept up, with its user stream subscription."""

    def __init__(
        self,
        url: str,
        api_key: str,
        signer: Signer,
        *,
        on_event: Callable[[bytes], None],
        on_reconnect: Callable[[], None],
        timestamp_ms: Callable[[], int],
        gate: RetryGate,
        timeout_s: float = 10.0,
        reconnect_delay_s: float = 0.5,
    ) -> None:
        self._url = url
        self._api_key = api_key
        self._signer = signer
        self._on_event = on_event
        self._on_reconnect = on_reconnect
        self._timestamp_ms = timestamp_ms
        self._gate = gate
        self._timeout_s = timeout_s
        self._reconnect_delay_s = reconnect_delay_s
        self._ids = itertools.count(1)
        self._pending: dict[str, tuple[asyncio.Future[bytes], bool]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._logged_on = False
        self._decoder = msgspec.json.Decoder(WsApiMessage)
        self.connects = 0

    async def start(self) -> None:
        """Connect, authenticate and subscribe; then keep the session up in the background."""
        self._session = aiohttp.ClientSession()
        try:
            await self._connect()
        except BaseException:
            await self._session.close()
            raise
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Close the session."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()

    @property
    def connected(self) -> bool:
        """Return True while the socket is up (False while it reconnects)."""
        return self._ws is not None and not self._ws.closed

    async def request(
        self, method: str, params: Mapping[str, str], *, order_entry: bool = False
    ) -> bytes:
        """Send one request; return its raw ``result`` or raise by type."""
        self._gate.check()
        ws = self._ws
        if ws is None or ws.closed:
            raise VenueUnavailableError("binance WebSocket API: not connected")
        request_id = str(next(self._ids))
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (future, order_entry)
        body = {"id": request_id, "method": method, "params": self._sign(params)}
        try:
            await ws.send_str(msgspec.json.encode(body).decode())
            return await asyncio.wait_for(future, self._timeout_s)
        except (ConnectionError, aiohttp.ClientError) as exc:
            raise lost(type(exc).__name__, order_entry=order_entry) from exc
        except TimeoutError as exc:
            raise lost("timeout", order_entry=order_entry) from exc
        finally:
            self._pending.pop(request_id, None)

    def _sign(self, params: Mapping[str, str]) -> dict[str, str]:
        signed = {**params, "timestamp": str(self._timestamp_ms())}
        if self._logged_on:
            return signed
        signed["apiKey"] = self._api_key
        signed["signature"] = self._signer.sign(ws_payload(signed))
        return signed

    async def _connect(self) -> None:
        assert self._session is not None
        self._logged_on = False
        self._ws = await self._session.ws_connect(self._url, heartbeat=20.0)
        reader = asyncio.create_task(self._read(self._ws))
        try:
            if self._signer.kind == "ed25519":
                await self.request("session.logon", {})
                self._logged_on = True
                await self.request("userDataStream.subscribe", {})
            else:
                await self.request("userDataStream.subscribe.signature", {})
        except BaseException:
            reader.cancel()
            await self._ws.close()
            raise
        self._reader = reader
        self.connects += 1

    async def _run(self) -> None:
        while True:
            reader = self._reader
            assert reader is not None
            try:
                await reader
            except (aiohttp.ClientError, OSError) as exc:
                log.warning("binance_ws_api_read_failed", error=type(exc).__name__)
            self._fail_pending("connection lost")
            await self._reconnect()

    async def _reconnect(self) -> None:
        while True:
            await asyncio.sleep(self._reconnect_delay_s)
            try:
                await self._connect()
            except (TradefabricError, aiohttp.ClientError, OSError) as exc:
                log.warning("binance_ws_api_reconnect_failed", error=type(exc).__name__)
                continue
            log.info("binance_ws_api_reconnected", connects=self.connects)
            self._on_reconnect()
            return

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                raw = message.data if isinstance(message.data, bytes) else message.data.encode()
                self._dispatch(raw)

    def _dispatch(self, raw: bytes) -> None:
        try:
            frame = self._decoder.decode(raw)
        except msgspec.DecodeError:
            log.warning("binance_ws_api_malformed_frame", size=len(raw))
            return
        if frame.event:
            self._on_event(bytes(frame.event))
            return
        waiting = self._pending.get(str(frame.id))
        if waiting is None or waiting[0].done():
            return
        future, order_entry = waiting
        if frame.status == 200 and frame.result:
            future.set_result(bytes(frame.result))
            return
        error = frame.error or {}
        code = error.get("code", 0)
        wait = self._retry_after_s(error) if frame.status in (418, 429) else None
        if wait is not None:
            self._gate.hold(wait)
        future.set_exception(
            error_for(
                frame.status, code if isinstance(code, int) else 0, str(error.get("msg", "")),
                order_entry=order_entry, retry_after_s=wait,
            )
        )  # fmt: skip

    def _retry_after_s(self, error: dict[str, object]) -> float:
        # The WebSocket API says until when (epoch ms), not for how long.
        data = error.get("data")
        until = data.get("retryAfter") if isinstance(data, dict) else None
        if not isinstance(until, int):
            return 1.0
        return max(0.0, (until - self._timestamp_ms()) / 1000)

    def _fail_pending(self, reason: str) -> None:
        for future, order_entry in list(self._pending.values()):
            if not future.done():
                future.set_exception(lost(reason, order_entry=order_entry))
