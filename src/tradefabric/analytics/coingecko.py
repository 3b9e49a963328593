"""CoinGecko's v3 API: total crypto market cap and BTC dominance, now and in history.

Three endpoints (free, demo and pro plans share the shapes; the global chart needs
a paid key on the real service):

- ``GET /global``: ``{"data": {"total_market_cap": {"usd": 2.63e12, ...},
  "market_cap_percentage": {"btc": 52.1, "eth": 14.9, ...}, "updated_at": 1723000000}}``
- ``GET /coins/bitcoin/market_chart/range?vs_currency=usd&from=1722900000&to=1723000000``:
  ``{"prices": [[1722902400000, 61234.5], ...], "market_caps": [[1722902400000, 1.21e12],
  ...], "total_volumes": [[1722902400000, 3.1e10], ...]}`` (hourly within 90 days)
- ``GET /global/market_cap_chart?vs_currency=usd&days=3``:
  ``{"market_cap_chart": {"market_cap": [[1722902400000, 2.3e12], ...],
  "volume": [[1722902400000, 9.1e10], ...]}}``

Every request waits for the rate limiter (``min_interval_s`` between requests);
replies are cached by URL for ``cache_ttl_s``. HTTP 429 is a ``RateLimitedError``
carrying ``Retry-After``; 5xx and connection failures a ``VenueUnavailableError``;
both are retried with exponential backoff up to ``max_retries`` times. Any other
4xx is a ``RequestRejectedError`` and a body of the wrong shape a
``MalformedMessageError``: neither is retried.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from collections.abc import Awaitable, Callable
from typing import Final

import aiohttp
import msgspec
import structlog

from tradefabric.core.errors import (
    MalformedMessageError,
    RateLimitedError,
    RequestRejectedError,
    RetryableError,
    VenueUnavailableError,
)

log = structlog.get_logger(__name__)

_NS: Final = 1_000_000_000
_MS: Final = 1_000_000
_DAY_S: Final = 86_400
_ALIGN_NS: Final = 45 * 60 * _NS
"""A BTC market cap and a total market cap this close in time form one dominance reading."""
SOURCE: Final = "coingecko"
DEFAULT_URL: Final = "https://api.coingecko.com/api/v3"


class CoinGeckoConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where CoinGecko is and how politely to ask it."""

    base_url: str = DEFAULT_URL
    api_key: str = ""
    """Sent in ``api_key_header`` when set (``x-cg-demo-api-key``, or ``x-cg-pro-api-key``)."""
    api_key_header: str = "x-cg-demo-api-key"
    timeout_s: float = 10.0
    min_interval_s: float = 2.5
    """Spacing between two requests: the public API allows about 30 calls a minute."""
    cache_ttl_s: float = 60.0
    max_retries: int = 4
    backoff_s: float = 1.0
    """First wait after a failure; doubled on each retry."""
    max_backoff_s: float = 120.0
    """Longest single wait, also for a server asking for more in ``Retry-After``."""


class MarketSnapshot(msgspec.Struct, frozen=True):
    """One dated market-wide reading: BTC dominance (%) and the caps behind it (USD)."""

    ts: int
    """When CoinGecko computed it, ns UTC."""
    btc_dominance: float
    total_market_cap_usd: float
    btc_market_cap_usd: float


class ClientStats(msgspec.Struct):
    """What the client did: requests sent, cache hits, 429s, retries, failures."""

    requests: int = 0
    cache_hits: int = 0
    rate_limited: int = 0
    retries: int = 0
    failures: int = 0


class _GlobalData(msgspec.Struct, frozen=True):
    total_market_cap: dict[str, float]
    market_cap_percentage: dict[str, float]
    updated_at: int


class _GlobalReply(msgspec.Struct, frozen=True):
    data: _GlobalData


class _CoinChart(msgspec.Struct, frozen=True):
    market_caps: list[tuple[float, float | None]]


class _GlobalChartData(msgspec.Struct, frozen=True):
    market_cap: list[tuple[float, float | None]]


class _GlobalChart(msgspec.Struct, frozen=True):
    market_cap_chart: _GlobalChartData


class CoinGeckoClient:
    """An asyncio client of the three endpoints, with rate limit, cache and backoff."""

    def __init__(
        self,
        config: CoinGeckoConfig | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config or CoinGeckoConfig()
        self.stats = ClientStats()
        self._monotonic = monotonic
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        self._cache: dict[str, tuple[float, bytes]] = {}
        self._next_request = 0.0
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> CoinGeckoClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def global_now(self) -> MarketSnapshot:
        """Return the current reading of ``/global``."""
        body = await self.get("/global", {})
        try:
            data = msgspec.json.decode(body, type=_GlobalReply).data
            dominance = data.market_cap_percentage["btc"]
            total = data.total_market_cap["usd"]
        except (msgspec.DecodeError, msgspec.ValidationError, KeyError) as exc:
            raise MalformedMessageError(f"coingecko /global: unexpected reply ({exc})") from exc
        return MarketSnapshot(data.updated_at * _NS, dominance, total, total * dominance / 100)

    async def history(self, start_ns: int, end_ns: int, now_ns: int) -> list[MarketSnapshot]:
        """Return the dated readings between ``start_ns`` and ``end_ns`` (hourly within 90 days).

        BTC's market caps come from its range chart, the total from the global chart
        (which counts ``days`` back from ``now_ns``); each BTC point is paired with
        the nearest total within 45 minutes.
        """
        coin = await self.get(
            "/coins/bitcoin/market_chart/range",
            {"vs_currency": "usd", "from": str(start_ns // _NS), "to": str(end_ns // _NS)},
        )
        days = max(1, math.ceil((now_ns - start_ns) / (_DAY_S * _NS)))
        total = await self.get(
            "/global/market_cap_chart", {"vs_currency": "usd", "days": str(days)}
        )
        try:
            btc_caps = msgspec.json.decode(coin, type=_CoinChart).market_caps
            totals = msgspec.json.decode(total, type=_GlobalChart).market_cap_chart.market_cap
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise MalformedMessageError(f"coingecko history: unexpected reply ({exc})") from exc
        return [s for s in _pair(btc_caps, totals) if start_ns <= s.ts < end_ns]

    async def get(self, path: str, params: dict[str, str]) -> bytes:
        """Return the body of ``GET path?params``: cached, rate limited, retried with backoff."""
        url = self.config.base_url.rstrip("/") + path
        key = url + "?" + "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        cached = self._cache.get(key)
        if cached is not None and cached[0] > self._monotonic():
            self.stats.cache_hits += 1
            return cached[1]
        body = await self._with_retries(url, params)
        self._cache[key] = (self._monotonic() + self.config.cache_ttl_s, body)
        return body

    async def _with_retries(self, url: str, params: dict[str, str]) -> bytes:
        c = self.config
        for attempt in range(c.max_retries + 1):
            try:
                return await self._request(url, params)
            except RetryableError as exc:
                if attempt == c.max_retries:
                    self.stats.failures += 1
                    raise
                wait = c.backoff_s * 2**attempt
                if isinstance(exc, RateLimitedError):
                    wait = max(wait, exc.retry_after_s)
                self.stats.retries += 1
                log.warning("coingecko retry", url=url, error=str(exc), wait_s=wait)
                await self._sleep(min(wait, c.max_backoff_s))
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _request(self, url: str, params: dict[str, str]) -> bytes:
        await self._wait_turn()
        self.stats.requests += 1
        session = self._get_session()
        try:
            async with session.get(url, params=params) as reply:
                body = await reply.read()
                status = reply.status
                retry_after = reply.headers.get("Retry-After", "")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise VenueUnavailableError(f"coingecko {url}: {type(exc).__name__}: {exc}") from exc
        if status == 429:
            self.stats.rate_limited += 1
            raise RateLimitedError(f"coingecko {url}: HTTP 429", _seconds(retry_after))
        if status >= 500:
            raise VenueUnavailableError(f"coingecko {url}: HTTP {status}")
        if status >= 400:
            text = body[:200].decode(errors="replace")
            raise RequestRejectedError(f"coingecko {url}: HTTP {status}: {text}")
        return body

    async def _wait_turn(self) -> None:
        async with self._lock:
            wait = self._next_request - self._monotonic()
            if wait > 0:
                await self._sleep(wait)
            self._next_request = self._monotonic() + self.config.min_interval_s

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            headers = {"Accept": "application/json"}
            if self.config.api_key:
                headers[self.config.api_key_header] = self.config.api_key
            timeout = aiohttp.ClientTimeout(total=self.config.timeout_s)
            self._session = aiohttp.ClientSession(headers=headers, timeout=timeout)
        return self._session


def _seconds(header: str) -> float:
    # Retry-After in seconds (CoinGecko sends a number); anything else: a minute.
    try:
        return max(float(header), 0.0)
    except ValueError:
        return 60.0


def _pair(
    btc_caps: list[tuple[float, float | None]], totals: list[tuple[float, float | None]]
) -> list[MarketSnapshot]:
    known = sorted((int(ms * _MS), float(cap)) for ms, cap in totals if cap)
    times = [t for t, _ in known]
    out: list[MarketSnapshot] = []
    for ms, btc in btc_caps:
        ts = int(ms * _MS)
        i = bisect.bisect_left(times, ts)
        near = [j for j in (i - 1, i) if 0 <= j < len(known)]
        if not btc or not near:
            continue
        j = min(near, key=lambda k: abs(times[k] - ts))
        if abs(times[j] - ts) <= _ALIGN_NS:
            total = known[j][1]
            out.append(MarketSnapshot(ts, 100.0 * btc / total, total, btc))
    return out
