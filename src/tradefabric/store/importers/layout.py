"""Source layouts as data: which column of a file holds which candle field.

Every format comes down to a ``Layout``: freqtrade's, Binance's kline layout,
each venue of the multi-exchange set, or one built from a ``--map`` option.
``read_layout`` checks a table's columns against it (naming every unknown or
missing one) and converts the columns it names into plain numpy arrays.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from tradefabric.core.time import NS_PER_SECOND, ns_to_iso
from tradefabric.store.importers.columns import (
    F64,
    I64,
    to_float64,
    to_int64,
    to_ns,
    unit_ns,
)
from tradefabric.store.importers.errors import (
    BadTimestampError,
    MissingColumnError,
    UnknownColumnsError,
)
from tradefabric.store.importers.model import TimeUnit

NO_TRADE_COUNT = -1
"""The catalog's ``trades`` value when the source does not count trades."""


class TimeColumn(msgspec.Struct, frozen=True):
    """A time column and its unit (``None``: the column must be typed as a timestamp)."""

    name: str
    unit: TimeUnit | None = None


class Layout(msgspec.Struct, frozen=True):
    """Where one source keeps each candle field; ``None`` where it does not have it.

    ``vwap`` is taken as is; else ``quote_volume / volume`` where volume > 0.
    ``close_time`` (Binance) holds the last time unit of the interval, so it
    gives the interval. ``same_time`` columns, where present, must hold the
    same open times as ``time``. ``ignored`` columns may be present and are
    not imported. Any other column is unknown.
    """

    name: str
    time: TimeColumn
    open: str = "open"
    high: str = "high"
    low: str = "low"
    close: str = "close"
    volume: str = "volume"
    trades: str | None = None
    buy_volume: str | None = None
    vwap: str | None = None
    quote_volume: str | None = None
    close_time: TimeColumn | None = None
    same_time: tuple[TimeColumn, ...] = ()
    ignored: tuple[str, ...] = ()

    @property
    def prices(self) -> tuple[tuple[str, str], ...]:
        """Return ``(candle field, source column)`` for open, high, low and close."""
        return (("open", self.open), ("high", self.high), ("low", self.low), ("close", self.close))

    @property
    def required(self) -> frozenset[str]:
        """Return the columns a file must have."""
        named = (
            self.time.name,
            *(source for _, source in self.prices),
            self.volume,
            self.trades,
            self.buy_volume,
            self.vwap,
            self.quote_volume,
            None if self.close_time is None else self.close_time.name,
        )
        return frozenset(name for name in named if name is not None)

    @property
    def optional(self) -> frozenset[str]:
        """Return the columns a file may have besides the required ones."""
        return frozenset((*(c.name for c in self.same_time), *self.ignored))

    def mismatch(self, columns: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Return ``(missing, unknown)`` columns of a file with ``columns``."""
        present = list(columns)
        missing = tuple(sorted(self.required.difference(present)))
        known = self.required | self.optional
        unknown = tuple(name for name in present if name not in known)
        return missing, unknown


class CandleColumns(msgspec.Struct, frozen=True):
    """A file's candle fields as numpy arrays, in file order, with the layout they came from."""

    layout: Layout
    ts_open: I64
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64
    trades: I64
    buy_volume: F64
    vwap: F64
    interval_ns: int | None
    """The interval the data itself states (Binance ``close_time``), else None."""

    def __len__(self) -> int:
        return len(self.ts_open)

    def price(self, field: str) -> F64:
        """Return the array of candle field ``field`` (open, high, low, close, volume...)."""
        values: F64 = getattr(self, field)
        return values


def quoted(names: Iterable[str]) -> str:
    """Return ``names`` as ``'a', 'b'`` for error messages."""
    return ", ".join(repr(name) for name in names)


def check_columns(columns: Iterable[str], layout: Layout, file: Path) -> None:
    """Raise if the file lacks a column ``layout`` needs or has one it does not know."""
    missing, unknown = layout.mismatch(columns)
    if missing:
        raise MissingColumnError(
            file, f"missing column(s) {quoted(missing)} of the {layout.name} layout"
        )
    if unknown:
        raise UnknownColumnsError(
            file, f"unknown column(s) {quoted(unknown)} for the {layout.name} layout"
        )


def read_layout(table: Any, layout: Layout, file: Path) -> CandleColumns:
    """Check ``table`` (pa.Table) against ``layout`` and return its candle fields."""
    check_columns(table.column_names, layout, file)
    time = layout.time
    ts_open = to_ns(table[time.name], time.unit, file, time.name)
    for other in layout.same_time:
        if other.name in table.column_names:
            _check_same_time(
                ts_open, to_ns(table[other.name], other.unit, file, other.name), file, other.name
            )
    rows = table.num_rows
    volume = to_float64(table[layout.volume], file, layout.volume)
    prices = {field: to_float64(table[source], file, source) for field, source in layout.prices}
    return CandleColumns(
        layout=layout,
        ts_open=ts_open,
        volume=volume,
        trades=_optional_int(table, layout.trades, file, rows),
        buy_volume=_optional_float(table, layout.buy_volume, file, rows),
        vwap=_vwap(table, layout, volume, file),
        interval_ns=_interval_from_close(table, layout, ts_open, file),
        **prices,
    )


def _optional_int(table: Any, column: str | None, file: Path, rows: int) -> I64:
    if column is None:
        return np.full(rows, NO_TRADE_COUNT, dtype=np.int64)
    return to_int64(table[column], file, column, NO_TRADE_COUNT)


def _optional_float(table: Any, column: str | None, file: Path, rows: int) -> F64:
    if column is None:
        return np.full(rows, np.nan, dtype=np.float64)
    return to_float64(table[column], file, column)


def _vwap(table: Any, layout: Layout, volume: F64, file: Path) -> F64:
    if layout.vwap is not None or layout.quote_volume is None:
        return _optional_float(table, layout.vwap, file, len(volume))
    quote_volume = to_float64(table[layout.quote_volume], file, layout.quote_volume)
    vwap: F64 = np.full(len(volume), np.nan, dtype=np.float64)
    np.divide(quote_volume, volume, out=vwap, where=volume > 0)
    return vwap


def _check_same_time(ts_open: I64, other: I64, file: Path, column: str) -> None:
    differ = np.flatnonzero(ts_open != other)
    if len(differ):
        row = int(differ[0])
        raise BadTimestampError(
            file,
            f"{ns_to_iso(int(other[row]))} differs from the open time "
            f"{ns_to_iso(int(ts_open[row]))}",
            column,
            row + 1,
        )


def _interval_from_close(table: Any, layout: Layout, ts_open: I64, file: Path) -> int | None:
    spec = layout.close_time
    if spec is None or spec.unit is None or not len(ts_open):
        return None
    close_ns = to_ns(table[spec.name], spec.unit, file, spec.name)
    raw = to_int64(table[spec.name], file, spec.name, 0)
    intervals = close_ns + unit_ns(raw, spec.unit) - ts_open
    differ = np.flatnonzero(intervals != intervals[0])
    if len(differ):
        row = int(differ[0])
        raise BadTimestampError(
            file,
            f"closes {intervals[row] / NS_PER_SECOND:g} s after its open, but row 1 "
            f"{intervals[0] / NS_PER_SECOND:g} s after its open",
            spec.name,
            row + 1,
        )
    if intervals[0] <= 0:
        raise BadTimestampError(file, "close time is not after the open time", spec.name, 1)
    return int(intervals[0])
