"""Keep local order books in step with a venue: snapshot + sequenced deltas.

The venue-documented procedure (Binance's, and most venues' like it):
buffer deltas until a snapshot arrives, drop deltas the snapshot already
contains, require the first applied delta to bridge the snapshot's id, then
require each delta to follow the previous one. Any break marks the book invalid
and asks for a fresh snapshot (an ``OrderBookStatus`` with ``valid=False`` on
the bus; live feeds answer it with a REST snapshot). A book is never silently
kept across a gap.

How ids chain differs per venue; that difference is a ``SequenceRule`` value
chosen from the venue's table, not a branch here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Protocol

import msgspec
import structlog

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock
from tradefabric.core.errors import ConfigError, MalformedMessageError
from tradefabric.data import topics
from tradefabric.data.order_book import OrderBook
from tradefabric.model.data import OrderBookDeltas, OrderBookSnapshot, OrderBookStatus

log = structlog.get_logger(__name__)

DEFAULT_BUFFER_LIMIT = 10_000


class SequenceRule(Protocol):
    """How a venue's delta ids relate to each other and to its snapshot id."""

    snapshot_supersedes_buffer: bool
    """True where snapshots arrive in-stream (Bybit, Kraken, Coinbase): a snapshot then
    already contains every delta received before it, or starts a new id sequence, so
    buffered deltas are dropped instead of replayed (REST snapshots: False)."""

    def is_stale(self, deltas: OrderBookDeltas, last_id: int) -> bool:
        """Return True when the book at ``last_id`` already contains ``deltas``."""
        ...

    def bridges(self, deltas: OrderBookDeltas, snapshot_id: int) -> bool:
        """Return True when ``deltas`` may be the first applied after a snapshot."""
        ...

    def follows(self, deltas: OrderBookDeltas, last_id: int) -> bool:
        """Return True when ``deltas`` directly continues a book at ``last_id``."""
        ...

    def checksum_ok(self, book: OrderBook, checksum: int) -> bool:
        """Return True when ``book`` matches the venue's ``checksum`` (venues without one: True)."""
        ...


class ContiguousIds:
    """Each batch covers ids ``first..last`` and the next starts at ``last + 1`` (Binance spot)."""

    snapshot_supersedes_buffer = False

    def is_stale(self, deltas: OrderBookDeltas, last_id: int) -> bool:
        """Return True when every id of the batch is at or below ``last_id``."""
        return deltas.last_id <= last_id

    def bridges(self, deltas: OrderBookDeltas, snapshot_id: int) -> bool:
        """Return True when the batch covers ``snapshot_id + 1``."""
        return deltas.first_id <= snapshot_id + 1 <= deltas.last_id

    def follows(self, deltas: OrderBookDeltas, last_id: int) -> bool:
        """Return True when the batch starts right after ``last_id``."""
        return deltas.first_id == last_id + 1

    def checksum_ok(self, book: OrderBook, checksum: int) -> bool:
        """Return True: Binance publishes no book checksum."""
        return True


class PreviousIdLink:
    """Each batch names the previous batch's last id in ``prev_id`` (Binance USD-M ``pu``)."""

    snapshot_supersedes_buffer = False

    def is_stale(self, deltas: OrderBookDeltas, last_id: int) -> bool:
        """Return True when the batch ends before ``last_id``."""
        return deltas.last_id < last_id

    def bridges(self, deltas: OrderBookDeltas, snapshot_id: int) -> bool:
        """Return True when the batch covers ``snapshot_id`` itself."""
        return deltas.first_id <= snapshot_id <= deltas.last_id

    def follows(self, deltas: OrderBookDeltas, last_id: int) -> bool:
        """Return True when the batch's ``prev_id`` is ``last_id``."""
        return deltas.prev_id == last_id

    def checksum_ok(self, book: OrderBook, checksum: int) -> bool:
        """Return True: Binance publishes no book checksum."""
        return True


class BookSyncStats(msgspec.Struct, frozen=True):
    """Counters of one synchronized book."""

    deltas_applied: int
    stale_dropped: int
    gaps: int
    resyncs: int
    buffer_overflows: int
    checksum_failures: int


class SyncedBook:
    """One order book and the state of its synchronization with the venue."""

    def __init__(
        self, book: OrderBook, rule: SequenceRule, buffer_limit: int = DEFAULT_BUFFER_LIMIT
    ) -> None:
        self.book = book
        self.rule = rule
        self.buffer: deque[OrderBookDeltas] = deque(maxlen=buffer_limit)
        self.bridged = False
        self.deltas_applied = 0
        self.stale_dropped = 0
        self.gaps = 0
        self.resyncs = 0
        self.buffer_overflows = 0
        self.checksum_failures = 0

    def stats(self) -> BookSyncStats:
        """Return the counters."""
        return BookSyncStats(
            deltas_applied=self.deltas_applied,
            stale_dropped=self.stale_dropped,
            gaps=self.gaps,
            resyncs=self.resyncs,
            buffer_overflows=self.buffer_overflows,
            checksum_failures=self.checksum_failures,
        )


class OrderBooks:
    """Build and keep valid every book seen on the bus.

    Subscribes to book snapshots and deltas; ``rules`` maps each venue name to
    its ``SequenceRule``. Publishes ``OrderBookStatus`` whenever a book becomes
    valid or invalid.
    """

    def __init__(
        self,
        bus: MessageBus,
        clock: Clock,
        rules: Mapping[str, SequenceRule],
        buffer_limit: int = DEFAULT_BUFFER_LIMIT,
    ) -> None:
        self._bus = bus
        self._clock = clock
        self._rules = dict(rules)
        self._buffer_limit = buffer_limit
        self._books: dict[tuple[str, str], SyncedBook] = {}
        bus.subscribe(topics.BOOK_SNAPSHOTS, self.on_snapshot)
        bus.subscribe(topics.BOOK_DELTAS, self.on_deltas)

    def book(self, venue: str, symbol: str) -> OrderBook | None:
        """Return the book of ``symbol`` on ``venue``, or None if never seen."""
        synced = self._books.get((venue, symbol))
        return None if synced is None else synced.book

    def synced(self, venue: str, symbol: str) -> SyncedBook | None:
        """Return the book with its sync state, or None if never seen."""
        return self._books.get((venue, symbol))

    def all_books(self) -> list[SyncedBook]:
        """Return every book seen so far."""
        return list(self._books.values())

    def invalidate(self, venue: str, symbol: str, reason: str) -> None:
        """Mark a book invalid (e.g. its connection dropped) so it is resynced before use."""
        synced = self._books.get((venue, symbol))
        if synced is None or not synced.book.valid:
            return
        synced.resyncs += 1
        self._status(synced, False, reason)

    def on_snapshot(self, snapshot: OrderBookSnapshot) -> None:
        """Load a snapshot, then replay the buffered deltas it does not contain."""
        synced = self._get(snapshot.venue, snapshot.symbol)
        synced.bridged = False
        try:
            synced.book.apply_snapshot(snapshot)
        except MalformedMessageError as exc:
            synced.resyncs += 1
            self._status(synced, False, f"invalid snapshot level: {exc}")
            return
        if snapshot.checksum >= 0 and not synced.rule.checksum_ok(synced.book, snapshot.checksum):
            self._checksum_failed(synced, snapshot.checksum)
            return
        buffered = [] if synced.rule.snapshot_supersedes_buffer else list(synced.buffer)
        synced.buffer.clear()
        self._status(synced, True, f"snapshot {snapshot.sequence}")
        for deltas in buffered:
            if not synced.book.valid:
                synced.buffer.append(deltas)
            else:
                self._apply(synced, deltas)

    def on_deltas(self, deltas: OrderBookDeltas) -> None:
        """Apply a delta batch if it continues the book; otherwise buffer it and resync."""
        synced = self._books.get((deltas.venue, deltas.symbol))
        if synced is None:
            synced = self._get(deltas.venue, deltas.symbol)
            self._status(synced, False, "new book: awaiting a snapshot")
        if synced.book.valid:
            self._apply(synced, deltas)
            return
        if len(synced.buffer) == synced.buffer.maxlen:
            synced.buffer_overflows += 1
        synced.buffer.append(deltas)

    def _apply(self, synced: SyncedBook, deltas: OrderBookDeltas) -> None:
        book = synced.book
        rule = synced.rule
        # Once bridged, a batch ending at or before the book's id is a repeat on any venue.
        bridged = synced.bridged
        if deltas.last_id <= book.sequence if bridged else rule.is_stale(deltas, book.sequence):
            synced.stale_dropped += 1
            return
        linked = (
            rule.follows(deltas, book.sequence)
            if synced.bridged
            else rule.bridges(deltas, book.sequence)
        )
        if not linked:
            self._gap(synced, deltas)
            return
        try:
            book.apply_deltas(deltas)
        except MalformedMessageError as exc:
            synced.resyncs += 1
            self._status(synced, False, f"invalid level: {exc}")
            return
        synced.bridged = True
        synced.deltas_applied += 1
        if deltas.checksum >= 0 and not rule.checksum_ok(book, deltas.checksum):
            self._checksum_failed(synced, deltas.checksum)

    def _checksum_failed(self, synced: SyncedBook, checksum: int) -> None:
        book = synced.book
        synced.checksum_failures += 1
        synced.resyncs += 1
        reason = f"checksum mismatch at {book.sequence}: venue says {checksum}"
        log.warning("book_checksum_mismatch", venue=book.venue, symbol=book.symbol, reason=reason)
        self._status(synced, False, reason)

    def _gap(self, synced: SyncedBook, deltas: OrderBookDeltas) -> None:
        book = synced.book
        synced.gaps += 1
        synced.resyncs += 1
        reason = (
            f"sequence gap: book at {book.sequence}, next batch "
            f"{deltas.first_id}..{deltas.last_id} (prev {deltas.prev_id})"
        )
        log.warning("book_gap", venue=book.venue, symbol=book.symbol, reason=reason)
        book.invalidate()
        synced.buffer.append(deltas)
        self._status(synced, False, reason)

    def _status(self, synced: SyncedBook, valid: bool, reason: str) -> None:
        book = synced.book
        book.valid = valid
        now = self._clock.timestamp_ns()
        status = OrderBookStatus(book.venue, book.symbol, valid, reason, book.ts_event, now)
        self._bus.publish(topics.BOOK_STATUS, status)

    def _get(self, venue: str, symbol: str) -> SyncedBook:
        synced = self._books.get((venue, symbol))
        if synced is None:
            rule = self._rules.get(venue)
            if rule is None:
                raise ConfigError(
                    f"no sequence rule for venue {venue!r}; known: {sorted(self._rules)}"
                )
            synced = SyncedBook(OrderBook(venue, symbol), rule, self._buffer_limit)
            self._books[(venue, symbol)] = synced
        return synced
