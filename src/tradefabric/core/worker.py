"""Run one batch job in a process of its own, at lower priority.

The node's scheduler starts ``python -m tradefabric.core.worker REQUEST RESULT``: the
worker lowers its own priority (``os.nice``) before importing anything heavy, imports
the job's ``module:function``, calls it with the ``JobRequest`` and writes a
``JobResult`` to ``RESULT`` (replaced atomically), success or failure; it ends when the
node's process dies (``end_with_parent``). The job never
runs on the node's event loop or in its process, so a slow or crashing job cannot
hold up the hot path; the exit status (0 ok, 1 failed) repeats what the result says.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from tradefabric.core.errors import ConfigError


class JobRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What one run of a scheduled job is asked to do."""

    name: str
    """The schedule entry's name (the job, unless the entry names itself)."""
    target: str
    """``module:function`` called with this request."""
    args: dict[str, Any] = msgspec.field(default_factory=dict)
    due_ns: int
    """The scheduled minute (node time): a daily report at 00:05 reports the day before."""
    run_dir: str | None = None
    """The node's run folder, when it has one."""
    nice: int = 10
    """Added to the worker's niceness before the job starts."""
    parent_pid: int = 0
    """The node's pid: the worker ends when that process dies (0: it never does)."""
    event: Any = None
    """The bus event that started an ``on:`` entry's run, as JSON (None: a cron run)."""


class JobResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a job run did: its summary, or why it failed."""

    ok: bool
    summary: Any = None
    """What the job returned (JSON: a struct, a dict, a list, a number...)."""
    error: str = ""
    niceness: int = 0
    """The worker's niceness while the job ran."""
    seconds: float = 0.0


def resolve(target: str) -> Callable[[JobRequest], object]:
    """Import ``module:function``; raise ``ConfigError`` naming what is missing."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigError(f"job {target!r}: give module:function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"job {target!r}: cannot import {module_name}: {exc}") from exc
    function = getattr(module, attribute, None)
    if not callable(function):
        raise ConfigError(f"job {target!r}: {module_name} has no function {attribute}")
    return function  # type: ignore[no-any-return]


def _enc_hook(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise NotImplementedError(f"cannot encode {type(value).__name__}")


def run_job(request: JobRequest) -> JobResult:
    """Lower this process's priority, then run the request's job; never raise."""
    niceness = os.nice(request.nice)  # 0 leaves it and reads it
    started = time.perf_counter()
    try:
        summary = resolve(request.target)(request)
        # Encoded here: a summary that cannot become JSON is this job's failure.
        encoded = msgspec.json.decode(msgspec.json.encode(summary, enc_hook=_enc_hook))
    except Exception as exc:  # a job's failure is its result, reported to the node
        traceback.print_exc()  # into the job's log file
        return JobResult(
            ok=False, error=f"{type(exc).__name__}: {exc}", niceness=niceness,
            seconds=time.perf_counter() - started,
        )  # fmt: skip
    return JobResult(
        ok=True, summary=encoded, niceness=niceness, seconds=time.perf_counter() - started
    )


def write_result(path: Path, result: JobResult) -> None:
    """Write ``result`` to ``path`` atomically (a reader sees all of it or nothing)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(msgspec.json.encode(result))
    tmp.replace(path)


def end_with_parent(parent_pid: int) -> bool:
    """Ask Linux to SIGTERM this process when its parent dies; False when the parent is
    already gone (or when ``parent_pid`` is 0: no parent to follow).

    A node killed -9 must not leave its jobs running: the restarted node would start a
    second run of the same job beside the orphan."""
    if not parent_pid:
        return True
    if sys.platform.startswith("linux"):
        import ctypes  # noqa: PLC0415 - Linux only

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    # The parent may have died before the prctl: then we were reparented already.
    return os.getppid() == parent_pid


def main(argv: list[str]) -> int:
    """Run ``REQUEST`` (a JSON ``JobRequest`` file), write ``RESULT``; 0 ok, 1 failed."""
    if len(argv) != 2:
        sys.stderr.write("usage: python -m tradefabric.core.worker REQUEST.json RESULT.json\n")
        return 2
    request = msgspec.json.decode(Path(argv[0]).read_bytes(), type=JobRequest)
    if not end_with_parent(request.parent_pid):
        sys.stderr.write(f"the parent {request.parent_pid} is gone: job not started\n")
        return 1
    result = run_job(request)
    write_result(Path(argv[1]), result)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
