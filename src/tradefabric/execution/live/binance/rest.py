"""Binance's signed REST: timestamp, recvWindow and signature on every private request.

Parameters travel in the query string (Binance accepts them there for every
method), signed over exactly the text sent. After a 429/418 the client sends
nothing until the venue's Retry-After has passed: a request meanwhile fails at
once with ``RateLimitedError`` (a 418 is an IP ban; hammering on extends it).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import msgspec
from yarl import URL

from tradefabric.core.errors import RateLimitedError, VenueUnavailableError
from tradefabric.execution.live.binance.errors import error_for, lost
from tradefabric.execution.live.binance.signing import Signer

API_KEY_HEADER = "X-MBX-APIKEY"


class _ErrorBody(msgspec.Struct, frozen=True):
    code: int = 0
    msg: str = ""


class RetryGate:
    """Hold every request back until the venue's Retry-After has passed (REST and WebSocket
    API share it: Binance counts both against the same IP)."""

    def __init__(self) -> None:
        self._until = 0.0

    def hold(self, seconds: float) -> None:
        """Send nothing for ``seconds`` from now."""
        self._until = max(self._until, time.monotonic() + seconds)

    def remaining(self) -> float:
        """Return how long requests are still held back (0: not at all)."""
        return max(0.0, self._until - time.monotonic())

    def check(self) -> None:
        """Raise ``RateLimitedError`` (with the time left) while requests are held back."""
        remaining = self.remaining()
        if remaining > 0:
            raise RateLimitedError(
                f"binance: holding off for the venue's Retry-After ({remaining:.2f} s left)",
                remaining,
            )


class BinanceRest:
    """One Binance REST endpoint (spot or USD-M) with one API key."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        signer: Signer,
        *,
        recv_window_ms: int = 5000,
        timeout_s: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._signer = signer
        self.recv_window_ms = recv_window_ms
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self.gate = RetryGate()
        self.clock_offset_ms = 0
        """Venue clock minus ours, added to every timestamp (``sync_time``)."""
        self._error_decoder = msgspec.json.Decoder(_ErrorBody)

    async def open(self) -> None:
        """Open the HTTP session (keep-alive: one connection serves many requests)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def timestamp_ms(self) -> int:
        """Return the venue's clock now, as our clock and the measured offset say."""
        return time.time_ns() // 1_000_000 + self.clock_offset_ms

    async def signed(
        self, method: str, path: str, params: Mapping[str, str], *, order_entry: bool = False
    ) -> Any:
        """Send a SIGNED request; return its decoded JSON answer or raise by type."""
        stamp = {"recvWindow": str(self.recv_window_ms), "timestamp": str(self.timestamp_ms())}
        query = urlencode({**params, **stamp})
        # Percent-encoded: an Ed25519 signature is base64 (``+``, ``/``, ``=``).
        query += "&signature=" + quote(self._signer.sign(query), safe="")
        return await self._send(method, path, query, order_entry=order_entry)

    async def keyed(self, method: str, path: str, params: Mapping[str, str] | None = None) -> Any:
        """Send a request that needs the API key only (USER_STREAM: listen keys)."""
        return await self._send(method, path, urlencode(dict(params or {})), order_entry=False)

    async def public(self, path: str, params: Mapping[str, str] | None = None) -> bytes:
        """Send an unsigned GET; return the raw answer."""
        raw: bytes = await self._send("GET", path, urlencode(dict(params or {})), raw=True)
        return raw

    async def _send(
        self, method: str, path: str, query: str, *, order_entry: bool = False, raw: bool = False
    ) -> Any:
        self.gate.check()
        if self._session is None:
            raise VenueUnavailableError("binance REST: the session is not open")
        url = URL(f"{self.base_url}{path}" + (f"?{query}" if query else ""), encoded=True)
        headers = {API_KEY_HEADER: self._api_key}
        try:
            async with self._session.request(method, url, headers=headers) as response:
                body = await response.read()
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except aiohttp.ClientConnectorError as exc:
            raise VenueUnavailableError(f"binance REST: cannot connect ({exc})") from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise lost(type(exc).__name__, order_entry=order_entry) from exc
        if status == 200:
            return body if raw else msgspec.json.decode(body)
        raise self._error(status, body, retry_after, order_entry)

    def blocked_for_s(self) -> float:
        """Return how long the venue's last Retry-After still holds requests back (0: none)."""
        return self.gate.remaining()

    def _error(
        self, status: int, body: bytes, retry_after: str | None, order_entry: bool
    ) -> Exception:
        try:
            error = self._error_decoder.decode(body)
        except msgspec.DecodeError:
            error = _ErrorBody(0, body[:200].decode(errors="replace"))
        wait = _seconds(retry_after)
        if status in (418, 429):
            self.gate.hold(wait if wait is not None else 1.0)
        return error_for(status, error.code, error.msg, order_entry=order_entry, retry_after_s=wait)


def _seconds(header: str | None) -> float | None:
    if header is None:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        return None
