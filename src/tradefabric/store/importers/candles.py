"""Check a file's candle fields and build the catalog's candle table from them.

Rejected (an error naming the file, the source column and the first bad row):
NaN, empty, zero or negative prices; NaN or negative volumes; a high below
the open, close or low, or a low above the open or close; open times before
2009 or from 2100 on (a wrong time unit), or off the interval's grid (a wrong
timeframe, or close times taken for open times).

Reported, not rejected: rows out of time order (sorted) and repeated open
times (the first row of each is kept).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Final

import msgspec
import numpy as np

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa

from tradefabric.core.time import ns_to_iso
from tradefabric.store.importers.columns import F64, I64
from tradefabric.store.importers.errors import BadTimestampError, BadValueError
from tradefabric.store.importers.layout import CandleColumns
from tradefabric.store.importers.model import FileCandles, FileReport
from tradefabric.store.schema import arrow_schema

_EARLIEST_NS: Final = int(dt.datetime(2009, 1, 3, tzinfo=dt.UTC).timestamp()) * 10**9
_LATEST_NS: Final = int(dt.datetime(2100, 1, 1, tzinfo=dt.UTC).timestamp()) * 10**9


def candle_schema() -> Any:
    """Return the catalog's candle schema (pa.Schema)."""
    return arrow_schema("candles")


class CandleIdentity(msgspec.Struct, frozen=True):
    """Where a file's candles belong in the catalog."""

    venue: str
    symbol: str
    interval: str
    interval_ns: int


class _Order(msgspec.Struct, frozen=True):
    """Which rows to keep, in time order, and what was out of order or repeated."""

    keep: I64
    out_of_order: int
    first_out_of_order_row: int | None
    duplicates: int
    first_duplicate_row: int | None


def build_candles(
    columns: CandleColumns, identity: CandleIdentity, file: Path, fmt: str
) -> FileCandles:
    """Check ``columns`` and return them as catalog rows, sorted by open time, one per time."""
    check_values(columns, file)
    check_times(columns, identity, file)
    order = _order(columns.ts_open)
    table = _table(columns, identity, order.keep)
    ts_open = columns.ts_open[order.keep]
    report = FileReport(
        file=str(file),
        format=fmt,
        layout=columns.layout.name,
        venue=identity.venue,
        symbol=identity.symbol,
        interval=identity.interval,
        rows_read=len(columns),
        rows_kept=len(order.keep),
        duplicates_in_file=order.duplicates,
        first_duplicate_row=order.first_duplicate_row,
        out_of_order=order.out_of_order,
        first_out_of_order_row=order.first_out_of_order_row,
        ts_first=int(ts_open[0]) if len(ts_open) else None,
        ts_last=int(ts_open[-1]) if len(ts_open) else None,
    )
    return FileCandles(report=report, table=table)


def check_values(columns: CandleColumns, file: Path) -> None:
    """Raise on the first NaN, empty or non-positive price, bad volume or inconsistent high/low."""
    layout = columns.layout
    for field, source in layout.prices:
        values = columns.price(field)
        _first_bad(file, source, values, ~(values > 0), "is not a positive price")
    volume = columns.volume
    _first_bad(file, layout.volume, volume, ~(volume >= 0), "is not a volume (NaN or negative)")
    if layout.buy_volume is not None:
        buy = columns.buy_volume
        _first_bad(file, layout.buy_volume, buy, buy < 0, "is a negative volume")
    top = np.maximum(np.maximum(columns.open, columns.close), columns.low)
    _first_bad(file, layout.high, columns.high, columns.high < top, "is below open, close or low")
    bottom = np.minimum(columns.open, columns.close)
    _first_bad(file, layout.low, columns.low, columns.low > bottom, "is above open or close")


def _first_bad(file: Path, column: str, values: F64, bad: Any, problem: str) -> None:
    rows = np.flatnonzero(bad)
    if len(rows):
        row = int(rows[0])
        raise BadValueError(file, f"{float(values[row])!r} {problem}", column, row + 1)


def check_times(columns: CandleColumns, identity: CandleIdentity, file: Path) -> None:
    """Raise on the first open time out of 2009..2099 or off the interval grid."""
    ts = columns.ts_open
    column = columns.layout.time.name
    outside = np.flatnonzero((ts < _EARLIEST_NS) | (ts >= _LATEST_NS))
    if len(outside):
        row = int(outside[0])
        raise BadTimestampError(
            file,
            f"open time {int(ts[row])} ns is outside 2009..2099: wrong time unit?",
            column,
            row + 1,
        )
    off_grid = np.flatnonzero(ts % identity.interval_ns)
    if len(off_grid):
        row = int(off_grid[0])
        raise BadTimestampError(
            file,
            f"open time {ns_to_iso(int(ts[row]))} is not on the {identity.interval} grid: "
            "wrong timeframe, or not the interval's open time?",
            column,
            row + 1,
        )


def _order(ts: I64) -> _Order:
    if not len(ts):
        return _Order(np.arange(0, dtype=np.int64), 0, None, 0, None)
    backwards = np.flatnonzero(ts[1:] < ts[:-1])
    order = np.argsort(ts, kind="stable")
    ordered = ts[order]
    repeat = np.zeros(len(ts), dtype=bool)
    repeat[1:] = ordered[1:] == ordered[:-1]
    # The sort is stable, so a repeated time's first row in the file comes first.
    duplicates = order[repeat]
    keep: I64 = order[~repeat].astype(np.int64)
    return _Order(
        keep=keep,
        out_of_order=len(backwards),
        first_out_of_order_row=int(backwards[0]) + 2 if len(backwards) else None,
        duplicates=len(duplicates),
        first_duplicate_row=int(duplicates.min()) + 1 if len(duplicates) else None,
    )


def _table(columns: CandleColumns, identity: CandleIdentity, keep: I64) -> Any:
    rows = len(keep)
    ts_open = columns.ts_open[keep]
    ts_event = ts_open + identity.interval_ns
    zeros = np.zeros(rows, dtype=np.int64)
    arrays = [
        pa.repeat(pa.scalar(identity.venue, pa.string()), rows),
        pa.repeat(pa.scalar(identity.symbol, pa.string()), rows),
        pa.repeat(pa.scalar(identity.interval, pa.string()), rows),
        ts_open,
        columns.open[keep],
        columns.high[keep],
        columns.low[keep],
        columns.close[keep],
        columns.volume[keep],
        columns.trades[keep],
        columns.buy_volume[keep],
        columns.vwap[keep],
        ts_event,
        ts_event,
        zeros,
        zeros,
    ]
    return pa.Table.from_arrays(arrays, schema=candle_schema())
