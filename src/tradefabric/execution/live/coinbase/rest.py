"""Coinbase Advanced Trade REST with a fresh CDP JWT per request.

The JWT's ``uri`` claim names the request (``GET api.coinbase.com/api/v3/brokerage/
accounts``, the query string left out), so it is signed per call. Non-2xx answers go
through ``errors.http_error``; after a 429 the client refuses requests locally until
the wait has passed. A create that times out or gets a 5xx may have acted:
``OrderStatusUnknownError``.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import aiohttp
import msgspec
import structlog

from tradefabric.core.errors import (
    OrderStatusUnknownError,
    RateLimitedError,
    VenueUnavailableError,
)
from tradefabric.execution.live.coinbase.errors import http_error
from tradefabric.execution.live.coinbase.jwt import JwtSigner

API = "/api/v3/brokerage"
log = structlog.get_logger(__name__)


class CoinbaseRest:
    """JWT-signed requests to one Advanced Trade REST endpoint."""

    def __init__(self, base_url: str, signer: JwtSigner, timeout_s: float = 10.0) -> None:
        self._base = base_url.rstrip("/")
        self._host = urlsplit(self._base).netloc
        self._signer = signer
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._blocked_until = 0.0
        self.sent = 0

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(self, path: str, params: dict[str, str] | None = None) -> bytes:
        """GET ``/api/v3/brokerage<path>``."""
        return await self._request("GET", path, params=params)

    async def post(self, path: str, body: object, *, order_entry: bool = False) -> bytes:
        """POST a JSON body to ``/api/v3/brokerage<path>``."""
        return await self._request("POST", path, body=body, order_entry=order_entry)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: object = None,
        order_entry: bool = False,
    ) -> bytes:
        wait = self._blocked_until - time.monotonic()
        if wait > 0:
            raise RateLimitedError(f"coinbase: rate limited, {wait:.2f}s left", wait)
        full = API + path
        headers = {
            "Authorization": f"Bearer {self._signer.token(method, self._host, full)}",
            "Content-Type": "application/json",
        }
        data = None if body is None else msgspec.json.encode(body)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        self.sent += 1
        try:
            async with self._session.request(
                method, self._base + full, params=params, data=data, headers=headers
            ) as resp:
                raw = await resp.read()
                log.debug("coinbase_rest", method=method, path=full, status=resp.status)
                if resp.status >= 300:
                    self._raise(resp, raw, order_entry)
                return raw
        except (TimeoutError, aiohttp.ClientError) as exc:
            if order_entry:
                raise OrderStatusUnknownError(f"coinbase {full}: no answer ({exc!r})") from exc
            raise VenueUnavailableError(f"coinbase {full}: {exc!r}") from exc

    def _raise(self, resp: aiohttp.ClientResponse, raw: bytes, order_entry: bool) -> None:
        error = http_error(
            resp.status, raw.decode(errors="replace"), order_entry=order_entry,
            retry_after=resp.headers.get("Retry-After"),
        )  # fmt: skip
        if isinstance(error, RateLimitedError):
            self._blocked_until = time.monotonic() + error.retry_after_s
        raise error
