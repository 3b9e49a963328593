"""A local server speaking CoinGecko's v3 API shapes, driven by the real BTC and ETH month.

There is no CoinGecko history on this machine, only the documented reply shapes.
The market caps served are built from the real Binance BTC/USDT and ETH/USDT
closes of August 2024 times their circulating supplies then (19.73 M BTC,
120.2 M ETH), plus the rest of the market held at its USD value of the first
hour: BTC dominance then moves as BTC really did against ETH.

Served, with CoinGecko's query parameters and error bodies:
``/api/v3/global``, ``/api/v3/coins/bitcoin/market_chart/range`` (hourly points)
and ``/api/v3/global/market_cap_chart`` (hourly, 7 minutes after the hour, as the
real charts are not aligned). Faults: ``rate_limit(count, retry_after)`` answers
429 with ``Retry-After``, ``fail(count)`` answers 503; ``requests`` logs every one.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import msgspec
import numpy as np
from aiohttp import web

from tradefabric.analytics.frame import CandleFrame

HOUR_S = 3_600
BTC_SUPPLY = 19_730_000.0
ETH_SUPPLY = 120_200_000.0
GLOBAL_OFFSET_S = 420
"""The global chart's points fall 7 minutes after the BTC chart's."""


class Truth(msgspec.Struct, frozen=True):
    """One hour of the served market: what a correct client must read back."""

    ts_s: int
    btc_cap: float
    total_cap: float

    @property
    def dominance(self) -> float:
        """Return BTC's share of the total market cap, in percent."""
        return 100.0 * self.btc_cap / self.total_cap


def hourly_truth(btc: CandleFrame, eth: CandleFrame) -> list[Truth]:
    """Return the served market: one point per whole hour both months cover."""
    hours = {int(t) // 10**9: float(c) for t, c in zip(btc.ts_open, btc.close, strict=True)}
    eth_close = {int(t) // 10**9: float(c) for t, c in zip(eth.ts_open, eth.close, strict=True)}
    points = sorted(t for t in hours if t % HOUR_S == 0 and t in eth_close)
    first = points[0]
    rest = 0.4 * (hours[first] * BTC_SUPPLY + eth_close[first] * ETH_SUPPLY)
    out = []
    for t in points:
        btc_cap = hours[t] * BTC_SUPPLY
        out.append(Truth(t, btc_cap, btc_cap + eth_close[t] * ETH_SUPPLY + rest))
    return out


Handler = Callable[[web.Request], Awaitable[web.Response]]


class FakeCoinGecko:
    """The server; ``now_s`` is its clock (what ``/global`` reports as current)."""

    def __init__(self, truth: list[Truth], now_s: int, api_key: str = "") -> None:
        self.truth = truth
        self.times = np.asarray([p.ts_s for p in truth], dtype=np.int64)
        self.now_s = now_s
        self.step_s = 0
        """Seconds the clock advances after each ``/global`` reply."""
        self.api_key = api_key
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._limited: list[int] = []
        self._failing = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    def rate_limit(self, count: int, retry_after: int) -> None:
        """Answer the next ``count`` requests with 429 and ``Retry-After: retry_after``."""
        self._limited = [retry_after] * count

    def fail(self, count: int) -> None:
        """Answer the next ``count`` requests with 503."""
        self._failing = count

    async def __aenter__(self) -> FakeCoinGecko:
        app = web.Application(middlewares=[self._gate])
        app.router.add_get("/api/v3/global", self._global)
        app.router.add_get("/api/v3/coins/bitcoin/market_chart/range", self._coin_range)
        app.router.add_get("/api/v3/global/market_cap_chart", self._global_chart)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/api/v3"
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _gate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append((request.path, dict(request.query)))
        if self._limited:
            retry_after = self._limited.pop(0)
            body = {
                "status": {"error_code": 429, "error_message": "You've exceeded the Rate Limit."}
            }
            return web.json_response(body, status=429, headers={"Retry-After": str(retry_after)})
        if self._failing:
            self._failing -= 1
            return web.json_response({"error": "service unavailable"}, status=503)
        if self.api_key and request.headers.get("x-cg-demo-api-key") != self.api_key:
            body = {"status": {"error_code": 10002, "error_message": "API Key Missing"}}
            return web.json_response(body, status=401)
        return await handler(request)

    def at(self, ts_s: int) -> Truth:
        """Return the newest served point at or before ``ts_s``."""
        i = int(np.searchsorted(self.times, ts_s, side="right")) - 1
        return self.truth[max(i, 0)]

    async def _global(self, request: web.Request) -> web.Response:
        p = self.at(self.now_s)
        data = {
            "active_cryptocurrencies": 13_690, "upcoming_icos": 0, "markets": 1_046,
            "total_market_cap": {"usd": p.total_cap, "btc": p.total_cap / (p.btc_cap / BTC_SUPPLY)},
            "total_volume": {"usd": 0.04 * p.total_cap},
            "market_cap_percentage": {"btc": p.dominance, "eth": 100 - p.dominance - 28.0},
            "market_cap_change_percentage_24h_usd": 1.72,
            "updated_at": self.now_s,
        }  # fmt: skip
        self.now_s += self.step_s
        return web.json_response({"data": data})

    async def _coin_range(self, request: web.Request) -> web.Response:
        missing = _missing(request, ("vs_currency", "from", "to"))
        if missing:
            return missing
        lo, hi = float(request.query["from"]), float(request.query["to"])
        points = [p for p in self.truth if lo <= p.ts_s <= hi]
        ms = [p.ts_s * 1000 for p in points]
        body = {
            "prices": [[t, p.btc_cap / BTC_SUPPLY] for t, p in zip(ms, points, strict=True)],
            "market_caps": [[t, p.btc_cap] for t, p in zip(ms, points, strict=True)],
            "total_volumes": [[t, 0.02 * p.btc_cap] for t, p in zip(ms, points, strict=True)],
        }
        return web.Response(text=json.dumps(body), content_type="application/json")

    async def _global_chart(self, request: web.Request) -> web.Response:
        missing = _missing(request, ("days",))
        if missing:
            return missing
        since = self.now_s - int(request.query["days"]) * 86_400
        points = [p for p in self.truth if since <= p.ts_s <= self.now_s]
        ms = [(p.ts_s + GLOBAL_OFFSET_S) * 1000 for p in points]
        chart = {
            "market_cap": [[t, p.total_cap] for t, p in zip(ms, points, strict=True)],
            "volume": [[t, 0.04 * p.total_cap] for t, p in zip(ms, points, strict=True)],
        }
        return web.json_response({"market_cap_chart": chart})


def _missing(request: web.Request, names: tuple[str, ...]) -> web.Response | None:
    for name in names:
        if name not in request.query:
            return web.json_response({"error": f"Missing parameter {name}"}, status=400)
    return None
