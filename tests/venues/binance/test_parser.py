"""Binance parser: current-format fixtures in, domain events out; bad frames rejected precisely."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tradefabric.core.bus import MessageBus
from tradefabric.core.errors import (
    MalformedMessageError,
    StaleMessageError,
    UnknownStreamError,
)
from tradefabric.data import topics
from tradefabric.model.data import (
    Candle,
    Liquidation,
    MarkPrice,
    OpenInterest,
    OrderBookDeltas,
    OrderBookSnapshot,
    Quote,
    Trade,
    TradeGap,
)
from tradefabric.model.enums import AggressorSide
from tradefabric.venues.binance.markets import BINANCE_SPOT, BINANCE_USDM
from tradefabric.venues.binance.parser import BinanceStreamParser

FIXTURES = Path("binance/futures/market_data_json")


class Collected:
    """Every domain event the parser published, by type."""

    def __init__(self, bus: MessageBus) -> None:
        self.bus = bus
        self.trades: list[Trade] = []
        self.quotes: list[Quote] = []
        self.deltas: list[OrderBookDeltas] = []
        self.snapshots: list[OrderBookSnapshot] = []
        self.candles: list[Candle] = []
        bus.subscribe(topics.TRADES, self.trades.append)
        bus.subscribe(topics.QUOTES, self.quotes.append)
        bus.subscribe(topics.BOOK_DELTAS, self.deltas.append)
        bus.subscribe(topics.BOOK_SNAPSHOTS, self.snapshots.append)
        bus.subscribe(topics.CANDLES, self.candles.append)


def _envelope(stream: str, data: dict[str, object]) -> bytes:
    return json.dumps({"stream": stream, "data": data}).encode()


def _fixture(shared_data: Path, name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(
        (shared_data / "format_fixtures" / FIXTURES / name).read_text()
    )
    return loaded


@pytest.fixture
def usdm() -> tuple[BinanceStreamParser, Collected]:
    bus = MessageBus()
    return BinanceStreamParser(bus, BINANCE_USDM), Collected(bus)


@pytest.fixture
def spot() -> tuple[BinanceStreamParser, Collected]:
    bus = MessageBus()
    return BinanceStreamParser(bus, BINANCE_SPOT), Collected(bus)


def test_trade_fixture(shared_data: Path, usdm: tuple[BinanceStreamParser, Collected]) -> None:
    parser, got = usdm
    data = _fixture(shared_data, "trade_stream.json")
    parser.on_frame(_envelope("btcusdt@trade", data), 42)
    assert got.trades == [
        Trade("binance-usdm", "BTC/USDT:USDT", 0.001, 100.0, AggressorSide.SELL, "5933014",
              123456785 * 1_000_000, 42)
    ]  # fmt: skip


def test_agg_trade_fixture(shared_data: Path, usdm: tuple[BinanceStreamParser, Collected]) -> None:
    parser, got = usdm
    parser.on_frame(
        _envelope("btcusdt@aggTrade", _fixture(shared_data, "agg_trade_stream.json")), 7
    )
    (trade,) = got.trades
    assert (trade.trade_id, trade.price, trade.size, trade.side) == (
        "5933014", 0.001, 100.0, AggressorSide.SELL,
    )  # fmt: skip
    assert trade.ts_event == 123456785 * 1_000_000


def test_book_ticker_fixture(
    shared_data: Path, usdm: tuple[BinanceStreamParser, Collected]
) -> None:
    parser, got = usdm
    data = _fixture(shared_data, "book_ticker_stream.json")
    parser.on_frame(_envelope("bnbusdt@bookTicker", data), 99)
    assert got.quotes == [
        Quote("binance-usdm", "BNB/USDT:USDT", 25.3519, 31.21, 25.3652, 40.66, 400900217,
              1568014460893 * 1_000_000, 99)
    ]  # fmt: skip


def test_depth_fixture_keeps_previous_id(
    shared_data: Path, usdm: tuple[BinanceStreamParser, Collected]
) -> None:
    parser, got = usdm
    data = _fixture(shared_data, "depth_update_stream.json")
    parser.on_frame(_envelope("btcusdt@depth@0ms", data), 5)
    (deltas,) = got.deltas
    assert (deltas.first_id, deltas.last_id, deltas.prev_id) == (157, 160, 149)
    assert deltas.bids == ((0.0024, 10.0),)
    assert deltas.asks == ((0.0026, 100.0),)


def test_kline_published_only_when_closed(
    shared_data: Path, usdm: tuple[BinanceStreamParser, Collected]
) -> None:
    parser, got = usdm
    parser.on_frame(
        _envelope("btcusdt@kline_1m", _fixture(shared_data, "kline_stream_open.json")), 1
    )
    assert got.candles == []
    closed = _fixture(shared_data, "kline_stream_closed.json")
    parser.on_frame(_envelope("btcusdt@kline_1m", closed), 2)
    (candle,) = got.candles
    assert (candle.interval, candle.open, candle.high, candle.low, candle.close) == (
        "1m", 0.001, 0.0025, 0.001, 0.002,
    )  # fmt: skip
    assert (candle.volume, candle.trades, candle.buy_volume) == (1000.0, 100, 500.0)
    assert candle.vwap == pytest.approx(1.0 / 1000.0)
    assert candle.ts_event - candle.ts_open == 60_000_000_000


def test_spot_book_ticker_has_no_event_time(spot: tuple[BinanceStreamParser, Collected]) -> None:
    parser, got = spot
    frame = (
        b'{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT",'
        b'"b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}'
    )
    parser.on_frame(frame, 1_723_161_254_087_891_268)
    (quote,) = got.quotes
    assert quote.symbol == "BTC/USDT"
    assert quote.ts_event == quote.ts_recv == 1_723_161_254_087_891_268


def test_inline_snapshot_is_attributed_to_the_depth_stream(
    spot: tuple[BinanceStreamParser, Collected],
) -> None:
    parser, got = spot
    depth = {"e": "depthUpdate", "E": 1, "s": "ETHUSDT", "U": 5, "u": 6, "b": [], "a": []}
    parser.on_frame(_envelope("ethusdt@depth@100ms", depth), 1)
    parser.on_frame(b'{"lastUpdateId":5,"bids":[["2683.8","3.0"]],"asks":[["2683.81","1"]]}', 2)
    (snapshot,) = got.snapshots
    assert (snapshot.symbol, snapshot.sequence) == ("ETH/USDT", 5)
    assert snapshot.bids == ((2683.8, 3.0),)


def test_snapshot_without_depth_stream_is_rejected(
    spot: tuple[BinanceStreamParser, Collected],
) -> None:
    parser, got = spot
    with pytest.raises(MalformedMessageError, match="exactly one depth stream"):
        parser.on_frame(b'{"lastUpdateId":5,"bids":[],"asks":[]}', 1)
    assert got.snapshots == []


TRADE = {
    "e": "trade",
    "E": 1,
    "s": "BTCUSDT",
    "t": 10,
    "p": "100.5",
    "q": "0.2",
    "T": 1,
    "m": False,
}


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("p", "NaN", r"btcusdt@trade: .*`\$\.p`"),
        ("p", "-1.0", r"btcusdt@trade: .*`\$\.p`"),
        ("q", "0", r"btcusdt@trade: .*`\$\.q`"),
        ("q", "-0.5", r"btcusdt@trade: .*`\$\.q`"),
        ("q", "inf", r"btcusdt@trade: .*`\$\.q`"),
        ("p", "abc", r"btcusdt@trade: .*`\$\.p`"),
        ("t", "x", r"btcusdt@trade: .*`\$\.t`"),
    ],
)
def test_bad_trade_values_are_rejected_with_their_path(
    spot: tuple[BinanceStreamParser, Collected], field: str, value: str, fragment: str
) -> None:
    parser, got = spot
    parser.on_frame(_envelope("btcusdt@trade", TRADE), 1)  # teaches the parser the stream
    bad = {**TRADE, "t": 11, field: value}
    with pytest.raises(MalformedMessageError, match=fragment):
        parser.on_frame(_envelope("btcusdt@trade", bad), 2)
    assert len(got.trades) == 1  # what was accepted before stays accepted


def test_bad_value_on_first_frame_of_a_stream(spot: tuple[BinanceStreamParser, Collected]) -> None:
    parser, got = spot
    with pytest.raises(MalformedMessageError, match="btcusdt@trade"):
        parser.on_frame(_envelope("btcusdt@trade", dict(TRADE, p="nan")), 1)
    parser.on_frame(_envelope("btcusdt@trade", TRADE), 2)
    assert [t.trade_id for t in got.trades] == ["10"]


def test_negative_depth_size_is_rejected(spot: tuple[BinanceStreamParser, Collected]) -> None:
    parser, got = spot
    depth = {"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": 5, "u": 6,
             "b": [["100.0", "-1"]], "a": []}  # fmt: skip
    with pytest.raises(MalformedMessageError):
        parser.on_frame(_envelope("btcusdt@depth@100ms", depth), 1)
    assert got.deltas == []


def test_duplicate_and_out_of_order_trades_are_stale(
    spot: tuple[BinanceStreamParser, Collected],
) -> None:
    parser, got = spot
    parser.on_frame(_envelope("btcusdt@trade", TRADE), 1)
    parser.on_frame(_envelope("btcusdt@trade", dict(TRADE, t=12)), 2)
    for trade_id in (12, 11):
        with pytest.raises(StaleMessageError, match="not after the last seen 12"):
            parser.on_frame(_envelope("btcusdt@trade", dict(TRADE, t=trade_id)), 3)
    assert [t.trade_id for t in got.trades] == ["10", "12"]


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (b'{"stream":"btcusdt@ticker","data":{}}', UnknownStreamError),
        (b'{"stream":"@trade","data":{}}', UnknownStreamError),
        (b'{"result":null,"id":1}', UnknownStreamError),
        (b'{"stream":"btcusdt@trade","data":{"e":"tra', MalformedMessageError),
        (b"not json at all", MalformedMessageError),
        (b'["stream"]', MalformedMessageError),
        (b'{"stream":"zz@trade","data":{}}', MalformedMessageError),
    ],
)
def test_frames_that_are_not_market_data(
    spot: tuple[BinanceStreamParser, Collected], frame: bytes, error: type[Exception]
) -> None:
    parser, got = spot
    with pytest.raises(error):
        parser.on_frame(frame, 1)
    assert got.trades == got.quotes == []


def test_unknown_stream_does_not_break_known_ones(
    spot: tuple[BinanceStreamParser, Collected],
) -> None:
    parser, got = spot
    parser.on_frame(_envelope("btcusdt@trade", TRADE), 1)
    with pytest.raises(UnknownStreamError, match="ticker"):
        parser.on_frame(b'{"stream":"btcusdt@ticker","data":{}}', 2)
    parser.on_frame(_envelope("ethbtc@trade", dict(TRADE, s="ETHBTC")), 3)
    assert [t.symbol for t in got.trades] == ["BTC/USDT", "ETH/BTC"]


def test_mark_price_fixture(shared_data: Path) -> None:
    bus = MessageBus()
    marks: list[MarkPrice] = []
    bus.subscribe(topics.MARK_PRICES, marks.append)
    parser = BinanceStreamParser(bus, BINANCE_USDM)
    data = _fixture(shared_data, "mark_price_stream.json")
    parser.on_frame(_envelope("btcusdt@markPrice@1s", data), 3)
    assert marks == [
        MarkPrice("binance-usdm", "BTC/USDT:USDT", 11794.15, 11784.62659091, 0.00038167,
                  1562306400000 * 1_000_000, 1562305380000 * 1_000_000, 3)
    ]  # fmt: skip


def test_liquidation_fixture(shared_data: Path) -> None:
    bus = MessageBus()
    liquidations: list[Liquidation] = []
    bus.subscribe(topics.LIQUIDATIONS, liquidations.append)
    parser = BinanceStreamParser(bus, BINANCE_USDM)
    data = _fixture(shared_data, "liquidation_stream.json")
    parser.on_frame(_envelope("btcusdt@forceOrder", data), 4)
    assert liquidations == [
        Liquidation("binance-usdm", "BTC/USDT:USDT", AggressorSide.SELL, 9910.12345678, 0.014,
                    1568014460893 * 1_000_000, 4)
    ]  # fmt: skip


def test_open_interest_reply() -> None:
    bus = MessageBus()
    got: list[OpenInterest] = []
    bus.subscribe(topics.OPEN_INTEREST, got.append)
    parser = BinanceStreamParser(bus, BINANCE_USDM)
    parser.on_open_interest(
        b'{"openInterest":"10659.509","symbol":"BTCUSDT","time":1589437530011}', 9
    )
    assert got == [
        OpenInterest("binance-usdm", "BTC/USDT:USDT", 10659.509, 1589437530011 * 10**6, 9)
    ]
    with pytest.raises(MalformedMessageError, match="open interest"):
        parser.on_open_interest(b'{"openInterest":"-1","symbol":"BTCUSDT","time":1}', 9)


def test_trade_id_jump_is_published_as_a_gap(spot: tuple[BinanceStreamParser, Collected]) -> None:
    parser, got = spot
    bus_gaps: list[TradeGap] = []
    got.bus.subscribe(topics.TRADE_GAPS, bus_gaps.append)
    parser.on_frame(_envelope("btcusdt@trade", TRADE), 1)
    parser.on_frame(_envelope("btcusdt@trade", {**TRADE, "t": 15}), 2)
    assert [(g.first_missing, g.last_missing, g.missing) for g in bus_gaps] == [(11, 14, 4)]
    assert [t.trade_id for t in got.trades] == ["10", "15"]
