"""Ask a venue for a fresh in-stream book snapshot by resubscribing, without flooding it.

Venues that send their book snapshot on the socket (Kraken, Coinbase) resend one
when the book channel is subscribed again. A resync asks at most once per
``wait_s`` and then waits for the snapshot to arrive: a large snapshot can take a
while, and asking again meanwhile only costs the venue's message budget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock
from tradefabric.data import topics
from tradefabric.data.feed.venue import SendFrame
from tradefabric.model.data import OrderBookSnapshot, OrderBookStatus


class BookWatch:
    """Follow, per symbol of one venue, whether its book is valid and when a snapshot arrived."""

    def __init__(self, bus: MessageBus, venue: str) -> None:
        self._venue = venue
        self._valid: dict[str, bool] = {}
        self._snapshot_ns: dict[str, int] = {}
        bus.subscribe(topics.BOOK_STATUS, self._on_status)
        bus.subscribe(topics.BOOK_SNAPSHOTS, self._on_snapshot)

    def book_valid(self, symbol: str) -> bool:
        """Return True when the local book of ``symbol`` last reported itself valid."""
        return self._valid.get(symbol, False)

    def last_snapshot_ns(self, symbol: str) -> int:
        """Return when the last snapshot of ``symbol`` was received (0: never)."""
        return self._snapshot_ns.get(symbol, 0)

    def _on_status(self, status: OrderBookStatus) -> None:
        if status.venue == self._venue:
            self._valid[status.symbol] = status.valid

    def _on_snapshot(self, snapshot: OrderBookSnapshot) -> None:
        if snapshot.venue == self._venue:
            self._snapshot_ns[snapshot.symbol] = snapshot.ts_recv


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
        watch: BookWatch,
        resubscribe_frames: Callable[[], Iterable[str]],
        send: SendFrame,
    ) -> None:
        """Resubscribe unless a snapshot is already coming, then wait for it (up to ``wait_s``)."""
        if watch.book_valid(symbol):
            return
        asked = self._asked.get(symbol, 0)
        now = self._clock.timestamp_ns()
        if watch.last_snapshot_ns(symbol) >= asked or now - asked >= self._wait_ns:
            asked = self._asked[symbol] = now
            for frame in resubscribe_frames():
                await send(frame)
        while self._clock.timestamp_ns() - asked < self._wait_ns:
            if watch.last_snapshot_ns(symbol) >= asked:
                return
            await asyncio.sleep(self._poll_s)
