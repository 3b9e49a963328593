"""write_table: natural-key deduplication, candle supersession, versions, pinning, compaction."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pytest

from tradefabric.core.errors import DataSourceError
from tradefabric.model.enums import CandleFlag
from tradefabric.store.catalog import Catalog
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.compaction import compact
from tradefabric.store.schema import RowCounts

from .factories import MIDNIGHT

MINUTE = 60_000_000_000


def candles(start: int, count: int, close: float = 105.0, **extra: list[int]) -> pa.Table:
    """Return ``count`` 1m candles from minute ``start`` after MIDNIGHT (only required columns)."""
    opens = [MIDNIGHT + (start + i) * MINUTE for i in range(count)]
    columns: dict[str, list[object]] = {
        "venue": ["binance"] * count,
        "symbol": ["BTC/USDT"] * count,
        "interval": ["1m"] * count,
        "ts_open": list(opens),
        "open": [100.0] * count,
        "high": [110.0] * count,
        "low": [99.0] * count,
        "close": [close] * count,
        "volume": [float(i + 1) for i in range(count)],
        "ts_event": [t + MINUTE for t in opens],
    }
    columns.update(extra)
    return pa.table(columns)


def trades(ids: range, day_offset: int = 0) -> pa.Table:
    return pa.table(
        {
            "venue": ["binance"] * len(ids),
            "symbol": ["BTC/USDT"] * len(ids),
            "ts_event": [MIDNIGHT + day_offset + i for i in ids],
            "price": [60_000.0 + i for i in ids],
            "size": [0.5] * len(ids),
            "side": ["buy"] * len(ids),
            "trade_id": [str(i) for i in ids],
        }
    )


def test_reimport_adds_nothing_and_counts_every_duplicate(tmp_path: Path) -> None:
    writer = CatalogWriter(tmp_path)
    first = writer.write_table("candles", candles(0, 100), source="test:a")
    again = writer.write_table("candles", candles(0, 100), source="test:a")
    assert (first.rows_added, first.duplicates, first.version) == (100, 0, 1)
    assert (again.rows_added, again.duplicates, again.version) == (0, 100, None)
    assert Catalog(tmp_path).summary() == RowCounts(candles=100)
    # A fresh writer (a rerun of the import in a new process) reads the stored keys.
    rerun = CatalogWriter(tmp_path).write_table("candles", candles(50, 100), source="test:b")
    assert (rerun.rows_added, rerun.duplicates) == (50, 50)
    rows = Catalog(tmp_path).query("SELECT count(*), count(DISTINCT ts_open) FROM candles").rows
    assert rows == ((150, 150),)


def test_repeats_inside_one_table_are_dropped(tmp_path: Path) -> None:
    table = pa.concat_tables([candles(0, 10), candles(5, 10)])
    report = CatalogWriter(tmp_path).write_table("candles", table, source="test")
    assert (report.rows_in, report.rows_added, report.duplicates) == (20, 15, 5)
    rows = Catalog(tmp_path).query("SELECT volume FROM candles ORDER BY ts_open").rows
    # The first occurrence wins at equal rank: minutes 5..9 keep volumes 6..10, not 1..5.
    assert [r[0] for r in rows] == [float(v) for v in [*range(1, 11), *range(6, 11)]]


def test_trades_dedupe_on_trade_id_across_flushes_and_days(tmp_path: Path) -> None:
    writer = CatalogWriter(tmp_path)
    writer.write_table("trades", trades(range(0, 60)), source="a")
    report = writer.write_table("trades", trades(range(40, 100)), source="b")
    assert (report.rows_added, report.duplicates) == (40, 20)
    ids = Catalog(tmp_path).query("SELECT trade_id FROM trades ORDER BY ts_event").rows
    assert [int(str(r[0])) for r in ids] == list(range(100))


def test_higher_revision_replaces_the_stored_candle_and_old_version_keeps_it(
    tmp_path: Path,
) -> None:
    writer = CatalogWriter(tmp_path)
    writer.write_table("candles", candles(0, 3, close=105.0), source="feed")
    revised = candles(1, 1, close=107.5, revision=[1])
    report = writer.write_table("candles", revised, source="backfill", operation="repair")
    assert (report.rows_added, report.replaced, report.duplicates) == (0, 1, 0)
    stale = writer.write_table("candles", candles(1, 1, close=1.0), source="late rev 0")
    assert (stale.rows_added, stale.replaced, stale.duplicates) == (0, 0, 1)

    sql = "SELECT close, revision FROM candles ORDER BY ts_open"
    assert Catalog(tmp_path).query(sql).rows == ((105.0, 0), (107.5, 1), (105.0, 0))
    assert Catalog(tmp_path, version=1).query(sql).rows == ((105.0, 0), (105.0, 0), (105.0, 0))


def test_real_candle_replaces_interpolated_but_not_the_reverse(tmp_path: Path) -> None:
    writer = CatalogWriter(tmp_path)
    flagged = [int(CandleFlag.INTERPOLATED)]
    writer.write_table("candles", candles(0, 1, close=1.0, flags=flagged), source="fill")
    real = writer.write_table("candles", candles(0, 1, close=2.0), source="download")
    assert real.replaced == 1
    refill = writer.write_table(
        "candles", candles(0, 1, close=3.0, flags=flagged, revision=[5]), source="fill"
    )
    assert refill.duplicates == 1
    assert Catalog(tmp_path).query("SELECT close, flags FROM candles").rows == ((2.0, 0),)


def test_versions_record_operation_source_rows_range_and_hashes(tmp_path: Path) -> None:
    writer = CatalogWriter(tmp_path)
    writer.write_table("candles", candles(0, 10), source="import:freqtrade:BTC_USDT-1m.feather")
    writer.write_table("trades", trades(range(5)), source="download:binance", operation="download")
    catalog = Catalog(tmp_path)
    first, second = catalog.versions()
    assert (first.version, first.operation, first.source) == (
        1,
        "import",
        "import:freqtrade:BTC_USDT-1m.feather",
    )
    (f,) = first.added
    assert (f.rows, f.ts_min, f.ts_max) == (10, MIDNIGHT, MIDNIGHT + 9 * MINUTE)
    assert len(f.sha256) == 64 and f.size_bytes == (tmp_path / f.path).stat().st_size
    assert (second.operation, second.rows_added) == ("download", 5)
    assert catalog.version == 2
    pinned = Catalog(tmp_path, version=1)
    assert pinned.summary() == RowCounts(candles=10)
    assert pinned.fingerprint() == Catalog(tmp_path, version=1).fingerprint()
    assert pinned.fingerprint() != catalog.fingerprint()


def test_pinning_a_version_that_does_not_exist_names_the_range(tmp_path: Path) -> None:
    CatalogWriter(tmp_path).write_table("candles", candles(0, 1), source="t")
    with pytest.raises(DataSourceError, match=r"version 7 does not exist \(versions are 0\.\.1\)"):
        Catalog(tmp_path, version=7).summary()


def test_compaction_merges_small_files_atomically_and_keeps_old_versions(tmp_path: Path) -> None:
    writer = CatalogWriter(tmp_path)
    for start in range(0, 50, 10):
        writer.write_table("candles", candles(start, 10), source="feed", operation="append")
    writer.write_table("trades", trades(range(3)), source="feed")
    # NaN never equals itself, so the all-NaN columns stay out of the row comparison.
    everything = "SELECT * EXCLUDE (buy_volume, vwap) FROM candles ORDER BY ts_open"
    before = Catalog(tmp_path).query(everything).rows
    assert len(Catalog(tmp_path).files()) == 6

    report = compact(tmp_path)
    assert (report.partitions, report.files_before, report.files_after) == (1, 5, 1)
    assert (report.rows, report.duplicates, report.version) == (50, 0, 7)
    catalog = Catalog(tmp_path)
    assert len(catalog.files()) == 2
    assert catalog.query(everything).rows == before
    assert Catalog(tmp_path, version=6).query("SELECT count(*) FROM candles").rows == ((50,),)
    assert compact(tmp_path).version is None  # nothing left to merge
    # Writes after compaction still deduplicate against the compacted file.
    again = CatalogWriter(tmp_path).write_table("candles", candles(45, 10), source="feed")
    assert (again.rows_added, again.duplicates) == (5, 5)


def test_bad_tables_are_rejected_naming_the_column_and_nothing_is_committed(
    tmp_path: Path,
) -> None:
    writer = CatalogWriter(tmp_path)
    writer.write_table("candles", candles(0, 2), source="ok")
    cases = {
        r"unknown column\(s\) \['colour'\]": candles(0, 1).append_column("colour", pa.array(["x"])),
        r"required column 'high' is missing": candles(0, 1).drop_columns(["high"]),
        r"column 'close' has empty values, first at row 1": candles(0, 2).set_column(
            7, "close", pa.array([1.0, None])
        ),
        r"column 'ts_open' is string, cannot be read as int64": candles(0, 1).set_column(
            3, "ts_open", pa.array(["noon"])
        ),
        r"negative ts_open": candles(0, 1).set_column(3, "ts_open", pa.array([-5])),
    }
    for message, table in cases.items():
        with pytest.raises(DataSourceError, match=message):
            writer.write_table("candles", table, source="bad")
    assert Catalog(tmp_path).version == 1
    assert Catalog(tmp_path).summary() == RowCounts(candles=2)


def test_concurrent_writers_to_different_partitions_lose_nothing(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def write(day: int) -> None:
        try:
            writer = CatalogWriter(tmp_path)
            for chunk in range(5):
                ids = range(chunk * 10, chunk * 10 + 10)
                writer.write_table("trades", trades(ids, day_offset=day * 86_400 * 10**9), "t")
        except BaseException as exc:  # reported below; a thread cannot raise into pytest
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(day,)) for day in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    catalog = Catalog(tmp_path)
    assert [v.version for v in catalog.versions()] == list(range(1, 21))
    assert catalog.summary() == RowCounts(trades=200)
