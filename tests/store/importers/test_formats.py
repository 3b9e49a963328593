"""Each format's variants, written here from the real files, read back to the same candles.

freqtrade json/json.gz from the real feather; Binance kline CSV (ms, µs,
with header, zipped) from the real Binance.US parquet; generic CSV/parquet
with a column mapping from the real Kraken parquet.
"""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.feather as pf
import pyarrow.parquet as pq
import pytest

from tests.store.importers.helpers import assert_same_candles
from tradefabric.core.time import ns_to_iso
from tradefabric.store.importers import FORMATS, FileCandles, ImportOptions, read_file

ETH_FEATHER = "binance_ETH_USDT-1m_2024-07-26_2024-08-25.feather"


def _read(path: Path, fmt: str, **options: Any) -> FileCandles:
    return read_file(path, FORMATS[fmt], ImportOptions(**options))


# --- freqtrade json ---


def _freqtrade_json_rows(feather: Path) -> list[list[Any]]:
    raw = pf.read_table(feather)
    dates = raw["date"].cast(pa.int64()).to_pylist()
    values = [raw[c].to_pylist() for c in ("open", "high", "low", "close", "volume")]
    return [[ns // 1_000_000, *row] for ns, *row in zip(dates, *values, strict=True)]


@pytest.mark.parametrize("suffix", [".json", ".json.gz"])
def test_freqtrade_json_reads_like_the_feather_it_was_made_from(
    suffix: str, candles_dir: Path, read_all: dict[str, FileCandles], tmp_path: Path
) -> None:
    text = json.dumps(_freqtrade_json_rows(candles_dir / ETH_FEATHER)).encode()
    path = tmp_path / f"ETH_USDT-1m{suffix}"
    path.write_bytes(gzip.compress(text) if suffix.endswith(".gz") else text)
    read = _read(path, "freqtrade", venue="binance")
    assert (read.report.symbol, read.report.interval, read.report.rows_read) == (
        "ETH/USDT", "1m", 43_208,
    )  # fmt: skip
    assert_same_candles(read.table, read_all[ETH_FEATHER].table)


def test_freqtrade_parquet_reads_like_the_feather(
    candles_dir: Path, read_all: dict[str, FileCandles], tmp_path: Path
) -> None:
    path = tmp_path / "ETH_USDT-1m.parquet"
    pq.write_table(pf.read_table(candles_dir / ETH_FEATHER), path)
    read = _read(path, "freqtrade", venue="binance")
    assert_same_candles(read.table, read_all[ETH_FEATHER].table)


def test_freqtrade_futures_name_gives_a_perpetual_symbol(candles_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "ETH_USDT_USDT-1m-futures.feather"
    path.write_bytes((candles_dir / ETH_FEATHER).read_bytes())
    read = _read(path, "freqtrade", venue="binance-usdm")
    assert read.report.symbol == "ETH/USDT:USDT"


# --- Binance klines ---


def _kline_lines(parquet: Path, micros: bool) -> list[str]:
    raw = pq.read_table(parquet)
    scale, last = (1000, 999) if micros else (1, 0)
    lines = []
    for row in raw.to_pylist():
        fields = [
            row["open_time"] * scale,
            *(repr(row[c]) for c in ("open", "high", "low", "close", "volume")),
            row["close_time"] * scale + last,
            row["quote_volume"],
            row["trades"],
            row["taker_buy_base"],
            row["taker_buy_quote"],
            row["ignore"],
        ]
        lines.append(",".join(str(f) for f in fields))
    return lines


@pytest.fixture(scope="module")
def binance_lines(multi_dir: Path) -> dict[bool, list[str]]:
    path = multi_dir / "binance_btcusdt.parquet"
    return {micros: _kline_lines(path, micros) for micros in (False, True)}


@pytest.mark.parametrize("micros", [False, True], ids=["ms", "us"])
def test_binance_kline_csv_reads_like_the_parquet(
    micros: bool,
    binance_lines: dict[bool, list[str]],
    read_all: dict[str, FileCandles],
    tmp_path: Path,
) -> None:
    path = tmp_path / "BTCUSDT-1m-2023-03.csv"
    path.write_text("\n".join(binance_lines[micros]) + "\n")
    read = _read(path, "binance-klines", venue="binanceus")
    assert (read.report.symbol, read.report.interval) == ("BTC/USDT", "1m")
    assert read.report.rows_read == 30_240
    assert_same_candles(read.table, read_all["binance_btcusdt.parquet"].table)


def test_binance_zip_with_header_and_usdm_symbol(
    binance_lines: dict[bool, list[str]], read_all: dict[str, FileCandles], tmp_path: Path
) -> None:
    header = (
        "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
        "taker_buy_volume,taker_buy_quote_volume,ignore"
    )
    path = tmp_path / "BTCUSDT-1m-2023-03.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("BTCUSDT-1m-2023-03.csv", "\n".join([header, *binance_lines[True]]))
    read = _read(path, "binance-klines", venue="binance-usdm")
    assert read.report.symbol == "BTC/USDT:USDT"
    expected = read_all["binance_btcusdt.parquet"].table
    assert_same_candles(read.table, expected, skip=("venue", "symbol"))


def test_binance_parquet_variant_takes_the_timeframe_from_close_time(
    multi_dir: Path, read_all: dict[str, FileCandles]
) -> None:
    path = multi_dir / "binance_usdcusdt.parquet"
    read = _read(path, "binance-klines", venue="binanceus", symbol="USDC/USDT")
    assert read.report.interval == "1m"
    assert_same_candles(read.table, read_all["binance_usdcusdt.parquet"].table)


def test_binance_5m_klines_are_labelled_5m_by_their_close_times(tmp_path: Path) -> None:
    path = tmp_path / "klines.csv"
    path.write_text(
        "1677628800000,1,2,0.5,1.5,10,1677629099999,15,3,4,6,0\n"
        "1677629100000,1.5,2,1,1,5,1677629399999,5,1,0,0,0\n"
    )
    read = _read(path, "binance-klines", venue="binance", symbol="BTC/USDT")
    assert read.report.interval == "5m"
    assert read.table["ts_event"].to_pylist() == [1_677_629_100 * 10**9, 1_677_629_400 * 10**9]
    assert read.table["vwap"].to_pylist() == [1.5, 1.0]
    assert read.table["buy_volume"].to_pylist() == [4.0, 0.0]


# --- generic ---


@pytest.fixture(scope="module")
def kraken_raw(multi_dir: Path) -> Any:
    return pq.read_table(multi_dir / "kraken_btcusd.parquet")


def _generic_csv(raw: Any, time_header: str, times: list[str], path: Path) -> Path:
    lines = [f"{time_header},o,h,l,c,v,n"]
    columns = [raw[c].to_pylist() for c in ("open", "high", "low", "close", "volume", "trades")]
    for time, *values in zip(times, *columns, strict=True):
        lines.append(",".join([time, *(repr(v) for v in values)]))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("unit", ["s", "iso"])
def test_generic_csv_with_a_mapping_reads_like_the_venue_file(
    unit: str, kraken_raw: Any, read_all: dict[str, FileCandles], tmp_path: Path
) -> None:
    ns = kraken_raw["timestamp"].cast(pa.int64()).to_pylist()
    times = [str(t // 10**9) for t in ns] if unit == "s" else [ns_to_iso(t) for t in ns]
    path = _generic_csv(kraken_raw, "time", times, tmp_path / "kraken.csv")
    read = _read(
        path,
        "generic",
        venue="kraken",
        symbol="BTC/USD",
        column_map=(("trades", "n"),),
        time_unit=unit,
    )
    assert (
        read.report.layout == "generic(ts_open=time,open=o,high=h,low=l,close=c,volume=v,trades=n)"
    )
    assert_same_candles(read.table, read_all["kraken_btcusd.parquet"].table)


def test_generic_parquet_with_renamed_columns(
    kraken_raw: Any, read_all: dict[str, FileCandles], tmp_path: Path
) -> None:
    renamed = kraken_raw.rename_columns(["O", "H", "L", "C", "Qty", "Count", "Minute"])
    path = tmp_path / "renamed.parquet"
    pq.write_table(renamed, path)
    read = _read(
        path,
        "generic",
        venue="kraken",
        symbol="BTC/USD",
        column_map=(("ts_open", "Minute"), ("volume", "Qty"), ("trades", "Count")),
    )
    assert_same_candles(read.table, read_all["kraken_btcusd.parquet"].table)


def test_generic_ignores_a_column_when_told(kraken_raw: Any, tmp_path: Path) -> None:
    path = tmp_path / "with_notes.parquet"
    pq.write_table(kraken_raw.append_column("notes", pa.array(["x"] * kraken_raw.num_rows)), path)
    read = _read(
        path, "generic", venue="kraken", symbol="BTC/USD", column_map=(("ignore", "notes"),)
    )
    assert read.report.rows_read == 30_179
    assert read.table["trades"].to_pylist()[:3] == kraken_raw["trades"].to_pylist()[:3]
