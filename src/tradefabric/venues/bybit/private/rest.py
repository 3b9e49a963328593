"""Signed Bybit v5 REST: one request, its typed failure, and the rate limit Bybit announces.

Every reply is ``{"retCode":0,"retMsg":"OK","result":{...},"retExtInfo":{},"time":...}``;
a non-zero ``retCode`` becomes the exception its kind calls for (``retcodes``). The
limit headers of each reply (``X-Bapi-Limit-Status``: requests left,
``X-Bapi-Limit-Reset-Timestamp``: ms when the window resets) are honoured: once
the venue says none is left, or answers 10006, no request leaves before the reset;
a caller asking meanwhile gets ``RateLimitedError`` at once, without touching the wire.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import aiohttp
import msgspec
import structlog
from multidict import CIMultiDictProxy
from yarl import URL

from tradefabric.core.errors import (
    AuthenticationError,
    MalformedMessageError,
    OrderStatusUnknownError,
    RateLimitedError,
    TradefabricError,
    VenueUnavailableError,
)
from tradefabric.venues.bybit.private.retcodes import error_for
from tradefabric.venues.bybit.private.signing import DEFAULT_RECV_WINDOW_MS, Credentials

log = structlog.get_logger(__name__)

_RATE_LIMIT_STATUSES = frozenset({403, 429})
"""Bybit answers an IP over its limit with 403, system-level protection with 429."""
_DEFAULT_PENALTY_S = 1.0


class _Envelope(msgspec.Struct, frozen=True):
    retCode: int  # noqa: N815  (Bybit's field names)
    retMsg: str  # noqa: N815
    result: msgspec.Raw = msgspec.Raw(b"{}")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class BybitPrivateRest:
    """Sign and send v5 requests; decode the ``result`` or raise by ``retCode``."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        session: aiohttp.ClientSession,
        recv_window_ms: int = DEFAULT_RECV_WINDOW_MS,
        timeout_s: float = 5.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._session = session
        self._recv_window_ms = recv_window_ms
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.blocked_until_ms = 0
        """No request leaves before this wall time (ms): the venue's rate limit window."""
        self.requests_sent = 0

    async def post(self, path: str, body: Mapping[str, Any], what: str) -> msgspec.Raw:
        """Send a state-changing request; return its raw ``result``.

        A timeout or a connection lost after sending is ``OrderStatusUnknownError``.
        """
        payload = msgspec.json.encode(body).decode()
        return await self._send("POST", path, payload, body=payload, what=what, acts=True)

    async def get(self, path: str, params: Mapping[str, str], what: str) -> msgspec.Raw:
        """Send a query; return its raw ``result`` (a failure is ``VenueUnavailableError``)."""
        query = urlencode(params)
        return await self._send("GET", path, query, body=None, what=what, acts=False)

    async def _send(
        self, method: str, path: str, payload: str, *, body: str | None, what: str, acts: bool
    ) -> msgspec.Raw:
        self._check_rate_limit(what)
        now = _now_ms()
        headers = self._credentials.rest_headers(now, self._recv_window_ms, payload)
        if body is not None:
            headers["Content-Type"] = "application/json"
        url = URL(
            f"{self.base_url}{path}" + (f"?{payload}" if body is None and payload else ""),
            encoded=True,
        )
        self.requests_sent += 1
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=self._timeout
            ) as response:
                raw = await response.read()
                self._note_limits(response.headers)
                status = response.status
                reply_headers = response.headers
        except aiohttp.ClientConnectorError as exc:  # never connected: nothing was sent
            raise VenueUnavailableError(f"{what}: {exc}") from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _lost(what, acts, exc) from exc
        return self._result(status, raw, reply_headers, what, acts)

    def _check_rate_limit(self, what: str) -> None:
        wait_ms = self.blocked_until_ms - _now_ms()
        if wait_ms > 0:
            raise RateLimitedError(
                f"{what}: held back {wait_ms} ms until Bybit's rate limit window resets",
                wait_ms / 1000,
            )

    def _note_limits(self, headers: CIMultiDictProxy[str]) -> None:
        left = headers.get("X-Bapi-Limit-Status")
        reset = headers.get("X-Bapi-Limit-Reset-Timestamp")
        if left is not None and reset is not None and left.strip() == "0":
            self.blocked_until_ms = max(self.blocked_until_ms, int(reset))

    def _result(
        self,
        status: int,
        raw: bytes,
        headers: CIMultiDictProxy[str],
        what: str,
        acts: bool,
    ) -> msgspec.Raw:
        if status in _RATE_LIMIT_STATUSES:
            raise self._rate_limited(f"{what}: HTTP {status}", headers)
        if status == 401:
            raise AuthenticationError(f"{what}: HTTP 401")
        if status >= 500:
            raise _lost(what, acts, f"HTTP {status}")
        try:
            envelope = msgspec.json.decode(raw, type=_Envelope)
        except msgspec.DecodeError as exc:
            raise MalformedMessageError(f"{what} reply (HTTP {status}): {exc}") from exc
        if envelope.retCode == 0:
            return envelope.result
        penalty = self._penalty_s(headers)
        error = error_for(envelope.retCode, envelope.retMsg, what, acts, penalty)
        if isinstance(error, RateLimitedError):
            self.blocked_until_ms = max(self.blocked_until_ms, _now_ms() + int(penalty * 1000))
        raise error

    def _rate_limited(self, text: str, headers: CIMultiDictProxy[str]) -> RateLimitedError:
        penalty = self._penalty_s(headers)
        self.blocked_until_ms = max(self.blocked_until_ms, _now_ms() + int(penalty * 1000))
        return RateLimitedError(text, penalty)

    @staticmethod
    def _penalty_s(headers: CIMultiDictProxy[str]) -> float:
        reset = headers.get("X-Bapi-Limit-Reset-Timestamp")
        if reset is None:
            retry_after = headers.get("Retry-After")
            return float(retry_after) if retry_after else _DEFAULT_PENALTY_S
        return max(0.0, (int(reset) - _now_ms()) / 1000)


def _lost(what: str, acts: bool, cause: object) -> TradefabricError:
    """Return the error of a request whose answer never came."""
    text = f"{what}: no answer ({cause!r})"
    if acts:
        return OrderStatusUnknownError(text)
    return VenueUnavailableError(text)


async def sleep_until_ms(deadline_ms: int) -> None:
    """Sleep until the wall time ``deadline_ms`` (for callers honouring a rate limit)."""
    delay = (deadline_ms - _now_ms()) / 1000
    if delay > 0:
        await asyncio.sleep(delay)
