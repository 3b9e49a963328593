"""The catalog's version history: which Parquet files make up each version.

Every write is a commit: one JSON file ``_manifest/<version>.json`` naming the
files it added and removed, with their rows, time range, content hash and the
source of the data. The live files of version N are those added and not
removed by commits 1..N; readers read exactly those files, so

- a file written by a process killed before its commit is never read,
- compaction (add one daily file, remove the small ones) is atomic for readers,
- a backtest that pins version N reads the same bytes forever (compaction and
  later imports never delete files; only ``vacuum`` does, and it keeps every
  file a retained version needs).

A commit file is created exclusively: two writers racing for one version
number cannot both win; the loser re-reads the history and takes the next one.
A writer that deduplicated its rows against version B passes ``base_version=B``:
when a commit after B touched one of its partitions, its dedup may be stale
(two imports of one file would store every row twice), so the commit is refused
with ``CommitConflictError`` and the writer rebases (``store/table_commit.py``).
"""

from __future__ import annotations

import hashlib
from typing import Final

import msgspec

from tradefabric.core.errors import CommitConflictError, DataSourceError
from tradefabric.core.time import now_ns
from tradefabric.store.storage import CatalogStorage

MANIFEST_DIR: Final = "_manifest"
_COMMIT_ATTEMPTS: Final = 100


class CatalogFile(msgspec.Struct, frozen=True):
    """One Parquet file of the catalog and what it holds."""

    path: str
    """Root-relative path, ``<type>/venue=<v>/symbol=<s>/date=<d>/<name>.parquet``."""
    data_type: str
    venue: str
    symbol: str
    day: int
    """UTC day number since the epoch of the partition."""
    rows: int
    ts_min: int
    ts_max: int
    sha256: str
    size_bytes: int


class ManifestEntry(msgspec.Struct, frozen=True):
    """One commit: the files it added and removed, why, and from what source."""

    version: int
    committed_at: int
    operation: str
    """append (live feed), import, download, compact, repair."""
    source: str
    added: tuple[CatalogFile, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def rows_added(self) -> int:
        """Return the rows in the files this commit added."""
        return sum(f.rows for f in self.added)

    @property
    def content_hash(self) -> str:
        """Return a SHA-256 over the added files' hashes and the removed paths."""
        digest = hashlib.sha256()
        for f in self.added:
            digest.update(f"+{f.path}:{f.sha256}\n".encode())
        for path in self.removed:
            digest.update(f"-{path}\n".encode())
        return digest.hexdigest()


_ENCODER: Final = msgspec.json.Encoder()
_DECODER: Final = msgspec.json.Decoder(ManifestEntry)


def _entry_name(version: int) -> str:
    return f"{version:012d}.json"


class Manifest:
    """Read and extend the commit history of the catalog on ``storage``."""

    def __init__(self, storage: CatalogStorage) -> None:
        self._storage = storage
        self._entries: list[ManifestEntry] = []
        # The newest version's files, kept as commits arrive: every write asks for them.
        self._live: dict[str, CatalogFile] = {}

    def refresh(self) -> tuple[ManifestEntry, ...]:
        """Read commits made since the last read (by any process) and return all of them."""
        names = self._storage.list_names(MANIFEST_DIR)
        for name in names[len(self._entries) :]:
            self._append(self._read(name))
        return tuple(self._entries)

    @property
    def entries(self) -> tuple[ManifestEntry, ...]:
        """Return the commits known since the last refresh."""
        return tuple(self._entries)

    @property
    def latest_version(self) -> int:
        """Return the newest known version; 0 for an empty catalog."""
        return self._entries[-1].version if self._entries else 0

    def live_files(self, version: int | None = None) -> dict[str, CatalogFile]:
        """Return the files that make up ``version`` (default: the newest), by path."""
        target = self.latest_version if version is None else version
        if not 0 <= target <= self.latest_version:
            raise DataSourceError(
                f"catalog version {target} does not exist (versions are 0..{self.latest_version})"
            )
        if target == self.latest_version:
            return dict(self._live)
        live: dict[str, CatalogFile] = {}
        for entry in self._entries[:target]:
            _apply(live, entry)
        return live

    def commit(
        self,
        added: tuple[CatalogFile, ...],
        removed: tuple[str, ...],
        operation: str,
        source: str,
        base_version: int | None = None,
    ) -> ManifestEntry:
        """Record a new version; retry with the next number when another writer took this one.

        With ``base_version``, refuse (``CommitConflictError``) when a commit after
        it added files to a partition that ``added`` writes to.
        """
        for _ in range(_COMMIT_ATTEMPTS):
            self.refresh()
            self._check_removable(removed)
            if base_version is not None:
                self._check_untouched(added, base_version)
            entry = ManifestEntry(
                version=self.latest_version + 1,
                committed_at=now_ns(),
                operation=operation,
                source=source,
                added=added,
                removed=removed,
            )
            path = f"{MANIFEST_DIR}/{_entry_name(entry.version)}"
            if self._storage.create_exclusive(path, _ENCODER.encode(entry)):
                self._append(entry)
                return entry
        raise DataSourceError(
            f"could not commit to {self._storage.root_url}: "
            f"{_COMMIT_ATTEMPTS} other commits won the race for the next version"
        )

    def _append(self, entry: ManifestEntry) -> None:
        self._entries.append(entry)
        _apply(self._live, entry)

    def _check_removable(self, removed: tuple[str, ...]) -> None:
        gone = [p for p in removed if p not in self._live]
        if gone:
            # Another writer replaced these files since we read them; our rewrite is stale.
            raise CommitConflictError(
                f"commit conflict in {self._storage.root_url}: {len(gone)} file(s) to replace "
                f"were already replaced by another writer, first {gone[0]}"
            )

    def _check_untouched(self, added: tuple[CatalogFile, ...], base_version: int) -> None:
        mine = {partition_of(f) for f in added}
        for entry in self._entries[base_version:]:
            for f in entry.added:
                if partition_of(f) in mine:
                    raise CommitConflictError(
                        f"commit conflict in {self._storage.root_url}: version {entry.version} "
                        f"({entry.operation} from {entry.source}) wrote {f.path} after version "
                        f"{base_version}, which this write was checked against"
                    )

    def _read(self, name: str) -> ManifestEntry:
        path = f"{MANIFEST_DIR}/{name}"
        try:
            entry = _DECODER.decode(self._storage.read_bytes(path))
        except msgspec.DecodeError as exc:
            raise DataSourceError(
                f"catalog manifest {self._storage.root_url}/{path} is unreadable: {exc}"
            ) from exc
        expected = len(self._entries) + 1
        if entry.version != expected or name != _entry_name(expected):
            raise DataSourceError(
                f"catalog manifest {self._storage.root_url}/{path}: expected version {expected}, "
                f"found {entry.version} (a commit file is missing or misnamed)"
            )
        return entry


def partition_of(f: CatalogFile) -> tuple[str, str, str, int]:
    """Return the (data type, venue, symbol, day) partition ``f`` belongs to."""
    return (f.data_type, f.venue, f.symbol, f.day)


def _apply(live: dict[str, CatalogFile], entry: ManifestEntry) -> None:
    """Turn ``live`` (the files of the version before ``entry``) into those of ``entry``."""
    for path in entry.removed:
        live.pop(path, None)
    for f in entry.added:
        live[f.path] = f
