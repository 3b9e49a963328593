"""Catalog: DuckDB views over the Parquet files, empty views, clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tradefabric.core.bus import MessageBus
from tradefabric.core.errors import DataSourceError
from tradefabric.data.topics import QUOTES, TRADES
from tradefabric.store.catalog import Catalog, QueryResult
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.schema import COLUMNS, RowCounts

from .factories import MIDNIGHT, make_quote, make_trade

EXPECTED_TYPES = {
    data_type: [(c.name, c.duckdb_type) for c in columns] for data_type, columns in COLUMNS.items()
}


def describe(catalog: Catalog, table: str) -> list[tuple[object, object]]:
    return [(r[0], r[1]) for r in catalog.query(f"DESCRIBE {table}").rows]


def test_empty_catalog_has_typed_empty_views(root: Path) -> None:
    catalog = Catalog(root)
    for table in ("trades", "quotes", "candles"):
        assert catalog.query(f"SELECT count(*) FROM {table}").rows == ((0,),)
        assert describe(catalog, table) == EXPECTED_TYPES[table]
    assert catalog.summary() == RowCounts(trades=0, quotes=0, candles=0)


def test_views_over_files_have_the_same_types(
    root: Path, bus: MessageBus, writer: CatalogWriter
) -> None:
    bus.publish(TRADES, make_trade(MIDNIGHT))
    writer.flush()
    catalog = Catalog(root)
    assert describe(catalog, "trades") == EXPECTED_TYPES["trades"]
    # quotes still has no files: empty but queryable next to a non-empty table.
    assert catalog.summary() == RowCounts(trades=1, quotes=0, candles=0)
    assert describe(catalog, "trades") == describe(Catalog(root), "trades")


def test_query_result_has_columns_and_rows(
    root: Path, bus: MessageBus, writer: CatalogWriter
) -> None:
    bus.publish(QUOTES, make_quote(MIDNIGHT, 10.0, 10.5))
    bus.publish(QUOTES, make_quote(MIDNIGHT + 1, 11.0, 11.5))
    writer.flush()

    result = Catalog(root).query(
        "SELECT symbol, ask - bid AS spread, count(*) OVER () AS n FROM quotes ORDER BY ts_event"
    )
    assert result == QueryResult(
        columns=("symbol", "spread", "n"),
        rows=(("BTC/USDT:USDT", 0.5, 2), ("BTC/USDT:USDT", 0.5, 2)),
    )


def test_columns_inside_files_win_over_directory_names(
    root: Path, bus: MessageBus, writer: CatalogWriter
) -> None:
    # The directory says symbol=BTC-USDT_USDT and date=...; hive partitioning
    # would turn those into columns that shadow or add to the file's own.
    bus.publish(TRADES, make_trade(MIDNIGHT))
    writer.flush()
    result = Catalog(root).query("SELECT * FROM trades")
    assert result.columns == tuple(c.name for c in COLUMNS["trades"])
    assert result.rows[0][:2] == ("binance", "BTC/USDT:USDT")


def test_temp_files_are_not_read(root: Path, bus: MessageBus, writer: CatalogWriter) -> None:
    bus.publish(TRADES, make_trade(MIDNIGHT))
    writer.flush()
    (partition,) = {p.parent for p in root.rglob("*.parquet")}
    # A half-written file as a crashed writer would leave it: not valid Parquet.
    (partition / ".part-0000000000000000001-deadbeef.parquet.tmp").write_bytes(b"PAR1 trunc")
    assert Catalog(root).summary() == RowCounts(trades=1)


def test_connection_reads_the_version_of_its_connect_and_reconnect_sees_more(
    root: Path, bus: MessageBus, writer: CatalogWriter
) -> None:
    bus.publish(TRADES, make_trade(MIDNIGHT, trade_id="first"))
    writer.flush()
    con = Catalog(root).connect()
    try:
        bus.publish(TRADES, make_trade(MIDNIGHT + 1, trade_id="second"))
        writer.flush()
        rows = con.execute("SELECT trade_id FROM trades ORDER BY ts_event").fetchall()
        assert rows == [("first",)]
    finally:
        con.close()
    rows = Catalog(root).query("SELECT trade_id FROM trades ORDER BY ts_event").rows
    assert rows == (("first",), ("second",))


def test_bad_sql_raises_data_source_error_naming_the_problem(root: Path) -> None:
    with pytest.raises(DataSourceError, match=r"query failed: .*syntax error at or near \"SELEC\""):
        Catalog(root).query("SELEC * FROM trades")


def test_unknown_column_is_named_in_the_error(root: Path) -> None:
    with pytest.raises(DataSourceError, match="no_such_column"):
        Catalog(root).query("SELECT no_such_column FROM trades")


def test_unknown_table_is_named_in_the_error(root: Path) -> None:
    with pytest.raises(DataSourceError, match="orders"):
        Catalog(root).query("SELECT * FROM orders")


def test_missing_root_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    catalog = Catalog(missing)
    with pytest.raises(DataSourceError, match=f"catalog root {missing} does not exist"):
        catalog.connect()
    with pytest.raises(DataSourceError, match="does not exist"):
        catalog.query("SELECT 1")


def test_root_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("not a catalog")
    with pytest.raises(DataSourceError, match="is not a directory"):
        Catalog(path).summary()


def test_corrupt_committed_file_is_a_data_source_error_naming_it(
    root: Path, bus: MessageBus, writer: CatalogWriter
) -> None:
    bus.publish(TRADES, make_trade(MIDNIGHT))
    writer.flush()
    (path,) = Catalog(root).files()
    (root / path).write_bytes(b"this is not parquet")
    with pytest.raises(DataSourceError, match=re.escape(path.rsplit("/", 1)[-1])):
        Catalog(root).summary()


def test_file_not_in_the_manifest_is_never_read(
    root: Path, bus: MessageBus, writer: CatalogWriter
) -> None:
    # What a writer killed between writing a file and committing it leaves behind.
    bus.publish(TRADES, make_trade(MIDNIGHT))
    writer.flush()
    partition = root / "trades" / "venue=x" / "symbol=y" / "date=2024-08-09"
    partition.mkdir(parents=True)
    (partition / "part-1-abc.parquet").write_bytes(b"this is not parquet")
    assert Catalog(root).summary() == RowCounts(trades=1)
