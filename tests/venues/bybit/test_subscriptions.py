"""Bybit v5 subscribe, unsubscribe and ping frames, within Bybit's documented limits."""

from __future__ import annotations

import json

import pytest

from tradefabric.core.errors import ConfigError
from tradefabric.venues.bybit.markets import BYBIT_LINEAR, BYBIT_SPOT, market, sequence_rules
from tradefabric.venues.bybit.subscriptions import (
    ping_frame,
    subscribe_frames,
    topics_for,
    unsubscribe_frames,
)
from tradefabric.venues.bybit.symbols import raw_symbol, unified_symbol


def test_linear_topics_and_one_subscribe_frame() -> None:
    frames = subscribe_frames(
        BYBIT_LINEAR, ["BTC/USDT:USDT", "ETH/USDT:USDT"], ["trade", "depth", "liquidation"]
    )
    assert [json.loads(f) for f in frames] == [
        {
            "op": "subscribe",
            "args": [
                "publicTrade.BTCUSDT", "orderbook.200.BTCUSDT", "allLiquidation.BTCUSDT",
                "publicTrade.ETHUSDT", "orderbook.200.ETHUSDT", "allLiquidation.ETHUSDT",
            ],
            "req_id": "sub-1",
        }
    ]  # fmt: skip


def test_spot_takes_at_most_ten_topics_per_request() -> None:
    symbols = [f"C{n}/USDT" for n in range(4)]
    frames = subscribe_frames(BYBIT_SPOT, symbols, ["trade", "ticker", "depth"])
    sizes = [len(json.loads(f)["args"]) for f in frames]
    assert sizes == [10, 2]
    assert json.loads(frames[1])["req_id"] == "sub-2"


def test_limits_and_unknown_channels_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="liquidation"):
        topics_for(BYBIT_SPOT, ["BTC/USDT"], ["liquidation"])
    symbols = [f"COIN{n}/USDT:USDT" for n in range(1000)]
    with pytest.raises(ConfigError, match="21000"):
        subscribe_frames(BYBIT_LINEAR, symbols, ["trade", "depth"])
    with pytest.raises(ConfigError, match="unknown Bybit venue"):
        market("bybit-inverse")


def test_ping_and_unsubscribe() -> None:
    assert json.loads(ping_frame()) == {"op": "ping"}
    assert json.loads(ping_frame("7")) == {"op": "ping", "req_id": "7"}
    [frame] = unsubscribe_frames(BYBIT_LINEAR, ["publicTrade.BTCUSDT"])
    assert json.loads(frame) == {
        "op": "unsubscribe",
        "args": ["publicTrade.BTCUSDT"],
        "req_id": "unsub-1",
    }


def test_symbols_and_rules() -> None:
    assert unified_symbol("BTCUSDT", BYBIT_SPOT) == "BTC/USDT"
    assert unified_symbol("BTCUSDT", BYBIT_LINEAR) == "BTC/USDT:USDT"
    assert unified_symbol("BTCPERP", BYBIT_LINEAR) == "BTC/USDC:USDC"
    assert unified_symbol("1000PEPEUSDT", BYBIT_LINEAR) == "1000PEPE/USDT:USDT"
    assert raw_symbol("BTC/USDT:USDT") == "BTCUSDT"
    assert set(sequence_rules()) == {"bybit", "bybit-linear"}
