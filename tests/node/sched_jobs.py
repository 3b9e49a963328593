"""Jobs the scheduler tests run in real worker processes (imported there by module path)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from tradefabric.core.worker import JobRequest


def wait_for_release(request: JobRequest) -> dict[str, Any]:
    """Write this worker's pid, then wait until ``args.release`` exists (the test's go)."""
    Path(request.args["pid_file"]).write_text(str(os.getpid()))
    release = Path(request.args["release"])
    deadline = time.monotonic() + 60
    while not release.exists():  # a condition, with a deadline: never a hung worker
        if time.monotonic() > deadline:
            raise TimeoutError(f"{release} never appeared")
        time.sleep(0.005)
    return {"pid": os.getpid(), "niceness": os.nice(0), "due_ns": request.due_ns}


def fail(request: JobRequest) -> None:
    """Raise, as a job with a bug does."""
    raise RuntimeError(f"boom in {request.name}")


def crash(request: JobRequest) -> None:
    """End the worker without a result (a segfault or an OOM kill looks like this)."""
    os._exit(3)


def hang(request: JobRequest) -> None:
    """Never end on its own (a timeout or the node's stop ends it)."""
    Path(request.args["pid_file"]).write_text(str(os.getpid()))
    threading.Event().wait()
