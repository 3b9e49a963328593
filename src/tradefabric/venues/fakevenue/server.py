"""A local fake venue: a real WebSocket + HTTP server on 127.0.0.1 serving recorded traffic.

The server is venue-neutral; a ``VenueScript`` speaks one venue's protocol
(which URL paths, how subscriptions look, which REST endpoints exist, and the
frames to stream). Traffic is broadcast on one shared timeline, as on a real
venue: a client that reconnects has missed what was sent meanwhile.

Faults are injected on command, through the Python API (``server.faults``) or
over HTTP: ``POST /_fault/drop``, ``/_fault/stall?seconds=2``,
``/_fault/lag?seconds=2&for=5&ramp=4``, ``/_fault/malformed?count=3``, ``/_fault/skip?count=1``,
``/_fault/http?status=429&count=2[&retry_after=0.5]``; ``GET /_status``
reports progress (frames, faults, REST requests by path).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator
from typing import Protocol

import msgspec
import structlog
from aiohttp import WSMsgType, web

from tradefabric.data.order_book import OrderBook
from tradefabric.venues.fakevenue.faults import FaultCounters, Faults, HttpFault

log = structlog.get_logger(__name__)

MALFORMED_FRAME = '{"stream":"fake@trade","data":{"e":"trade","p":"NaN","q":'


class VenueFrame(msgspec.Struct, frozen=True, gc=False):
    """One frame of the venue's timeline; ``stream`` decides which clients get it."""

    ts: int
    stream: str
    text: str
    sequenced: bool


_YIELD_BYTES = 64 * 1024
"""Bytes written to one client between two turns of the event loop."""


def _as_broadcast(text: str) -> str:
    return text


class ClientConnection:
    """One connected WebSocket client and the streams it subscribed to."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, streams: set[str]) -> None:
        self.ws = ws
        self.request = request
        self.streams = streams
        self.frames_sent = 0
        self.render: Callable[[str], str] = _as_broadcast
        """Turn a broadcast frame into what this client gets (a script may number
        frames per connection, as Coinbase does); by default the frame itself."""
        self.unyielded_bytes = 0


class VenueScript(Protocol):
    """One venue's protocol, as the fake venue speaks it."""

    name: str
    ws_paths: tuple[str, ...]
    trades_streamed: int
    """Trades sent so far (for tests: what a perfect client would have received)."""

    def venue_book(self, symbol: str) -> OrderBook | None:
        """Return the venue's own current book of a unified symbol (the truth to compare)."""
        ...

    def rest_routes(self) -> list[web.RouteDef]:
        """Return the REST endpoints this venue serves."""
        ...

    def initial_streams(self, request: web.Request) -> set[str]:
        """Return the streams a connection subscribes to by its URL alone."""
        ...

    def on_client_message(self, client: ClientConnection, text: str) -> list[str]:
        """Handle a client frame (subscribe, ping...); return the replies to send."""
        ...

    def frames(self) -> Iterator[VenueFrame]:
        """Yield the timeline; the script's own state (books) includes each frame once yielded."""
        ...


class ServerStatus(msgspec.Struct, frozen=True):
    """Progress of the fake venue."""

    venue: str
    url: str
    connections: int
    connections_total: int
    frames_streamed: int
    finished: bool
    faults: FaultCounters
    rest_requests: dict[str, int] = {}
    """REST requests answered or failed so far, by path (``/api/v3/exchangeInfo``: 1)."""


class FakeVenueServer:
    """Serve a ``VenueScript`` on 127.0.0.1 (random port by default)."""

    def __init__(
        self,
        script: VenueScript,
        speed: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        max_unattended_frames: int | None = 2000,
    ) -> None:
        """Serve ``script``; ``max_unattended_frames`` bounds an outage.

        While no client is subscribed (after a drop), a real venue streams on to
        nobody: so does this one, for at most ``max_unattended_frames`` frames
        (lost to the client, as in a real outage), then it waits for a client to
        subscribe again, so a fast replay cannot end before the client is back.
        None streams on to nobody without bound.
        """
        self.script = script
        self.speed = speed
        self._max_unattended = max_unattended_frames
        self._unattended = 0
        # Frames held back by a lag fault, in order: (due time, stream, text).
        self._late: deque[tuple[float, str, str]] = deque()
        self._late_waiting = asyncio.Event()
        self.faults = Faults()
        self._host = host
        self._port = port
        self._clients: list[ClientConnection] = []
        self._connections_total = 0
        self._frames_streamed = 0
        self.rest_requests: Counter[str] = Counter()
        self._first_client = asyncio.Event()
        self.finished = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._stream_task: asyncio.Task[None] | None = None
        self._late_task: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def http_url(self) -> str:
        """Return ``http://127.0.0.1:<port>``."""
        return f"http://{self._host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """Return ``ws://127.0.0.1:<port>``."""
        return f"ws://{self._host}:{self.port}"

    async def start(self) -> None:
        """Bind the socket and start streaming once the first client has subscribed."""
        app = web.Application(middlewares=[self._http_faults])
        app.add_routes([web.get(path, self._on_websocket) for path in self.script.ws_paths])
        app.add_routes(self.script.rest_routes())
        app.add_routes(
            [web.post("/_fault/{kind}", self._on_fault), web.get("/_status", self._on_status)]
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        # Bind the socket ourselves so a random port (0) is known before anyone connects.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._stream_task = asyncio.create_task(self._stream())
        self._late_task = asyncio.create_task(self._deliver_late_frames())

    async def stop(self) -> None:
        """Close every connection and the server."""
        for task in (self._stream_task, self._late_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for client in list(self._clients):
            await client.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeVenueServer:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    def status(self) -> ServerStatus:
        """Return the server's progress and injected faults."""
        return ServerStatus(
            venue=self.script.name,
            url=self.ws_url,
            connections=len(self._clients),
            connections_total=self._connections_total,
            frames_streamed=self._frames_streamed,
            finished=self.finished.is_set(),
            faults=self.faults.counters(),
            rest_requests=dict(self.rest_requests),
        )

    async def drop_connections(self) -> None:
        """Cut every client connection abruptly, as a venue outage would."""
        self.faults.drop()
        await self._apply_drops()

    async def _on_websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        client = ClientConnection(ws, request, self.script.initial_streams(request))
        self._clients.append(client)
        self._connections_total += 1
        if client.streams:
            self._first_client.set()
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    for reply in self.script.on_client_message(client, message.data):
                        await ws.send_str(reply)
                    if client.streams:
                        self._first_client.set()
        finally:
            self._clients.remove(client)
        return ws

    async def _stream(self) -> None:
        await self._first_client.wait()
        wall_start = time.monotonic()
        first_ts: int | None = None
        for count, frame in enumerate(self.script.frames()):
            if first_ts is None:
                first_ts = frame.ts
            await self._pace(wall_start, frame.ts - first_ts, count)
            await self._apply_drops()
            await self._wait_for_a_client_after_long_outage()
            await self._send(frame)
        while self._late:
            await asyncio.sleep(0.01)
        self.finished.set()
        log.info("fake_venue_finished", venue=self.script.name, frames=self._frames_streamed)

    async def _wait_for_a_client_after_long_outage(self) -> None:
        if any(client.streams for client in self._clients):
            self._unattended = 0
            return
        self._unattended += 1
        if self._max_unattended is None or self._unattended <= self._max_unattended:
            return
        while not any(client.streams for client in self._clients):
            await asyncio.sleep(0.005)
        self._unattended = 0

    async def _pace(self, wall_start: float, offset_ns: int, count: int) -> None:
        if self.speed <= 0:
            if count % 256 == 0:
                await asyncio.sleep(0)
            return
        delay = wall_start + offset_ns / 1e9 / self.speed - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif count % 256 == 0:
            await asyncio.sleep(0)

    async def _send(self, frame: VenueFrame) -> None:
        faults = self.faults
        if faults.stalled() or (frame.sequenced and faults.take_skip()):
            return
        for _ in range(faults.take_malformed()):
            await self._broadcast(frame.stream, MALFORMED_FRAME)
        lag = faults.lag_s()
        if lag > 0 or self._late:
            # Behind the queue of late frames too, so the order is kept as the lag ends.
            self._late.append((time.monotonic() + lag, frame.stream, frame.text))
            self._late_waiting.set()
        else:
            await self._broadcast(frame.stream, frame.text)
        self._frames_streamed += 1

    async def _deliver_late_frames(self) -> None:
        while True:
            await self._late_waiting.wait()
            while self._late:
                due, stream, text = self._late[0]
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                self._late.popleft()
                await self._broadcast(stream, text)
            self._late_waiting.clear()

    async def _broadcast(self, stream: str, text: str) -> None:
        # A copy: clients come and go while a send awaits.
        for client in list(self._clients):
            if stream in client.streams and not client.ws.closed:
                try:
                    await client.ws.send_str(client.render(text))
                except ConnectionError:
                    continue
                client.frames_sent += 1
                client.unyielded_bytes += len(text)
                if client.unyielded_bytes >= _YIELD_BYTES:
                    # A client in the same process (tests) reads about this much a turn;
                    # without a turn, a flat-out replay runs ever further ahead of it.
                    client.unyielded_bytes = 0
                    await asyncio.sleep(0)

    async def _apply_drops(self) -> None:
        if not self.faults.drop_requests:
            return
        self.faults.drop_requests = 0
        for client in list(self._clients):
            transport = client.request.transport
            if transport is not None:
                transport.abort()

    @web.middleware
    async def _http_faults(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path.startswith("/_") or request.path in self.script.ws_paths:
            return await handler(request)
        self.rest_requests[request.path] += 1
        fault = self.faults.take_http()
        if fault is None:
            return await handler(request)
        headers = {"Retry-After": f"{fault.retry_after_s:g}"} if fault.status == 429 else {}
        # Binance's codes: -1003 too much request weight; -1001 internal error, try again.
        code = -1003 if fault.status in (418, 429) else -1001
        body = msgspec.json.encode({"code": code, "msg": f"injected HTTP {fault.status}"})
        return web.Response(status=fault.status, body=body, headers=headers)

    async def _on_fault(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        query = request.query
        actions: dict[str, Callable[[], None]] = {
            "drop": self.faults.drop,
            "stall": lambda: self.faults.stall(float(query.get("seconds", "1"))),
            "lag": lambda: self.faults.lag(
                float(query.get("seconds", "1")),
                float(query.get("for", "5")),
                float(query.get("ramp", "0")),
            ),
            "malformed": lambda: self.faults.send_malformed(int(query.get("count", "1"))),
            "skip": lambda: self.faults.skip_sequenced(int(query.get("count", "1"))),
            "http": lambda: self.faults.fail_http(
                HttpFault(
                    int(query.get("status", "429")),
                    int(query.get("count", "1")),
                    float(query.get("retry_after", "1")),
                )
            ),
        }
        action = actions.get(kind)
        if action is None:
            raise web.HTTPNotFound(text=f"unknown fault {kind!r}; known: {sorted(actions)}")
        try:
            action()
        except ValueError as exc:
            raise web.HTTPBadRequest(text=f"bad fault parameter: {exc}") from exc
        await self._apply_drops()
        return web.json_response({"injected": kind})

    async def _on_status(self, _request: web.Request) -> web.Response:
        return web.Response(
            body=msgspec.json.encode(self.status()), content_type="application/json"
        )
