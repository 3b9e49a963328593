"""Bybit v5 parser: format fixtures in, exact domain events out; bad frames rejected precisely."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.venues.bybit.conftest import Collected
from tradefabric.core.bus import MessageBus
from tradefabric.core.errors import (
    MalformedMessageError,
    StaleMessageError,
    UnknownStreamError,
)
from tradefabric.model.data import (
    Candle,
    Liquidation,
    MarkPrice,
    OpenInterest,
    OrderBookDeltas,
    OrderBookSnapshot,
    Quote,
    Trade,
)
from tradefabric.model.enums import AggressorSide
from tradefabric.venues.bybit.markets import BYBIT_LINEAR, BYBIT_SPOT
from tradefabric.venues.bybit.parser import BybitParserStats, BybitStreamParser

MS = 1_000_000
LINEAR = "bybit-linear"
BTC_PERP = "BTC/USDT:USDT"


def _load(directory: Path, name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((directory / name).read_text())
    return loaded


def _raw(frame: dict[str, object]) -> bytes:
    return json.dumps(frame).encode()


def _linear() -> tuple[BybitStreamParser, Collected]:
    bus = MessageBus()
    return BybitStreamParser(bus, BYBIT_LINEAR), Collected(bus)


def test_orderbook_fixtures_give_exact_snapshot_and_deltas(bybit_fixtures: Path) -> None:
    parser, got = _linear()
    parser.on_frame(_raw(_load(bybit_fixtures, "ws_orderbook_snapshot.json")), 7)
    parser.on_frame(_raw(_load(bybit_fixtures, "ws_orderbook_delta.json")), 8)
    assert got.snapshots == [
        OrderBookSnapshot(
            LINEAR, BTC_PERP, ((27450.0, 0.5), (27449.5, 1.0)), ((27451.0, 0.75), (27451.5, 0.9)),
            123456789, 1709891679000 * MS, 7,
        )
    ]  # fmt: skip
    assert got.deltas == [
        OrderBookDeltas(
            LINEAR, BTC_PERP, ((27450.0, 0.4),), ((27451.0, 0.0),), 123456790, 123456790, -1,
            1709891679500 * MS, 8,
        )
    ]  # fmt: skip


def test_trade_fixture_as_v5_topic_gives_exact_trade(bybit_fixtures: Path) -> None:
    parser, got = _linear()
    frame = _load(bybit_fixtures, "ws_public_trade.json")
    # The fixture's "trade.linear.BTCUSDT" is not a v5 public topic; v5 says publicTrade.<symbol>.
    with pytest.raises(UnknownStreamError, match=r"trade\.linear\.BTCUSDT"):
        parser.on_frame(_raw(frame), 1)
    frame["topic"] = "publicTrade.BTCUSDT"
    parser.on_frame(_raw(frame), 5)
    assert got.trades == [
        Trade(
            LINEAR, BTC_PERP, 27451.0, 0.01, AggressorSide.BUY,
            "9dc75fca-4bdd-4773-9f78-6f5d7ab2a110", 1709891679000 * MS, 5,
        )
    ]  # fmt: skip


def test_linear_ticker_snapshot_then_deltas_keep_merged_state(bybit_fixtures: Path) -> None:
    parser, got = _linear()
    snapshot = _load(bybit_fixtures, "ws_ticker_linear.json")
    parser.on_frame(_raw(snapshot), 1)
    ts = 1673272861686 * MS
    assert got.quotes == [
        Quote(LINEAR, BTC_PERP, 17215.5, 84.489, 17216.0, 83.02, 24987956059, ts, 1)
    ]
    assert got.marks == [
        MarkPrice(LINEAR, BTC_PERP, 17217.33, 17227.36, -0.000212, 1673280000000 * MS, ts, 1)
    ]
    assert got.open_interest == [OpenInterest(LINEAR, BTC_PERP, 68744.761, ts, 1)]
    delta = {
        "topic": "tickers.BTCUSDT",
        "type": "delta",
        "data": {"symbol": "BTCUSDT", "ask1Price": "17216.50", "ask1Size": "1.5"},
        "cs": 24987956060,
        "ts": 1673272861786,
    }
    parser.on_frame(_raw(delta), 2)
    ts2 = 1673272861786 * MS
    assert got.quotes[-1] == Quote(
        LINEAR, BTC_PERP, 17215.5, 84.489, 17216.5, 1.5, 24987956060, ts2, 2
    )
    assert len(got.marks) == 1  # a delta without mark/index/funding changes no mark price
    state = parser.ticker(BTC_PERP)
    assert state is not None
    assert (state.last_price, state.open_interest_value, state.funding_rate) == (
        17216.0,
        1183601235.91,
        -0.000212,
    )
    assert (state.ask_price, state.cross_seq, state.ts_event) == (17216.5, 24987956060, ts2)
    delta["cs"] = 24987956000
    with pytest.raises(StaleMessageError, match="cs 24987956000"):
        parser.on_frame(_raw(delta), 3)


def test_spot_ticker_has_no_quote_but_keeps_state() -> None:
    bus = MessageBus()
    parser, got = BybitStreamParser(bus, BYBIT_SPOT), Collected(bus)
    frame = {
        "topic": "tickers.BTCUSDT",
        "ts": 1673853746003,
        "type": "snapshot",
        "cs": 2588407389,
        "data": {
            "symbol": "BTCUSDT", "lastPrice": "21109.77", "highPrice24h": "21426.99",
            "lowPrice24h": "20575", "prevPrice24h": "20704.93", "volume24h": "6780.866843",
            "turnover24h": "141946527.22907118", "price24hPcnt": "0.0196", "usdIndexPrice": "",
        },
    }  # fmt: skip
    parser.on_frame(_raw(frame), 1)
    assert got.quotes == [] and got.marks == [] and got.open_interest == []
    state = parser.ticker("BTC/USDT")
    assert state is not None
    assert (state.last_price, state.low_24h, state.change_24h, state.usd_index_price) == (
        21109.77,
        20575.0,
        0.0196,
        None,
    )


def test_kline_fixture_open_is_not_a_candle_confirmed_is(bybit_fixtures: Path) -> None:
    parser, got = _linear()
    frame = _load(bybit_fixtures, "ws_kline.json")
    frame["topic"] = "kline.5.BTCUSDT"
    parser.on_frame(_raw(frame), 1)
    assert got.candles == []
    kline = frame["data"][0]  # type: ignore[index]
    kline["confirm"] = True
    parser.on_frame(_raw(frame), 2)
    [candle] = got.candles
    assert isinstance(candle, Candle)
    assert (candle.interval, candle.ts_open, candle.ts_event) == (
        "5m",
        1672324800000 * MS,
        1672325100000 * MS,
    )
    assert (candle.open, candle.high, candle.low, candle.close, candle.volume) == (
        16649.5,
        16677.0,
        16608.0,
        16677.0,
        2.081,
    )
    assert candle.vwap == pytest.approx(34666.4005 / 2.081)
    assert candle.trades == -1 and math.isnan(candle.buy_volume)
    with pytest.raises(StaleMessageError):
        parser.on_frame(_raw(frame), 3)


def test_all_liquidation_doc_sample() -> None:
    parser, got = _linear()
    frame = {
        "topic": "allLiquidation.ROSEUSDT",
        "type": "snapshot",
        "ts": 1739502303204,
        "data": [{"T": 1739502302929, "s": "ROSEUSDT", "S": "Sell", "v": "20000", "p": "0.04499"}],
    }
    parser.on_frame(_raw(frame), 9)
    ts = 1739502302929 * MS
    # Bybit's S is the liquidated position: a short (Sell) is closed by a buy order.
    assert got.liquidations == [
        Liquidation(LINEAR, "ROSE/USDT:USDT", AggressorSide.BUY, 0.04499, 20000.0, ts, 9)
    ]
    latest = parser.liquidation("ROSE/USDT:USDT")
    assert latest is not None
    assert (latest.position_side, latest.bankruptcy_price) == ("short", 0.04499)


def test_acks_and_pongs_are_counted_not_published(bybit_fixtures: Path) -> None:
    parser, got = _linear()
    parser.on_frame(_raw(_load(bybit_fixtures, "ws_subscription_ack.json")), 1)
    parser.on_frame(b'{"success":true,"ret_msg":"pong","conn_id":"x","req_id":"","op":"ping"}', 2)
    parser.on_frame(b'{"args":["1672916271846"],"op":"pong"}', 3)
    with pytest.raises(UnknownStreamError, match="Invalid topic"):
        parser.on_frame(_raw(_load(bybit_fixtures, "ws_subscription_failure.json")), 4)
    assert parser.stats() == BybitParserStats(
        subscribe_acks=1,
        unsubscribe_acks=0,
        pongs=2,
        other_acks=0,
        rejected=1,
        last_rejection="subscribe : Invalid topic: invalid.topic.BTCUSDT",
    )
    assert got.trades == [] and got.snapshots == []


BOOK = (
    '{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,'
    '"data":{"s":"BTCUSDT","b":[[%s]],"a":[],"u":5}}'
)
TRADE = (
    '{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,'
    '"data":[{"T":1,"s":"BTCUSDT","S":"%s","v":"%s","p":"%s","i":"1"}]}'
)


@pytest.mark.parametrize(
    ("raw", "error", "match"),
    [
        (b"not json", MalformedMessageError, "not a Bybit frame"),
        (b"[1,2]", MalformedMessageError, "not a Bybit frame"),
        (b"{}", UnknownStreamError, "neither a topic nor an op"),
        ((BOOK % '"NaN","1"').encode(), MalformedMessageError, "orderbook.50.BTCUSDT"),
        ((BOOK % '"-1","1"').encode(), MalformedMessageError, r"\$.data.b\[0\]\[0\]"),
        ((BOOK % '"100","-2"').encode(), MalformedMessageError, r"\$.data.b\[0\]\[1\]"),
        ((BOOK % '"100","NaN"').encode(), MalformedMessageError, ">= 0.0"),
        ((TRADE % ("Buy", "1", "Infinity")).encode(), MalformedMessageError, "publicTrade"),
        ((TRADE % ("Buy", "-1", "10")).encode(), MalformedMessageError, r"\$.data\[0\].v"),
        ((TRADE % ("Up", "1", "10")).encode(), MalformedMessageError, "enum value .Up."),
        (b'{"topic":"orderbook.7.BTCUSDT","data":{}}', UnknownStreamError, "depth '7'"),
        (b'{"topic":"insurance.USDT","data":[]}', UnknownStreamError, "unknown Bybit topic"),
        (b'{"topic":"kline.2.BTCUSDT","data":[]}', UnknownStreamError, "kline interval"),
        (b'{"topic":"tickers.BTC-26DEC25","data":{}}', MalformedMessageError, "quote asset"),
    ],
)
def test_bad_frames_are_rejected_precisely(raw: bytes, error: type[Exception], match: str) -> None:
    parser, got = _linear()
    with pytest.raises(error, match=match):
        parser.on_frame(raw, 1)
    assert got.deltas == [] and got.trades == []


def test_bad_frame_of_a_known_topic_after_good_ones_takes_the_slow_path() -> None:
    parser, got = _linear()
    parser.on_frame((BOOK % '"100","1"').encode(), 1)
    with pytest.raises(MalformedMessageError, match=r"orderbook\.50\.BTCUSDT"):
        parser.on_frame((BOOK % '"100","NaN"').encode(), 2)
    wrong_symbol = (BOOK % '"100","1"').replace('"s":"BTCUSDT"', '"s":"ETHUSDT"')
    with pytest.raises(MalformedMessageError, match="ETHUSDT"):
        parser.on_frame(wrong_symbol.encode(), 3)
    assert len(got.deltas) == 1


def test_a_second_depth_of_one_symbol_is_refused() -> None:
    parser, _ = _linear()
    parser.subscribe_topics(["orderbook.50.BTCUSDT"])
    with pytest.raises(UnknownStreamError, match=r"already comes from orderbook\.50"):
        parser.subscribe_topics(["orderbook.200.BTCUSDT"])


def test_liquidations_are_not_a_spot_topic() -> None:
    parser = BybitStreamParser(MessageBus(), BYBIT_SPOT)
    with pytest.raises(UnknownStreamError, match="allLiquidation"):
        parser.subscribe_topics(["allLiquidation.BTCUSDT"])


def test_repeated_trade_frame_is_stale() -> None:
    parser, got = _linear()
    raw = (TRADE % ("Sell", "2", "10.5")).encode()
    parser.on_frame(raw, 1)
    with pytest.raises(StaleMessageError, match="already received"):
        parser.on_frame(raw, 2)
    assert [t.side for t in got.trades] == [AggressorSide.SELL]
