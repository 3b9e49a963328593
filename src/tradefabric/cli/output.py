"""Shared CLI plumbing: consoles, JSON output, progress bars and error exits."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from tradefabric.core.errors import ConfigError, TradefabricError

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)

EXIT_DATA_ERROR = 2
EXIT_INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT), as shells report it."""


def print_json(value: object) -> None:
    """Write ``value`` as one JSON document on stdout."""
    sys.stdout.write(msgspec.json.encode(value).decode() + "\n")


def fail(error: TradefabricError, committed: str = "") -> typer.Exit:
    """Print ``error`` as one line on stderr and return the exit to raise (no traceback).

    ``committed`` (see ``cli/committed.py``) says what the command wrote before failing.
    """
    note = f"; {committed}" if committed else ""
    stderr.print(f"[bold red]error:[/] {error}{note}", highlight=False)
    return typer.Exit(code=EXIT_DATA_ERROR)


def check_out_dir(path: Path | None, option: str) -> None:
    """Raise ``ConfigError`` when ``option``'s folder ``path`` is an existing file."""
    blocker = next((p for p in (path, *path.parents) if p.is_file()), None) if path else None
    if blocker is not None:
        raise ConfigError(f"{option} {path}: {blocker} is a file, not a folder")


def check_out_file(path: Path | None, option: str) -> None:
    """Raise ``ConfigError`` when ``option``'s file ``path`` is a folder or under a file."""
    if path is None:
        return
    if path.is_dir():
        raise ConfigError(f"{option} {path} is a folder; give a file path")
    check_out_dir(path.parent, option)


def os_error_text(exc: OSError) -> str:
    """Return "<path>: <problem>" for a failed file operation (no errno noise)."""
    problem = exc.strerror or str(exc)
    if exc.filename is None:
        return problem
    second = f" -> {exc.filename2}" if exc.filename2 is not None else ""
    return f"{exc.filename}{second}: {problem}"


@contextmanager
def file_progress(path: Path, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """Show a progress bar over the bytes of ``path`` on stderr; yield its update callback."""
    if not enabled or not path.is_file():
        yield None
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as progress:
        task = progress.add_task(path.name, total=path.stat().st_size)
        yield lambda done: progress.update(task, completed=done)
