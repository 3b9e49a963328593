"""Every Arrow text type and numeric width, written as real Parquet, imports to the same candles.

pandas >= 3 writes text columns as ``large_string``; other writers use ``string``,
``string_view`` or dictionary-encoded text (categoricals), and numbers come in every
width from int8 to decimal256. Each case writes the real Kraken March 2023 candles
(or, for types too narrow for BTC prices, an order-preserving rescale of them)
with pyarrow and reads them back through the generic importer.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.store.importers.helpers import assert_same_candles
from tradefabric.store.importers import FORMATS, FileCandles, ImportOptions, read_file

KRAKEN = "kraken_btcusd.parquet"
PRICES = ("open", "high", "low", "close")
ROWS = 2_000

TEXT_TYPES = {
    "string": pa.string(),
    "large_string": pa.large_string(),
    "string_view": pa.string_view(),
    "dictionary": pa.dictionary(pa.int32(), pa.string()),
}


@pytest.fixture(scope="module")
def kraken_raw(multi_dir: Path) -> Any:
    return pq.read_table(multi_dir / KRAKEN)


def _write(table: Any, path: Path, expect: dict[str, Any]) -> Path:
    pq.write_table(table, path)
    stored = pq.read_schema(path)
    for name, arrow_type in expect.items():
        # The file really holds that type: no silent widening by the writer.
        assert stored.field(name).type == arrow_type, (name, stored.field(name).type)
    return path


def _read(path: Path, **options: Any) -> FileCandles:
    return read_file(path, FORMATS["generic"], ImportOptions(venue="kraken", symbol="BTC/USD",
                                                             **options))  # fmt: skip


@pytest.mark.parametrize("name", TEXT_TYPES)
def test_text_columns_of_every_arrow_text_type(
    name: str, kraken_raw: Any, read_all: dict[str, FileCandles], tmp_path: Path
) -> None:
    text_type = TEXT_TYPES[name]
    seconds = [t // 10**9 for t in kraken_raw["timestamp"].cast(pa.int64()).to_pylist()]
    columns = {c: [repr(v) for v in kraken_raw[c].to_pylist()] for c in (*PRICES, "volume")}
    columns["trades"] = [str(v) for v in kraken_raw["trades"].to_pylist()]
    columns["timestamp"] = [str(s) for s in seconds]
    table = pa.table({c: pa.array(v).cast(text_type) for c, v in columns.items()})
    path = _write(table, tmp_path / f"{name}.parquet", dict.fromkeys(columns, text_type))
    read = _read(path, time_unit="s")
    assert read.report.rows_read == 30_179
    assert_same_candles(read.table, read_all[KRAKEN].table)


def test_iso_times_as_large_string(kraken_raw: Any, tmp_path: Path) -> None:
    head = kraken_raw.slice(0, ROWS)
    iso = pa.array([t.isoformat() for t in head["timestamp"].to_pylist()], pa.large_string())
    table = head.set_column(head.schema.get_field_index("timestamp"), "timestamp", iso)
    path = _write(table, tmp_path / "iso.parquet", {"timestamp": pa.large_string()})
    read = _read(path, time_unit="iso")
    assert read.table["ts_open"].to_pylist() == head["timestamp"].cast(pa.int64()).to_pylist()


def _rescaled(values: np.ndarray, low: float, high: float, limit: int) -> np.ndarray:
    # Monotone, so high >= open/close >= low still holds on every rescaled candle.
    return np.round((values - low) / (high - low) * (limit - 1)).astype(np.int64) + 1


NUMERIC_TYPES = {
    "int8": pa.int8(), "int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64(),
    "uint8": pa.uint8(), "uint16": pa.uint16(), "uint32": pa.uint32(), "uint64": pa.uint64(),
    "float16": pa.float16(), "float32": pa.float32(), "float64": pa.float64(),
    "decimal32": pa.decimal32(9, 2), "decimal64": pa.decimal64(12, 2),
    "decimal128": pa.decimal128(20, 2), "decimal256": pa.decimal256(40, 2),
}  # fmt: skip


def _values_for(arrow_type: Any, head: Any) -> dict[str, list[Any]]:
    """Return OHLCV and trades of ``head`` as Python values the type holds exactly."""
    prices = np.stack([head[c].to_numpy() for c in PRICES])
    volume = head["volume"].to_numpy()
    trades = head["trades"].to_numpy()
    if pa.types.is_integer(arrow_type):
        limit = min(int(np.iinfo(arrow_type.to_pandas_dtype()).max), 1_000_000)
        scaled = _rescaled(prices, prices.min(), prices.max(), limit)
        out = {c: scaled[i].tolist() for i, c in enumerate(PRICES)}
        out["volume"] = _rescaled(volume, volume.min(), volume.max(), limit).tolist()
        out["trades"] = np.minimum(trades, limit).tolist()
        return out
    if pa.types.is_floating(arrow_type):
        cast = {16: np.float16, 32: np.float32, 64: np.float64}[arrow_type.bit_width]
        out = {c: prices[i].astype(cast).tolist() for i, c in enumerate(PRICES)}
        out["volume"] = volume.astype(cast).tolist()
        out["trades"] = np.minimum(trades, 2048).astype(cast).tolist()
        return out
    out = {c: [Decimal(f"{v:.2f}") for v in prices[i]] for i, c in enumerate(PRICES)}
    out["volume"] = [Decimal(f"{v:.2f}") for v in volume]
    out["trades"] = [Decimal(int(v)) for v in trades]
    return out


@pytest.mark.parametrize("name", NUMERIC_TYPES)
def test_numbers_of_every_width(name: str, kraken_raw: Any, tmp_path: Path) -> None:
    arrow_type = NUMERIC_TYPES[name]
    head = kraken_raw.slice(0, ROWS)
    values = _values_for(arrow_type, head)
    columns = {c: pa.array(v, arrow_type) for c, v in values.items()}
    table = pa.table({**columns, "timestamp": head["timestamp"]})
    path = _write(table, tmp_path / f"{name}.parquet", dict.fromkeys(values, arrow_type))
    read = _read(path)
    assert read.report.rows_read == ROWS
    for column in (*PRICES, "volume"):
        assert read.table[column].to_pylist() == [float(v) for v in values[column]], column
    assert read.table["trades"].to_pylist() == [int(v) for v in values["trades"]]


@pytest.mark.parametrize("text_type", [pa.large_string(), pa.string_view()], ids=str)
def test_bad_text_names_the_row_in_every_text_type(
    text_type: Any, kraken_raw: Any, tmp_path: Path
) -> None:
    head = kraken_raw.slice(0, 50)
    closes = [repr(v) for v in head["close"].to_pylist()]
    closes[41] = "n/a"
    table = head.set_column(
        head.schema.get_field_index("close"), "close", pa.array(closes).cast(text_type)
    )
    path = _write(table, tmp_path / "bad.parquet", {"close": text_type})
    with pytest.raises(Exception, match=r"'n/a' is not a number") as caught:
        _read(path)
    assert "close" in str(caught.value) and "42" in str(caught.value)
