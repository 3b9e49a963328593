"""Import every real candle file into a catalog, query it back exactly, import again: no change."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.conftest import report_figure
from tests.store.importers.conftest import FREQTRADE_ROWS, MULTI_EXCHANGE_ROWS
from tests.store.importers.helpers import assert_same_candles
from tradefabric.store.catalog import Catalog
from tradefabric.store.catalog_writer import CatalogWriter, WriteReport
from tradefabric.store.importers import FileCandles, ImportProgress, candle_schema, import_path
from tradefabric.store.schema import DataType

ALL_ROWS = 86_417 + 382_618


class _Imported:
    """A catalog holding every real candle file, and the summaries of importing it twice."""

    def __init__(self, root: Path, candles_dir: Path, multi_dir: Path) -> None:
        self.root = root
        self.first = self._import_all(candles_dir, multi_dir)
        self.versions_after_first = Catalog(root).version
        self.second = self._import_all(candles_dir, multi_dir)

    def _import_all(self, candles_dir: Path, multi_dir: Path) -> list[Any]:
        writer = CatalogWriter(self.root)
        return [
            import_path(candles_dir, "freqtrade", writer, venue="binance"),
            import_path(multi_dir, "multi-exchange", writer),
        ]


@pytest.fixture(scope="module")
def imported(
    tmp_path_factory: pytest.TempPathFactory, candles_dir: Path, multi_dir: Path
) -> _Imported:
    return _Imported(tmp_path_factory.mktemp("catalog"), candles_dir, multi_dir)


def test_first_import_adds_every_row(imported: _Imported) -> None:
    freqtrade, multi = imported.first
    assert (freqtrade.files, freqtrade.rows_read, freqtrade.rows_added) == (2, 86_417, 86_417)
    assert (multi.files, multi.rows_read, multi.rows_added) == (14, 382_618, 382_618)
    assert freqtrade.duplicates == multi.duplicates == 0
    assert all(len(f.versions) == 1 for s in imported.first for f in s.per_file)
    assert Catalog(imported.root).summary().candles == ALL_ROWS


def test_catalog_counts_per_venue_and_symbol(imported: _Imported) -> None:
    result = Catalog(imported.root).query(
        "SELECT venue, symbol, interval, count(*), count(DISTINCT ts_open) FROM candles "
        "GROUP BY ALL ORDER BY ALL"
    )
    expected = sorted(
        (venue, symbol, "1m", rows, rows)
        for venue, symbol, rows in (*FREQTRADE_ROWS.values(), *MULTI_EXCHANGE_ROWS.values())
    )
    assert [tuple(r) for r in result.rows] == expected


def test_catalog_rows_equal_the_files_exactly(
    imported: _Imported, read_all: dict[str, FileCandles]
) -> None:
    names = ", ".join(candle_schema().names)
    con = Catalog(imported.root).connect()
    try:
        for read in read_all.values():
            report = read.report
            stored = con.sql(
                f"SELECT {names} FROM candles WHERE venue = $venue AND symbol = $symbol "
                "ORDER BY ts_open",
                params={"venue": report.venue, "symbol": report.symbol},
            ).to_arrow_table()
            assert_same_candles(stored.cast(candle_schema()), read.table)
    finally:
        con.close()
    report_figure(f"importers: {len(read_all)} real files round-trip through the catalog exactly")


def test_second_import_adds_nothing(imported: _Imported) -> None:
    for first, second in zip(imported.first, imported.second, strict=True):
        assert second.rows_read == first.rows_read
        assert second.rows_added == 0
        assert second.duplicates == first.rows_read
        assert all(f.versions == () for f in second.per_file)
    catalog = Catalog(imported.root)
    assert catalog.version == imported.versions_after_first
    assert catalog.summary().candles == ALL_ROWS


def test_catalog_keeps_the_source_of_each_commit(imported: _Imported) -> None:
    sources = {entry.source for entry in Catalog(imported.root).versions()}
    assert "import:freqtrade:binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather" in sources
    assert "import:multi-exchange:kraken_usdtusd.parquet" in sources


class _CrashingWriter(CatalogWriter):
    """A real catalog writer whose process 'dies' (raises) before its N+1th commit."""

    def __init__(self, root: Path, commits: int) -> None:
        super().__init__(root)
        self._left = commits

    def write_table(
        self, data_type: DataType, table: pa.Table, source: str, operation: str = "import"
    ) -> WriteReport:
        if self._left == 0:
            raise KeyboardInterrupt
        self._left -= 1
        return super().write_table(data_type, table, source, operation)


def test_an_interrupted_import_completes_when_run_again(multi_dir: Path, tmp_path: Path) -> None:
    kraken = multi_dir / "kraken_btcusdc.parquet"
    with pytest.raises(KeyboardInterrupt):
        import_path(kraken, "multi-exchange", _CrashingWriter(tmp_path, 2), chunk_rows=4_000)
    assert Catalog(tmp_path).summary().candles == 8_000
    progress: list[ImportProgress] = []
    again = import_path(
        kraken,
        "multi-exchange",
        CatalogWriter(tmp_path),
        progress=progress.append,
        chunk_rows=4_000,
    )
    assert (again.rows_added, again.duplicates) == (15_719 - 8_000, 8_000)
    assert [p.rows_done for p in progress] == [0, 4_000, 8_000, 12_000, 15_719]
    assert len(again.per_file[0].versions) == 2
    result = Catalog(tmp_path).query("SELECT count(*), count(DISTINCT ts_open) FROM candles")
    assert result.rows == ((15_719, 15_719),)


# --- the command line, as a user runs it ---


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradefabric", "data", "import", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_import_twice_then_query(candles_dir: Path, tmp_path: Path) -> None:
    args = (str(candles_dir), "--format", "freqtrade", "--venue", "binance")
    first = _cli(*args, "--catalog", str(tmp_path), "--json")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert (summary["files"], summary["rows_read"], summary["rows_added"]) == (2, 86_417, 86_417)
    second = _cli(*args, "--catalog", str(tmp_path))
    assert second.returncode == 0, second.stderr
    assert "86,417 rows read, 0 added, 86,417 already in the catalog" in second.stdout
    assert "binance ETH/USDT 1m" in second.stdout
    count = Catalog(tmp_path).query("SELECT symbol, count(*) FROM candles GROUP BY 1 ORDER BY 1")
    assert count.rows == (("BTC/USDT", 43_209), ("ETH/USDT", 43_208))


def test_cli_errors_are_one_line_and_exit_2(candles_dir: Path, tmp_path: Path) -> None:
    result = _cli(str(candles_dir), "--format", "freqtrade", "--catalog", str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert "binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather" in lines[0]
    assert "give --venue" in lines[0]
    unknown = _cli(str(candles_dir), "--format", "csv", "--catalog", str(tmp_path))
    assert unknown.returncode == 2
    assert "unknown import format 'csv'" in unknown.stderr
