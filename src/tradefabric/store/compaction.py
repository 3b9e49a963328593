"""Merge each partition's small files into one daily file, in one commit.

A live feed writes a file per flush; after a day that is many small files per
partition, which slows every query. Compaction reads a partition's files,
drops repeated keys (defensively: writes are already deduplicated), sorts by
time and writes one file; the commit adds it and removes the small ones, so a
reader sees the old set or the new one, never both. The small files stay on
disk for versions pinned before the compaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa

from tradefabric.store.manifest import CatalogFile
from tradefabric.store.natural_keys import NATURAL_KEYS, drop_repeats
from tradefabric.store.schema import DataType
from tradefabric.store.storage import open_storage
from tradefabric.store.table_commit import (
    PartitionId,
    TableCommitter,
    as_data_type,
    partition_index,
    read_files,
)


class CompactionReport(msgspec.Struct, frozen=True):
    """What a compaction did."""

    partitions: int
    """Partitions that had more than one file and were merged."""
    files_before: int
    files_after: int
    rows: int
    duplicates: int
    version: int | None
    """The version the compaction committed; None when there was nothing to merge."""


def compact(
    root: Path | str,
    data_type: DataType | None = None,
    storage_options: dict[str, Any] | None = None,
) -> CompactionReport:
    """Merge every partition (of ``data_type``, or of all tables) that has several files."""
    committer = TableCommitter(open_storage(root, storage_options))
    manifest = committer.manifest
    manifest.refresh()
    index = partition_index(manifest.live_files())
    targets = {
        pid: files
        for pid, files in index.items()
        if len(files) > 1 and (data_type is None or pid[0] == data_type)
    }
    added: list[CatalogFile] = []
    removed: list[str] = []
    rows = duplicates = 0
    for pid, files in sorted(targets.items()):
        merged, repeats = _merge(committer, pid, files)
        added.append(committer.write_file(pid, merged))
        removed.extend(f.path for f in files)
        rows += merged.num_rows
        duplicates += repeats
    version = None
    if added:
        what = data_type or "all tables"
        entry = manifest.commit(tuple(added), tuple(removed), "compact", f"compact:{what}")
        version = entry.version
    return CompactionReport(
        partitions=len(targets),
        files_before=len(removed),
        files_after=len(added),
        rows=rows,
        duplicates=duplicates,
        version=version,
    )


def _merge(
    committer: TableCommitter, pid: PartitionId, files: list[CatalogFile]
) -> tuple[pa.Table, int]:
    data_type = as_data_type(pid[0])
    table = read_files(committer.storage, files, data_type)
    return drop_repeats(table, NATURAL_KEYS[data_type])
