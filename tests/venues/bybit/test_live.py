"""Bybit's live side beyond the conformance suite: URLs, heartbeat, resync, REST, spot."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from pathlib import Path

import aiohttp
import msgspec
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import report_figure
from tests.feed_waits import until, until_drained_and_valid
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import LiveClock, SimClock
from tradefabric.core.errors import (
    ConfigError,
    MalformedMessageError,
    RequestRejectedError,
    UnknownStreamError,
    VenueUnavailableError,
)
from tradefabric.data import topics
from tradefabric.data.feed.rest import VenueRestClient
from tradefabric.model.data import OrderBookSnapshot, Trade
from tradefabric.model.enums import AggressorSide
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.live_feed import LiveFeed, LiveFeedConfig
from tradefabric.node.market_data import MarketDataNode
from tradefabric.venues.bybit.encode import BybitEncoder
from tradefabric.venues.bybit.live import BybitFeedParser, BybitLive
from tradefabric.venues.bybit.markets import BYBIT_LINEAR, BYBIT_SPOT
from tradefabric.venues.fakevenue.bybit import BybitScript
from tradefabric.venues.fakevenue.scripts import script_for
from tradefabric.venues.fakevenue.server import ClientConnection as FakeClientConnection
from tradefabric.venues.fakevenue.server import FakeVenueServer
from tradefabric.venues.registry import venue_profile

SYMBOL = "BTC/USDT:USDT"
MS = 1_000_000
T0 = 1_723_161_255_000 * MS
SPOT = "binance_ws/spot_btcusdt_20240808.gz"


def _live(ws_url: str | None = None, market: object = BYBIT_LINEAR) -> tuple[BybitLive, MessageBus]:
    assert market is BYBIT_LINEAR or market is BYBIT_SPOT
    bus = MessageBus()
    parser = BybitFeedParser(bus, market)
    return BybitLive(market, parser, SimClock(T0), ws_url, "http://127.0.0.1:1"), bus


class _Rest:
    """Answer every GET with one canned body, remembering the requests."""

    def __init__(self, body: object) -> None:
        self.body = msgspec.json.encode(body)
        self.calls: list[tuple[str, dict[str, str]]] = []

    async def get(self, path: str, params: dict[str, str], weight: int = 1) -> bytes:
        self.calls.append((path, params))
        return self.body


def _rest(body: object) -> VenueRestClient:
    return _Rest(body)  # type: ignore[return-value]  # duck-typed stand-in


def test_stream_url_takes_a_server_root_or_a_full_endpoint() -> None:
    assert _live()[0].stream_url([SYMBOL], ["trade"]) == "wss://stream.bybit.com/v5/public/linear"
    assert _live("ws://127.0.0.1:9")[0].ws_url == "ws://127.0.0.1:9/v5/public/linear"
    assert _live("ws://h:9/", BYBIT_SPOT)[0].ws_url == "ws://h:9/v5/public/spot"
    assert _live("wss://stream-testnet.bybit.com/v5/public/linear")[0].ws_url.endswith("linear")


def test_subscribe_frames_map_venue_neutral_channels_and_reject_unknown_ones() -> None:
    bybit, _ = _live()
    [frame] = bybit.subscribe_frames([SYMBOL], ["trade", "bookTicker", "ticker", "depth"])
    request = msgspec.json.decode(frame)
    assert request["op"] == "subscribe"
    assert request["args"] == ["publicTrade.BTCUSDT", "tickers.BTCUSDT", "orderbook.200.BTCUSDT"]
    with pytest.raises(ConfigError, match="aggTrade"):
        bybit.subscribe_frames([SYMBOL], ["aggTrade"])


def test_heartbeat_is_bybits_ping_every_20_seconds_and_the_fake_venue_pongs() -> None:
    bybit, _ = _live()
    interval, frame = bybit.heartbeat()
    assert interval == 20.0 and msgspec.json.decode(frame) == {"op": "ping"}
    script = BybitScript(Path("unused"), BYBIT_LINEAR)
    client = FakeClientConnection(None, None, set())  # type: ignore[arg-type]
    [pong] = script.on_client_message(client, frame)
    bybit.parser.on_frame(pong.encode(), T0)
    assert bybit.parser.stats().pongs == 1
    [refused] = script.on_client_message(
        client, '{"op":"subscribe","args":["orderbook.7.BTCUSDT"],"req_id":"x"}'
    )
    assert client.streams == set()
    with pytest.raises(UnknownStreamError, match=r"orderbook\.7"):
        bybit.parser.on_frame(refused.encode(), T0)


async def test_resync_resubscribes_the_book_and_returns_once_its_snapshot_arrives() -> None:
    bybit, bus = _live()
    bybit.subscribe_frames([SYMBOL], ["trade", "depth_50"])
    sent: list[str] = []
    encoder = BybitEncoder(BYBIT_LINEAR)
    snapshot = OrderBookSnapshot(
        "bybit-linear", SYMBOL, ((61800.0, 1.0),), ((61800.5, 2.0),), 7, T0, T0
    )

    async def send(text: str) -> None:
        sent.append(text)
        if '"subscribe"' in text:  # the venue answers with a snapshot, a moment later
            loop = asyncio.get_running_loop()
            loop.call_later(0.01, bybit.parser.on_frame, encoder.book(snapshot, 50), T0)

    got: list[OrderBookSnapshot] = []
    bus.subscribe(topics.BOOK_SNAPSHOTS, got.append)
    await bybit.resync_book(SYMBOL, _rest({}), send)
    assert [msgspec.json.decode(s)["op"] for s in sent] == ["unsubscribe", "subscribe"]
    assert all(msgspec.json.decode(s)["args"] == ["orderbook.50.BTCUSDT"] for s in sent)
    assert got == [snapshot]

    async def silent(_text: str) -> None:
        return None

    bybit.snapshot_timeout_s = 0.05
    with pytest.raises(VenueUnavailableError, match="no snapshot"):
        await bybit.resync_book(SYMBOL, _rest({}), silent)


def _reply(result: object, code: int = 0) -> dict[str, object]:
    return {"retCode": code, "retMsg": "OK" if code == 0 else "bad", "result": result, "time": 1}


def _rest_trade(exec_id: str, ms: int, side: str = "Buy") -> dict[str, object]:
    return {
        "execId": exec_id, "symbol": "BTCUSDT", "price": "61800.5", "size": "0.012",
        "side": side, "time": str(ms), "isBlockTrade": False,
    }  # fmt: skip


async def test_poll_trades_publishes_only_what_the_stream_did_not_deliver() -> None:
    bybit, bus = _live()
    published: list[Trade] = []
    bus.subscribe(topics.TRADES, published.append)
    encoder = BybitEncoder(BYBIT_LINEAR)
    streamed = [
        Trade("bybit-linear", SYMBOL, 61800.0, 0.5, AggressorSide.SELL, tid, T0 + n * MS, T0)
        for n, tid in enumerate(("a", "b"), start=1)
    ]
    bybit.subscribe_frames([SYMBOL], ["trade"])
    bybit.parser.on_frame(encoder.trades(streamed), T0)
    # Newest first, as Bybit lists them: "old" predates the first streamed trade.
    body = _reply(
        {
            "category": "linear",
            "list": [
                _rest_trade("d", T0 // MS + 4),
                _rest_trade("c", T0 // MS + 3, "Sell"),
                _rest_trade("b", T0 // MS + 2),
                _rest_trade("a", T0 // MS + 1),
                _rest_trade("old", T0 // MS - 5),
            ],
        }
    )
    rest = _Rest(body)
    assert await bybit.poll_trades(rest, SYMBOL) == 2  # type: ignore[arg-type]
    assert [t.trade_id for t in published] == ["a", "b", "c", "d"]
    assert published[2].side is AggressorSide.SELL and published[3].ts_event == T0 + 4 * MS
    assert await bybit.poll_trades(rest, SYMBOL) == 0  # type: ignore[arg-type]
    path, params = rest.calls[0]
    assert path == "/v5/market/recent-trade"
    assert params == {"category": "linear", "symbol": "BTCUSDT", "limit": "1000"}


async def test_rest_replies_are_checked() -> None:
    bybit, _ = _live()
    sample = await bybit.sample_server_time(
        _rest(_reply({"timeSecond": "1723161255", "timeNano": "1723161255123456789"}))
    )
    assert sample.venue_time == 1_723_161_255_123_456_789
    with pytest.raises(RequestRejectedError, match="10001"):
        await bybit.recent_trades(_rest(_reply({}, code=10001)), SYMBOL)
    with pytest.raises(MalformedMessageError):
        await bybit.sample_server_time(_rest({"retCode": "zero"}))
    other = _reply({"category": "linear", "list": [{**_rest_trade("x", 1), "symbol": "ETHUSDT"}]})
    with pytest.raises(MalformedMessageError, match="ETHUSDT"):
        await bybit.recent_trades(_rest(other), SYMBOL)


async def _feed_whole_recording(
    shared_data: Path, venue: str, recording: str, symbol: str
) -> tuple[LiveFeed, FakeVenueServer, list[Trade]]:
    entry = venue_profile(venue)
    async with FakeVenueServer(script_for(entry.name, shared_data / recording), speed=0) as server:
        node = MarketDataNode(MarketDataConfig(venue=venue), clock=LiveClock())
        trades: list[Trade] = []
        node.bus.subscribe(topics.TRADES, trades.append)
        config = LiveFeedConfig(
            symbols=(symbol,), channels=entry.default_channels, ws_url=server.ws_url,
            rest_url=server.http_url, silence_timeout_s=1.0, rest_fallback_lag_s=0,
        )  # fmt: skip
        feed = LiveFeed(node, config)
        stop = asyncio.Event()
        task = asyncio.create_task(feed.run(stop))
        await asyncio.wait_for(server.finished.wait(), timeout=120)
        await until_drained_and_valid(feed)
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    return feed, server, trades


@pytest.mark.slow
async def test_spot_feed_follows_the_fake_spot_venue_to_the_end(shared_data: Path) -> None:
    feed, server, trades = await _feed_whole_recording(shared_data, "bybit", SPOT, "BTC/USDT")
    assert len(trades) == server.script.trades_streamed > 0
    status = feed.status()
    assert status.connection.rejected == {}
    (synced,) = feed.node.books.all_books()
    truth = server.script.venue_book("BTC/USDT")
    assert truth is not None and synced.book.valid
    assert synced.book.depth(1_000_000) == truth.depth(1_000_000)
    report_figure(
        f"bybit spot live feed vs fake venue (real Binance spot traffic as v5): "
        f"{len(trades)} trades, {status.events.book_deltas} deltas, book "
        f"{synced.book.level_count()} levels == the venue's"
    )


async def _read_all(ws: ClientConnection) -> None:
    async for _frame in ws:
        pass


@pytest.mark.slow
async def test_fake_venue_rest_serves_trades_it_streamed(shared_data: Path) -> None:
    script = BybitScript(shared_data / SPOT, BYBIT_SPOT)
    async with FakeVenueServer(script, speed=0) as server:
        spot, _ = _live(server.ws_url, BYBIT_SPOT)
        async with connect(spot.ws_url) as ws:
            for frame in spot.subscribe_frames(["BTC/USDT"], ["trade"]):
                await ws.send(frame)
            reader = asyncio.create_task(_read_all(ws))
            await asyncio.wait_for(server.finished.wait(), timeout=120)
            reader.cancel()
        async with aiohttp.ClientSession() as session:
            rest = VenueRestClient(server.http_url, spot.limiter, session)
            trades = await spot.recent_trades(rest, "BTC/USDT")
            sample = await spot.sample_server_time(rest)
            linear, _ = _live(None)  # asks for category=linear: the spot venue refuses
            with pytest.raises(RequestRejectedError, match="10001 category must be spot"):
                await linear.recent_trades(rest, SYMBOL)
    assert len(trades) == 60 and script.trades_streamed > 60  # Bybit spot serves 60 at most
    assert [t.ts_event for t in trades] == sorted(t.ts_event for t in trades)
    assert abs(sample.venue_time - time.time_ns()) < 5_000_000_000


def _recorded_trades(path: Path) -> dict[int, int]:
    """Return trade id -> time (ns) of a Binance recording (the fake serves them as Bybit's)."""
    times = {}
    with gzip.open(path, "rt") as lines:
        for line in lines:
            _, _, raw = line.partition(" ")
            if '@trade"' in raw[:40]:
                data = json.loads(raw)["data"]
                times[int(data["t"])] = int(data["T"]) * 1_000_000
    return times


@pytest.mark.slow
async def test_a_stall_the_watchdog_does_not_cut_is_reported_once_the_stream_resumes(
    shared_data: Path,
) -> None:
    # Spot serves only its latest 60 trades: REST polls standing in for the silent
    # socket skip trades between them. The socket is never cut (watchdog 30 s), so only
    # the silence opens the outage; what REST could not serve must be in a GapReport.
    async with FakeVenueServer(script_for("bybit", shared_data / SPOT), speed=40.0) as server:
        node = MarketDataNode(MarketDataConfig(venue="bybit"), clock=LiveClock())
        kept: list[int] = []
        node.bus.subscribe(topics.TRADES, lambda t: kept.append(int(t.trade_id)))
        node.bus.subscribe(topics.TRADES_BACKFILLED, lambda t: kept.append(int(t.trade_id)))
        config = LiveFeedConfig(
            symbols=("BTC/USDT",), channels=("trade",), ws_url=server.ws_url,
            rest_url=server.http_url, silence_timeout_s=30.0, rest_fallback_lag_s=0.5,
            rest_probe_s=1000.0,
        )  # fmt: skip
        feed = LiveFeed(node, config)
        stop = asyncio.Event()
        task = asyncio.create_task(feed.run(stop))
        await until(lambda: len(kept) > 500)
        server.faults.stall(1.5)
        assert feed.catch_up is not None
        catch_up = feed.catch_up
        await until(lambda: catch_up.reports, timeout_s=15)  # published as the outage ends
        stop.set()
        await asyncio.wait_for(task, timeout=20)
    assert feed.status().connection.reconnects == 0
    recorded = _recorded_trades(shared_data / SPOT)
    expected = [i for i in recorded if kept[0] <= i <= max(kept)]
    lost = set(expected) - set(kept)
    spans = [(r.ts_event, r.ts_until) for r in catch_up.reports]
    assert lost, "the stall must have cost trades REST could not serve"
    assert len(kept) == len(set(kept)), "a trade published twice"
    # Bybit's ids do not count per symbol: each hole is reported by time, uncounted.
    assert all(not r.counted and r.ts_event < r.ts_until for r in catch_up.reports)
    assert all(any(lo <= recorded[i] <= hi for lo, hi in spans) for i in lost)
    report_figure(
        f"bybit spot stall of 1.5 s at 40x under the watchdog: {len(lost)} trades REST could "
        f"not serve, all in {len(catch_up.reports)} GapReport(s)"
    )
