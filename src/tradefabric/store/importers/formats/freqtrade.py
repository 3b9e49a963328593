"""freqtrade's candle files: feather, parquet, json and json.gz (``user_data/data/<exchange>/``).

Names are ``<BASE>_<QUOTE>-<timeframe>.<ext>`` (futures:
``<BASE>_<QUOTE>_<SETTLE>-<timeframe>-futures.<ext>``), optionally inside a
longer name such as ``binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather``.
The name gives the symbol and the timeframe; the exchange is the folder's
name in freqtrade, so the venue must be given.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Final

import msgspec

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa
import pyarrow.feather as pf
import pyarrow.parquet as pq

from tradefabric.store.importers.errors import FileNameError, ImportFileError
from tradefabric.store.importers.layout import Layout, TimeColumn
from tradefabric.store.importers.model import FileHints, ImportOptions
from tradefabric.store.importers.reader import CandleFormat, SourceTable, load_with

LAYOUT: Final = Layout(name="freqtrade", time=TimeColumn("date", "ms"))
"""Columns ``date`` (UTC; ms since the epoch in json), open, high, low, close, volume."""

_JSON_COLUMNS: Final = ("date", "open", "high", "low", "close", "volume")
_NAME = re.compile(
    r"(?P<base>[A-Z0-9]+)_(?P<quote>[A-Z0-9]+)(?:_(?P<settle>[A-Z0-9]+))?"
    r"-(?P<timeframe>[0-9]+[smhdwMy])(?:-(?P<kind>[a-z_]+))?(?=$|_)"
)
_TRADE_CANDLES: Final = frozenset((None, "spot", "futures"))
_JSON_ROW = re.compile(r"\$\[(\d+)\](?:\[(\d+)\])?")

_JsonRows = list[tuple[int, float, float, float, float, float]]


def hints(path: Path, _venue: str | None) -> FileHints:
    """Return the symbol and timeframe ``path``'s name gives (``BTC_USDT-1m.feather``)."""
    stem = path.name.split(".", 1)[0]
    match = _NAME.search(stem)
    if match is None:
        return FileHints()
    if match["kind"] not in _TRADE_CANDLES:
        raise FileNameError(
            path, f"holds freqtrade {match['kind']!r} candles, not trade candles; not importable"
        )
    settle = f":{match['settle']}" if match["settle"] else ""
    return FileHints(
        symbol=f"{match['base']}/{match['quote']}{settle}", timeframe=match["timeframe"]
    )


def load_feather(path: Path, _options: ImportOptions) -> SourceTable:
    """Read a freqtrade feather file (pandas frame written by pyarrow).

    Sample row: ``date=2024-07-26 14:15:00+00:00, open=67745.75, high=67784.0,
    low=67726.0, close=67768.0, volume=26.98425``.
    """
    return SourceTable(load_with(path, "feather", pf.read_table), LAYOUT)


def load_parquet(path: Path, _options: ImportOptions) -> SourceTable:
    """Read a freqtrade parquet file; same columns as feather.

    Sample row: ``date=2024-07-26 14:15:00+00:00, open=67745.75, high=67784.0,
    low=67726.0, close=67768.0, volume=26.98425``.
    """
    return SourceTable(load_with(path, "parquet", pq.read_table), LAYOUT)


def load_json(path: Path, _options: ImportOptions) -> SourceTable:
    """Read a freqtrade json or json.gz file: a list of ``[ms, open, high, low, close, volume]``.

    Sample row: ``[1721996100000, 67745.75, 67784.0, 67726.0, 67768.0, 26.98425]``.
    """
    raw = load_with(path, "json", _read_bytes)
    try:
        rows = msgspec.json.decode(raw, type=_JsonRows)
    except msgspec.ValidationError as exc:
        raise _json_error(path, exc) from None
    except msgspec.DecodeError as exc:
        raise ImportFileError(path, f"not valid JSON: {exc}") from None
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in _JSON_COLUMNS]
    types = (pa.int64(), *(pa.float64() for _ in _JSON_COLUMNS[1:]))
    arrays = [pa.array(values, kind) for values, kind in zip(columns, types, strict=True)]
    return SourceTable(pa.Table.from_arrays(arrays, names=list(_JSON_COLUMNS)), LAYOUT)


def _read_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.lower().endswith(".gz") else data


def _json_error(path: Path, exc: msgspec.ValidationError) -> ImportFileError:
    where = _JSON_ROW.search(str(exc))
    if where is None:
        return ImportFileError(path, f"not a freqtrade candle list: {exc}")
    row = int(where[1]) + 1
    column = _JSON_COLUMNS[int(where[2])] if where[2] is not None else None
    problem = str(exc).split(" - at ", 1)[0]
    return ImportFileError(path, f"{problem} (expected [ms, o, h, l, c, v])", column, row)


FREQTRADE: Final = CandleFormat(
    name="freqtrade",
    summary="freqtrade candles: <BASE>_<QUOTE>-<timeframe>.feather/.parquet/.json/.json.gz",
    example=(
        "tradefabric data import ../shared/data/candles_1m --format freqtrade "
        "--venue binance --catalog cat"
    ),
    loaders={
        ".feather": load_feather,
        ".parquet": load_parquet,
        ".json": load_json,
        ".json.gz": load_json,
    },
    hints=hints,
)
