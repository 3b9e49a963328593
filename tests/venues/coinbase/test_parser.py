"""Coinbase parser: fixtures to exact events, bad frames rejected, gaps invalidate books."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.venues.coinbase.helpers import Pipeline, fixture, heartbeat, l2
from tradefabric.core.errors import MalformedMessageError, StaleMessageError, UnknownStreamError
from tradefabric.model.data import OrderBookDeltas, OrderBookSnapshot, Quote, Trade
from tradefabric.model.enums import AggressorSide
from tradefabric.venues.coinbase.markets import COINBASE, product_id, unified_symbol
from tradefabric.venues.coinbase.parser import CoinbaseVenueError, Subscribed
from tradefabric.venues.coinbase.sequencing import BROKEN, EPOCH_SHIFT
from tradefabric.venues.coinbase.subscriptions import resync_book_frames, subscribe_frames


def test_symbols() -> None:
    assert unified_symbol("BTC-USD") == "BTC/USD"
    assert product_id("BTC/USD") == "BTC-USD"
    with pytest.raises(MalformedMessageError):
        unified_symbol("BTCUSD")


def test_l2_fixtures(shared_data: Path) -> None:
    p = Pipeline()
    p.feed(fixture(shared_data, "ws_l2_data_snapshot.json"), 10)
    update = fixture(shared_data, "ws_l2_data_update.json")
    p.feed(update, 11)
    assert p.snapshots == [
        OrderBookSnapshot(
            "coinbase", "BTC/USD", ((68900.0, 1.5), (68899.5, 0.75), (68899.0, 2.3)),
            ((68901.0, 0.5), (68901.5, 1.2), (68902.0, 0.8)), 0, 1_775_572_200_123_456_000, 10,
        )
    ]  # fmt: skip
    assert p.deltas == [
        OrderBookDeltas(
            "coinbase", "BTC/USD", ((68900.0, 2.0),), ((68901.0, 0.0),), 1, 1, 0,
            1_775_572_201_456_789_000, 11,
        )
    ]  # fmt: skip
    book = p.books.book("coinbase", "BTC/USD")
    assert book is not None and book.valid
    assert (book.best_bid(), book.best_bid_size(), book.best_ask()) == (68900.0, 2.0, 68901.5)
    assert [s.valid for s in p.status] == [True]


def test_market_trades_fixture(shared_data: Path) -> None:
    p = Pipeline()
    p.feed(fixture(shared_data, "ws_market_trades.json"), 5)
    assert p.trades == [
        Trade("coinbase", "BTC/USD", 68900.5, 0.0015, AggressorSide.BUY, "995098700",
              1_775_572_202_789_012_000, 5),
        Trade("coinbase", "BTC/USD", 68900.0, 0.05, AggressorSide.SELL, "995098701",
              1_775_572_202_800_000_000, 5),
    ]  # fmt: skip


def test_ticker_fixture(shared_data: Path) -> None:
    p = Pipeline()
    p.feed(fixture(shared_data, "ws_ticker.json"), 5)
    assert p.quotes == [
        Quote("coinbase", "BTC/USD", 68900.0, 1.5, 68901.0, 0.5, 12, 1_775_572_203_000_000_000, 5)
    ]


def test_candles_fixture_published_when_closed(shared_data: Path) -> None:
    p = Pipeline()
    message = fixture(shared_data, "ws_candles.json")
    p.feed(message, 5)
    assert p.candles == []
    (running,) = p.parser.open_candles()
    assert (running.ts_open, running.open, running.high, running.low, running.close) == (
        1_775_521_800_000_000_000, 68900.0, 68950.0, 68850.0, 68920.5
    )  # fmt: skip
    assert (running.volume, running.interval, running.ts_event) == (
        42.15, "5m", 1_775_522_100_000_000_000
    )  # fmt: skip
    assert running.trades == -1 and math.isnan(running.buy_volume) and math.isnan(running.vwap)
    later = dict(message["events"][0]["candles"][0], start="1775522100", close="68930")
    p.feed({**message, "sequence_num": 4, "events": [{"type": "update", "candles": [later]}]}, 6)
    assert len(p.candles) == 1 and p.candles[0].close == 68920.5
    older = dict(later, start="1775521500")
    p.feed({**message, "sequence_num": 5, "events": [{"type": "update", "candles": [older]}]}, 7)
    assert len(p.candles) == 1 and p.parser.stats().stale_candles == 1


def test_heartbeats_and_acks_counted(shared_data: Path) -> None:
    p = Pipeline()
    p.feed(fixture(shared_data, "ws_subscriptions.json"))
    hb = fixture(shared_data, "ws_heartbeats.json")
    p.feed({**hb, "sequence_num": 1})
    p.feed({**hb, "sequence_num": 2, "events": [{"current_time": "x", "heartbeat_counter": "43"}]})
    stats = p.parser.stats()
    assert (stats.frames, stats.heartbeats, stats.last_heartbeat_counter) == (3, 2, 43)
    assert stats.subscription_acks == 1 and stats.sequence_gaps == 0
    assert p.parser.subscribed() == Subscribed(
        (("level2", ("BTC-USD",)), ("market_trades", ("BTC-USD", "ETH-USD")))
    )


def test_duplicate_trades_from_a_snapshot_are_dropped_and_order_is_by_time(
    shared_data: Path,
) -> None:
    p = Pipeline()
    message = fixture(shared_data, "ws_market_trades.json")
    newest_first = list(reversed(message["events"][0]["trades"]))
    p.feed({**message, "sequence_num": 0, "events": [{"type": "snapshot", "trades": newest_first}]})
    p.feed({**message, "sequence_num": 1})
    assert [t.trade_id for t in p.trades] == ["995098700", "995098701"]
    assert p.parser.stats().duplicate_trades == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [("price", "NaN"), ("price", "-1"), ("size", "0"), ("size", "inf"), ("side", "HOLD"),
     ("time", "yesterday"), ("price", None)],
)  # fmt: skip
def test_bad_trade_values_rejected(shared_data: Path, field: str, value: str | None) -> None:
    p = Pipeline()
    message = fixture(shared_data, "ws_market_trades.json")
    message["events"][0]["trades"][0][field] = value
    with pytest.raises(MalformedMessageError):
        p.feed(message)
    assert p.trades == []
    p.feed(heartbeat(6))  # the bad frame's sequence_num was accounted: no gap
    assert p.parser.stats().sequence_gaps == 0


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[]", b'{"channel":"l2_data"}', b'{"channel":"ticker","sequence_num":-3}'],
)
def test_malformed_frames(raw: bytes) -> None:
    with pytest.raises(MalformedMessageError):
        Pipeline().feed(raw)


def test_unknown_channel_and_error_reply() -> None:
    p = Pipeline()
    with pytest.raises(UnknownStreamError):
        p.feed({"channel": "status", "sequence_num": 0, "timestamp": "x", "events": []})
    with pytest.raises(CoinbaseVenueError):
        p.feed({"type": "error", "message": "failure to subscribe"})
    p.feed(heartbeat(1))
    assert p.parser.stats().sequence_gaps == 0


def test_stale_sequence_num_rejected() -> None:
    p = Pipeline()
    p.feed(heartbeat(0))
    p.feed(heartbeat(1))
    with pytest.raises(StaleMessageError):
        p.feed(heartbeat(1))


def _synced_two_books() -> Pipeline:
    p = Pipeline()
    p.feed(l2(0, "snapshot", [("bid", "100", "1"), ("offer", "101", "1")]))
    p.feed(l2(1, "snapshot", [("bid", "10", "1"), ("offer", "11", "1")], "ETH-USD"))
    p.feed(l2(2, "update", [("bid", "100", "2")]))
    assert [s.valid for s in p.status] == [True, True]
    return p


def test_gap_on_another_channel_invalidates_every_book_then_snapshot_revalidates() -> None:
    p = _synced_two_books()
    p.feed(heartbeat(3))
    p.feed(heartbeat(5))  # message 4 was lost: it may have been a level2 update
    assert p.parser.stats().sequence_gaps == 1
    assert [(s.symbol, s.valid) for s in p.status[2:]] == [("BTC/USD", False), ("ETH/USD", False)]
    btc = p.books.book("coinbase", "BTC/USD")
    assert btc is not None and not btc.valid
    p.feed(l2(6, "update", [("bid", "100", "3")]))  # buffered, never applied
    p.feed(l2(7, "snapshot", [("bid", "100", "4"), ("offer", "101", "1")]))
    p.feed(l2(8, "update", [("offer", "101", "0"), ("offer", "102", "5")]))
    assert btc.valid and (btc.best_bid_size(), btc.best_ask()) == (4.0, 102.0)
    eth = p.books.book("coinbase", "ETH/USD")
    assert eth is not None and not eth.valid  # still awaiting its own snapshot
    p.feed(l2(9, "snapshot", [("bid", "10", "2")], "ETH-USD"))
    assert eth.valid and p.status[-1].valid


def test_gap_revealed_by_a_level2_update_invalidates() -> None:
    p = _synced_two_books()
    p.feed(l2(4, "update", [("bid", "100", "9")]))
    btc = p.books.book("coinbase", "BTC/USD")
    assert btc is not None and not btc.valid and btc.best_bid_size() == 2.0
    assert p.deltas[-1].prev_id == BROKEN


def test_malformed_level2_frame_invalidates_books_without_a_gap() -> None:
    p = _synced_two_books()
    with pytest.raises(MalformedMessageError):
        p.feed(l2(3, "update", [("bid", "100", "NaN")]))
    assert [s.valid for s in p.status[2:]] == [False, False]
    p.feed(heartbeat(4))
    assert p.parser.stats().sequence_gaps == 0


def test_new_connection_invalidates_and_old_buffered_updates_stay_stale() -> None:
    p = _synced_two_books()
    p.parser.on_connect(99)
    assert [s.valid for s in p.status[2:]] == [False, False]
    p.feed(l2(0, "snapshot", [("bid", "100", "7"), ("offer", "101", "1")]))
    p.feed(l2(1, "update", [("bid", "99", "1")]))
    btc = p.books.book("coinbase", "BTC/USD")
    assert btc is not None and btc.valid and btc.sequence == (1 << EPOCH_SHIFT) + 1
    assert btc.depth(5).bids == [(100.0, 7.0), (99.0, 1.0)]


def test_sequence_restart_without_on_connect_is_a_new_connection() -> None:
    p = _synced_two_books()
    p.feed(heartbeat(0))
    assert p.parser.stats().sequence_gaps == 1
    assert [s.valid for s in p.status[2:]] == [False, False]


def test_two_events_of_one_product_in_one_message_are_merged() -> None:
    p = _synced_two_books()
    message = l2(3, "update", [("bid", "100", "5")])
    message["events"].append(l2(3, "update", [("bid", "98", "1")])["events"][0])
    p.feed(message)
    btc = p.books.book("coinbase", "BTC/USD")
    assert btc is not None and btc.valid
    assert btc.depth(5).bids == [(100.0, 5.0), (98.0, 1.0)]


def test_subscribe_frames() -> None:
    frames = subscribe_frames(COINBASE, ["heartbeats", "book", "market_trades"], ["BTC/USD"])
    assert [json.loads(f) for f in frames] == [
        {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "heartbeats"},
        {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "level2"},
        {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "market_trades"},
    ]
    assert [json.loads(f)["type"] for f in resync_book_frames(COINBASE, ["ETH/USD"])] == [
        "unsubscribe",
        "subscribe",
    ]
    assert not COINBASE.public_channels_need_jwt
