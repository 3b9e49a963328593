"""Deribit's DVOL (30-day implied volatility index, annualized %) as a ``VolatilitySource``.

History over REST, JSON-RPC over HTTP GET, paged backwards by ``continuation``::

    GET /api/v2/public/get_volatility_index_data?currency=BTC&start_timestamp=1722988800000
        &end_timestamp=1723075200000&resolution=3600
    {"jsonrpc": "2.0", "result": {"data": [[1722988800000, 47.9, 48.6, 47.1, 48.2], ...],
     "continuation": null}, "usIn": 1723075200001000, "usOut": 1723075200003000,
     "usDiff": 2000, "testnet": false}

(candles ``[open time ms, open, high, low, close]``; ``continuation``, when not
null, is the ``end_timestamp`` of the next, older page). Live over the WebSocket::

    -> {"jsonrpc": "2.0", "id": 2, "method": "public/subscribe",
        "params": {"channels": ["deribit_volatility_index.btc_usd"]}}
    <- {"jsonrpc": "2.0", "id": 2, "result": ["deribit_volatility_index.btc_usd"]}
    <- {"jsonrpc": "2.0", "method": "subscription", "params": {"channel":
        "deribit_volatility_index.btc_usd", "data": {"volatility": 48.31,
        "timestamp": 1723075260000, "index_name": "btc_usd"}}}

with ``public/set_heartbeat``: the server's ``{"method": "heartbeat", "params":
{"type": "test_request"}}`` is answered with ``public/test``. A candle's close is
known when the candle ends, so it is dated at open + resolution: a backtest never
sees a value before it was published.
"""

from __future__ import annotations

import asyncio
import bisect
import threading
from collections.abc import Iterable
from typing import Any, Final

import aiohttp
import msgspec
import structlog

from tradefabric.core.errors import (
    ConfigError,
    MalformedMessageError,
    RequestRejectedError,
    VenueUnavailableError,
)

log = structlog.get_logger(__name__)

_MS: Final = 1_000_000
_RESOLUTION_S: Final = {"1": 1, "60": 60, "3600": 3_600, "43200": 43_200, "1D": 86_400}
_ALIASES: Final = {"XBT": "BTC"}


class DvolConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where Deribit is, which indexes to follow and how to reconnect."""

    rest_url: str = "https://www.deribit.com/api/v2"
    ws_url: str = "wss://www.deribit.com/ws/api/v2"
    currencies: tuple[str, ...] = ("BTC", "ETH")
    resolution: str = "3600"
    heartbeat_s: int = 30
    timeout_s: float = 10.0
    reconnect_s: float = 1.0
    max_reconnect_s: float = 30.0

    def __post_init__(self) -> None:
        if self.resolution not in _RESOLUTION_S:
            raise ConfigError(
                f"dvol: resolution {self.resolution!r}; expected {list(_RESOLUTION_S)}"
            )


class DvolStats(msgspec.Struct):
    """What the source did: history pages, live updates, reconnects, bad frames."""

    pages: int = 0
    updates: int = 0
    connects: int = 0
    heartbeats: int = 0
    rejected: int = 0


class _Page(msgspec.Struct, frozen=True):
    data: list[tuple[int, float, float, float, float]]
    continuation: int | None = None


class _Error(msgspec.Struct, frozen=True):
    code: int
    message: str


class _RestReply(msgspec.Struct, frozen=True):
    result: _Page | None = None
    error: _Error | None = None


class _Update(msgspec.Struct, frozen=True):
    volatility: float
    timestamp: int
    index_name: str


class DeribitDvol:
    """DVOL readings per currency, from REST history and the live WebSocket.

    ``value(asset, ts_ns)`` (the ``VolatilitySource`` protocol) answers for any
    symbol of the currency (``BTC/USDT``, ``BTC/USD:BTC``...) with the newest
    reading published strictly before ``ts_ns``.
    """

    def __init__(self, config: DvolConfig | None = None, **params: Any) -> None:
        self.config = config or msgspec.convert(params, DvolConfig)
        self.stats = DvolStats()
        self._lock = threading.Lock()
        self._times: dict[str, list[int]] = {}
        self._values: dict[str, list[float]] = {}

    def value(self, asset: str, ts_ns: int) -> float | None:
        """Return the newest DVOL of ``asset``'s base currency published before ``ts_ns``."""
        currency = _currency(asset)
        with self._lock:
            times = self._times.get(currency, [])
            i = bisect.bisect_left(times, ts_ns)
            return self._values[currency][i - 1] if i else None

    def readings(self, currency: str) -> list[tuple[int, float]]:
        """Return every (published ns, value) held for ``currency``, oldest first."""
        with self._lock:
            return list(
                zip(self._times.get(currency, []), self._values.get(currency, []), strict=True)
            )

    def add(self, currency: str, rows: Iterable[tuple[int, float]]) -> int:
        """Keep readings not held yet (by time); return how many were new."""
        added = 0
        with self._lock:
            times = self._times.setdefault(currency, [])
            values = self._values.setdefault(currency, [])
            for ts, value in rows:
                i = bisect.bisect_left(times, ts)
                if i < len(times) and times[i] == ts:
                    continue
                times.insert(i, ts)
                values.insert(i, value)
                added += 1
        return added

    # --- history ---

    async def backfill(self, currency: str, start_ns: int, end_ns: int) -> int:
        """Fetch ``currency``'s DVOL candles between the two times; return readings added."""
        step_ns = _RESOLUTION_S[self.config.resolution] * 1_000_000_000
        end_ms: int | None = end_ns // _MS
        rows: list[tuple[int, float]] = []
        timeout = aiohttp.ClientTimeout(total=self.config.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while end_ms is not None and end_ms > start_ns // _MS:
                page = await self._page(session, currency, start_ns // _MS, end_ms)
                rows += [(ms * _MS + step_ns, close) for ms, _o, _h, _l, close in page.data]
                end_ms = page.continuation
        return self.add(currency, rows)

    async def _page(
        self, session: aiohttp.ClientSession, currency: str, start_ms: int, end_ms: int
    ) -> _Page:
        url = f"{self.config.rest_url.rstrip('/')}/public/get_volatility_index_data"
        params = {"currency": currency, "start_timestamp": str(start_ms),
                  "end_timestamp": str(end_ms), "resolution": self.config.resolution}  # fmt: skip
        try:
            async with session.get(url, params=params) as reply:
                status, body = reply.status, await reply.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise VenueUnavailableError(f"deribit {url}: {type(exc).__name__}: {exc}") from exc
        if status >= 500 or status == 429:
            raise VenueUnavailableError(f"deribit {url}: HTTP {status}")
        try:
            reply_body = msgspec.json.decode(body, type=_RestReply)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise MalformedMessageError(f"deribit {url}: unexpected reply ({exc})") from exc
        if reply_body.error is not None or reply_body.result is None:
            error = reply_body.error
            detail = f"{error.code} {error.message}" if error else f"HTTP {status}, no result"
            raise RequestRejectedError(f"deribit volatility index {currency}: {detail}")
        self.stats.pages += 1
        return reply_body.result

    # --- live ---

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the live indexes until ``stop`` is set, reconnecting with backoff."""
        wait = self.config.reconnect_s
        while not stop.is_set():
            try:
                await self._session(stop)
                wait = self.config.reconnect_s
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.warning("deribit dvol connection lost", error=str(exc), retry_s=wait)
            if stop.is_set():
                return
            try:
                await asyncio.wait_for(stop.wait(), timeout=wait)
            except TimeoutError:
                wait = min(wait * 2, self.config.max_reconnect_s)

    async def _session(self, stop: asyncio.Event) -> None:
        channels = [f"deribit_volatility_index.{c.lower()}_usd" for c in self.config.currencies]
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(self.config.ws_url, heartbeat=None) as ws,
        ):
            self.stats.connects += 1
            await ws.send_json(
                _rpc(1, "public/set_heartbeat", {"interval": self.config.heartbeat_s})
            )
            await ws.send_json(_rpc(2, "public/subscribe", {"channels": channels}))
            stopping = asyncio.create_task(stop.wait())
            try:
                while not stop.is_set():
                    receiving = asyncio.create_task(ws.receive())
                    await asyncio.wait({receiving, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    if not receiving.done():
                        receiving.cancel()
                        return
                    message = receiving.result()
                    if message.type != aiohttp.WSMsgType.TEXT:
                        return  # closed by the server: reconnect
                    await self._on_frame(ws, message.data)
            finally:
                stopping.cancel()

    async def _on_frame(self, ws: aiohttp.ClientWebSocketResponse, text: str) -> None:
        try:
            frame = msgspec.json.decode(text)
        except msgspec.DecodeError:
            self.stats.rejected += 1
            return
        if not isinstance(frame, dict):
            self.stats.rejected += 1
            return
        method = frame.get("method")
        if method == "heartbeat":
            self.stats.heartbeats += 1
            if (frame.get("params") or {}).get("type") == "test_request":
                await ws.send_json(_rpc(3, "public/test", {}))
        elif method == "subscription":
            self._on_update(frame.get("params") or {})

    def _on_update(self, params: dict[str, Any]) -> None:
        try:
            update = msgspec.convert(params.get("data"), _Update)
        except msgspec.ValidationError:
            self.stats.rejected += 1
            return
        self.stats.updates += 1
        currency = update.index_name.partition("_")[0].upper()
        self.add(currency, [(update.timestamp * _MS, update.volatility)])


def _rpc(request_id: int, method: str, params: dict[str, object]) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def _currency(asset: str) -> str:
    base = asset.partition("/")[0].upper()
    return _ALIASES.get(base, base)
