"""Answer every invalid book with a fresh snapshot, once at a time per book."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from tradefabric.core.bus import MessageBus
from tradefabric.core.errors import TradefabricError
from tradefabric.data import topics
from tradefabric.data.book_sync import OrderBooks
from tradefabric.data.feed.backoff import Backoff
from tradefabric.model.data import OrderBookStatus

log = structlog.get_logger(__name__)

SnapshotFetch = Callable[[str], Awaitable[None]]
"""Fetch a snapshot of a symbol and publish it (REST for Binance)."""

_BUFFER_WAIT_S = 3.0
_POLL_S = 0.02


class BookResync:
    """Fetch snapshots for books of ``venue`` that report themselves invalid.

    Binance's procedure wants the snapshot taken after the first buffered diff, so
    a fetch waits (briefly) until the book has buffered one.
    """

    def __init__(
        self, bus: MessageBus, books: OrderBooks, venue: str, fetch: SnapshotFetch
    ) -> None:
        self._books = books
        self._venue = venue
        self._fetch = fetch
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self.snapshots_fetched = 0
        self.failures = 0
        bus.subscribe(topics.BOOK_STATUS, self.on_status)

    def on_status(self, status: OrderBookStatus) -> None:
        """Start a resync when a book of our venue turns invalid."""
        if status.venue != self._venue or status.valid:
            return
        if status.symbol in self._in_flight:
            return
        task = asyncio.get_running_loop().create_task(self._resync(status.symbol))
        self._in_flight[status.symbol] = task

    async def close(self) -> None:
        """Cancel resyncs in progress."""
        for task in list(self._in_flight.values()):
            task.cancel()
        await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    async def _resync(self, symbol: str) -> None:
        backoff = Backoff(initial_s=0.2, maximum_s=10.0)
        try:
            while not self._is_valid(symbol):
                await self._wait_for_buffered_delta(symbol)
                if self._is_valid(symbol):
                    break  # an in-stream snapshot fixed it while we waited
                try:
                    await self._fetch(symbol)
                    self.snapshots_fetched += 1
                except TradefabricError as exc:
                    self.failures += 1
                    log.warning("snapshot_failed", venue=self._venue, symbol=symbol, error=str(exc))
                    await asyncio.sleep(backoff.next_delay())
                    continue
                # A snapshot older than the buffer gaps again; give the status a moment.
                await asyncio.sleep(0)
        finally:
            self._in_flight.pop(symbol, None)

    def _is_valid(self, symbol: str) -> bool:
        book = self._books.book(self._venue, symbol)
        return book is not None and book.valid

    async def _wait_for_buffered_delta(self, symbol: str) -> None:
        waited = 0.0
        while waited < _BUFFER_WAIT_S:
            synced = self._books.synced(self._venue, symbol)
            if synced is not None and (synced.buffer or synced.rule.snapshot_supersedes_buffer):
                # Venues whose snapshot replaces the buffer (in-stream snapshots) need no bridge.
                return
            await asyncio.sleep(_POLL_S)
            waited += _POLL_S
