"""The data engine: socket readers enqueue raw frames, one task parses and publishes them.

A venue's socket reader (``VenueConnection``) only stamps the receive time and
hands the frame to ``FrameQueue.on_frame``; nothing of the node runs inside the
reader. One engine task drains the queue in arrival order and calls each frame's
venue parser, which publishes trades, book updates and candles on the bus.

The queue is bounded. When it is full (the node cannot keep up), the newest
frame is dropped: dropping old frames would reorder what a book sees, while a
dropped newest frame is one more gap the book's sequence check (or the
venue's trade ids) will report anyway. Every drop is counted per venue; the
first drop of an episode invalidates that venue's books (they missed updates
and must be rebuilt from a snapshot) and publishes one ``data_dropped`` alert.
The episode ends once the queue has drained to half.
"""

from __future__ import annotations

import asyncio
from collections import deque

import msgspec
import structlog

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock
from tradefabric.core.errors import DataError, StaleMessageError
from tradefabric.core.logging import WarningThrottle
from tradefabric.data.book_sync import OrderBooks
from tradefabric.data.feed.venue import FrameParser
from tradefabric.ops.alerts import ALERTS, Alert, AlertLevel

log = structlog.get_logger(__name__)

_BATCH = 256
"""Frames parsed before the engine task yields to the socket readers."""


class VenueFrameStats(msgspec.Struct, frozen=True, kw_only=True):
    """What one venue's frames did in the queue."""

    venue: str
    queued: int
    parsed: int
    dropped: int
    """Frames dropped at a full queue."""
    duplicates: int
    """Frames the parser had already seen (after a reconnect or REST fallback)."""
    rejected: dict[str, int]
    """Frames the parser refused, by error type (malformed, unknown stream, gap...)."""
    parse_errors: int
    """Frames whose parser raised something other than a data error (a bug)."""


class DataEngineStats(msgspec.Struct, frozen=True, kw_only=True):
    """The queue's state: how full it is now and was at worst, and per-venue counts."""

    capacity: int
    depth: int
    high_water: int
    venues: list[VenueFrameStats]

    @property
    def dropped(self) -> int:
        """Return the frames dropped at a full queue, all venues."""
        return sum(v.dropped for v in self.venues)


class _VenueCounts:
    __slots__ = ("dropped", "duplicates", "parse_errors", "parsed", "queued", "rejected")

    def __init__(self) -> None:
        self.queued = 0
        self.parsed = 0
        self.dropped = 0
        self.duplicates = 0
        self.rejected: dict[str, int] = {}
        self.parse_errors = 0


class FrameQueue:
    """One venue's entry into the data engine: the ``FrameSink`` its connection writes to."""

    __slots__ = ("_engine", "counts", "parser", "venue")

    def __init__(self, engine: DataEngine, venue: str, parser: FrameParser) -> None:
        self._engine = engine
        self.venue = venue
        self.parser = parser
        self.counts = _VenueCounts()

    def on_frame(self, raw: bytes, ts_recv: int) -> None:
        """Enqueue one raw frame (called by the socket reader); never parses."""
        self._engine.enqueue(self, raw, ts_recv)


class DataEngine:
    """The bounded frame queue and the task that drains it; see the module docstring."""

    def __init__(self, bus: MessageBus, clock: Clock, books: OrderBooks, capacity: int) -> None:
        self._bus = bus
        self._clock = clock
        self._books = books
        self.capacity = capacity
        self._frames: deque[tuple[FrameQueue, bytes, int]] = deque()
        self._ready = asyncio.Event()
        self._queues: list[FrameQueue] = []
        self._overflowing: set[str] = set()
        self.high_water = 0
        self._warnings = WarningThrottle(log)

    def queue_for(self, venue: str, parser: FrameParser) -> FrameQueue:
        """Return the sink a venue's connection writes its frames to."""
        queue = FrameQueue(self, venue, parser)
        self._queues.append(queue)
        return queue

    def enqueue(self, source: FrameQueue, raw: bytes, ts_recv: int) -> None:
        """Add one frame, or drop it (counted, books invalidated, alerted) when full."""
        frames = self._frames
        if len(frames) >= self.capacity:
            self._drop(source)
            return
        frames.append((source, raw, ts_recv))
        source.counts.queued += 1
        self.high_water = max(self.high_water, len(frames))
        self._ready.set()

    def _drop(self, source: FrameQueue) -> None:
        source.counts.dropped += 1
        if source.venue in self._overflowing:
            return
        self._overflowing.add(source.venue)
        for synced in self._books.all_books():
            book = synced.book
            if book.venue == source.venue:
                self._books.invalidate(book.venue, book.symbol, "data engine queue full")
        message = (
            f"data engine queue full ({self.capacity} frames): dropping {source.venue} "
            "frames; its books are rebuilt from snapshots, trades in the gap may be lost"
        )
        log.warning("frames_dropped", venue=source.venue, capacity=self.capacity)
        self._bus.publish(
            ALERTS,
            Alert(
                kind="data_dropped",
                level=AlertLevel.WARNING,
                component=f"feed:{source.venue}",
                message=message,
                ts=self._clock.timestamp_ns(),
            ),
        )

    def drain(self, limit: int | None = None) -> int:
        """Parse queued frames now (all, or at most ``limit``); return how many."""
        frames = self._frames
        done = 0
        while frames and (limit is None or done < limit):
            source, raw, ts_recv = frames.popleft()
            self._parse(source, raw, ts_recv)
            done += 1
        if self._overflowing and len(frames) <= self.capacity // 2:
            self._overflowing.clear()
        return done

    def _parse(self, source: FrameQueue, raw: bytes, ts_recv: int) -> None:
        counts = source.counts
        try:
            source.parser.on_frame(raw, ts_recv)
        except StaleMessageError:
            counts.duplicates += 1  # expected after a reconnect or a REST fallback
        except DataError as exc:
            kind = type(exc).__name__
            counts.rejected[kind] = counts.rejected.get(kind, 0) + 1
            self._warnings.warn(kind, "frame rejected", venue=source.venue, reason=str(exc))
        except Exception as exc:
            # A parser bug. One bad frame must not stop the engine (and every feed with it).
            counts.parse_errors += 1
            log.error("frame_parse_failed", venue=source.venue, error=repr(exc))
        else:
            counts.parsed += 1

    async def run(self, stop: asyncio.Event) -> None:
        """Drain frames as they arrive until ``stop`` is set, then parse what is left."""
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                if not self._frames:
                    self._ready.clear()
                    ready = asyncio.ensure_future(self._ready.wait())
                    await asyncio.wait({ready, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    ready.cancel()
                    continue
                self.drain(_BATCH)
                await asyncio.sleep(0)  # let the readers run between batches
        finally:
            stopping.cancel()
            self.drain()

    def stats(self) -> DataEngineStats:
        """Return the queue's state and per-venue counts."""
        return DataEngineStats(
            capacity=self.capacity,
            depth=len(self._frames),
            high_water=self.high_water,
            venues=[
                VenueFrameStats(
                    venue=q.venue,
                    queued=q.counts.queued,
                    parsed=q.counts.parsed,
                    dropped=q.counts.dropped,
                    duplicates=q.counts.duplicates,
                    rejected=dict(q.counts.rejected),
                    parse_errors=q.counts.parse_errors,
                )
                for q in self._queues
            ],
        )
