"""REST requests to a venue: weight-based rate limiting, retries decided by error type."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import structlog

from tradefabric.core.errors import (
    ConfigError,
    RateLimitedError,
    RequestRejectedError,
    RetryableError,
    VenueUnavailableError,
)
from tradefabric.data.feed.backoff import Backoff

log = structlog.get_logger(__name__)

_RATE_LIMIT_STATUSES = frozenset({418, 429})


class WeightLimiter:
    """Keep request weight under a venue's limit of ``limit`` per ``window_s`` in ANY window.

    A token bucket holding at most ``burst`` weight, refilled at
    ``(limit - burst) / window_s`` per second, lets through at most
    ``burst + (limit - burst) = limit`` in any window of ``window_s`` seconds,
    whether the venue counts in fixed or sliding windows. ``acquire`` waits until
    the weight fits, so bursts after a reconnect storm slow down instead of
    earning a 429 (and then an IP ban). ``burst`` defaults to a tenth of the limit.
    """

    def __init__(self, limit: int, window_s: float = 60.0, burst: int | None = None) -> None:
        burst = max(1, limit // 10) if burst is None else burst
        if not 0 < burst < limit or window_s <= 0:
            raise ConfigError(
                f"rate limit needs 0 < burst < limit and a positive window, got burst {burst}, "
                f"limit {limit}, window {window_s} s"
            )
        self._capacity = float(burst)
        self._tokens = float(burst)
        self._rate = (limit - burst) / window_s
        self._updated = time.monotonic()
        self.waited_s = 0.0

    async def acquire(self, weight: int) -> None:
        """Wait until ``weight`` is available, then take it."""
        if weight > self._capacity:
            raise ConfigError(
                f"request weight {weight} exceeds the limiter's burst {self._capacity:.0f}"
            )
        while True:
            now = time.monotonic()
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            if self._tokens >= weight:
                self._tokens -= weight
                return
            delay = (weight - self._tokens) / self._rate
            self.waited_s += delay
            await asyncio.sleep(delay)


class VenueRestClient:
    """GET JSON from a venue's REST API with rate limiting and typed errors."""

    def __init__(
        self,
        base_url: str,
        limiter: WeightLimiter,
        session: aiohttp.ClientSession,
        max_attempts: int = 6,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._limiter = limiter
        self._session = session
        self._max_attempts = max_attempts
        self.requests = 0
        self.rate_limited = 0
        self.failures = 0

    async def get(
        self,
        path: str,
        params: dict[str, str],
        weight: int = 1,
        headers: dict[str, str] | None = None,
    ) -> bytes:
        """Return the body of ``GET base_url + path``; retry retryable failures with backoff.

        ``headers`` are sent with the request (e.g. a venue's API key header).

        Raises ``RequestRejectedError`` at once for a 4xx, or the last
        ``RetryableError`` once ``max_attempts`` are used up.
        """
        backoff = Backoff(initial_s=0.2, maximum_s=10.0)
        for attempt in range(1, self._max_attempts + 1):
            try:
                return await self._get_once(path, params, weight, headers)
            except RateLimitedError as exc:
                self.rate_limited += 1
                if attempt == self._max_attempts:
                    raise
                delay = max(exc.retry_after_s, backoff.next_delay())
            except RetryableError:
                self.failures += 1
                if attempt == self._max_attempts:
                    raise
                delay = backoff.next_delay()
            log.info("rest_retry", path=path, attempt=attempt, delay_s=round(delay, 3))
            await asyncio.sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")

    async def _get_once(
        self, path: str, params: dict[str, str], weight: int, headers: dict[str, str] | None
    ) -> bytes:
        await self._limiter.acquire(weight)
        self.requests += 1
        url = self.base_url + path
        try:
            async with self._session.get(url, params=params, headers=headers) as response:
                body = await response.read()
                _raise_for_status(response, body, url)
                return body
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise VenueUnavailableError(f"GET {url}: {exc!r}") from exc


def _raise_for_status(response: aiohttp.ClientResponse, body: bytes, url: str) -> None:
    status = response.status
    if status < 400:
        return
    text = body[:200].decode(errors="replace")
    if status in _RATE_LIMIT_STATUSES:
        retry_after = float(response.headers.get("Retry-After", "1"))
        raise RateLimitedError(f"GET {url}: HTTP {status} {text}", retry_after)
    if status >= 500:
        raise VenueUnavailableError(f"GET {url}: HTTP {status} {text}")
    raise RequestRejectedError(f"GET {url}: HTTP {status} {text}")
