"""Where catalog files live: a local directory or any fsspec URL (``s3://bucket/prefix``).

Every catalog path below the root is a ``/``-separated relative string. The two
backends differ only in how a write becomes visible atomically:

- local: write ``.name.<host>.<pid>.<random>.tmp``, fsync, rename, fsync the
  directory; a writer killed with -9 leaves its temp file behind, and the next
  writer removes those whose process is gone (``remove_stale_temp_files``);
- object stores: one PUT of the whole object, which is atomic by itself.

Exclusive creation (the manifest's commit point) is ``O_EXCL`` locally and a
"create only if absent" write on object stores (a check-then-put where the
store has no conditional write; concurrent committers to one catalog on such a
store must then be serialized by the caller).
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from pathlib import Path
from typing import Any, Final, Protocol

import duckdb

from tradefabric.core.errors import ConfigError, DataSourceError

_TMP_SUFFIX: Final = ".tmp"
# A temp file whose writer cannot be checked (another host, an older name without
# a pid) is stale once it is this old: no single file write takes an hour.
_STALE_TMP_AGE_S: Final = 3600.0


class CatalogStorage(Protocol):
    """The file operations the catalog needs, on one root."""

    @property
    def root_url(self) -> str:
        """Return the root as the user gave it (path or URL)."""
        ...

    def write_atomic(self, rel: str, data: bytes) -> None:
        """Write ``data`` at ``rel`` so readers see no file or the whole file."""
        ...

    def create_exclusive(self, rel: str, data: bytes) -> bool:
        """Write ``data`` at ``rel`` only if nothing is there; return whether it was written."""
        ...

    def read_bytes(self, rel: str) -> bytes:
        """Return the content of ``rel``."""
        ...

    def list_names(self, rel_dir: str) -> list[str]:
        """Return the names (not paths) of the files directly in ``rel_dir``; [] if absent."""
        ...

    def list_files(self, rel_dir: str) -> list[str]:
        """Return every file below ``rel_dir`` as a root-relative path; [] if absent."""
        ...

    def delete(self, rel: str) -> None:
        """Remove ``rel``; a missing file is not an error."""
        ...

    def reader_path(self, rel: str) -> str:
        """Return the path or URL DuckDB and pyarrow read ``rel`` by."""
        ...

    def remove_stale_temp_files(self) -> list[str]:
        """Delete temp files left by writers that died mid-write; return their paths."""
        ...

    def attach(self, con: duckdb.DuckDBPyConnection) -> None:
        """Make ``con`` able to read ``reader_path`` results."""
        ...


class LocalStorage:
    """A catalog in a local directory, with fsync'd atomic renames."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root)
        if self._root.exists() and not self._root.is_dir():
            raise DataSourceError(f"catalog root {self._root} is not a directory")

    @property
    def root_url(self) -> str:
        """Return the root directory as a string."""
        return str(self._root)

    def write_atomic(self, rel: str, data: bytes) -> None:
        """Write through a hidden temp file, fsync it, rename it into place, fsync the directory."""
        path = self._root / rel
        _make_dirs(path.parent)
        # A leading dot and a .tmp suffix keep the half-written file out of every listing.
        tmp = _temp_path(path)
        try:
            _write_synced(tmp, data)
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise DataSourceError(f"cannot write {path}: {exc}") from exc
        _fsync_directory(path.parent)

    def create_exclusive(self, rel: str, data: bytes) -> bool:
        """Create ``rel`` with O_EXCL via a temp file and a hard link, so it appears whole."""
        path = self._root / rel
        _make_dirs(path.parent)
        tmp = _temp_path(path)
        try:
            _write_synced(tmp, data)
            # link() fails if the target exists: an atomic "create if absent" of a complete file.
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError as exc:
            raise DataSourceError(f"cannot write {path}: {exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_directory(path.parent)
        return True

    def read_bytes(self, rel: str) -> bytes:
        """Return the bytes of ``rel``."""
        try:
            return (self._root / rel).read_bytes()
        except OSError as exc:
            raise DataSourceError(f"cannot read {self._root / rel}: {exc}") from exc

    def list_names(self, rel_dir: str) -> list[str]:
        """Return the visible file names in ``rel_dir``, sorted."""
        directory = self._root / rel_dir
        if not directory.is_dir():
            return []
        return sorted(p.name for p in directory.iterdir() if _visible(p.name) and p.is_file())

    def list_files(self, rel_dir: str) -> list[str]:
        """Return every visible file below ``rel_dir``, root-relative, sorted."""
        directory = self._root / rel_dir
        if not directory.is_dir():
            return []
        return sorted(
            p.relative_to(self._root).as_posix()
            for p in directory.rglob("*")
            if p.is_file() and _visible(p.name)
        )

    def delete(self, rel: str) -> None:
        """Remove ``rel`` if it exists."""
        (self._root / rel).unlink(missing_ok=True)

    def reader_path(self, rel: str) -> str:
        """Return the absolute local path of ``rel``."""
        return str(self._root / rel)

    def remove_stale_temp_files(self) -> list[str]:
        """Delete temp files whose writing process is gone (or, unknowable, that are old)."""
        removed: list[str] = []
        if not self._root.is_dir():
            return removed
        for directory, _dirs, names in os.walk(self._root):
            for name in names:
                path = Path(directory, name)
                if name.startswith(".") and name.endswith(_TMP_SUFFIX) and _is_stale(path):
                    path.unlink(missing_ok=True)
                    removed.append(path.relative_to(self._root).as_posix())
        return removed

    def attach(self, con: duckdb.DuckDBPyConnection) -> None:
        """Do nothing: DuckDB reads local files itself."""


class FsspecStorage:
    """A catalog on any fsspec filesystem (S3, GCS, memory...), addressed by URL."""

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None) -> None:
        import fsspec  # noqa: PLC0415  (only object-store catalogs pay for the import)

        try:
            fs, path = fsspec.core.url_to_fs(url, **(storage_options or {}))
        except (ValueError, ImportError) as exc:
            raise ConfigError(f"cannot open catalog URL {url!r}: {exc}") from exc
        self._url = url
        self._fs = fs
        self._path = str(path).rstrip("/")
        protocol = fs.protocol
        self._protocol = protocol if isinstance(protocol, str) else protocol[0]

    @property
    def root_url(self) -> str:
        """Return the catalog URL."""
        return self._url

    def write_atomic(self, rel: str, data: bytes) -> None:
        """Write the object in one PUT; object stores never show a partial object."""
        try:
            self._fs.pipe_file(self._full(rel), data)
        except OSError as exc:
            raise DataSourceError(f"cannot write {self._url}/{rel}: {exc}") from exc

    def create_exclusive(self, rel: str, data: bytes) -> bool:
        """Write ``rel`` unless it exists (check-then-put; see the module note)."""
        full = self._full(rel)
        try:
            if self._fs.exists(full):
                return False
            self._fs.pipe_file(full, data)
        except OSError as exc:
            raise DataSourceError(f"cannot write {self._url}/{rel}: {exc}") from exc
        return True

    def read_bytes(self, rel: str) -> bytes:
        """Return the object's bytes."""
        try:
            data = self._fs.cat_file(self._full(rel))
        except OSError as exc:
            raise DataSourceError(f"cannot read {self._url}/{rel}: {exc}") from exc
        return bytes(data)

    def list_names(self, rel_dir: str) -> list[str]:
        """Return the object names directly under ``rel_dir``, sorted."""
        return sorted(p.rsplit("/", 1)[-1] for p in self._find(rel_dir, recursive=False))

    def list_files(self, rel_dir: str) -> list[str]:
        """Return every object below ``rel_dir``, root-relative, sorted."""
        prefix = len(self._path) + 1
        return sorted(p[prefix:] for p in self._find(rel_dir, recursive=True))

    def delete(self, rel: str) -> None:
        """Remove the object if it exists."""
        full = self._full(rel)
        if self._fs.exists(full):
            self._fs.rm_file(full)

    def reader_path(self, rel: str) -> str:
        """Return ``protocol://path`` for DuckDB's registered fsspec filesystem."""
        return f"{self._protocol}://{self._full(rel)}"

    def remove_stale_temp_files(self) -> list[str]:
        """Return []: object stores write whole objects, never temp files."""
        return []

    def attach(self, con: duckdb.DuckDBPyConnection) -> None:
        """Register the fsspec filesystem with ``con`` so DuckDB reads through it."""
        con.register_filesystem(self._fs)

    def _full(self, rel: str) -> str:
        return f"{self._path}/{rel}"

    def _find(self, rel_dir: str, recursive: bool) -> list[str]:
        full = self._full(rel_dir)
        try:
            if not self._fs.exists(full):
                return []
            self._fs.invalidate_cache(full)
            found = self._fs.find(full, maxdepth=None if recursive else 1)
        except OSError as exc:
            raise DataSourceError(f"cannot list {self._url}/{rel_dir}: {exc}") from exc
        return [str(p) for p in found if _visible(str(p).rsplit("/", 1)[-1])]


def open_storage(root: str | Path, storage_options: dict[str, Any] | None = None) -> CatalogStorage:
    """Return the storage for ``root``: a local path, or a URL such as ``s3://bucket/prefix``."""
    if isinstance(root, Path) or "://" not in root or root.startswith("file://"):
        text = str(root)
        return LocalStorage(Path(text.removeprefix("file://")))
    return FsspecStorage(root, storage_options)


def _visible(name: str) -> bool:
    return not name.startswith(".") and not name.endswith(_TMP_SUFFIX)


def _make_dirs(directory: Path) -> None:
    """Create ``directory`` and its parents, or raise naming it (read-only, a file in the way)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in (directory, *directory.parents) if p.is_file()), None)
        problem = f"{blocker} is a file, not a folder" if blocker else exc.strerror or str(exc)
        raise DataSourceError(f"cannot create catalog folder {directory}: {problem}") from exc


def _temp_path(path: Path) -> Path:
    """Return a hidden temp name beside ``path`` that says which process writes it."""
    host = socket.gethostname().replace(".", "_")
    return path.with_name(f".{path.name}.{host}.{os.getpid()}.{secrets.token_hex(4)}{_TMP_SUFFIX}")


def _is_stale(path: Path) -> bool:
    """Return whether the temp file ``path``'s writer is gone (this host) or it is old."""
    parts = path.name.removesuffix(_TMP_SUFFIX).split(".")
    if len(parts) >= 4 and parts[-3] == socket.gethostname().replace(".", "_"):
        pid = parts[-2]
        if pid.isdigit():
            return not _process_alive(int(pid))
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return False
    return age > _STALE_TMP_AGE_S


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_directory(directory: Path) -> None:
    """Persist a rename or link itself; without it a crash can lose a file that was fsynced."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
