"""Ask a venue for a fresh in-stream book snapshot by resubscribing, without flooding it.

Venues that send their book snapshot on the socket (Kraken, Coinbase) resend one
when the book channel is subscribed again. A resync asks at most once per
``wait_s`` and then waits for the snapshot to arrive: a large snapshot can take a
while, and asking again meanwhile only costs the venue's message budget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from tradefabric.core.clock import Clock
from tradefabric.data.feed.venue import SendFrame


class SnapshotRequests:
    """Track, per symbol, when a snapshot was last asked for, and ask again only when due."""

    def __init__(self, clock: Clock, wait_s: float = 5.0, poll_s: float = 0.01) -> None:
        self._clock = clock
        self._wait_ns = int(wait_s * 1e9)
        self._poll_s = poll_s
        self._asked: dict[str, int] = {}

    def asked_now(self, symbols: Iterable[str]) -> None:
        """Note that snapshots of ``symbols`` are on their way (a subscription was sent)."""
        now = self._clock.timestamp_ns()
        for symbol in symbols:
            self._asked[symbol] = now

    async def resync(
        self,
        symbol: str,
        *,
        book_valid: Callable[[str], bool],
        last_snapshot_ns: Callable[[str], int],
        resubscribe_frames: Callable[[], Iterable[str]],
        send: SendFrame,
    ) -> None:
        """Resubscribe unless a snapshot is already coming, then wait for it (up to ``wait_s``)."""
        if book_valid(symbol):
            return
        asked = self._asked.get(symbol, 0)
        now = self._clock.timestamp_ns()
        if last_snapshot_ns(symbol) >= asked or now - asked >= self._wait_ns:
            asked = self._asked[symbol] = now
            for frame in resubscribe_frames():
                await send(frame)
        while self._clock.timestamp_ns() - asked < self._wait_ns:
            if last_snapshot_ns(symbol) >= asked:
                return
            await asyncio.sleep(self._poll_s)
