"""ccxt's unified rows to catalog tables (the ``candles`` and ``trades`` columns of ``schema``).

A row that cannot be stored truthfully (missing or non-finite price, negative
size, unknown side) is left out and counted, never guessed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import msgspec

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa

from tradefabric.core.time import NS_PER_MS
from tradefabric.store.schema import arrow_schema

_SIDES: Final = frozenset({"buy", "sell"})
_CANDLES: Final = arrow_schema("candles")
_TRADES: Final = arrow_schema("trades")


class PageRows(msgspec.Struct, frozen=True):
    """One page of downloaded rows as a catalog table, and what was left out."""

    table: Any
    """A ``pa.Table`` with the catalog columns, in the catalog's order."""
    rejected: int
    first_ns: int | None
    """Time of the first row kept (``ts_open`` of candles, ``ts_event`` of trades)."""
    last_ns: int | None

    @property
    def rows(self) -> int:
        """Return how many rows the table holds."""
        return int(self.table.num_rows)


def candle_rows(
    venue: str,
    symbol: str,
    *,
    interval: str,
    interval_ns: int,
    ohlcv: Sequence[Sequence[Any]],
    ts_recv: int,
) -> PageRows:
    """Convert ccxt OHLCV rows (``fetch_ohlcv``) into catalog candles.

    One row as ccxt returns it: ``[1723161240000, 61803.5, 62000.0, 61795.71,
    61947.02, 80.32624]`` (open time in ms, open, high, low, close, base volume).
    The trade count, taker-buy volume and VWAP are not in it: stored as unknown
    (-1, NaN, NaN). ``ts_event`` is the candle's close, ``ts_open + interval``.
    """
    kept = [row for row in ohlcv if _valid_candle(row)]
    opens = [int(row[0]) * NS_PER_MS for row in kept]
    n = len(kept)
    columns: dict[str, list[Any]] = {
        "venue": [venue] * n,
        "symbol": [symbol] * n,
        "interval": [interval] * n,
        "ts_open": opens,
        "open": [float(row[1]) for row in kept],
        "high": [float(row[2]) for row in kept],
        "low": [float(row[3]) for row in kept],
        "close": [float(row[4]) for row in kept],
        "volume": [float(row[5]) for row in kept],
        "trades": [-1] * n,
        "buy_volume": [math.nan] * n,
        "vwap": [math.nan] * n,
        "ts_event": [ts + interval_ns for ts in opens],
        "ts_recv": [ts_recv] * n,
        "revision": [0] * n,
        "flags": [0] * n,
    }
    return _page(_CANDLES, columns, len(ohlcv) - n, opens)


def trade_rows(
    venue: str, symbol: str, trades: Sequence[Mapping[str, Any]], ts_recv: int
) -> PageRows:
    """Convert ccxt trades (``fetch_trades``) into catalog trades; ``side`` is the aggressor's.

    One trade as ccxt returns it (Binance aggTrades): ``{"id": "3735683262",
    "timestamp": 1723161255617, "price": 61837.59, "amount": 0.00016, "side": "sell",
    "info": {"a": 3735683262, "p": "61837.59000000", "q": "0.00016000", ...}, ...}``.
    """
    kept = [t for t in trades if _valid_trade(t)]
    times = [int(t["timestamp"]) * NS_PER_MS for t in kept]
    n = len(kept)
    columns: dict[str, list[Any]] = {
        "venue": [venue] * n,
        "symbol": [symbol] * n,
        "ts_event": times,
        "ts_recv": [ts_recv] * n,
        "price": [float(t["price"]) for t in kept],
        "size": [float(t["amount"]) for t in kept],
        "side": [t["side"] for t in kept],
        "trade_id": [str(t["id"]) for t in kept],
    }
    return _page(_TRADES, columns, len(trades) - n, times)


def _page(
    schema: pa.Schema, columns: dict[str, list[Any]], rejected: int, times: list[int]
) -> PageRows:
    table = pa.Table.from_pydict(columns, schema=schema)
    return PageRows(
        table=table,
        rejected=rejected,
        first_ns=min(times) if times else None,
        last_ns=max(times) if times else None,
    )


def _finite(value: object, minimum: float, strict: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    number = float(value)
    return math.isfinite(number) and (number > minimum if strict else number >= minimum)


def _valid_candle(row: Sequence[Any]) -> bool:
    if len(row) < 6 or not isinstance(row[0], int) or row[0] < 0:
        return False
    return all(_finite(v, 0.0, strict=True) for v in row[1:5]) and _finite(row[5], 0.0, False)


def _valid_trade(trade: Mapping[str, Any]) -> bool:
    timestamp = trade.get("timestamp")
    return (
        trade.get("id") is not None
        and isinstance(timestamp, int)
        and timestamp >= 0
        and _finite(trade.get("price"), 0.0, strict=True)
        and _finite(trade.get("amount"), 0.0, strict=True)
        and trade.get("side") in _SIDES
    )
