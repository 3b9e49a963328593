"""Bad input gives one clear error naming the file, the column and the first bad row.

The files are small slices of the real data, broken in one place each.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.feather as pf
import pyarrow.parquet as pq
import pytest

from tradefabric.core.errors import ConfigError, DataSourceError
from tradefabric.store.importers import (
    FORMATS,
    AmbiguousColumnsError,
    BadTimestampError,
    BadValueError,
    FileNameError,
    ImportFileError,
    ImportOptions,
    MissingColumnError,
    UnknownColumnsError,
    candle_format,
    read_file,
    read_path,
)

KRAKEN = "kraken_btcusd.parquet"
ETH_FEATHER = "binance_ETH_USDT-1m_2024-07-26_2024-08-25.feather"
FIRST_MINUTE_S = 1_677_628_800  # 2023-03-01 00:00 UTC, the first Kraken row


def _read(path: Path, fmt: str, **options: Any) -> Any:
    return read_file(path, FORMATS[fmt], ImportOptions(**options))


@pytest.fixture
def kraken_rows(multi_dir: Path) -> Any:
    """The first 6 rows of the real Kraken BTC/USD file."""
    return pq.read_table(multi_dir / KRAKEN).slice(0, 6)


@pytest.fixture
def eth_rows(candles_dir: Path) -> Any:
    """The first 6 rows of the real freqtrade ETH/USDT file."""
    return pf.read_table(candles_dir / ETH_FEATHER).slice(0, 6)


def _with(table: Any, column: str, values: list[Any]) -> Any:
    index = table.column_names.index(column)
    return table.set_column(index, column, pa.array(values, table[column].type))


def _write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _minute_rows(count: int) -> list[str]:
    return [f"{FIRST_MINUTE_S + 60 * i},100,101,99,100.5,2" for i in range(count)]


def _generic(path: Path, **options: Any) -> Any:
    defaults: dict[str, Any] = {"venue": "kraken", "symbol": "BTC/USD", "time_unit": "s"}
    return _read(path, "generic", **(defaults | options))


def _assert_names(exc: ImportFileError, path: Path, column: str | None, row: int | None) -> None:
    assert (exc.file, exc.column, exc.row) == (str(path), column, row)
    assert str(exc).startswith(str(path))


# --- columns ---


def test_unknown_column_in_a_venue_file_is_named(kraken_rows: Any, tmp_path: Path) -> None:
    path = tmp_path / KRAKEN
    pq.write_table(kraken_rows.append_column("foo", pa.array([1] * 6)), path)
    with pytest.raises(UnknownColumnsError, match=r"kraken, does not know column\(s\) 'foo'"):
        _read(path, "multi-exchange")


def test_missing_column_in_a_venue_file_is_named(kraken_rows: Any, tmp_path: Path) -> None:
    path = tmp_path / KRAKEN
    pq.write_table(kraken_rows.drop_columns(["trades"]), path)
    with pytest.raises(MissingColumnError, match=r"kraken, needs column\(s\) 'trades'"):
        _read(path, "multi-exchange")


def test_missing_column_in_freqtrade_file(eth_rows: Any, tmp_path: Path) -> None:
    path = tmp_path / "ETH_USDT-1m.feather"
    pf.write_feather(eth_rows.drop_columns(["volume"]), path)
    with pytest.raises(MissingColumnError, match=r"missing column\(s\) 'volume'"):
        _read(path, "freqtrade", venue="binance")


def test_unknown_column_in_freqtrade_file(eth_rows: Any, tmp_path: Path) -> None:
    path = tmp_path / "ETH_USDT-1m.feather"
    pf.write_feather(eth_rows.append_column("quote_volume", pa.array([1.0] * 6)), path)
    with pytest.raises(UnknownColumnsError, match=r"unknown column\(s\) 'quote_volume'"):
        _read(path, "freqtrade", venue="binance")


def test_generic_two_candidate_time_columns_are_ambiguous(tmp_path: Path) -> None:
    rows = [f"{r.split(',')[0]},{r}" for r in _minute_rows(3)]
    path = _write_csv(tmp_path / "c.csv", "time,timestamp,open,high,low,close,volume", rows)
    with pytest.raises(AmbiguousColumnsError, match="'time', 'timestamp' could each be ts_open"):
        _generic(path)
    read = _generic(path, column_map=(("ts_open", "time"), ("ignore", "timestamp")))
    assert read.report.rows_read == 3


def test_generic_unknown_column_is_named_with_the_way_out(tmp_path: Path) -> None:
    rows = [f"{r},x" for r in _minute_rows(3)]
    path = _write_csv(tmp_path / "c.csv", "time,open,high,low,close,volume,notes", rows)
    with pytest.raises(UnknownColumnsError, match=r"'notes'.*--map ignore=COLUMN"):
        _generic(path)


def test_generic_mapping_errors(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "c.csv", "time,first,high,low,close,volume", _minute_rows(2))
    with pytest.raises(MissingColumnError, match="no column for open"):
        _generic(path)
    with pytest.raises(ConfigError, match="unknown field 'opn'"):
        _generic(path, column_map=(("opn", "first"),))
    with pytest.raises(ConfigError, match="field 'open' mapped twice"):
        _generic(path, column_map=(("open", "first"), ("open", "high")))
    with pytest.raises(MissingColumnError, match="'price' the file lacks"):
        _generic(path, column_map=(("open", "price"),))


def test_duplicate_header_names_are_ambiguous(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "c.csv", "time,open,high,low,close,close,volume", [])
    with pytest.raises(AmbiguousColumnsError, match="'close' appear twice"):
        _generic(path)


# --- timestamps ---


def test_unparseable_iso_time_names_its_row(tmp_path: Path) -> None:
    times = ["2023-03-01T00:00:00Z", "2023-03-01T00:01:00Z", "2023-03-01T00:0x:00Z"]
    rows = [f"{t},100,101,99,100.5,2" for t in times]
    path = _write_csv(tmp_path / "c.csv", "time,open,high,low,close,volume", rows)
    with pytest.raises(BadTimestampError) as caught:
        _generic(path, time_unit="iso")
    _assert_names(caught.value, path, "time", 3)
    assert "'2023-03-01T00:0x:00Z' is not an ISO 8601 time" in str(caught.value)


def test_unparseable_numeric_time_names_its_row(tmp_path: Path) -> None:
    rows = [*_minute_rows(2), "1677628920.5,100,101,99,100.5,2"]
    path = _write_csv(tmp_path / "c.csv", "time,open,high,low,close,volume", rows)
    with pytest.raises(BadTimestampError) as caught:
        _generic(path)
    _assert_names(caught.value, path, "time", 3)


def test_numeric_time_without_a_unit_asks_for_one(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "c.csv", "time,open,high,low,close,volume", _minute_rows(2))
    with pytest.raises(BadTimestampError, match="give --time-unit"):
        _generic(path, time_unit=None)


def test_wrong_time_unit_is_caught(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "c.csv", "time,open,high,low,close,volume", _minute_rows(2))
    with pytest.raises(BadTimestampError, match=r"outside 2009\.\.2099: wrong time unit\?"):
        _generic(path, time_unit="ms")
    ms_rows = [f"{FIRST_MINUTE_S * 1000},100,101,99,100.5,2"]
    ms_path = _write_csv(tmp_path / "ms.csv", "time,open,high,low,close,volume", ms_rows)
    with pytest.raises(BadTimestampError, match="out of range in that unit"):
        _generic(ms_path, time_unit="s")


def test_open_times_off_the_timeframe_grid(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "c.csv", "time,open,high,low,close,volume", _minute_rows(3))
    with pytest.raises(BadTimestampError) as caught:
        _generic(path, timeframe="5m")
    _assert_names(caught.value, path, "time", 2)
    assert "2023-03-01T00:01:00.000Z is not on the 5m grid" in str(caught.value)


def test_venue_time_column_must_agree_with_the_timestamp_column(
    multi_dir: Path, tmp_path: Path
) -> None:
    raw = pq.read_table(multi_dir / "coinbase_btcusd.parquet").slice(0, 5)
    starts = raw["start"].to_pylist()
    starts[3] = str(int(starts[3]) + 60)
    path = tmp_path / "coinbase_btcusd.parquet"
    pq.write_table(_with(raw, "start", starts), path)
    with pytest.raises(BadTimestampError) as caught:
        _read(path, "multi-exchange")
    _assert_names(caught.value, path, "timestamp", 4)


def test_binance_close_time_must_match_every_row(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-1m-2023-03.csv"
    path.write_text(
        "1677628800000,1,2,0.5,1.5,10,1677628859999,15,3,4,6,0\n"
        "1677628860000,1.5,2,1,1,5,1677628979999,5,1,0,0,0\n"
    )
    with pytest.raises(BadTimestampError) as caught:
        _read(path, "binance-klines", venue="binance")
    _assert_names(caught.value, path, "close_time", 2)


def test_binance_csv_with_a_missing_field(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-1m-2023-03.csv"
    path.write_text("1677628800000,1,2,0.5,1.5,10,1677628859999,15,3,4,6\n")
    with pytest.raises(ImportFileError, match="not a 12-column Binance kline CSV"):
        _read(path, "binance-klines", venue="binance")


# --- values ---


def test_nan_price_names_column_and_row(eth_rows: Any, tmp_path: Path) -> None:
    closes = eth_rows["close"].to_pylist()
    closes[4] = math.nan
    path = tmp_path / "ETH_USDT-1m.feather"
    pf.write_feather(_with(eth_rows, "close", closes), path)
    with pytest.raises(BadValueError) as caught:
        _read(path, "freqtrade", venue="binance")
    _assert_names(caught.value, path, "close", 5)
    assert "nan is not a positive price" in str(caught.value)


def test_null_in_freqtrade_json_names_column_and_row(tmp_path: Path) -> None:
    path = tmp_path / "BTC_USDT-1m.json"
    path.write_text("[[1677628800000,1,2,0.5,1.5,10],[1677628860000,1,2,null,1.5,10]]")
    with pytest.raises(ImportFileError) as caught:
        _read(path, "freqtrade", venue="binance")
    _assert_names(caught.value, path, "low", 2)


def test_negative_price_and_volume(tmp_path: Path) -> None:
    rows = [*_minute_rows(2), f"{FIRST_MINUTE_S + 120},100,101,-99,100.5,2"]
    path = _write_csv(tmp_path / "c.csv", "time,o,h,l,c,v", rows)
    with pytest.raises(BadValueError) as caught:
        _generic(path)
    _assert_names(caught.value, path, "l", 3)
    rows = [*_minute_rows(1), f"{FIRST_MINUTE_S + 60},100,101,99,100.5,-2"]
    path = _write_csv(tmp_path / "v.csv", "time,o,h,l,c,v", rows)
    with pytest.raises(BadValueError) as caught:
        _generic(path)
    _assert_names(caught.value, path, "v", 2)


def test_empty_and_text_prices(tmp_path: Path) -> None:
    rows = [*_minute_rows(1), f"{FIRST_MINUTE_S + 60},,101,99,100.5,2"]
    path = _write_csv(tmp_path / "c.csv", "time,open,high,low,close,volume", rows)
    with pytest.raises(BadValueError, match="'' is not a number") as caught:
        _generic(path)
    _assert_names(caught.value, path, "open", 2)


def test_high_below_low_catches_a_wrong_mapping(multi_dir: Path, tmp_path: Path) -> None:
    raw = pq.read_table(multi_dir / "coinbase_btcusd.parquet").slice(0, 5)
    path = tmp_path / "coinbase.parquet"
    pq.write_table(raw.drop_columns(["timestamp"]), path)
    swapped = (("ts_open", "start"), ("high", "low"), ("low", "high"))
    with pytest.raises(BadValueError, match="is below open, close or low") as caught:
        _generic(path, column_map=swapped)
    _assert_names(caught.value, path, "low", 1)  # 'low' is the file column mapped to high


# --- order and duplicates: reported, not errors ---


def test_out_of_order_and_repeated_rows_are_sorted_and_kept_first(
    kraken_rows: Any, tmp_path: Path
) -> None:
    row3 = kraken_rows.slice(3, 1)
    repeat = _with(row3, "close", row3["low"].to_pylist())  # same minute as row 3, other close
    shuffled = pa.concat_tables([kraken_rows.take([0, 2, 1, 3]), repeat, kraken_rows.slice(4, 2)])
    path = tmp_path / KRAKEN
    pq.write_table(shuffled, path)
    read = _read(path, "multi-exchange")
    report = read.report
    assert (report.rows_read, report.rows_kept) == (7, 6)
    assert (report.out_of_order, report.first_out_of_order_row) == (1, 3)
    assert (report.duplicates_in_file, report.first_duplicate_row) == (1, 5)
    assert (
        read.table["ts_open"].to_pylist() == kraken_rows["timestamp"].cast(pa.int64()).to_pylist()
    )
    assert read.table["close"].to_pylist() == kraken_rows["close"].to_pylist()
    assert len(report.notes) == 2
    assert "kept the first of each" in report.notes[0]


# --- names and options ---


def test_freqtrade_needs_a_venue(candles_dir: Path) -> None:
    with pytest.raises(FileNameError, match="no venue: the freqtrade file name does not say"):
        _read(candles_dir / ETH_FEATHER, "freqtrade")


def test_timeframe_option_disagreeing_with_the_file_name(candles_dir: Path) -> None:
    with pytest.raises(FileNameError, match=r"--timeframe \(5m\) vs the file name \(1m\)"):
        _read(candles_dir / ETH_FEATHER, "freqtrade", venue="binance", timeframe="5m")


def test_generic_needs_venue_and_symbol(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "c.csv", "time,open,high,low,close,volume", _minute_rows(1))
    with pytest.raises(FileNameError, match="give --symbol"):
        _generic(path, symbol=None)
    with pytest.raises(ConfigError, match="not a unified symbol"):
        _generic(path, symbol="BTCUSD")


def test_freqtrade_mark_candles_are_refused(eth_rows: Any, tmp_path: Path) -> None:
    path = tmp_path / "ETH_USDT_USDT-1h-mark.feather"
    pf.write_feather(eth_rows, path)
    with pytest.raises(FileNameError, match="'mark' candles, not trade candles"):
        _read(path, "freqtrade", venue="binance-usdm")


def test_one_symbol_for_a_folder_of_many_is_refused(multi_dir: Path) -> None:
    options = ImportOptions(symbol="BTC/USD")
    with pytest.raises(ConfigError, match="--symbol BTC/USD would put 14 files naming 6"):
        list(read_path(multi_dir, FORMATS["multi-exchange"], options))


def test_mapping_options_are_for_the_generic_format(candles_dir: Path) -> None:
    options = ImportOptions(venue="binance", time_unit="s")
    with pytest.raises(ConfigError, match="--map and --time-unit are for the generic format"):
        list(read_path(candles_dir, FORMATS["freqtrade"], options))


def test_paths_and_formats(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown import format 'csv'"):
        candle_format("csv")
    with pytest.raises(DataSourceError, match="no such file or folder"):
        list(read_path(tmp_path / "nothing", FORMATS["freqtrade"], ImportOptions()))
    with pytest.raises(DataSourceError, match=r"no freqtrade files in .*\.feather"):
        list(read_path(tmp_path, FORMATS["freqtrade"], ImportOptions()))
    bad = tmp_path / "kraken_btcusd.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(ImportFileError, match="cannot read as parquet"):
        _read(bad, "multi-exchange")
    with pytest.raises(
        ImportFileError, match=r"reads \.feather, \.parquet, \.json, \.json\.gz files"
    ):
        _read(tmp_path / "x.csv", "freqtrade")
