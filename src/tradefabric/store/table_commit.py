"""Turn a table of rows into Parquet files and one catalog commit.

``TableCommitter.commit_table`` is the single write path of the catalog; the
live feed, importers, downloads, repairs and compaction all go through it:

1. conform the table to the catalog schema (clear errors naming columns);
2. split it by partition (venue, symbol, UTC day of the time column);
3. per partition, drop rows whose natural key is already stored, and rewrite
   the partition when a row supersedes a stored one (a candle revision);
4. write each partition's rows as one Parquet file (atomically);
5. commit every file of the call in one manifest entry: all or nothing.

Concurrent writers (two imports, the feed beside an import) keep the keys
unique: the commit names the version its dedup was checked against, and when
another writer committed to the same partitions meanwhile the commit is
refused, the files just written are deleted, and steps 3-5 run again against
the newer version (a rebase: rows now present are dropped as duplicates).
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
from typing import Final

import msgspec

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import structlog

from tradefabric.core.errors import CommitConflictError, DataSourceError
from tradefabric.core.time import NS_PER_DAY, ns_to_date
from tradefabric.store.manifest import CatalogFile, Manifest, ManifestEntry
from tradefabric.store.natural_keys import (
    NATURAL_KEYS,
    NaturalKey,
    drop_repeats,
    match_stored,
    run_starts,
    stored_keys,
    without_keys,
)
from tradefabric.store.schema import DataType, arrow_schema, symbol_dir_name
from tradefabric.store.storage import CatalogStorage

log = structlog.get_logger(__name__)

PartitionId = tuple[str, str, str, int]
"""(data type, venue, symbol, UTC day number)."""

_NAN: Final = float("nan")
# Each failed attempt means another writer's commit won, so progress is made; this
# bounds a writer that keeps losing (a feed flushing into the same day every few ms).
_REBASE_ATTEMPTS: Final = 50
# Columns a source may leave out, and what they mean when absent.
_DEFAULTS: Final[dict[str, object]] = {
    "trades": -1,
    "buy_volume": _NAN,
    "vwap": _NAN,
    "revision": 0,
    "flags": 0,
    "side": "",
}


class WriteReport(msgspec.Struct, frozen=True):
    """What one write did: rows offered, added, dropped as duplicates, replaced; its version."""

    data_type: str
    rows_in: int
    rows_added: int
    duplicates: int
    replaced: int
    files: int
    version: int | None
    """The catalog version this write created; None when it added nothing."""


class _PartitionWrite(msgspec.Struct):
    pid: PartitionId
    added: list[CatalogFile]
    removed: list[str]
    rows_added: int = 0
    duplicates: int = 0
    replaced: int = 0
    new_keys: pa.Table | None = None
    """Keys of the rows appended as a new file (None when the partition was rewritten)."""


class TableCommitter:
    """Write tables into the catalog on ``storage``, deduplicated, one commit per call."""

    def __init__(self, storage: CatalogStorage) -> None:
        self._storage = storage
        self._manifest = Manifest(storage)
        # Stored keys per partition, with the file set they were read from (to spot staleness).
        self._keys: dict[PartitionId, tuple[frozenset[str], pa.Table]] = {}
        self._swept = False

    @property
    def storage(self) -> CatalogStorage:
        """Return the storage this committer writes to."""
        return self._storage

    @property
    def manifest(self) -> Manifest:
        """Return the catalog's manifest as this committer last saw it."""
        return self._manifest

    def commit_table(
        self, data_type: DataType, table: pa.Table, source: str, operation: str
    ) -> WriteReport:
        """Conform, deduplicate and write ``table``; commit all its files as one version.

        Rebase on a concurrent commit to the same partitions (re-check the keys,
        drop rows now stored, write again); raise ``CommitConflictError`` when
        that keeps failing, with nothing of this call committed.
        """
        rows_in = table.num_rows
        parts = split_partitions(data_type, conform(data_type, table))
        self._sweep_once()
        for _ in range(_REBASE_ATTEMPTS):
            try:
                return self._commit_once(data_type, parts, rows_in, source, operation)
            except CommitConflictError:
                continue  # another writer committed to these partitions: check against it
        raise CommitConflictError(
            f"could not commit {rows_in} {data_type} rows to {self._storage.root_url}: "
            f"{_REBASE_ATTEMPTS} concurrent commits to the same partitions won; nothing committed"
        )

    def _sweep_once(self) -> None:
        """On this committer's first write, delete temp files of writers killed mid-write."""
        if self._swept:
            return
        self._swept = True
        removed = self._storage.remove_stale_temp_files()
        if removed:
            log.warning(
                "stale temp files removed",
                catalog=self._storage.root_url,
                count=len(removed),
                first=removed[0],
            )

    def _commit_once(
        self,
        data_type: DataType,
        parts: list[tuple[PartitionId, pa.Table]],
        rows_in: int,
        source: str,
        operation: str,
    ) -> WriteReport:
        self._manifest.refresh()
        base = self._manifest.latest_version
        index = partition_index(self._manifest.live_files())
        key = NATURAL_KEYS[data_type]
        writes = [self._write_partition(pid, part, index.get(pid, []), key) for pid, part in parts]
        added = tuple(f for w in writes for f in w.added)
        removed = tuple(p for w in writes for p in w.removed)
        entry: ManifestEntry | None = None
        if added or removed:
            try:
                entry = self._manifest.commit(added, removed, operation, source, base)
            except CommitConflictError:
                for f in added:  # never committed, never read: do not leave them behind
                    self._storage.delete(f.path)
                raise
            self._remember_files(writes, index)
        return WriteReport(
            data_type=data_type,
            rows_in=rows_in,
            rows_added=sum(w.rows_added for w in writes),
            duplicates=sum(w.duplicates for w in writes),
            replaced=sum(w.replaced for w in writes),
            files=len(added),
            version=entry.version if entry else None,
        )

    def _write_partition(
        self, pid: PartitionId, rows: pa.Table, stored: list[CatalogFile], key: NaturalKey
    ) -> _PartitionWrite:
        rows, repeats = drop_repeats(rows, key)
        match = match_stored(rows, self._stored_keys(pid, stored, key), key)
        write = _PartitionWrite(pid, [], [], duplicates=repeats + match.duplicates)
        if match.superseding_rows.num_rows:
            # Rare (backfill revisions, real data over interpolation): rewrite the partition.
            old = read_files(self._storage, stored, pid[0])
            kept = without_keys(old, match.superseding_rows, key)
            merged = pa.concat_tables([kept, match.new_rows, match.superseding_rows])
            write.added.append(self.write_file(pid, merged))
            write.removed.extend(f.path for f in stored)
        elif match.new_rows.num_rows:
            write.added.append(self.write_file(pid, match.new_rows))
            write.new_keys = stored_keys(match.new_rows, key)
        write.rows_added = match.new_rows.num_rows
        write.replaced = match.superseding_rows.num_rows
        return write

    def write_file(self, pid: PartitionId, rows: pa.Table) -> CatalogFile:
        """Write ``rows`` of one partition, sorted by time, as a new Parquet file."""
        data_type, venue, symbol, day = pid
        time_column = NATURAL_KEYS[as_data_type(data_type)].time_column
        rows = rows.take(pc.sort_indices(rows[time_column]))
        times = rows[time_column]
        ts_min, ts_max = pc.min(times).as_py(), pc.max(times).as_py()
        sink = pa.BufferOutputStream()
        pq.write_table(rows, sink, compression="zstd")
        data = sink.getvalue().to_pybytes()
        path = (
            f"{data_type}/venue={venue}/symbol={symbol_dir_name(symbol)}/"
            f"date={ns_to_date(day * NS_PER_DAY)}/part-{ts_min:019d}-{secrets.token_hex(4)}.parquet"
        )
        self._storage.write_atomic(path, data)
        return CatalogFile(
            path=path,
            data_type=data_type,
            venue=venue,
            symbol=symbol,
            day=day,
            rows=rows.num_rows,
            ts_min=ts_min,
            ts_max=ts_max,
            sha256=hashlib.sha256(data).hexdigest(),
            size_bytes=len(data),
        )

    def _stored_keys(
        self, pid: PartitionId, stored: list[CatalogFile], key: NaturalKey
    ) -> pa.Table | None:
        if not stored:
            return None
        paths = frozenset(f.path for f in stored)
        cached = self._keys.get(pid)
        if cached is not None and cached[0] == paths:
            return cached[1]
        columns = [*key.columns, "revision", "flags"] if key.supersedable else list(key.columns)
        keys = stored_keys(read_files(self._storage, stored, pid[0], columns), key)
        self._keys[pid] = (paths, keys)
        return keys

    def _remember_files(
        self, writes: list[_PartitionWrite], index: dict[PartitionId, list[CatalogFile]]
    ) -> None:
        """Extend the cached keys with what this commit added, so the next write needs no read."""
        for write in writes:
            if not write.added:
                continue
            pid = write.pid
            before = frozenset(c.path for c in index.get(pid, []))
            cached = self._keys.get(pid)
            (added,) = write.added
            if write.new_keys is None:
                self._keys.pop(pid, None)  # rewritten: read again when needed
            elif not before:
                self._keys[pid] = (frozenset({added.path}), write.new_keys)
            elif cached is not None and cached[0] == before:
                keys = pa.concat_tables([cached[1], write.new_keys])
                self._keys[pid] = (before | {added.path}, keys)
            else:
                self._keys.pop(pid, None)  # not known: read again when needed


def conform(data_type: DataType, table: pa.Table) -> pa.Table:
    """Return ``table`` with exactly the catalog columns, in order and type, or raise naming why."""
    schema = arrow_schema(data_type)
    unknown = [n for n in table.column_names if schema.get_field_index(n) < 0]
    if unknown:
        raise DataSourceError(f"{data_type}: unknown column(s) {unknown}; expected {schema.names}")
    columns = [_column(data_type, table, field) for field in schema]
    result = pa.Table.from_arrays(columns, schema=schema)
    time_column = NATURAL_KEYS[data_type].time_column
    if result.num_rows and pc.min(result[time_column]).as_py() < 0:
        raise DataSourceError(f"{data_type}: negative {time_column} (timestamps are ns since 1970)")
    return result


def _column(data_type: DataType, table: pa.Table, field: pa.Field) -> pa.ChunkedArray:
    name = field.name
    if name not in table.column_names:
        return _default_column(data_type, table, field)
    column = table[name]
    if column.null_count:
        first = pc.index(pc.is_null(column), True).as_py()
        raise DataSourceError(
            f"{data_type}: column {name!r} has empty values, first at row {first}"
        )
    try:
        return column.cast(field.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataSourceError(
            f"{data_type}: column {name!r} is {column.type}, cannot be read as {field.type}: {exc}"
        ) from exc


def _default_column(data_type: DataType, table: pa.Table, field: pa.Field) -> pa.ChunkedArray:
    name = field.name
    if name == "ts_recv" and "ts_event" in table.column_names:
        # Imported history has no receive time; the event time is the honest stand-in.
        return table["ts_event"].cast(field.type)
    if name not in _DEFAULTS:
        raise DataSourceError(f"{data_type}: required column {name!r} is missing")
    return pa.chunked_array([pa.array([_DEFAULTS[name]] * table.num_rows, field.type)])


def split_partitions(data_type: DataType, table: pa.Table) -> list[tuple[PartitionId, pa.Table]]:
    """Split a conformed table into (partition, rows) runs, each sorted by time."""
    if table.num_rows == 0:
        return []
    time_column = NATURAL_KEYS[data_type].time_column
    order = [("venue", "ascending"), ("symbol", "ascending"), (time_column, "ascending")]
    table = table.take(pc.sort_indices(table, sort_keys=order))
    days = pc.divide(table[time_column], pa.scalar(NS_PER_DAY, pa.int64()))
    starts = pc.indices_nonzero(run_starts([table["venue"], table["symbol"], days])).to_pylist()
    bounds = [*starts, table.num_rows]
    parts: list[tuple[PartitionId, pa.Table]] = []
    for begin, end in itertools.pairwise(bounds):
        rows = table.slice(begin, end - begin)
        pid = (data_type, rows["venue"][0].as_py(), rows["symbol"][0].as_py(), days[begin].as_py())
        parts.append((pid, rows))
    return parts


def partition_index(live: dict[str, CatalogFile]) -> dict[PartitionId, list[CatalogFile]]:
    """Group live files by partition."""
    index: dict[PartitionId, list[CatalogFile]] = {}
    for f in live.values():
        index.setdefault((f.data_type, f.venue, f.symbol, f.day), []).append(f)
    return index


def read_files(
    storage: CatalogStorage,
    files: list[CatalogFile],
    data_type: str,
    columns: list[str] | None = None,
) -> pa.Table:
    """Read and concatenate catalog files (optionally only some columns)."""
    schema = arrow_schema(as_data_type(data_type))
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns])
    tables = []
    for f in files:
        try:
            table = pq.read_table(pa.BufferReader(storage.read_bytes(f.path)), columns=columns)
        except pa.ArrowException as exc:
            raise DataSourceError(f"catalog file {f.path} is unreadable: {exc}") from exc
        tables.append(table.cast(schema))
    return pa.concat_tables(tables) if tables else schema.empty_table()


def as_data_type(name: str) -> DataType:
    """Return ``name`` as a catalog table name, or raise naming it."""
    for data_type in NATURAL_KEYS:
        if data_type == name:
            return data_type
    raise DataSourceError(f"unknown catalog table {name!r}")
