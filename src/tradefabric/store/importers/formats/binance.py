"""Binance klines: the CSV files of data.binance.vision (plain or zipped) and their parquet form.

Columns, in order: open_time, open, high, low, close, volume, close_time,
quote_volume, trades, taker_buy_base, taker_buy_quote, ignore. Times are ms
since the epoch, or µs in spot files from 2025 on (told apart by size, row by
row). The CSVs have no header, except some futures files (then skipped).
``close_time`` is the interval's last ms (µs), so it gives the timeframe.
Names like ``BTCUSDT-1m-2024-01.zip`` give symbol and timeframe; the venue
(``binance``, ``binance-usdm``...) must be given.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any, Final

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from tradefabric.store.importers.errors import ImportFileError
from tradefabric.store.importers.layout import Layout, TimeColumn
from tradefabric.store.importers.model import FileHints, ImportOptions
from tradefabric.store.importers.names import pair_to_symbol
from tradefabric.store.importers.reader import CandleFormat, SourceTable, load_with
from tradefabric.venues.binance.markets import MARKETS

KLINE_COLUMNS: Final = (
    "open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume",
    "trades", "taker_buy_base", "taker_buy_quote", "ignore",
)  # fmt: skip

LAYOUT: Final = Layout(
    name="binance-klines",
    time=TimeColumn("open_time", "ms|us"),
    trades="trades",
    buy_volume="taker_buy_base",
    quote_volume="quote_volume",
    close_time=TimeColumn("close_time", "ms|us"),
    same_time=(TimeColumn("timestamp"),),
    ignored=("taker_buy_quote", "ignore"),
)
"""vwap = quote_volume / volume; buy volume = taker_buy_base. A ``timestamp``
column (a pandas index saved beside the klines) must equal open_time."""

_NAME = re.compile(r"(?P<pair>[A-Z0-9]+)-(?P<timeframe>[0-9]+[smhdwM])-[0-9]{4}-[0-9]{2}")
_STRINGS: Final = {name: pa.string() for name in KLINE_COLUMNS}


def hints(path: Path, venue: str | None) -> FileHints:
    """Return symbol and timeframe of ``BTCUSDT-1m-2024-01.csv`` (USD-M: ``BTC/USDT:USDT``)."""
    match = _NAME.match(path.name)
    if match is None:
        return FileHints()
    symbol = pair_to_symbol(match["pair"])
    market = MARKETS.get(venue or "")
    if symbol is not None and market is not None:
        symbol += market.settle_suffix.format(quote=symbol.split("/")[1])
    return FileHints(symbol=symbol, timeframe=match["timeframe"])


def load_csv(path: Path, _options: ImportOptions) -> SourceTable:
    """Read a kline CSV as data.binance.vision serves it.

    Sample row: ``1677628800000,23140.48,23150.77,23128.52,23142.31,2.131777,
    1677628859999,49326.19241998,69,1.07550800,24886.97980418,0``.
    """
    return SourceTable(load_with(path, "Binance kline CSV", _read_csv_file), LAYOUT)


def load_zip(path: Path, _options: ImportOptions) -> SourceTable:
    """Read the one kline CSV inside a data.binance.vision zip (2025 spot: µs times).

    Sample row: ``1735689600000000,93576.00,93610.93,93537.50,93610.93,8.21827,
    1735689659999999,768978.2,1764,3.95086,369710.6,0``.
    """
    return SourceTable(load_with(path, "zipped Binance kline CSV", _read_zip), LAYOUT)


def load_parquet(path: Path, _options: ImportOptions) -> SourceTable:
    """Read klines saved as parquet with the CSV's column names (some may be strings).

    Sample row: ``open_time=1677628800000, open=23140.48, high=23150.77,
    low=23128.52, close=23142.31, volume=2.131777, close_time=1677628859999,
    quote_volume='49326.19241998', trades=69, taker_buy_base='1.07550800',
    taker_buy_quote='24886.97980418', ignore='0', timestamp=2023-03-01 00:00:00+00:00``.
    """
    return SourceTable(load_with(path, "parquet", pq.read_table), LAYOUT)


def _read_csv_file(path: Path) -> Any:
    return _parse_csv(path, path.read_bytes())


def _read_zip(path: Path) -> Any:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [n for n in archive.namelist() if n.lower().endswith(".csv")]
            if len(members) != 1:
                raise ImportFileError(path, f"expected one .csv inside, found {len(members)}")
            data = archive.read(members[0])
    except zipfile.BadZipFile as exc:
        raise ImportFileError(path, f"not a zip file: {exc}") from None
    return _parse_csv(path, data)


def _parse_csv(path: Path, data: bytes) -> Any:
    first = data.split(b"\n", 1)[0].split(b",", 1)[0].strip()
    header = bool(first) and not first.isdigit()
    if header and first != b"open_time":
        raise ImportFileError(
            path, f"first column is {first.decode(errors='replace')!r}, not open_time"
        )
    try:
        return pcsv.read_csv(
            io.BytesIO(data),
            read_options=pcsv.ReadOptions(column_names=list(KLINE_COLUMNS), skip_rows=int(header)),
            convert_options=pcsv.ConvertOptions(column_types=_STRINGS),
        )
    except pa.ArrowInvalid as exc:
        raise ImportFileError(path, f"not a 12-column Binance kline CSV: {exc}") from None


BINANCE_KLINES: Final = CandleFormat(
    name="binance-klines",
    summary="Binance kline CSV (data.binance.vision, .csv or .zip; ms or µs times) or parquet",
    example=(
        "tradefabric data import BTCUSDT-1m-2025-01.zip --format binance-klines "
        "--venue binance --catalog cat"
    ),
    loaders={".csv": load_csv, ".zip": load_zip, ".parquet": load_parquet},
    hints=hints,
)
