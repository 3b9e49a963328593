"""Any CSV (with a header) or parquet file of candles, with a column mapping.

``--map ts_open=time,open=o,...`` names the source column of each candle
field; a field left out is looked for under its usual names (``ts_open``:
ts_open, timestamp, time, date, datetime, open_time; ``open``: open, o; ...),
case-insensitively. Two candidates for one field are ambiguous, a column no
field claims is unknown (skip it with ``--map ignore=COLUMN``): both are
errors naming the columns. Numeric times need ``--time-unit``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from tradefabric.core.errors import ConfigError
from tradefabric.store.importers.errors import (
    AmbiguousColumnsError,
    MissingColumnError,
    UnknownColumnsError,
)
from tradefabric.store.importers.layout import Layout, TimeColumn, quoted
from tradefabric.store.importers.model import ImportOptions
from tradefabric.store.importers.reader import CandleFormat, SourceTable, load_with

FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "ts_open": ("ts_open", "timestamp", "time", "date", "datetime", "open_time"),
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c"),
    "volume": ("volume", "vol", "v"),
    "trades": ("trades", "trade_count", "n_trades", "number_of_trades"),
    "buy_volume": ("buy_volume", "taker_buy_base", "taker_buy_volume", "buy_vol"),
    "vwap": ("vwap",),
    "quote_volume": ("quote_volume", "quote_asset_volume"),
}
"""Candle field -> the column names it is found under when ``--map`` does not name one."""

REQUIRED: Final = ("ts_open", "open", "high", "low", "close", "volume")
IGNORE: Final = "ignore"
"""The ``--map`` field that skips a column: ``--map ignore=notes``."""


def parse_map(text: str) -> tuple[tuple[str, str], ...]:
    """Parse ``ts_open=time,open=o`` into ``(("ts_open", "time"), ("open", "o"))``."""
    pairs: list[tuple[str, str]] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        field, sep, column = (s.strip() for s in item.partition("="))
        if not sep or not field or not column:
            raise ConfigError(f"--map item {item!r}: expected FIELD=COLUMN, e.g. ts_open=time")
        pairs.append((field, column))
    return tuple(pairs)


def _explicit(column_map: Sequence[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """Return the mapped fields and the ignored columns; raise on unknown or doubled entries."""
    mapped: dict[str, str] = {}
    ignored: list[str] = []
    for field, column in column_map:
        if field == IGNORE:
            ignored.append(column)
            continue
        if field not in FIELDS:
            raise ConfigError(
                f"--map: unknown field {field!r}; expected one of {', '.join(FIELDS)} or {IGNORE}"
            )
        if field in mapped:
            raise ConfigError(f"--map: field {field!r} mapped twice ({mapped[field]}, {column})")
        mapped[field] = column
    claimed = [*mapped.values(), *ignored]
    doubled = sorted({c for c in claimed if claimed.count(c) > 1})
    if doubled:
        raise ConfigError(f"--map: column(s) {quoted(doubled)} given for more than one field")
    return mapped, ignored


def resolve_mapping(
    columns: Sequence[str], column_map: Sequence[tuple[str, str]], file: Path
) -> tuple[dict[str, str], list[str]]:
    """Return ``field -> column`` for ``columns`` and the ignored columns; raise naming problems."""
    mapped, ignored = _explicit(column_map)
    absent = [c for c in (*mapped.values(), *ignored) if c not in columns]
    if absent:
        raise MissingColumnError(file, f"--map names column(s) {quoted(absent)} the file lacks")
    taken = {*mapped.values(), *ignored}
    for field, aliases in FIELDS.items():
        if field in mapped:
            continue
        found = [c for c in columns if c.lower() in aliases and c not in taken]
        if len(found) > 1:
            raise AmbiguousColumnsError(
                file,
                f"columns {quoted(found)} could each be {field}; choose with --map {field}=...",
            )
        if found:
            mapped[field] = found[0]
            taken.add(found[0])
    _check_complete(columns, mapped, taken, file)
    return mapped, ignored


def _check_complete(
    columns: Sequence[str], mapped: dict[str, str], taken: set[str], file: Path
) -> None:
    missing = [field for field in REQUIRED if field not in mapped]
    if missing:
        raise MissingColumnError(
            file,
            f"no column for {', '.join(missing)}; map one with --map FIELD=COLUMN "
            f"(columns: {quoted(columns)})",
        )
    if "vwap" in mapped and "quote_volume" in mapped:
        raise AmbiguousColumnsError(
            file,
            f"both vwap ({mapped['vwap']!r}) and quote_volume ({mapped['quote_volume']!r}) "
            f"give the vwap; skip one with --map {IGNORE}=COLUMN",
        )
    unknown = [c for c in columns if c not in taken]
    if unknown:
        raise UnknownColumnsError(
            file,
            f"unknown column(s) {quoted(unknown)}: map them (--map FIELD=COLUMN) "
            f"or skip them (--map {IGNORE}=COLUMN)",
        )


def layout_for(table: Any, options: ImportOptions, file: Path) -> Layout:
    """Return the layout the mapping gives for ``table``'s columns."""
    columns: list[str] = list(table.column_names)
    doubled = sorted({c for c in columns if columns.count(c) > 1})
    if doubled:
        raise AmbiguousColumnsError(file, f"column name(s) {quoted(doubled)} appear twice")
    mapped, ignored = resolve_mapping(columns, options.column_map, file)
    described = ",".join(f"{field}={mapped[field]}" for field in FIELDS if field in mapped)
    return Layout(
        name=f"generic({described})",
        time=TimeColumn(mapped["ts_open"], options.time_unit),
        open=mapped["open"],
        high=mapped["high"],
        low=mapped["low"],
        close=mapped["close"],
        volume=mapped["volume"],
        trades=mapped.get("trades"),
        buy_volume=mapped.get("buy_volume"),
        vwap=mapped.get("vwap"),
        quote_volume=mapped.get("quote_volume"),
        ignored=tuple(ignored),
    )


def load_csv(path: Path, options: ImportOptions) -> SourceTable:
    """Read a CSV with a header row (plain or .gz); every cell is parsed later as text.

    Sample rows: header ``time,o,h,l,c,v``, then
    ``2023-03-01T00:00:00Z,23133.2,23146.4,23133.2,23146.0,0.2683339``.
    """
    table = load_with(path, "CSV", _read_csv)
    return SourceTable(table, layout_for(table, options, path))


def load_parquet(path: Path, options: ImportOptions) -> SourceTable:
    """Read a parquet file of candles with any column names.

    Sample row: ``time=2023-03-01 00:00:00+00:00, o=23133.2, h=23146.4, l=23133.2,
    c=23146.0, v=0.2683339``.
    """
    table = load_with(path, "parquet", pq.read_table)
    return SourceTable(table, layout_for(table, options, path))


def _read_csv(path: Path) -> Any:
    with pcsv.open_csv(path) as reader:
        names = reader.schema.names
    strings = {name: pa.string() for name in names}
    return pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(column_types=strings))


GENERIC: Final = CandleFormat(
    name="generic",
    summary="any CSV (with header) or parquet, columns named by --map FIELD=COLUMN",
    example=(
        "tradefabric data import candles.csv --format generic --venue kraken --symbol BTC/USD "
        "--map ts_open=time,open=o,high=h,low=l,close=c,volume=v --time-unit s --catalog cat"
    ),
    loaders={".csv": load_csv, ".csv.gz": load_csv, ".parquet": load_parquet},
    takes_mapping=True,
)
