"""The multi-exchange 1m set (``multi_exchange_1m_2023-03/``): one parquet file per venue and pair.

Each venue's file has its own columns; the layout is recognised from the
columns alone (exactly one layout must fit), the venue and symbol from the
name ``<venue>_<pair>.parquet`` (``kraken_usdtusd.parquet`` -> kraken, USDT/USD).
Sample rows, one per layout:

- binance (Binance.US): ``open_time=1677628800000, open=23140.48, high=23150.77,
  low=23128.52, close=23142.31, volume=2.131777, close_time=1677628859999,
  quote_volume='49326.19241998', trades=69, taker_buy_base='1.07550800',
  taker_buy_quote='24886.97980418', ignore='0', timestamp=2023-03-01 00:00Z``
- coinbase: ``start='1677628800', low=23134.31, high=23153.68, open=23144.37,
  close=23146.93, volume=7.24789927, timestamp=2023-03-01 00:00Z``
- kraken: ``open=23133.2, high=23146.4, low=23133.2, close=23146.0,
  volume=0.2683339, trades=12, timestamp=2023-03-01 00:00Z``
- cryptocom: ``open=23150.02, high=23154.84, low=23134.92, close=23147.98,
  volume=3.0737, t=1677628800000, timestamp=2023-03-01 00:00Z``
- bybit: ``open=23145.03, high=23154.73, low=23138.52, close=23151.65,
  volume=0.617819, n_trades=42, buy_vol=0.194497, sell_vol=0.423322,
  obi=-0.37, spread_proxy=0.0007, log_return=None, price_chg=None,
  signed_vol_abs=0.228825, kyle_lambda=None, dt=2023-03-01 00:00Z``
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import msgspec

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow.parquet as pq

from tradefabric.store.importers.errors import (
    AmbiguousColumnsError,
    MissingColumnError,
    UnknownColumnsError,
)
from tradefabric.store.importers.formats.binance import LAYOUT as BINANCE_KLINE_LAYOUT
from tradefabric.store.importers.layout import Layout, TimeColumn, quoted
from tradefabric.store.importers.model import FileHints, ImportOptions
from tradefabric.store.importers.names import pair_to_symbol
from tradefabric.store.importers.reader import CandleFormat, SourceTable, load_with

_TIMESTAMP: Final = TimeColumn("timestamp")
"""The minute open as a UTC timestamp, saved beside each source's own time column."""


class VenueLayout(msgspec.Struct, frozen=True):
    """One venue of the set: its file name prefix, catalog venue name and column layout."""

    prefix: str
    venue: str
    layout: Layout


_BYBIT_DERIVED: Final = (
    "sell_vol", "obi", "spread_proxy", "log_return", "price_chg", "signed_vol_abs", "kyle_lambda",
)  # fmt: skip
"""Bybit columns derived from its trades that candles do not hold (sell volume = volume - buy)."""

VENUE_LAYOUTS: Final[tuple[VenueLayout, ...]] = (
    # Binance.US, not binance.com: a different exchange with its own prices.
    VenueLayout(
        "binance", "binanceus", msgspec.structs.replace(BINANCE_KLINE_LAYOUT, name="binance")
    ),
    VenueLayout(
        "coinbase",
        "coinbase",
        Layout(name="coinbase", time=TimeColumn("start", "s"), same_time=(_TIMESTAMP,)),
    ),
    VenueLayout("kraken", "kraken", Layout(name="kraken", time=_TIMESTAMP, trades="trades")),
    VenueLayout(
        "cryptocom",
        "cryptocom",
        Layout(name="cryptocom", time=TimeColumn("t", "ms"), same_time=(_TIMESTAMP,)),
    ),
    VenueLayout(
        "bybit",
        "bybit",
        Layout(
            name="bybit",
            time=TimeColumn("dt"),
            trades="n_trades",
            buy_volume="buy_vol",
            ignored=_BYBIT_DERIVED,
        ),
    ),
)
_VENUES: Final = {v.prefix: v.venue for v in VENUE_LAYOUTS}


def hints(path: Path, _venue: str | None) -> FileHints:
    """Return venue and symbol of ``<venue>_<pair>.parquet`` (``binance_x`` is Binance.US)."""
    prefix, sep, pair = path.name.split(".", 1)[0].partition("_")
    if not sep:
        return FileHints()
    return FileHints(venue=_VENUES.get(prefix.lower()), symbol=pair_to_symbol(pair))


def detect(columns: list[str], file: Path) -> Layout:
    """Return the one layout whose columns ``columns`` are; raise naming what does not fit.

    The error compares with the closest layout, the file name's venue breaking ties.
    """
    fits = [v.layout for v in VENUE_LAYOUTS if v.layout.mismatch(columns) == ((), ())]
    if len(fits) > 1:
        raise AmbiguousColumnsError(
            file, f"columns fit several layouts: {quoted(f.name for f in fits)}"
        )
    if fits:
        return fits[0]

    named = file.name.split("_", 1)[0].lower()

    def distance(venue: VenueLayout) -> tuple[int, bool]:
        missing, unknown = venue.layout.mismatch(columns)
        return len(missing) + len(unknown), venue.prefix != named

    closest = min(VENUE_LAYOUTS, key=distance).layout
    missing, unknown = closest.mismatch(columns)
    prefix = f"columns fit no multi-exchange layout; the closest, {closest.name}, "
    if not unknown:
        raise MissingColumnError(file, f"{prefix}needs column(s) {quoted(missing)}")
    lacks = f" and lacks {quoted(missing)}" if missing else ""
    raise UnknownColumnsError(file, f"{prefix}does not know column(s) {quoted(unknown)}{lacks}")


def load_parquet(path: Path, _options: ImportOptions) -> SourceTable:
    """Read one venue's parquet file and recognise its layout by its columns.

    Sample row (kraken): ``open=23133.2, high=23146.4, low=23133.2, close=23146.0,
    volume=0.2683339, trades=12, timestamp=2023-03-01 00:00:00+00:00``.
    """
    table = load_with(path, "parquet", pq.read_table)
    return SourceTable(table, detect(table.column_names, path))


MULTI_EXCHANGE: Final = CandleFormat(
    name="multi-exchange",
    summary="one parquet per venue and pair, <venue>_<pair>.parquet; layout found by columns",
    example=(
        "tradefabric data import ../shared/data/multi_exchange_1m_2023-03 "
        "--format multi-exchange --catalog cat"
    ),
    loaders={".parquet": load_parquet},
    hints=hints,
)
