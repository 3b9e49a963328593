"""Every real candle file in ../shared/data, read by the importers, against an independent read.

The expected values are computed here from the raw files with plain pyarrow
reads and Python arithmetic (datetime -> ns, ``int(start)``, ``float(text)``),
not with the importer's conversion code, and compared on every row and column.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.feather as pf
import pyarrow.parquet as pq
import pytest

from tests.conftest import report_figure
from tests.store.importers.conftest import FREQTRADE_ROWS, MULTI_EXCHANGE_ROWS
from tests.store.importers.helpers import same_values
from tradefabric.store.importers import FileCandles, candle_schema

NS = 1_000_000_000
MINUTE = 60 * NS
NAN = float("nan")

Expected = dict[str, list[Any]]


def _datetime_ns(values: list[Any]) -> list[int]:
    return [calendar.timegm(d.utctimetuple()) * NS + d.microsecond * 1000 for d in values]


def _prices(raw: Any) -> Expected:
    return {c: raw[c].to_pylist() for c in ("open", "high", "low", "close", "volume")}


def _without_extras(rows: int) -> Expected:
    return {"trades": [-1] * rows, "buy_volume": [NAN] * rows, "vwap": [NAN] * rows}


def _freqtrade(raw: Any) -> Expected:
    return {"ts_open": _datetime_ns(raw["date"].to_pylist())} | _without_extras(raw.num_rows)


def _binance(raw: Any) -> Expected:
    volume = raw["volume"].to_pylist()
    quote = [float(q) for q in raw["quote_volume"].to_pylist()]
    return {
        "ts_open": [ms * 1_000_000 for ms in raw["open_time"].to_pylist()],
        "trades": raw["trades"].to_pylist(),
        "buy_volume": [float(b) for b in raw["taker_buy_base"].to_pylist()],
        "vwap": [q / v if v > 0 else NAN for q, v in zip(quote, volume, strict=True)],
    }


def _coinbase(raw: Any) -> Expected:
    ts = {"ts_open": [int(s) * NS for s in raw["start"].to_pylist()]}
    return ts | _without_extras(raw.num_rows)


def _kraken(raw: Any) -> Expected:
    rows = raw.num_rows
    return {
        "ts_open": _datetime_ns(raw["timestamp"].to_pylist()),
        "trades": raw["trades"].to_pylist(),
        "buy_volume": [NAN] * rows,
        "vwap": [NAN] * rows,
    }


def _cryptocom(raw: Any) -> Expected:
    ts = {"ts_open": [ms * 1_000_000 for ms in raw["t"].to_pylist()]}
    return ts | _without_extras(raw.num_rows)


def _bybit(raw: Any) -> Expected:
    return {
        "ts_open": _datetime_ns(raw["dt"].to_pylist()),
        "trades": raw["n_trades"].to_pylist(),
        "buy_volume": raw["buy_vol"].to_pylist(),
        "vwap": [NAN] * raw.num_rows,
    }


EXPECTATIONS: dict[str, Callable[[Any], Expected]] = {
    "freqtrade": _freqtrade,
    "binance": _binance,
    "coinbase": _coinbase,
    "kraken": _kraken,
    "cryptocom": _cryptocom,
    "bybit": _bybit,
}


def _check_file(path: Path, kind: str, read: FileCandles, venue: str, symbol: str) -> None:
    raw = pf.read_table(path) if path.suffix == ".feather" else pq.read_table(path)
    expected = _prices(raw) | EXPECTATIONS[kind](raw)
    table = read.table
    assert table.schema.equals(candle_schema())
    assert table.num_rows == raw.num_rows == read.report.rows_read == read.report.rows_kept
    for column, values in expected.items():
        assert same_values(table[column].to_pylist(), values), f"{path.name}: {column} differs"
    ts_open = expected["ts_open"]
    assert table["ts_event"].to_pylist() == [t + MINUTE for t in ts_open]
    assert table["ts_recv"].to_pylist() == [t + MINUTE for t in ts_open]
    rows = raw.num_rows
    assert table["venue"].to_pylist() == [venue] * rows
    assert table["symbol"].to_pylist() == [symbol] * rows
    assert table["interval"].to_pylist() == ["1m"] * rows
    assert table["revision"].to_pylist() == [0] * rows
    assert table["flags"].to_pylist() == [0] * rows
    assert read.report.duplicates_in_file == read.report.out_of_order == 0
    assert read.report.ts_first == ts_open[0]
    assert read.report.ts_last == ts_open[-1]


@pytest.mark.parametrize("name", sorted(FREQTRADE_ROWS))
def test_freqtrade_file_reads_exactly(
    name: str, candles_dir: Path, read_all: dict[str, FileCandles]
) -> None:
    venue, symbol, rows = FREQTRADE_ROWS[name]
    read = read_all[name]
    assert read.report.rows_read == rows
    _check_file(candles_dir / name, "freqtrade", read, venue, symbol)


@pytest.mark.parametrize("name", sorted(MULTI_EXCHANGE_ROWS))
def test_multi_exchange_file_reads_exactly(
    name: str, multi_dir: Path, read_all: dict[str, FileCandles]
) -> None:
    venue, symbol, rows = MULTI_EXCHANGE_ROWS[name]
    read = read_all[name]
    assert read.report.rows_read == rows
    venue_prefix = name.partition("_")[0]
    assert read.report.layout == venue_prefix
    _check_file(multi_dir / name, venue_prefix, read, venue, symbol)


def test_every_real_candle_file_is_covered(
    candles_dir: Path, multi_dir: Path, read_all: dict[str, FileCandles]
) -> None:
    on_disk = {p.name for d in (candles_dir, multi_dir) for p in d.iterdir()}
    assert on_disk == set(FREQTRADE_ROWS) | set(MULTI_EXCHANGE_ROWS) == set(read_all)
    total = sum(f.report.rows_read for f in read_all.values())
    assert total == 86_417 + 382_618
    report_figure(f"importers: {len(read_all)} real candle files, {total:,} rows read exactly")


def _first_row(read: FileCandles) -> dict[str, Any]:
    row: dict[str, Any] = read.table.slice(0, 1).to_pylist()[0]
    return row


def test_spot_values_from_the_files(read_all: dict[str, FileCandles]) -> None:
    btc = _first_row(read_all["binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather"])
    assert btc["ts_open"] == 1_722_003_300 * NS  # 2024-07-26 14:15 UTC
    assert (btc["open"], btc["high"], btc["low"], btc["close"]) == (
        67745.75, 67784.0, 67726.0, 67768.0,
    )  # fmt: skip
    assert btc["volume"] == 26.98425
    assert btc["trades"] == -1
    assert math.isnan(btc["buy_volume"])
    assert math.isnan(btc["vwap"])

    binance = _first_row(read_all["binance_btcusdt.parquet"])
    assert binance["ts_open"] == 1_677_628_800 * NS  # 2023-03-01 00:00 UTC
    assert binance["open"] == 23140.48
    assert binance["trades"] == 69
    assert binance["buy_volume"] == 1.075508
    assert binance["vwap"] == 49326.19241998 / 2.131777

    coinbase = _first_row(read_all["coinbase_btcusd.parquet"])  # file order: low, high, open, close
    assert (coinbase["open"], coinbase["high"], coinbase["low"], coinbase["close"]) == (
        23144.37, 23153.68, 23134.31, 23146.93,
    )  # fmt: skip

    bybit = _first_row(read_all["bybit_btcusdc.parquet"])
    assert (bybit["trades"], bybit["buy_volume"], bybit["volume"]) == (42, 0.194497, 0.617819)

    usdt = _first_row(read_all["kraken_usdtusd.parquet"])
    assert (usdt["symbol"], usdt["open"], usdt["trades"]) == ("USDT/USD", 1.0001, 6)


def test_zero_volume_minutes_have_no_vwap(read_all: dict[str, FileCandles]) -> None:
    table = read_all["binance_usdcusdt.parquet"].table
    volume = table["volume"].to_pylist()
    vwap = table["vwap"].to_pylist()
    empty = [i for i, v in enumerate(volume) if v == 0]
    assert empty, "Binance.US USDC/USDT has minutes without trades"
    assert all(math.isnan(vwap[i]) for i in empty)
    assert not any(math.isnan(vwap[i]) for i in range(len(volume)) if volume[i] > 0)
    assert table["trades"].to_pylist()[empty[0]] == 0


def test_chunks_cover_the_table_in_order(read_all: dict[str, FileCandles]) -> None:
    read = read_all["kraken_btcusdc.parquet"]
    chunks = list(read.chunks(4_000))
    assert [c.num_rows for c in chunks] == [4_000, 4_000, 4_000, 3_719]
    joined = pa.concat_tables(chunks)
    # Table.equals treats NaN as unequal to itself; these columns hold no NaN.
    for column in ("ts_open", "open", "close", "volume", "trades"):
        assert joined[column].equals(read.table[column])
