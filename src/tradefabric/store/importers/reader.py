"""Read candle files of any registered format into checked catalog tables.

A format is data: its file suffixes, one loader per suffix (file -> raw
table + layout) and a parser of its file names (-> venue, symbol, timeframe
hints). This module does the rest the same way for every format: decide
where the file's candles belong, convert and check them, sort and dedupe.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa

from tradefabric.core.errors import ConfigError, DataSourceError
from tradefabric.core.time import interval_to_ns
from tradefabric.store.importers.candles import CandleIdentity, build_candles
from tradefabric.store.importers.errors import FileNameError, ImportFileError
from tradefabric.store.importers.layout import Layout, read_layout
from tradefabric.store.importers.model import (
    DEFAULT_TIMEFRAME,
    FileCandles,
    FileHints,
    ImportOptions,
)
from tradefabric.store.importers.names import check_symbol, interval_label


class SourceTable(msgspec.Struct, frozen=True):
    """A file's own columns (pa.Table) and the layout that says what they hold."""

    table: object
    layout: Layout


Loader = Callable[[Path, ImportOptions], SourceTable]
HintParser = Callable[[Path, str | None], FileHints]
"""(file, the venue given or None) -> what the file's name says."""


def no_hints(_path: Path, _venue: str | None) -> FileHints:
    """Return no hints: for formats whose file names say nothing reliable."""
    return FileHints()


class CandleFormat(msgspec.Struct, frozen=True):
    """One importable format: a name, a loader per file suffix and a file name parser."""

    name: str
    summary: str
    example: str
    """A command line importing this format, for help texts and the README."""
    loaders: dict[str, Loader]
    """File suffix (lower case, with the dot, e.g. ``.json.gz``) -> loader."""
    hints: HintParser = no_hints
    takes_mapping: bool = False
    """Whether ``--map`` and ``--time-unit`` apply (the other formats know their columns)."""

    @property
    def suffixes(self) -> tuple[str, ...]:
        """Return the file suffixes this format reads."""
        return tuple(self.loaders)

    def loader(self, path: Path) -> Loader | None:
        """Return the loader for ``path``'s suffix (the longest that matches), or None."""
        name = path.name.lower()
        matches = [suffix for suffix in self.loaders if name.endswith(suffix)]
        return self.loaders[max(matches, key=len)] if matches else None


def load_with(path: Path, what: str, read: Callable[[Path], Any]) -> Any:
    """Return ``read(path)``, turning I/O and Arrow failures into an error naming the file."""
    try:
        return read(path)
    except OSError as exc:
        raise DataSourceError(f"cannot read {path}: {exc}") from exc
    except (pa.ArrowException, ValueError) as exc:
        raise ImportFileError(path, f"cannot read as {what}: {exc}") from exc


def list_files(path: Path, fmt: CandleFormat) -> list[Path]:
    """Return ``path`` itself, or the files of folder ``path`` this format reads, by name."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataSourceError(f"no such file or folder: {path}")
    files = sorted(
        p
        for p in path.iterdir()
        if p.is_file() and not p.name.startswith(".") and fmt.loader(p) is not None
    )
    if not files:
        raise DataSourceError(
            f"no {fmt.name} files in {path} (looked for {', '.join(fmt.suffixes)})"
        )
    return files


def check_options(fmt: CandleFormat, options: ImportOptions) -> None:
    """Refuse a column mapping or time unit for a format that does not take them."""
    if (options.column_map or options.time_unit) and not fmt.takes_mapping:
        raise ConfigError(
            f"--map and --time-unit are for the generic format; {fmt.name} knows its columns"
        )


def check_overrides(files: Sequence[Path], fmt: CandleFormat, options: ImportOptions) -> None:
    """Refuse --venue/--symbol on a folder whose file names name several venues or symbols.

    Putting them under one key would make every file after the first look like
    duplicates of it, and silently drop them.
    """
    if len(files) < 2:
        return
    hints = [fmt.hints(f, options.venue) for f in files]
    for option, given, named in (
        ("venue", options.venue, {h.venue for h in hints}),
        ("symbol", options.symbol, {h.symbol for h in hints}),
    ):
        named.discard(None)
        if given is not None and len(named) > 1:
            raise ConfigError(
                f"--{option} {given} would put {len(files)} files naming {len(named)} "
                f"different {option}s ({', '.join(sorted(str(n) for n in named))}) under one "
                f"{option}; import them one at a time or leave out --{option}"
            )


def read_file(path: Path, fmt: CandleFormat, options: ImportOptions) -> FileCandles:
    """Read one file of format ``fmt`` into checked catalog rows."""
    loader = fmt.loader(path)
    if loader is None:
        raise ImportFileError(
            path, f"the {fmt.name} format reads {', '.join(fmt.suffixes)} files, not this one"
        )
    hints = fmt.hints(path, options.venue)
    source = loader(path, options)
    columns = read_layout(source.table, source.layout, path)
    identity = resolve_identity(path, fmt.name, hints, options, columns.interval_ns)
    return build_candles(columns, identity, path, fmt.name)


def read_path(path: Path, fmt: CandleFormat, options: ImportOptions) -> Iterator[FileCandles]:
    """Yield the checked rows of ``path`` (a file, or each of a folder's files, by name)."""
    check_options(fmt, options)
    files = list_files(path, fmt)
    check_overrides(files, fmt, options)
    for file in files:
        yield read_file(file, fmt, options)


def resolve_identity(
    path: Path, fmt: str, hints: FileHints, options: ImportOptions, data_interval_ns: int | None
) -> CandleIdentity:
    """Decide venue, symbol and interval: options first, then the file name, then the data."""
    venue = options.venue or hints.venue
    if not venue:
        raise FileNameError(path, f"no venue: the {fmt} file name does not say; give --venue")
    symbol = options.symbol or hints.symbol
    if not symbol:
        raise FileNameError(path, f"no symbol: the {fmt} file name does not say; give --symbol")
    interval_ns = _interval(path, hints, options, data_interval_ns)
    return CandleIdentity(
        venue=venue,
        symbol=check_symbol(symbol),
        interval=interval_label(interval_ns),
        interval_ns=interval_ns,
    )


def _interval(
    path: Path, hints: FileHints, options: ImportOptions, data_interval_ns: int | None
) -> int:
    stated: list[tuple[str, int]] = []
    for source, label in (("--timeframe", options.timeframe), ("the file name", hints.timeframe)):
        if label is not None:
            try:
                stated.append((f"{source} ({label})", interval_to_ns(label)))
            except ConfigError as exc:
                raise FileNameError(path, f"{source}: {exc}") from None
    if data_interval_ns is not None:
        stated.append((f"the close times ({interval_label(data_interval_ns)})", data_interval_ns))
    if not stated:
        return interval_to_ns(DEFAULT_TIMEFRAME)
    first_source, first = stated[0]
    for source, value in stated[1:]:
        if value != first:
            raise FileNameError(path, f"timeframes disagree: {first_source} vs {source}")
    return first
