"""Import candle history from files into the Parquet catalog.

Formats (``FORMATS``): ``freqtrade`` (feather, parquet, json), ``binance-klines``
(data.binance.vision CSV/zip, or parquet), ``multi-exchange`` (one parquet per
venue and pair, layout recognised by columns) and ``generic`` (CSV or parquet
with a column mapping). Readers (``read_path``) yield each file's checked rows
in the catalog's candle schema; ``import_path`` commits them chunk by chunk.
"""

from __future__ import annotations

from tradefabric.store.importers.candles import candle_schema
from tradefabric.store.importers.errors import (
    AmbiguousColumnsError,
    BadTimestampError,
    BadValueError,
    FileNameError,
    ImportFileError,
    MissingColumnError,
    UnknownColumnsError,
)
from tradefabric.store.importers.formats import FORMATS, candle_format
from tradefabric.store.importers.formats.generic import parse_map
from tradefabric.store.importers.model import (
    TIME_UNITS,
    FileCandles,
    FileImport,
    FileReport,
    ImportOptions,
    ImportProgress,
    ImportSummary,
    TimeUnit,
)
from tradefabric.store.importers.reader import read_file, read_path
from tradefabric.store.importers.runner import import_path

__all__ = [
    "FORMATS",
    "TIME_UNITS",
    "AmbiguousColumnsError",
    "BadTimestampError",
    "BadValueError",
    "FileCandles",
    "FileImport",
    "FileNameError",
    "FileReport",
    "ImportFileError",
    "ImportOptions",
    "ImportProgress",
    "ImportSummary",
    "MissingColumnError",
    "TimeUnit",
    "UnknownColumnsError",
    "candle_format",
    "candle_schema",
    "import_path",
    "parse_map",
    "read_file",
    "read_path",
]
