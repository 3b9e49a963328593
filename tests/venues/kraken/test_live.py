"""Kraken's live side and fake venue: what the shared conformance suite does not cover."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import msgspec

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.data import topics
from tradefabric.data.feed.rest import VenueRestClient
from tradefabric.model.data import OrderBookSnapshot, OrderBookStatus, Trade
from tradefabric.model.enums import AggressorSide
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.market_data import MarketDataNode
from tradefabric.venues.fakevenue.kraken import KrakenScript
from tradefabric.venues.fakevenue.server import ClientConnection
from tradefabric.venues.kraken.live import KrakenFeedParser, KrakenLive
from tradefabric.venues.kraken.markets import KRAKEN_SPOT
from tradefabric.venues.registry import venue_profile

RECORDING = "binance_ws/spot_btcusdt_20240808.gz"


class _Rest:
    """A stand-in REST client answering every GET with ``body``."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.calls: list[tuple[str, dict[str, str]]] = []

    async def get(self, path: str, params: dict[str, str], weight: int = 1) -> bytes:
        self.calls.append((path, params))
        return self.body


def _live(clock: SimClock | None = None) -> tuple[KrakenLive, MessageBus]:
    bus = MessageBus()
    parser = KrakenFeedParser(bus, KRAKEN_SPOT)
    return KrakenLive(KRAKEN_SPOT, parser, clock or SimClock()), bus


def _trade(trade_id: int) -> Trade:
    return Trade("kraken", "BTC/USDT", 60_000.0, 0.1, AggressorSide.BUY, str(trade_id), 1, 2)


def test_registry_shares_one_pair_table_between_parser_and_rule() -> None:
    entry = venue_profile("kraken")
    parser = entry.make_parser(MessageBus())
    assert isinstance(parser, KrakenFeedParser)
    assert entry.sequence_rule.snapshot_supersedes_buffer is True
    assert parser.book_rule().pairs is getattr(entry.sequence_rule, "pairs", None)


def test_subscribe_frames_put_instrument_first_and_map_feed_channels() -> None:
    live, _ = _live()
    frames = [
        msgspec.json.decode(f)
        for f in live.subscribe_frames(["BTC/USDT"], ["trade", "bookTicker", "depth"])
    ]
    assert [f["params"]["channel"] for f in frames] == ["instrument", "trade", "ticker", "book"]
    assert "symbol" not in frames[0]["params"]
    assert frames[1]["params"] == {"channel": "trade", "symbol": ["BTC/USDT"], "snapshot": False}
    assert frames[3]["params"]["depth"] == 100
    assert len({f["req_id"] for f in frames}) == 4


async def test_resync_resubscribes_the_book_only_when_invalid() -> None:
    clock = SimClock()
    clock.advance_to(10_000_000_000)
    live, bus = _live(clock)
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)
        if msgspec.json.decode(text)["method"] == "subscribe":  # the venue answers a snapshot
            ts = clock.timestamp_ns()
            bus.publish(
                topics.BOOK_SNAPSHOTS, OrderBookSnapshot("kraken", "BTC/USDT", (), (), 1, ts, ts)
            )

    rest = cast(VenueRestClient, _Rest(b""))
    bus.publish(topics.BOOK_STATUS, OrderBookStatus("kraken", "BTC/USDT", True, "ok", 0, 0))
    await live.resync_book("BTC/USDT", rest, send)
    assert sent == []
    bus.publish(topics.BOOK_STATUS, OrderBookStatus("kraken", "BTC/USDT", False, "crc", 0, 0))
    await live.resync_book("BTC/USDT", rest, send)
    assert [msgspec.json.decode(t)["method"] for t in sent] == ["unsubscribe", "subscribe"]
    assert all(msgspec.json.decode(t)["params"]["channel"] == "book" for t in sent)
    assert all(msgspec.json.decode(t)["params"]["depth"] == 100 for t in sent)


async def test_poll_trades_publishes_only_trades_the_stream_has_not_delivered() -> None:
    live, bus = _live()
    got: list[Trade] = []
    bus.subscribe(topics.TRADES, got.append)
    rows = [["60000.10", "0.1", 1723100000.1234567, "b", "m", "", n] for n in (7, 8, 9)]
    body = msgspec.json.encode({"error": [], "result": {"XBTUSDT": rows, "last": "1"}})
    rest = _Rest(body)
    assert live.parser.merge_rest_trades([_trade(8)]) == 1
    assert await live.poll_trades(cast(VenueRestClient, rest), "BTC/USDT") == 1
    assert [t.trade_id for t in got] == ["8", "9"]
    assert rest.calls == [("/0/public/Trades", {"pair": "XBTUSDT"})]
    assert got[1].ts_event == 1_723_100_000_123_456_700


async def test_server_time_is_the_middle_of_the_venues_second() -> None:
    live, _ = _live()
    rest = _Rest(b'{"error":[],"result":{"unixtime":1723100000,"rfc1123":"x"}}')
    sample = await live.sample_server_time(cast(VenueRestClient, rest))
    assert sample.venue_time == 1_723_100_000_500_000_000


def test_fake_venue_answers_ping_instrument_and_rejects_unknown_channels(shared_data: Path) -> None:
    script = KrakenScript(shared_data / RECORDING)
    client = ClientConnection(cast(object, None), cast(object, None), set())  # type: ignore[arg-type]
    (pong,) = script.on_client_message(client, '{"method":"ping","req_id":5}')
    assert msgspec.json.decode(pong)["method"] == "pong"
    ack, instrument = script.on_client_message(
        client, '{"method":"subscribe","params":{"channel":"instrument"},"req_id":1}'
    )
    assert msgspec.json.decode(ack)["success"] is True
    pairs = msgspec.json.decode(instrument)["data"]["pairs"]
    assert {"symbol": "BTC/USDT", "price_precision": 2, "qty_precision": 8}.items() <= next(
        p for p in pairs if p["symbol"] == "BTC/USDT"
    ).items()
    assert client.streams == set()  # instrument alone does not start the stream
    (error,) = script.on_client_message(
        client, '{"method":"subscribe","params":{"channel":"level3","symbol":["BTC/USDT"]}}'
    )
    assert msgspec.json.decode(error)["success"] is False


def test_fake_venue_book_snapshot_parses_into_a_valid_book_at_any_depth(shared_data: Path) -> None:
    script = KrakenScript(shared_data / RECORDING)
    entry = venue_profile("kraken")
    node = MarketDataNode(MarketDataConfig(venue="kraken"), clock=SimClock())
    client = ClientConnection(cast(object, None), cast(object, None), set())  # type: ignore[arg-type]
    replies = script.on_client_message(
        client, '{"method":"subscribe","params":{"channel":"instrument"}}'
    ) + script.on_client_message(
        client,
        '{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USDT"],"depth":25}}',
    )
    for reply in replies:
        node.parser.on_frame(reply.encode(), 1)
    assert client.streams == {"book:25:BTC/USDT", "heartbeat"}
    book = node.books.book("kraken", "BTC/USDT")
    assert book is not None and book.valid
    assert book.level_count() == (25, 25)
    assert entry.name == "kraken"
