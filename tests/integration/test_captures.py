"""The Binance captures in ws_captures/ (current format, several symbols, aggTrade streams)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tradefabric.core.clock import LiveClock
from tradefabric.data import topics
from tradefabric.model.data import Trade
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.live_feed import LiveFeed, LiveFeedConfig
from tradefabric.node.market_data import MarketDataNode
from tradefabric.venues.binance.markets import market
from tradefabric.venues.fakevenue.binance import BinanceScript
from tradefabric.venues.fakevenue.server import FakeVenueServer

CAPTURES = {"BINANCE.ws.1.0": "binance", "BINANCE_FUTURES.ws.1.0": "binance-usdm"}


def _independent(path: Path) -> tuple[list[str], list[int]]:
    """Return (streams in the header URL, aggTrade ids in file order), read with plain json."""
    lines = path.read_text().splitlines()
    streams = lines[0].split("streams=", 1)[1].split(" ")[0].split("/")
    ids = []
    for line in lines[1:]:
        stamp, _, raw = line.partition(": ")
        if " <- " in stamp or not raw:
            continue
        message = json.loads(raw)
        if message.get("stream", "").endswith("@aggTrade"):
            ids.append(message["data"]["a"])
    return streams, ids


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_capture_replays_every_trade(shared_data: Path, name: str) -> None:
    path = shared_data / "ws_captures" / name
    _, ids = _independent(path)
    node = MarketDataNode(MarketDataConfig(venue=CAPTURES[name]))
    trades: list[Trade] = []
    node.bus.subscribe(topics.TRADES, trades.append)
    summary = node.replay(path)
    assert summary.replay.rejected == {}
    assert sorted(int(t.trade_id) for t in trades) == sorted(ids)
    assert len(trades) == len(ids) > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CAPTURES))
async def test_capture_through_fake_venue_and_live_feed(shared_data: Path, name: str) -> None:
    path = shared_data / "ws_captures" / name
    streams, ids = _independent(path)
    venue = CAPTURES[name]
    symbols = sorted({s.split("@")[0] for s in streams})
    script = BinanceScript(path, market(venue))
    async with FakeVenueServer(script, speed=0) as server:
        node = MarketDataNode(MarketDataConfig(venue=venue), clock=LiveClock())
        trades: list[Trade] = []
        node.bus.subscribe(topics.TRADES, trades.append)
        config = LiveFeedConfig(
            symbols=tuple(_split(s) for s in symbols),
            channels=("aggTrade", "bookTicker", "kline_1m"),
            ws_url=server.ws_url, rest_url=server.http_url,
        )  # fmt: skip
        feed = LiveFeed(node, config)
        stop = asyncio.Event()
        task = asyncio.create_task(feed.run(stop))
        await asyncio.wait_for(server.finished.wait(), timeout=60)
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    assert sorted(int(t.trade_id) for t in trades) == sorted(ids)
    assert feed.status().connection.rejected == {}


def _split(raw: str) -> str:
    for quote in ("usdt", "eth", "btc", "eur"):
        if raw.endswith(quote):
            return f"{raw[: -len(quote)].upper()}/{quote.upper()}"
    raise AssertionError(raw)
