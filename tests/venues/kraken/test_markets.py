"""Kraken markets, symbols, REST AssetPairs precisions and subscription frames."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tradefabric.core.errors import ConfigError, MalformedMessageError, RateLimitedError
from tradefabric.model.data import Quote
from tradefabric.venues.kraken.book import KrakenPairs
from tradefabric.venues.kraken.encode import KrakenEncoder
from tradefabric.venues.kraken.markets import KRAKEN_SPOT, PairPrecision, interval_name, market
from tradefabric.venues.kraken.rest import asset_pair_precisions, parse_rest_trades
from tradefabric.venues.kraken.subscriptions import (
    Subscription,
    ping_frame,
    subscribe_frames,
    unsubscribe_frame,
)
from tradefabric.venues.kraken.symbols import rest_pair_to_symbol, symbol_to_rest_pair

from .conftest import Pipeline


def test_market_is_data() -> None:
    assert market("kraken") is KRAKEN_SPOT
    assert KRAKEN_SPOT.ws_url == "wss://ws.kraken.com/v2"
    with pytest.raises(ConfigError):
        market("kraken-futures")
    assert [interval_name(m) for m in KRAKEN_SPOT.ohlc_intervals] == [
        "1m", "5m", "15m", "30m", "1h", "4h", "1d", "7d", "15d",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("rest", "unified"),
    [("XXBTZUSD", "BTC/USD"), ("XBTUSDT", "BTC/USDT"), ("XETHZEUR", "ETH/EUR"),
     ("XDGUSD", "DOGE/USD"), ("ADAXBT", "ADA/BTC"), ("XBT/CHF", "BTC/CHF"),
     ("USDTZUSD", "USDT/USD"), ("SOLUSD", "SOL/USD")],
)  # fmt: skip
def test_rest_pair_names(rest: str, unified: str) -> None:
    assert rest_pair_to_symbol(rest) == unified


def test_symbol_to_rest_pair() -> None:
    assert symbol_to_rest_pair("BTC/USDT") == "XBTUSDT"
    assert symbol_to_rest_pair("DOGE/USD") == "XDGUSD"
    with pytest.raises(MalformedMessageError):
        rest_pair_to_symbol("QQQQ")


def test_real_asset_pairs_give_precisions(shared_data: Path) -> None:
    """The 2021 REST AssetPairs capture agrees with the built-in table on every listed pair."""
    line = (shared_data / "ws_captures" / "KRAKEN.0").read_text().splitlines()[0]
    precisions = asset_pair_precisions(line.partition(": ")[2].encode())
    assert len(precisions) == 293  # 304 pairs, 11 dark-pool ones without a wsname
    for symbol, precision in KRAKEN_SPOT.pair_precisions.items():
        if symbol in precisions:
            assert precisions[symbol] == precision, symbol
    assert precisions["BTC/USD"] == PairPrecision(1, 8)
    current = asset_pair_precisions(
        (shared_data / "format_fixtures/kraken/http_asset_pairs.json").read_bytes()
    )
    assert current["BTC/USDT"] == PairPrecision(1, 8)


def test_rest_errors() -> None:
    with pytest.raises(RateLimitedError):
        parse_rest_trades(b'{"error":["EGeneral:Too many requests"]}', "kraken", 0)
    with pytest.raises(MalformedMessageError):
        parse_rest_trades(b'{"error":[],"result":{"XBTUSD":[["x"]]}}', "kraken", 0)


def test_subscribe_frames() -> None:
    frames = subscribe_frames(KRAKEN_SPOT, ["trade", "book", "ohlc", "instrument"],
                              ["BTC/USD", "ETH/USD"], depth=25, interval=5)  # fmt: skip
    assert [json.loads(f) for f in frames] == [
        {"method": "subscribe", "params": {"channel": "trade", "symbol": ["BTC/USD", "ETH/USD"]},
         "req_id": 1},
        {"method": "subscribe", "params": {"channel": "book", "symbol": ["BTC/USD", "ETH/USD"],
         "depth": 25}, "req_id": 2},
        {"method": "subscribe", "params": {"channel": "ohlc", "symbol": ["BTC/USD", "ETH/USD"],
         "interval": 5}, "req_id": 3},
        {"method": "subscribe", "params": {"channel": "instrument"}, "req_id": 4},
    ]  # fmt: skip
    unsub = unsubscribe_frame(KRAKEN_SPOT, Subscription(channel="ticker", symbols=("BTC/USD",)))
    assert json.loads(unsub) == {
        "method": "unsubscribe", "params": {"channel": "ticker", "symbol": ["BTC/USD"]},
    }  # fmt: skip
    assert json.loads(ping_frame(7)) == {"method": "ping", "req_id": 7}


@pytest.mark.parametrize(
    "sub",
    [Subscription(channel="level3"), Subscription(channel="book", depth=7),
     Subscription(channel="ohlc", symbols=("BTC/USD",)),
     Subscription(channel="trade", symbols=("BTCUSD",))],
)  # fmt: skip
def test_bad_subscriptions_fail_at_start(sub: Subscription) -> None:
    with pytest.raises(ConfigError):
        unsubscribe_frame(KRAKEN_SPOT, sub)


def test_ticker_round_trip(pipeline: Pipeline) -> None:
    encoder = KrakenEncoder(KrakenPairs.for_market(KRAKEN_SPOT))
    quote = Quote("kraken", "ETH/USD", 3012.34, 1.5, 3012.35, 0.00012345, -1, 10**18, 10**18)
    raw = encoder.ticker(quote)
    assert b'"bid":3012.34,"bid_qty":1.50000000' in raw
    pipeline.parser.on_frame(raw, 10**18)
    assert pipeline.events.quotes == [quote]
