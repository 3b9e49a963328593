"""Query the Parquet catalog written by ``CatalogWriter`` with DuckDB.

Each table (``trades``, ``quotes``, ``candles``) is a view over every
``<root>/<type>/**/*.parquet`` file. Hive partitioning is off: the venue, symbol
and timestamps stored inside the files are authoritative, the directory names
only speed up finding files by eye.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import msgspec

from tradefabric.core.errors import DataSourceError
from tradefabric.store.schema import COLUMNS, DATA_TYPES, DataType, RowCounts


class QueryResult(msgspec.Struct, frozen=True):
    """The outcome of one SQL query: column names and rows in result order."""

    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]


class Catalog:
    """A read-only view of the Parquet catalog under ``root``."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root)

    @property
    def root(self) -> Path:
        """Return the catalog root directory."""
        return self._root

    def connect(self) -> duckdb.DuckDBPyConnection:
        """Open an in-memory DuckDB connection with the views ``trades``, ``quotes``, ``candles``.

        A table with no files yet gets an empty view with the right columns. The
        file list of a non-empty table is re-read on every query, but a table
        that was empty at connect time stays empty on this connection: connect
        again to see its first files.
        """
        self._check_root()
        con = duckdb.connect()
        try:
            for data_type in DATA_TYPES:
                con.execute(self._view_sql(data_type))
        except duckdb.Error as exc:
            con.close()
            raise DataSourceError(f"cannot open catalog at {self._root}: {exc}") from exc
        return con

    def query(self, sql: str) -> QueryResult:
        """Run ``sql`` on a fresh connection and return all of its rows.

        Raises DataSourceError naming the problem when DuckDB rejects the SQL or
        cannot read a file.
        """
        con = self.connect()
        try:
            cursor = con.execute(sql)
            description = cursor.description
            rows = cursor.fetchall() if description is not None else []
        except duckdb.Error as exc:
            raise DataSourceError(f"query failed: {exc}") from exc
        finally:
            con.close()
        columns = tuple(str(d[0]) for d in description or ())
        return QueryResult(columns=columns, rows=tuple(tuple(row) for row in rows))

    def summary(self) -> RowCounts:
        """Return the number of rows in each table."""
        counts = ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in DATA_TYPES)
        result = self.query(f"SELECT {counts}")
        values = result.rows[0]
        return RowCounts(**{t: _as_int(v) for t, v in zip(result.columns, values, strict=True)})

    def _check_root(self) -> None:
        if not self._root.exists():
            raise DataSourceError(f"catalog root {self._root} does not exist")
        if not self._root.is_dir():
            raise DataSourceError(f"catalog root {self._root} is not a directory")

    def _has_files(self, data_type: DataType) -> bool:
        directory = self._root / data_type
        if not directory.is_dir():
            return False
        # Stop at the first match; a catalog can hold many thousands of files.
        return any(True for _ in directory.rglob("*.parquet"))

    def _view_sql(self, data_type: DataType) -> str:
        columns = COLUMNS[data_type]
        if not self._has_files(data_type):
            # read_parquet fails on an empty glob, so an empty table is typed NULLs, no rows.
            select = ", ".join(f'CAST(NULL AS {c.duckdb_type}) AS "{c.name}"' for c in columns)
            return f"CREATE VIEW {data_type} AS SELECT {select} WHERE false"
        pattern = _sql_string(f"{self._root / data_type}/**/*.parquet")
        # Casts pin the view's types to the schema even if a file was written differently.
        select = ", ".join(f'CAST("{c.name}" AS {c.duckdb_type}) AS "{c.name}"' for c in columns)
        return (
            f"CREATE VIEW {data_type} AS SELECT {select} "
            f"FROM read_parquet({pattern}, hive_partitioning = false)"
        )


def _sql_string(text: str) -> str:
    """Return ``text`` as a single-quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _as_int(value: object) -> int:
    if not isinstance(value, int):
        raise DataSourceError(f"expected an integer count, got {value!r}")
    return value
