"""Query the Parquet catalog written by ``CatalogWriter`` with DuckDB.

Each table (``trades``, ``quotes``, ``candles``) is a view over exactly the
files of one catalog version (the newest by default, or a pinned one), as the
manifest lists them: files of unfinished writes are never read. Hive
partitioning is off: the venue, symbol and timestamps stored inside the files
are authoritative, the directory names only help a person find files by eye.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import duckdb
import msgspec

from tradefabric.core.errors import DataSourceError
from tradefabric.store.manifest import CatalogFile, Manifest, ManifestEntry
from tradefabric.store.schema import COLUMNS, DATA_TYPES, DataType, RowCounts
from tradefabric.store.storage import LocalStorage, open_storage


class QueryResult(msgspec.Struct, frozen=True):
    """The outcome of one SQL query: column names and rows in result order."""

    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]


class Catalog:
    """A read-only view of the Parquet catalog at ``root`` (a directory or an fsspec URL).

    ``version`` pins the catalog to one commit: queries then see exactly the
    rows that version held, whatever was imported or compacted later.
    """

    def __init__(
        self,
        root: Path | str,
        version: int | None = None,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        self._storage = open_storage(root, storage_options)
        self._manifest = Manifest(self._storage)
        self._pinned = version

    @property
    def root(self) -> str:
        """Return the catalog root as given (path or URL)."""
        return self._storage.root_url

    @property
    def version(self) -> int:
        """Return the version queries read: the pinned one, or the newest."""
        self._load()
        return self._manifest.latest_version if self._pinned is None else self._pinned

    def versions(self) -> tuple[ManifestEntry, ...]:
        """Return every commit, oldest first."""
        return self._load()

    def files(self) -> dict[str, CatalogFile]:
        """Return the files of the version queries read, by path."""
        self._load()
        return self._manifest.live_files(self._pinned)

    def fingerprint(self) -> str:
        """Return a SHA-256 over the files (paths and content hashes) of the version read.

        Two catalogs with equal fingerprints hold the same bytes; a backtest
        records it beside the version number.
        """
        digest = hashlib.sha256()
        for path, f in sorted(self.files().items()):
            digest.update(f"{path}:{f.sha256}\n".encode())
        return digest.hexdigest()

    def connect(self) -> duckdb.DuckDBPyConnection:
        """Open an in-memory DuckDB connection with the views ``trades``, ``quotes``, ``candles``.

        The views read the files of this catalog's version as of this call;
        connect again to see later commits.
        """
        files = self.files()
        con = duckdb.connect()
        try:
            self._storage.attach(con)
            for data_type in DATA_TYPES:
                paths = [
                    self._storage.reader_path(p)
                    for p, f in files.items()
                    if f.data_type == data_type
                ]
                con.execute(_view_sql(data_type, sorted(paths)))
        except duckdb.Error as exc:
            con.close()
            raise DataSourceError(f"cannot open catalog at {self.root}: {exc}") from exc
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
        return RowCounts(**{t: as_int(v) for t, v in zip(result.columns, values, strict=True)})

    def _load(self) -> tuple[ManifestEntry, ...]:
        if isinstance(self._storage, LocalStorage):
            root = Path(self._storage.root_url)
            if not root.is_dir():
                raise DataSourceError(f"catalog root {root} does not exist")
        return self._manifest.refresh()


def _view_sql(data_type: DataType, paths: list[str]) -> str:
    columns = COLUMNS[data_type]
    if not paths:
        # read_parquet fails on an empty list, so an empty table is typed NULLs, no rows.
        select = ", ".join(f'CAST(NULL AS {c.duckdb_type}) AS "{c.name}"' for c in columns)
        return f"CREATE VIEW {data_type} AS SELECT {select} WHERE false"
    listing = "[" + ", ".join(sql_string(p) for p in paths) + "]"
    # Casts pin the view's types to the schema even if a file was written differently.
    select = ", ".join(f'CAST("{c.name}" AS {c.duckdb_type}) AS "{c.name}"' for c in columns)
    return (
        f"CREATE VIEW {data_type} AS SELECT {select} "
        f"FROM read_parquet({listing}, hive_partitioning = false)"
    )


def sql_string(text: str) -> str:
    """Return ``text`` as a single-quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def time_range_sql(column: str, start_ns: int | None, end_ns: int | None) -> str:
    """Return the SQL condition ``start_ns <= column < end_ns`` (either side optional)."""
    clauses = ["true"]
    if start_ns is not None:
        clauses.append(f"{column} >= {int(start_ns)}")
    if end_ns is not None:
        clauses.append(f"{column} < {int(end_ns)}")
    return " AND ".join(clauses)


def as_int(value: object) -> int:
    """Return a value DuckDB returned as an integer, or raise naming what came instead."""
    if not isinstance(value, int):
        raise DataSourceError(f"expected an integer from the catalog, got {value!r}")
    return value


def as_float(value: object) -> float:
    """Return a value DuckDB returned as a number, or raise naming what came instead."""
    if not isinstance(value, float | int):
        raise DataSourceError(f"expected a number from the catalog, got {value!r}")
    return float(value)
