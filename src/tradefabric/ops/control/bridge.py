"""Run a function on the node's event loop from any thread and wait for its result.

The node's components are not thread-safe (one loop owns them); a web server or
bot thread asks through this bridge, which schedules the call on the loop
(``asyncio.run_coroutine_threadsafe``) and blocks until it has run. A call made on
the loop's own thread runs at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from tradefabric.core.errors import RetryableError

T = TypeVar("T")


class NodeUnavailableError(RetryableError):
    """The node's loop is stopped or did not answer in time; ask again later."""


class LoopBridge:
    """Marshal calls onto ``loop`` (the node's), answering within ``timeout_s``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout_s: float = 10.0) -> None:
        """Bridge to ``loop``; it must be running in the thread constructing the bridge,
        or ``loop_thread`` must be set by the caller."""
        self.loop = loop
        self.timeout_s = timeout_s
        self.loop_thread = threading.get_ident()

    def on_loop(self) -> bool:
        """Return True when the caller runs on the node's loop thread."""
        return threading.get_ident() == self.loop_thread

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn()`` on the loop and return what it returned (or raise what it raised)."""
        if self.on_loop():
            return fn()

        async def run() -> T:
            return fn()

        return self.run(run, self.timeout_s)

    def run(self, make: Callable[[], Coroutine[Any, Any, T]], timeout_s: float) -> T:
        """Run the coroutine ``make()`` on the loop from another thread and wait for it."""
        if self.on_loop():
            raise RuntimeError("LoopBridge.run would block the node's own loop: await it instead")
        if self.loop.is_closed():
            raise NodeUnavailableError("the node's event loop is closed")
        coroutine = make()
        try:
            future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        except RuntimeError as exc:
            coroutine.close()
            raise NodeUnavailableError(f"the node's event loop refused the call: {exc}") from exc
        try:
            return future.result(timeout_s)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            raise NodeUnavailableError(f"the node did not answer within {timeout_s:g} s") from exc
