"""Coinbase live side: subscribe frames, socket resyncs, REST trades and time, the fake venue."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import aiohttp
import pytest

from tests.venues.coinbase.helpers import l2
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import LiveClock, SimClock
from tradefabric.core.errors import ConfigError, MalformedMessageError
from tradefabric.data import topics
from tradefabric.data.book_sync import OrderBooks
from tradefabric.data.feed.rest import VenueRestClient
from tradefabric.model.data import Trade
from tradefabric.model.enums import AggressorSide
from tradefabric.venues.coinbase.live import CoinbaseFeedParser, CoinbaseLive, venue_channels
from tradefabric.venues.coinbase.markets import COINBASE, sequence_rules
from tradefabric.venues.coinbase.parser import CoinbaseVenueError
from tradefabric.venues.fakevenue.coinbase import CoinbaseScript, with_sequence_num
from tradefabric.venues.fakevenue.server import ClientConnection, FakeVenueServer
from tradefabric.venues.registry import venue_profile

RECORDING = "binance_ws/spot_btcusdt_20240808.gz"
NO_REST = cast(VenueRestClient, None)
"""Coinbase resyncs books on the socket: REST is never used for it."""


class Client:
    """A parser with its books, as the live feed wires them, and the live endpoints."""

    def __init__(self, clock: LiveClock | SimClock | None = None) -> None:
        self.bus = MessageBus()
        self.clock = clock or LiveClock()
        self.books = OrderBooks(self.bus, SimClock(0), sequence_rules())
        self.parser = CoinbaseFeedParser(self.bus, COINBASE)
        self.live = CoinbaseLive(COINBASE, self.parser, self.clock, "ws://x", "http://x")
        self.trades: list[Trade] = []
        self.bus.subscribe(topics.TRADES, self.trades.append)

    def feed(self, frame: dict[str, Any] | str) -> None:
        raw = frame if isinstance(frame, str) else json.dumps(frame)
        self.parser.on_frame(raw.encode(), self.clock.timestamp_ns())


def test_registry_entry() -> None:
    entry = venue_profile("coinbase")
    assert entry.default_channels == ("trade", "bookTicker", "depth")
    parser = entry.make_parser(MessageBus())
    live = entry.make_live(parser, LiveClock(), None, None)
    assert (live.venue, live.rest_url) == ("coinbase", "https://api.coinbase.com")
    assert live.stream_url(["BTC/USD"], ["depth"]) == "wss://advanced-trade-ws.coinbase.com"


def test_subscribe_frames_heartbeats_first_each_channel_once() -> None:
    live = Client().live
    frames = live.subscribe_frames(["BTC/USD", "ETH/USD"], ["trade", "depth", "book", "ticker"])
    assert all(isinstance(f, str) for f in frames)
    assert [json.loads(f) for f in frames] == [
        {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": channel}
        for channel in ("heartbeats", "market_trades", "level2", "ticker")
    ]
    assert venue_channels(COINBASE, ["kline", "quotes"]) == ["heartbeats", "candles", "ticker"]
    with pytest.raises(ConfigError):
        live.subscribe_frames(["BTC/USD"], ["depth@100ms"])
    with pytest.raises(ConfigError):
        live.unified_symbol("BTC/USDT:USDT")


async def test_resync_resubscribes_level2_once_and_waits_for_the_snapshot() -> None:
    client = Client()
    sent: list[dict[str, Any]] = []

    async def venue_answers(text: str) -> None:
        sent.append(json.loads(text))
        if sent[-1]["type"] == "subscribe":
            client.feed(l2(0, "snapshot", [("bid", "100", "1"), ("offer", "101", "1")]))

    await client.live.resync_book("BTC/USD", NO_REST, venue_answers)
    assert [(f["type"], f["channel"]) for f in sent] == [
        ("unsubscribe", "level2"),
        ("subscribe", "level2"),
    ]
    assert client.parser.book_valid("BTC/USD")
    await client.live.resync_book("BTC/USD", NO_REST, venue_answers)
    assert len(sent) == 2  # valid: nothing to do


async def test_resync_right_after_subscribing_waits_for_the_snapshot_already_asked_for() -> None:
    client = Client()
    client.live.subscribe_frames(["BTC/USD"], ["depth"])
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    async def snapshot_arrives() -> None:
        await asyncio.sleep(0.05)
        client.feed(l2(0, "snapshot", [("bid", "100", "1")]))

    arrival = asyncio.create_task(snapshot_arrives())
    await client.live.resync_book("BTC/USD", NO_REST, send)
    await arrival
    assert sent == [] and client.parser.book_valid("BTC/USD")


def _market_trades(trades: list[dict[str, str]]) -> bytes:
    return json.dumps({"trades": trades, "best_bid": "68900", "best_ask": "68901"}).encode()


def _rest_trade(trade_id: str, time: str, side: str = "BUY") -> dict[str, str]:
    return {"trade_id": trade_id, "product_id": "BTC-USD", "price": "68900.5", "size": "0.5",
            "time": time, "side": side, "exchange": "CBE"}  # fmt: skip


def test_rest_trades_parsed_oldest_first_and_merged_without_duplicates() -> None:
    client = Client(SimClock(7))
    newest_first = [
        _rest_trade("12", "2026-04-07T14:30:02.5Z", "SELL"),
        _rest_trade("11", "2026-04-07T14:30:02.000001Z"),
        _rest_trade("10", "2026-04-07T14:30:01Z"),
    ]
    trades = client.live.parse_recent_trades(_market_trades(newest_first), "BTC/USD", 7)
    assert trades[0] == Trade("coinbase", "BTC/USD", 68900.5, 0.5, AggressorSide.BUY, "10",
                              1_775_572_201_000_000_000, 7)  # fmt: skip
    assert [(t.trade_id, t.side) for t in trades] == [("10", "buy"), ("11", "buy"), ("12", "sell")]
    client.parser.merge_rest_trades(trades[:2])  # as if the stream had delivered 10 and 11
    assert client.parser.merge_rest_trades(trades) == 1
    assert [t.trade_id for t in client.trades] == ["10", "11", "12"]


def test_a_rest_page_ahead_of_a_lagging_socket_loses_none_of_its_buffered_trades() -> None:
    # A REST poll may publish the venue's newest page while older trades still sit unread in
    # the socket's buffer: they arrive later, lower-numbered, and must not pass for repeats.
    client = Client(SimClock(7))
    page = [_rest_trade(str(i), f"2026-04-07T14:30:{i:02d}Z") for i in range(14, 9, -1)]
    client.parser.merge_rest_trades(
        client.live.parse_recent_trades(_market_trades(page), "BTC/USD", 7)
    )
    buffered = [_rest_trade(str(i), f"2026-04-07T14:30:{i:02d}Z") for i in range(12, 5, -1)]
    late = client.live.parse_recent_trades(_market_trades(buffered), "BTC/USD", 8)
    assert client.parser.merge_rest_trades(late) == 4  # 6..9 are new, 10..12 were published
    assert sorted(int(t.trade_id) for t in client.trades) == list(range(6, 15))
    assert client.parser.stats().duplicate_trades == 3


@pytest.mark.parametrize(
    "body",
    [b"[]", _market_trades([_rest_trade("1", "yesterday")]),
     _market_trades([dict(_rest_trade("1", "2026-04-07T14:30:01Z"), price="NaN")]),
     _market_trades([dict(_rest_trade("1", "2026-04-07T14:30:01Z"), product_id="ETH-USD")])],
)  # fmt: skip
def test_bad_rest_trades_rejected(body: bytes) -> None:
    with pytest.raises(MalformedMessageError):
        Client().live.parse_recent_trades(body, "BTC/USD", 1)


def test_with_sequence_num() -> None:
    text = '{"channel":"ticker","client_id":"","timestamp":"x","sequence_num":1234,"events":[]}'
    assert json.loads(with_sequence_num(text, 7))["sequence_num"] == 7
    assert with_sequence_num('{"type":"error"}', 7) == '{"type":"error"}'


async def _subscribe(ws: aiohttp.ClientWebSocketResponse, *channels: str) -> None:
    for channel in channels:
        await ws.send_str(
            json.dumps({"type": "subscribe", "product_ids": ["BTC-USDT"], "channel": channel})
        )


async def _read(ws: aiohttp.ClientWebSocketResponse, client: Client, count: int) -> list[Any]:
    messages = []
    for _ in range(count):
        text = await asyncio.wait_for(ws.receive_str(), timeout=10)
        client.feed(text)
        messages.append(json.loads(text))
    return messages


async def _read_until_gap(ws: aiohttp.ClientWebSocketResponse, client: Client) -> None:
    while client.parser.stats().sequence_gaps == 0:
        await _read(ws, client, 1)


async def _drain(ws: aiohttp.ClientWebSocketResponse, client: Client, done: asyncio.Event) -> None:
    while not done.is_set():
        await _read(ws, client, 1)


@pytest.mark.slow
async def test_fake_venue_numbers_each_connection_and_a_withheld_update_is_a_gap_only_where_due(
    shared_data: Path,
) -> None:
    script = CoinbaseScript(shared_data / RECORDING, COINBASE)
    books, trades = Client(), Client()
    async with FakeVenueServer(script, speed=0) as server, aiohttp.ClientSession() as http:
        async with (
            http.ws_connect(server.ws_url) as ws_books,
            http.ws_connect(server.ws_url) as ws_trades,
        ):
            await _subscribe(ws_books, "heartbeats", "level2")
            await _subscribe(ws_trades, "market_trades")
            first_books = await _read(ws_books, books, 200)
            first_trades = await _read(ws_trades, trades, 200)
            server.faults.skip_sequenced(1)
            done = asyncio.Event()
            draining = asyncio.create_task(_drain(ws_trades, trades, done))
            await asyncio.wait_for(_read_until_gap(ws_books, books), timeout=60)
            await _read(ws_books, books, 100)
            done.set()
            await draining
        rest = VenueRestClient(server.http_url, trades.live.limiter, http)
        recent = await trades.live.recent_trades(rest, "BTC/USDT")
        sample = await trades.live.sample_server_time(rest)
    assert [m["sequence_num"] for m in first_books] == list(range(200))
    assert [m["sequence_num"] for m in first_trades] == list(range(200))
    assert {m["channel"] for m in first_books} == {"subscriptions", "heartbeats", "l2_data"}
    assert {m["channel"] for m in first_trades} == {"subscriptions", "market_trades"}
    assert books.parser.stats().book_snapshots == 1
    assert server.faults.counters().skipped_sequenced == 1
    assert books.parser.stats().sequence_gaps == 1  # the withheld level2 update
    assert trades.parser.stats().sequence_gaps == 0  # never due on this connection
    assert trades.parser.stats().trades > 200
    assert trades.parser.stats().duplicate_trades == 0
    assert recent == sorted(recent, key=lambda t: (t.ts_event, int(t.trade_id)))
    assert len(recent) == 1000 and {t.symbol for t in recent} == {"BTC/USDT"}
    last_streamed = int(trades.trades[-1].trade_id)
    newer = [t for t in recent if int(t.trade_id) > last_streamed]
    assert trades.parser.merge_rest_trades(recent) == len(newer)  # the rest were streamed
    ms = 1_000_000  # epochMillis truncates
    assert sample.local_sent - ms <= sample.venue_time <= sample.local_received + ms


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("not json", "malformed message"),
        ('{"type":"subscribe","product_ids":["BTCUSD"],"channel":"level2"}', "malformed"),
        ('{"type":"subscribe","product_ids":["BTC-USD"],"channel":"user"}', "not served"),
        ('{"type":"subscribe","product_ids":[],"channel":"level2"}', "needs product_ids"),
        ('{"type":"ping"}', "unknown message type"),
    ],
)
def test_fake_venue_error_replies(shared_data: Path, message: str, error: str) -> None:
    script = CoinbaseScript(shared_data / RECORDING, COINBASE)
    client = cast(ClientConnection, SimpleNamespace(streams=set(), ws=None))
    (reply,) = script.on_client_message(client, message)
    assert json.loads(reply)["type"] == "error" and error in json.loads(reply)["message"]
    with pytest.raises(CoinbaseVenueError):
        Client().feed(reply)
