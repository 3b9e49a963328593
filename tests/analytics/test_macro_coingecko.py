"""The macro factor from CoinGecko: client, catalog readings, batch and live, on a local server.

The server (``fake_coingecko``) speaks CoinGecko's v3 reply shapes with market caps
built from the real BTC and ETH month; nothing here reaches the internet.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.analytics.conftest import read_month
from tests.analytics.fake_coingecko import GLOBAL_OFFSET_S, FakeCoinGecko, Truth, hourly_truth
from tests.conftest import report_figure
from tradefabric.analytics.coingecko import CoinGeckoClient, CoinGeckoConfig, MarketSnapshot
from tradefabric.analytics.config import AnalyticsConfig, MacroConfig
from tradefabric.analytics.frame import CandleFrame
from tradefabric.analytics.macro import ScheduledMacro, StoredMacro, backfill, dominance_change
from tradefabric.analytics.pipeline import AnalyticsPipeline, BatchRun, replay_candles, run_batch
from tradefabric.analytics.plugins import build_macro
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.errors import ConfigError, RateLimitedError, RequestRejectedError
from tradefabric.store.catalog import Catalog

NS = 1_000_000_000
HOUR_NS = 3_600 * NS
DAY_NS = 24 * HOUR_NS


class FakeTime:
    """A monotonic clock that only moves when the client sleeps: waits are recorded, not slept."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture(scope="module")
def truth(shared_data: Path) -> list[Truth]:
    return hourly_truth(read_month(shared_data, "BTC/USDT"), read_month(shared_data, "ETH/USDT"))


@pytest.fixture
async def server(truth: list[Truth]) -> AsyncIterator[FakeCoinGecko]:
    async with FakeCoinGecko(truth, now_s=truth[-1].ts_s) as fake:
        yield fake


def _client(server: FakeCoinGecko, clock: FakeTime, **changes: object) -> CoinGeckoClient:
    settings: dict[str, object] = {"min_interval_s": 2.0, "backoff_s": 1.0, **changes}
    config = CoinGeckoConfig(base_url=server.url, **settings)  # type: ignore[arg-type]
    return CoinGeckoClient(config, monotonic=clock.monotonic, sleep=clock.sleep)


async def test_global_reading_has_the_served_dominance_and_time(server: FakeCoinGecko) -> None:
    async with _client(server, FakeTime()) as client:
        snapshot = await client.global_now()
    p = server.at(server.now_s)
    assert snapshot == MarketSnapshot(server.now_s * NS, p.dominance, p.total_cap, p.btc_cap)
    assert 40.0 < snapshot.btc_dominance < 70.0


async def test_history_pairs_btc_and_total_caps_hour_by_hour(
    server: FakeCoinGecko, truth: list[Truth]
) -> None:
    start, end = truth[24].ts_s * NS, truth[24 + 72].ts_s * NS
    async with _client(server, FakeTime()) as client:
        readings = await client.history(start, end, server.now_s * NS)
    expected = [p for p in truth if start <= p.ts_s * NS < end]
    assert [r.ts for r in readings] == [p.ts_s * NS for p in expected]
    assert [r.btc_dominance for r in readings] == pytest.approx([p.dominance for p in expected])
    paths = [path for path, _ in server.requests]
    assert paths == ["/api/v3/coins/bitcoin/market_chart/range", "/api/v3/global/market_cap_chart"]
    assert server.requests[0][1] == {"vs_currency": "usd", "from": str(start // NS),
                                     "to": str(end // NS)}  # fmt: skip
    # The global chart counts days back from now; its points are 7 minutes off the hour.
    assert int(server.requests[1][1]["days"]) >= (server.now_s * NS - start) / DAY_NS
    assert GLOBAL_OFFSET_S < 45 * 60


async def test_requests_are_spaced_and_cached(server: FakeCoinGecko) -> None:
    clock = FakeTime()
    async with _client(server, clock, cache_ttl_s=60.0) as client:
        first = await client.global_now()
        again = await client.global_now()  # cached: the server is not asked
        assert again == first and client.stats.cache_hits == 1
        clock.now += 61.0
        await client.global_now()
        await client.get("/global", {"x": "1"})  # a different URL right after: waits its turn
    assert len(server.requests) == 3
    assert client.stats.requests == 3
    assert clock.waits == [pytest.approx(2.0)]


async def test_429_is_retried_after_retry_after_then_backoff(server: FakeCoinGecko) -> None:
    clock = FakeTime()
    server.rate_limit(2, retry_after=7)
    async with _client(server, clock, min_interval_s=0.0) as client:
        snapshot = await client.global_now()
    assert snapshot.btc_dominance > 0
    # Retry-After (7 s) beats the first backoff (1 s); the second waits max(2 s, 7 s).
    assert clock.waits == [7.0, 7.0]
    assert (client.stats.rate_limited, client.stats.retries, client.stats.requests) == (2, 2, 3)


async def test_rate_limit_that_persists_raises_with_retry_after(server: FakeCoinGecko) -> None:
    clock = FakeTime()
    server.rate_limit(10, retry_after=30)
    async with _client(server, clock, min_interval_s=0.0, max_retries=2) as client:
        with pytest.raises(RateLimitedError, match="HTTP 429") as caught:
            await client.global_now()
    assert caught.value.retry_after_s == 30.0
    assert client.stats.failures == 1 and len(server.requests) == 3


async def test_server_errors_back_off_exponentially(server: FakeCoinGecko) -> None:
    clock = FakeTime()
    server.fail(3)
    async with _client(server, clock, min_interval_s=0.0) as client:
        await client.global_now()
    assert clock.waits == [1.0, 2.0, 4.0]


async def test_a_rejected_request_is_not_retried(truth: list[Truth]) -> None:
    async with FakeCoinGecko(truth, now_s=truth[-1].ts_s, api_key="secret") as server:
        async with _client(server, FakeTime()) as client:
            with pytest.raises(RequestRejectedError, match=r"HTTP 401.*API Key Missing"):
                await client.global_now()
        assert len(server.requests) == 1
        keyed = CoinGeckoConfig(base_url=server.url, api_key="secret", min_interval_s=0.0)
        async with CoinGeckoClient(keyed) as client:
            assert (await client.global_now()).btc_dominance > 0


async def test_backfilled_readings_are_stored_once_and_read_back(
    server: FakeCoinGecko, truth: list[Truth], tmp_path: Path
) -> None:
    start, end = truth[0].ts_s * NS, truth[-1].ts_s * NS + 1
    async with _client(server, FakeTime()) as client:
        added = await backfill(client, tmp_path, start, end, server.now_s * NS)
        again = await backfill(client, tmp_path, start, end, server.now_s * NS)
    assert added == len(truth) and again == 0
    assert Catalog(tmp_path).summary().macro == len(truth)
    stored = StoredMacro(tmp_path)
    day = truth[48].ts_s * NS
    seen = stored.readings(day)
    assert len(seen) == 48 and seen[-1].btc_dominance == pytest.approx(truth[47].dominance)
    change = dominance_change(stored, day, DAY_NS)
    assert change == pytest.approx(truth[47].dominance - truth[23].dominance)


async def test_batch_and_stream_confidence_use_the_stored_readings(
    server: FakeCoinGecko, truth: list[Truth], btc_month: CandleFrame, tmp_path: Path
) -> None:
    frame = btc_month.head(8_000)
    async with _client(server, FakeTime()) as client:
        await backfill(client, tmp_path, int(frame.ts_open[0]) - DAY_NS, int(frame.ts_event[-1]),
                       server.now_s * NS)  # fmt: skip
    config = AnalyticsConfig(macro=MacroConfig(source="catalog"))
    macro = build_macro(config.macro, tmp_path)
    batch = run_batch(config, BatchRun(frame=frame), macro=macro)
    bus, clock = MessageBus(), SimClock()
    pipeline = AnalyticsPipeline(bus, clock, config, macro=macro)
    streamed = replay_candles(pipeline, bus, BatchRun(frame=frame), clock.advance_to)
    factors = [next(f for f in s.factors if f.name == "macro") for s in batch.signals]
    available = [f for f in factors if f.available]
    report_figure(
        f"macro factor from CoinGecko readings: available on {len(available)} of "
        f"{len(factors)} signals over {len(frame):,} real 1m candles"
    )
    # Two readings are needed: from the second served hour on, every signal has them.
    later = [f for s, f in zip(batch.signals, factors, strict=True) if s.ts > truth[1].ts_s * NS]
    assert len(later) > 20 and all(f.available for f in later)
    assert any(f.value != 0.5 for f in available)
    assert [s.factors for s in batch.signals] == [s.factors for s in streamed.signals]


async def test_scheduled_readings_are_fetched_stored_and_scored_live(
    server: FakeCoinGecko, truth: list[Truth], tmp_path: Path
) -> None:
    server.now_s = truth[200].ts_s
    server.step_s = 300
    # No cache: the test refreshes far faster than the 60 s a reply is kept.
    config = CoinGeckoConfig(base_url=server.url, min_interval_s=0.0, cache_ttl_s=0.0)
    async with CoinGeckoClient(config) as client:
        live = ScheduledMacro(client, tmp_path, refresh_s=0.01, backfill_s=2 * 86_400,
                              now=lambda: server.now_s * NS)  # fmt: skip
        stop = asyncio.Event()
        task = asyncio.create_task(live.run(stop))
        async with asyncio.timeout(30):
            while live.fetches < 3:
                await asyncio.sleep(0.01)
        stop.set()
        await task
    assert live.failures == 0
    stored = StoredMacro(tmp_path)
    # 48 backfilled hours (the 49th is 'now', the first live reading) plus the live ones.
    assert len(stored) == len(live) >= 48 + 3
    newest = live.readings(2**62)[-1]
    assert newest.ts >= truth[200].ts_s * NS + 2 * 300 * NS
    assert dominance_change(live, newest.ts + 1, DAY_NS) is not None


async def test_an_unreachable_source_leaves_the_factor_neutral_and_counts(tmp_path: Path) -> None:
    config = CoinGeckoConfig(base_url="http://127.0.0.1:9/api/v3", min_interval_s=0.0,
                             max_retries=1, backoff_s=0.0, timeout_s=2.0)  # fmt: skip
    async with CoinGeckoClient(config) as client:
        live = ScheduledMacro(client, None, refresh_s=0.01)
        stop = asyncio.Event()
        task = asyncio.create_task(live.run(stop))
        async with asyncio.timeout(30):
            while live.failures < 2:
                await asyncio.sleep(0.01)
        stop.set()
        await task
    assert "VenueUnavailableError" in live.last_error
    assert len(live) == 0 and dominance_change(live, 2**62, DAY_NS) is None


def test_a_catalog_source_needs_a_catalog() -> None:
    with pytest.raises(ConfigError, match="needs a catalog"):
        build_macro(MacroConfig(source="catalog"))
