"""Say what a failed or interrupted write had already committed to the catalog.

A replay or import commits as it goes (one version per flush or chunk), so an
error or Ctrl-C midway leaves versions behind. They are complete and correct,
and running the same command again adds only what is missing (natural keys);
the user is told which versions they are instead of having to guess.
"""

from __future__ import annotations

from pathlib import Path

from tradefabric.core.errors import TradefabricError
from tradefabric.store.catalog import Catalog


def catalog_version(root: Path | str | None) -> int:
    """Return the newest version of the catalog at ``root``; 0 when there is none (yet)."""
    if root is None:
        return 0
    try:
        return Catalog(root).version
    except TradefabricError:
        return 0


def committed_since(root: Path | str | None, before: int) -> str:
    """Describe the versions committed to ``root`` after ``before``; "" when none were."""
    if root is None:
        return ""
    try:
        entries = [e for e in Catalog(root).versions() if e.version > before]
    except TradefabricError:
        return ""
    if not entries:
        return f"nothing was committed to {root}"
    rows: dict[str, int] = {}
    for entry in entries:
        for f in entry.added:
            rows[f.data_type] = rows.get(f.data_type, 0) + f.rows
    first, last = entries[0].version, entries[-1].version
    span = f"version {first}" if first == last else f"versions {first}-{last}"
    counts = ", ".join(f"{n:,} {data_type}" for data_type, n in sorted(rows.items()))
    return (
        f"{span} of {root} were committed before this ({counts or 'no rows'}); "
        "a later run over the same data adds only what is missing"
    )
