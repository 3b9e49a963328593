"""Receive times stamped on the venue's clock: a fake Binance whose clock runs 2.5 s ahead."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.conftest import report_figure
from tradefabric.core.clock import LiveClock
from tradefabric.data import topics
from tradefabric.model.data import Trade
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.live_feed import LiveFeed, LiveFeedConfig
from tradefabric.node.market_data import MarketDataNode
from tradefabric.venues.binance.markets import market
from tradefabric.venues.fakevenue.binance import BinanceScript
from tradefabric.venues.fakevenue.server import FakeVenueServer

AHEAD_MS = 2_500


async def _stamps(shared_data: Path, on_venue_clock: bool) -> tuple[list[int], LiveFeed]:
    """Return ts_recv minus local receive time (ns) of trades after the first clock sample."""
    recording = shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
    script = BinanceScript(recording, market("binance"), server_time_offset_ms=AHEAD_MS)
    differences: list[int] = []
    async with FakeVenueServer(script, speed=100.0) as server:
        node = MarketDataNode(MarketDataConfig(venue="binance"), clock=LiveClock())
        config = LiveFeedConfig(
            symbols=("BTC/USDT",), ws_url=server.ws_url, rest_url=server.http_url,
            clock_sync_interval_s=0.2, recv_on_venue_clock=on_venue_clock,
        )  # fmt: skip
        feed = LiveFeed(node, config)

        def on_trade(trade: Trade) -> None:
            if feed.offset.samples:
                differences.append(trade.ts_recv - time.time_ns())

        node.bus.subscribe(topics.TRADES, on_trade)
        stop = asyncio.Event()
        task = asyncio.create_task(feed.run(stop))
        await asyncio.wait_for(server.finished.wait(), timeout=60)
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    return differences, feed


@pytest.mark.slow
async def test_receive_times_follow_the_venue_clock_only_when_asked(shared_data: Path) -> None:
    shifted, feed = await _stamps(shared_data, on_venue_clock=True)
    local, _ = await _stamps(shared_data, on_venue_clock=False)
    offset_ms = feed.offset.offset_ns() / 1e6
    uncertainty_ms = feed.offset.uncertainty_ns() / 1e6
    assert abs(offset_ms - AHEAD_MS) < 50
    assert 0 < uncertainty_ms < 50
    assert len(shifted) > 1000 and len(local) > 1000
    # The handler runs after the stamp, so a local stamp is a little in the past.
    median_shift = sorted(shifted)[len(shifted) // 2] / 1e6
    median_local = sorted(local)[len(local) // 2] / 1e6
    assert abs(median_shift - AHEAD_MS) < 50
    assert -50 < median_local <= 0
    report_figure(
        f"venue clock: fake Binance {AHEAD_MS} ms ahead, estimated {offset_ms:.1f} ms "
        f"(+-{uncertainty_ms:.1f}); ts_recv - local time, median: {median_shift:.1f} ms "
        f"on the venue clock, {median_local:.1f} ms on the local clock"
    )
