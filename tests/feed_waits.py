"""Waits shared by the tests that run a live feed against the fake venue."""

from __future__ import annotations

import asyncio

from tradefabric.node.live_feed import LiveFeed


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
