"""Builders of market data events with fixed, checkable values."""

from __future__ import annotations

from tradefabric.model.data import Candle, Quote, Trade
from tradefabric.model.enums import AggressorSide

MIDNIGHT = 1_723_161_600_000_000_000
"""2024-08-09T00:00:00Z in ns."""


def make_trade(
    ts: int,
    *,
    price: float = 60_000.5,
    size: float = 0.25,
    side: AggressorSide = AggressorSide.BUY,
    trade_id: str = "t1",
    venue: str = "binance",
    symbol: str = "BTC/USDT:USDT",
) -> Trade:
    return Trade(venue, symbol, price, size, side, trade_id, ts, ts + 1_000)


def make_quote(
    ts: int,
    bid: float = 60_000.0,
    ask: float = 60_000.1,
    venue: str = "binance",
    symbol: str = "BTC/USDT:USDT",
) -> Quote:
    return Quote(venue, symbol, bid, 1.5, ask, 2.25, 42, ts, ts + 2_000)


def make_candle(ts_open: int, interval: str = "1m", venue: str = "binance") -> Candle:
    return Candle(
        venue,
        "BTC/USDT:USDT",
        interval,
        ts_open,
        100.0,
        110.5,
        99.25,
        105.0,
        12.5,
        7,
        5.0,
        104.75,
        ts_open + 60_000_000_000,
        ts_open + 60_000_500_000,
    )
