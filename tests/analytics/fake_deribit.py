"""A local server speaking Deribit's v2 API for the volatility index (REST history + WebSocket).

There is no DVOL history on this machine, only the documented message shapes.
The index served is built from the real BTC (and ETH) month: the annualized
realized volatility of the trailing 24 hours of 1m closes, sampled each minute,
as hourly candles ``[open ms, open, high, low, close]`` (the real DVOL is implied,
not realized, but it moves the same way: it spiked in the 5 August 2024 crash).

REST ``/api/v2/public/get_volatility_index_data`` pages at ``page_size`` candles,
newest first, with ``continuation`` as Deribit does; a bad request is a JSON-RPC
error. WebSocket ``/ws/api/v2`` answers ``public/set_heartbeat``,
``public/subscribe`` and ``public/test``; ``push`` sends an index update to the
subscribers, ``heartbeat`` a ``test_request``, ``drop`` closes every connection.
"""

from __future__ import annotations

import asyncio

import msgspec
import numpy as np
from aiohttp import WSMsgType, web

from tradefabric.analytics.frame import CandleFrame

HOUR_MS = 3_600_000
_YEAR_MINUTES = 365 * 24 * 60


def hourly_dvol(frame: CandleFrame) -> list[tuple[int, float, float, float, float]]:
    """Return hourly candles of the trailing-24h realized volatility (annual %) of ``frame``."""
    returns = np.diff(np.log(frame.close))
    window = 24 * 60
    squares = np.concatenate([[0.0], np.cumsum(returns**2)])
    minute_vol = np.sqrt((squares[window:] - squares[:-window]) / window * _YEAR_MINUTES) * 100
    ts_ms = frame.ts_open[window:] // 1_000_000  # known at the close of the window's last candle
    candles = []
    for start in range(int(ts_ms[0] // HOUR_MS + 1) * HOUR_MS, int(ts_ms[-1]), HOUR_MS):
        inside = (ts_ms >= start) & (ts_ms < start + HOUR_MS)
        values = minute_vol[inside]
        if len(values) == 60:
            o, c = float(values[0]), float(values[-1])
            candles.append((start, o, float(values.max()), float(values.min()), c))
    return candles


class FakeDeribit:
    """The server: ``candles`` per currency, live subscribers, counters."""

    def __init__(
        self,
        candles: dict[str, list[tuple[int, float, float, float, float]]],
        page_size: int = 200,
    ) -> None:
        self.candles = candles
        self.page_size = page_size
        self.rest_requests: list[dict[str, str]] = []
        self.subscribed: list[list[str]] = []
        self.test_replies = 0
        self.connections = 0
        self._sockets: list[tuple[web.WebSocketResponse, set[str]]] = []
        self._runner: web.AppRunner | None = None
        self.rest_url = ""
        self.ws_url = ""

    async def __aenter__(self) -> FakeDeribit:
        app = web.Application()
        app.router.add_get("/api/v2/public/get_volatility_index_data", self._history)
        app.router.add_get("/ws/api/v2", self._ws)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self.rest_url = f"http://127.0.0.1:{port}/api/v2"
        self.ws_url = f"ws://127.0.0.1:{port}/ws/api/v2"
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.drop()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _history(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        self.rest_requests.append(q)
        try:
            currency = q["currency"]
            start, end = int(q["start_timestamp"]), int(q["end_timestamp"])
            assert q["resolution"] in ("1", "60", "3600", "43200", "1D")
            assert currency in self.candles
        except (KeyError, ValueError, AssertionError):
            error = {"message": "Invalid params", "code": -32602,
                     "data": {"reason": "wrong format", "param": "currency"}}  # fmt: skip
            return web.json_response({"jsonrpc": "2.0", "error": error}, status=400)
        inside = [c for c in self.candles.get(currency, []) if start <= c[0] <= end]
        page = inside[-self.page_size :]
        more = len(inside) > len(page)
        result = {"data": page, "continuation": page[0][0] - 1 if more else None}
        body = {"jsonrpc": "2.0", "result": result, "usIn": end * 1000, "usOut": end * 1000 + 2,
                "usDiff": 2, "testnet": False}  # fmt: skip
        return web.json_response(body)

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        channels: set[str] = set()
        self._sockets.append((ws, channels))
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                break
            await self._on_request(ws, channels, msgspec.json.decode(message.data))
        return ws

    async def _on_request(
        self, ws: web.WebSocketResponse, channels: set[str], frame: dict[str, object]
    ) -> None:
        method, rid = frame.get("method"), frame.get("id")
        params = frame.get("params")
        assert isinstance(params, dict)
        if method == "public/subscribe":
            wanted = list(params["channels"])
            channels.update(wanted)
            self.subscribed.append(wanted)
            await ws.send_json({"jsonrpc": "2.0", "id": rid, "result": wanted})
        elif method == "public/set_heartbeat":
            await ws.send_json({"jsonrpc": "2.0", "id": rid, "result": "ok"})
        elif method == "public/test":
            self.test_replies += 1
            await ws.send_json({"jsonrpc": "2.0", "id": rid, "result": {"version": "1.2.26"}})

    async def push(self, currency: str, ts_ms: int, value: float) -> int:
        """Send one index update to every subscriber of ``currency``; return how many got it."""
        index = f"{currency.lower()}_usd"
        channel = f"deribit_volatility_index.{index}"
        data = {"volatility": value, "timestamp": ts_ms, "index_name": index}
        frame = {"jsonrpc": "2.0", "method": "subscription",
                 "params": {"channel": channel, "data": data}}  # fmt: skip
        sent = 0
        for ws, channels in self._sockets:
            if channel in channels and not ws.closed:
                await ws.send_json(frame)
                sent += 1
        return sent

    async def heartbeat(self) -> None:
        """Ask every client to prove it is alive (``test_request``)."""
        for ws, _ in self._sockets:
            if not ws.closed:
                await ws.send_json(
                    {"jsonrpc": "2.0", "method": "heartbeat", "params": {"type": "test_request"}}
                )

    async def send_raw(self, text: str) -> None:
        """Send ``text`` as is to every client (malformed frames)."""
        for ws, _ in self._sockets:
            if not ws.closed:
                await ws.send_str(text)

    async def drop(self) -> None:
        """Close every connection, as a venue restart does."""
        sockets, self._sockets = self._sockets, []
        await asyncio.gather(*(ws.close() for ws, _ in sockets if not ws.closed))

    def subscribers(self) -> int:
        """Return how many open connections are subscribed to anything."""
        return sum(1 for ws, channels in self._sockets if channels and not ws.closed)
