"""Venues' instrument lists cached in the catalog, one JSON file per fetch.

``<catalog>/instruments/<venue>/<fetched_at_ns>.json`` holds one
``InstrumentSnapshot``: every instrument the venue listed at that moment. A new
fetch adds a file and never rewrites one (a listing's history stays readable,
as catalog versions do); the newest file is the venue's current listing. Files
are written atomically through the catalog's storage, so a local directory and
an fsspec URL (``s3://...``) both work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from tradefabric.core.errors import DataSourceError
from tradefabric.model.instrument import InstrumentSnapshot
from tradefabric.store.storage import CatalogStorage, open_storage

INSTRUMENTS_DIR = "instruments"
_SUFFIX = ".json"


_decoder = msgspec.json.Decoder(InstrumentSnapshot)


class InstrumentCache:
    """Read and add instrument snapshots under a catalog root."""

    def __init__(self, root: Path | str, storage_options: dict[str, Any] | None = None) -> None:
        self._storage: CatalogStorage = open_storage(root, storage_options)

    @property
    def root(self) -> str:
        """Return the catalog root as given (path or URL)."""
        return self._storage.root_url

    def latest(self, venue: str) -> InstrumentSnapshot | None:
        """Return the newest snapshot of ``venue``, or None if it was never fetched.

        A file that does not decode is a ``DataSourceError`` naming it: a cache the
        node cannot read must be looked at, not silently refetched over.
        """
        names = [n for n in self._storage.list_names(_venue_dir(venue)) if n.endswith(_SUFFIX)]
        if not names:
            return None
        newest = max(names, key=_fetched_at)
        rel = f"{_venue_dir(venue)}/{newest}"
        try:
            snapshot = _decoder.decode(self._storage.read_bytes(rel))
        except msgspec.DecodeError as exc:
            raise DataSourceError(f"{self.root}/{rel}: not an instrument snapshot: {exc}") from exc
        if snapshot.venue != venue:
            raise DataSourceError(f"{self.root}/{rel}: holds venue {snapshot.venue!r}")
        return snapshot

    def add(self, snapshot: InstrumentSnapshot) -> str:
        """Write ``snapshot`` as a new file; return its root-relative path."""
        rel = f"{_venue_dir(snapshot.venue)}/{snapshot.fetched_at_ns}{_SUFFIX}"
        self._storage.write_atomic(rel, msgspec.json.encode(snapshot))
        return rel

    def history(self, venue: str) -> list[int]:
        """Return the fetch times (ns) of every snapshot of ``venue``, oldest first."""
        names = self._storage.list_names(_venue_dir(venue))
        return sorted(_fetched_at(n) for n in names if n.endswith(_SUFFIX))


def _venue_dir(venue: str) -> str:
    return f"{INSTRUMENTS_DIR}/{venue}"


def _fetched_at(name: str) -> int:
    stem = name.removesuffix(_SUFFIX)
    return int(stem) if stem.isdigit() else -1
