"""Column layout of the Parquet catalog, shared by the writer and the DuckDB views.

One table per data type. The writer and the empty views both derive their
types from here, so a query sees the same columns whether files exist or not.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

import msgspec

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa

DataType = Literal[
    "trades",
    "quotes",
    "candles",
    "liquidations",
    "open_interest",
    "mark_prices",
    "anomalies",
    "corrections",
    "arbitrage",
    "macro",
]
"""The name of one catalog table; also its top-level directory under the root.

``anomalies``, ``corrections`` and ``arbitrage`` hold what the data integrity
layer (``tradefabric.integrity``) found; the market data it checked is never changed.
"""

ColumnKind = Literal["string", "int64", "float64"]

DATA_TYPES: Final[tuple[DataType, ...]] = get_args(DataType)
"""Every catalog table, in the order above."""

_DUCKDB_TYPES: Final[dict[ColumnKind, str]] = {
    "string": "VARCHAR",
    "int64": "BIGINT",
    "float64": "DOUBLE",
}


_ARROW_TYPES: Final = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64()}


class Column(msgspec.Struct, frozen=True):
    """One column of a catalog table: its name and storage kind."""

    name: str
    kind: ColumnKind

    @property
    def duckdb_type(self) -> str:
        """Return the DuckDB SQL type this column is read as."""
        return _DUCKDB_TYPES[self.kind]


def _columns(*spec: tuple[str, ColumnKind]) -> tuple[Column, ...]:
    return tuple(Column(name, kind) for name, kind in spec)


TRADE_COLUMNS: Final = _columns(
    ("venue", "string"),
    ("symbol", "string"),
    ("ts_event", "int64"),
    ("ts_recv", "int64"),
    ("price", "float64"),
    ("size", "float64"),
    ("side", "string"),
    ("trade_id", "string"),
)

QUOTE_COLUMNS: Final = _columns(
    ("venue", "string"),
    ("symbol", "string"),
    ("ts_event", "int64"),
    ("ts_recv", "int64"),
    ("bid", "float64"),
    ("bid_size", "float64"),
    ("ask", "float64"),
    ("ask_size", "float64"),
)

CANDLE_COLUMNS: Final = _columns(
    ("venue", "string"),
    ("symbol", "string"),
    ("interval", "string"),
    ("ts_open", "int64"),
    ("open", "float64"),
    ("high", "float64"),
    ("low", "float64"),
    ("close", "float64"),
    ("volume", "float64"),
    ("trades", "int64"),
    ("buy_volume", "float64"),
    ("vwap", "float64"),
    ("ts_event", "int64"),
    ("ts_recv", "int64"),
    ("revision", "int64"),
    ("flags", "int64"),
)

# The derivatives tables list their columns in the order of the domain struct's
# fields, so the writer can buffer an event's fields as they come.
LIQUIDATION_COLUMNS: Final = _columns(
    ("venue", "string"),
    ("symbol", "string"),
    ("side", "string"),
    ("price", "float64"),
    ("size", "float64"),
    ("ts_event", "int64"),
    ("ts_recv", "int64"),
)
"""Forced closes: ``sell`` closed a long, ``buy`` a short (``model.data.Liquidation``)."""

OPEN_INTEREST_COLUMNS: Final = _columns(
    ("venue", "string"),
    ("symbol", "string"),
    ("open_interest", "float64"),
    ("ts_event", "int64"),
    ("ts_recv", "int64"),
)

MARK_PRICE_COLUMNS: Final = _columns(
    ("venue", "string"),
    ("symbol", "string"),
    ("mark_price", "float64"),
    ("index_price", "float64"),
    ("funding_rate", "float64"),
    ("next_funding_ts", "int64"),
    ("ts_event", "int64"),
    ("ts_recv", "int64"),
)

ANOMALY_COLUMNS: Final = _columns(
    ("venue", "string"),
    ("symbol", "string"),
    ("kind", "string"),
    ("ts_event", "int64"),
    ("ts_end", "int64"),
    ("value", "float64"),
    ("expected", "float64"),
    ("score", "float64"),
    ("detail", "string"),
    ("ts_recv", "int64"),
)
"""One anomaly: a candle, quote or feed that failed a check (``ts_end`` closes an episode).

Stablecoin de-pegs are rows of kind ``depeg`` with venue ``consensus``."""

CORRECTION_COLUMNS: Final = (
    *CANDLE_COLUMNS,
    *_columns(("reason", "string"), ("original_close", "float64")),
)
"""A corrected or interpolated candle; the original stays untouched in ``candles``."""

ARBITRAGE_COLUMNS: Final = _columns(
    ("venue", "string"),
    ("symbol", "string"),
    ("sell_venue", "string"),
    ("sell_symbol", "string"),
    ("asset", "string"),
    ("ts_start", "int64"),
    ("ts_peak", "int64"),
    ("ts_end", "int64"),
    ("gross_bps_peak", "float64"),
    ("net_bps_peak", "float64"),
    ("net_bps_mean", "float64"),
    ("size", "float64"),
    ("notional_usd", "float64"),
    ("minutes", "int64"),
    ("ts_recv", "int64"),
)
"""One arbitrage episode: buy on ``venue``/``symbol``, sell on ``sell_venue``/``sell_symbol``."""

MACRO_COLUMNS: Final = _columns(
    ("venue", "string"),
    ("symbol", "string"),
    ("ts_event", "int64"),
    ("ts_recv", "int64"),
    ("btc_dominance", "float64"),
    ("total_market_cap_usd", "float64"),
    ("btc_market_cap_usd", "float64"),
)
"""Dated market-wide readings (``analytics.macro.MacroReading``): venue is the source
(``coingecko``), symbol ``GLOBAL``; ``ts_event`` is when the source published the value."""

COLUMNS: Final[dict[DataType, tuple[Column, ...]]] = {
    "trades": TRADE_COLUMNS,
    "quotes": QUOTE_COLUMNS,
    "candles": CANDLE_COLUMNS,
    "liquidations": LIQUIDATION_COLUMNS,
    "open_interest": OPEN_INTEREST_COLUMNS,
    "mark_prices": MARK_PRICE_COLUMNS,
    "anomalies": ANOMALY_COLUMNS,
    "corrections": CORRECTION_COLUMNS,
    "arbitrage": ARBITRAGE_COLUMNS,
    "macro": MACRO_COLUMNS,
}


class CandleSeries(msgspec.Struct, frozen=True):
    """One stored candle series: a venue's candles of one symbol at one interval."""

    venue: str
    symbol: str
    interval: str


class RowCounts(msgspec.Struct, frozen=True):
    """Row counts per catalog table."""

    trades: int = 0
    quotes: int = 0
    candles: int = 0
    liquidations: int = 0
    open_interest: int = 0
    mark_prices: int = 0
    anomalies: int = 0
    corrections: int = 0
    arbitrage: int = 0
    macro: int = 0


def arrow_schema(data_type: DataType) -> pa.Schema:
    """Return the pyarrow schema of one catalog table, in column order."""
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.kind]) for c in COLUMNS[data_type]])


def symbol_dir_name(symbol: str) -> str:
    """Return ``symbol`` made safe as a path segment (``BTC/USDT:USDT`` -> ``BTC-USDT_USDT``)."""
    return symbol.replace("/", "-").replace(":", "_")
