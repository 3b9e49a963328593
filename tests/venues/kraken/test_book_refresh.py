"""Periodic book refresh: a deep-level error Kraken's top-10 checksum cannot see is repaired."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tradefabric.core.clock import LiveClock
from tradefabric.model.data import OrderBookDeltas
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.live_feed import LiveFeed, LiveFeedConfig
from tradefabric.node.market_data import MarketDataNode
from tradefabric.venues.fakevenue.scripts import script_for
from tradefabric.venues.fakevenue.server import FakeVenueServer
from tradefabric.venues.kraken.live import BOOK_REFRESH_S
from tradefabric.venues.registry import venue_entry

RECORDING = "binance_ws/spot_btcusdt_20240808.gz"
SYMBOL = "BTC/USDT"


async def _run_with_deep_corruption(shared_data: Path, refresh_s: float) -> tuple[LiveFeed, bool]:
    """Double one deep bid's size in the client's book once the stream is over (nothing
    more will touch that level); return the feed and whether the error was still there."""
    entry = venue_entry("kraken")
    async with FakeVenueServer(
        script_for(entry.name, shared_data / RECORDING), speed=100
    ) as server:
        node = MarketDataNode(MarketDataConfig(venue="kraken"), clock=LiveClock())
        config = LiveFeedConfig(
            symbols=(SYMBOL,), channels=entry.default_channels, ws_url=server.ws_url,
            rest_url=server.http_url, rest_fallback_lag_s=0, book_refresh_s=refresh_s,
            silence_timeout_s=30,
        )  # fmt: skip
        feed = LiveFeed(node, config)
        stop = asyncio.Event()
        task = asyncio.create_task(feed.run(stop))
        await asyncio.wait_for(server.finished.wait(), timeout=60)
        (synced,) = node.books.all_books()
        book = synced.book
        price, size = book.depth(30).bids[25]
        book.apply_deltas(
            OrderBookDeltas("kraken", SYMBOL, ((price, size * 2),), (), book.sequence,
                            book.sequence, -1, book.ts_event, book.ts_event)
        )  # fmt: skip
        refreshes_before = feed.book_refreshes
        await asyncio.sleep(1.5)
        stop.set()
        await asyncio.wait_for(task, timeout=10)
        still_wrong = dict(synced.book.depth(30).bids).get(price) == size * 2
        truth = server.script.venue_book(SYMBOL)
        assert truth is not None and synced.book.valid
        if refresh_s:
            assert feed.book_refreshes > refreshes_before
            assert synced.book.depth(50) == truth.depth(50)
    return feed, still_wrong


@pytest.mark.slow
async def test_deep_error_survives_without_refresh_and_is_repaired_with_it(
    shared_data: Path,
) -> None:
    unrefreshed, stuck = await _run_with_deep_corruption(shared_data, refresh_s=0)
    assert stuck, "the checksum covers the top 10 only: nothing else can catch this"
    assert unrefreshed.status().book_refreshes == 0
    refreshed, stuck = await _run_with_deep_corruption(shared_data, refresh_s=0.4)
    assert not stuck
    assert refreshed.status().book_refreshes >= 2


def test_kraken_refreshes_by_default_and_binance_does_not() -> None:
    assert venue_entry("kraken").book_refresh_s == BOOK_REFRESH_S > 0
    assert venue_entry("binance").book_refresh_s == 0
