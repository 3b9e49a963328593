"""Waits shared by the tests: on a condition with a deadline, never a fixed sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tradefabric.node.live_feed import LiveFeed


async def until(
    condition: Callable[[], object], timeout_s: float = 10.0, poll_s: float = 0.005
) -> None:
    """Wait until ``condition()`` is truthy (polled every ``poll_s``); fail after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s:g} s")
        await asyncio.sleep(poll_s)


async def until_drained_and_valid(feed: LiveFeed, polls: int = 200) -> None:
    """Wait until the client has read everything the finished venue sent and its books are valid.

    A finished venue has written its last frame, which the client may not have read
    yet (it can still sit in the socket), so wait for the stream to go quiet too.
    Returns after ``polls`` checks 50 ms apart regardless; the test's asserts decide.
    """
    frames, quiet = -1, 0
    for _ in range(polls):
        status = feed.status()
        quiet = quiet + 1 if status.connection.frames == frames else 0
        frames = status.connection.frames
        if quiet >= 3 and status.books and all(b.valid for b in status.books):
            return
        await asyncio.sleep(0.05)
