"""Kraken's signed REST (``/0/private/*``): nonce, ``API-Key``/``API-Sign``, error table.

Every call is a url-encoded POST carrying a fresh nonce, one call at a time (so
nonces arrive in the order they were taken); the reply's ``error``
list goes through ``errors.as_exception``. After a rate limit error, requests are
refused here (without touching the network) until the backoff has passed: the
venue's limiter counts the attempts too, so hammering it only prolongs the lockout.
An order entry that times out or gets a 5xx may have acted: ``OrderStatusUnknownError``.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse

import aiohttp
import msgspec
import structlog

from tradefabric.core.errors import (
    OrderStatusUnknownError,
    RateLimitedError,
    VenueUnavailableError,
)
from tradefabric.execution.live.kraken.auth import NonceStore, sign
from tradefabric.execution.live.kraken.errors import as_exception

PRIVATE = "/0/private/"
log = structlog.get_logger(__name__)


class _Reply(msgspec.Struct, frozen=True):
    error: tuple[str, ...] = ()
    result: msgspec.Raw = msgspec.Raw(b"null")


class KrakenRest:
    """Signed POSTs to one Kraken REST endpoint with one key."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        nonces: NonceStore,
        timeout_s: float = 10.0,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._key = api_key
        self._secret = api_secret
        self.nonces = nonces
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._blocked_until = 0.0
        self._decoder = msgspec.json.Decoder(_Reply)
        self._in_order = asyncio.Lock()
        self.sent = 0
        """Requests that left this client (a refused-locally one does not count)."""

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(
        self, method: str, params: dict[str, str] | None = None, *, order_entry: bool = False
    ) -> bytes:
        """POST ``/0/private/<method>``; return the raw ``result`` or raise by the error table."""
        wait = self._blocked_until - time.monotonic()
        if wait > 0:
            raise RateLimitedError(f"kraken: rate limited, {wait:.2f}s left", wait)
        path = PRIVATE + method
        # One signed call at a time: two in flight on two connections may arrive in the
        # other order, and Kraken refuses the lower nonce ("EAPI:Invalid nonce").
        async with self._in_order:
            nonce = self.nonces.next()
            body = urllib.parse.urlencode({"nonce": nonce, **(params or {})})
            headers = {
                "API-Key": self._key,
                "API-Sign": sign(self._secret, path, nonce, body),
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            }
            raw = await self._post(path, body, headers, order_entry)
        reply = self._decoder.decode(raw)
        log.debug("kraken_rest", method=method, error=list(reply.error))
        if reply.error:
            error = as_exception(reply.error[0], order_entry=order_entry)
            if isinstance(error, RateLimitedError):
                self._blocked_until = time.monotonic() + error.retry_after_s
            raise error
        return bytes(reply.result)

    async def _post(
        self, path: str, body: str, headers: dict[str, str], order_entry: bool
    ) -> bytes:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        self.sent += 1
        try:
            async with self._session.post(self._base + path, data=body, headers=headers) as resp:
                if resp.status >= 500:
                    raise aiohttp.ClientResponseError(
                        resp.request_info, (), status=resp.status, message=resp.reason or ""
                    )
                return await resp.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            if order_entry:
                raise OrderStatusUnknownError(f"kraken {path}: no answer ({exc!r})") from exc
            raise VenueUnavailableError(f"kraken {path}: {exc!r}") from exc
