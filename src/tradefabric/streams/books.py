"""Order book samples: the top N levels of every valid book, at a fixed rate.

Full books change on every delta, far too often to ship each state to another
process. ``BookSampler`` publishes, every ``interval_ns`` of clock time, a top-N
``OrderBookSnapshot`` of each valid book that changed since its last sample, on
``BOOK_SAMPLES``. That topic is deliberately not ``topics.BOOK_SNAPSHOTS``: a
top-N sample fed back into ``OrderBooks`` would replace the full book with it.
``BookTops`` is the downstream side: it turns the samples it sees, local or
read back from Redis, into best bid/ask records.
"""

from __future__ import annotations

import msgspec

from tradefabric.core.bus import MessageBus, Topic
from tradefabric.core.clock import Clock
from tradefabric.core.errors import ConfigError
from tradefabric.data.book_sync import OrderBooks
from tradefabric.model.data import OrderBookSnapshot

BOOK_SAMPLES: Topic[OrderBookSnapshot] = Topic("data.book.samples", OrderBookSnapshot)
"""Top-N samples of local books (``BookSampler``); ``ts_recv`` is the sampling time."""


class BookTop(msgspec.Struct, frozen=True):
    """Best bid and ask of one book sample; a side without levels has price None, size 0."""

    venue: str
    symbol: str
    sequence: int
    ts_event: int
    ts_recv: int
    bid: float | None
    bid_size: float
    ask: float | None
    ask_size: float
    levels: int
    """Levels in the sample, both sides together."""


class BookSampler:
    """Publish a top-``depth`` sample of every changed valid book every ``interval_ns``."""

    def __init__(
        self, bus: MessageBus, clock: Clock, books: OrderBooks, interval_ns: int, depth: int
    ) -> None:
        """Start the sampling timer on ``clock``; raise ``ConfigError`` for a bad rate or depth."""
        if interval_ns <= 0:
            raise ConfigError(f"book sample interval must be positive, got {interval_ns} ns")
        if depth <= 0:
            raise ConfigError(f"book sample depth must be positive, got {depth}")
        self._bus = bus
        self._books = books
        self._depth = depth
        self._last_sequence: dict[tuple[str, str], int] = {}
        self.samples = 0
        clock.set_timer(interval_ns, self._on_tick)

    def _on_tick(self, due_ns: int) -> None:
        for synced in self._books.all_books():
            book = synced.book
            key = (book.venue, book.symbol)
            # An unchanged book would only repeat its last sample.
            if not book.valid or self._last_sequence.get(key) == book.sequence:
                continue
            self._last_sequence[key] = book.sequence
            depth = book.depth(self._depth)
            sample = OrderBookSnapshot(
                book.venue,
                book.symbol,
                tuple(depth.bids),
                tuple(depth.asks),
                book.sequence,
                book.ts_event,
                due_ns,
            )
            self.samples += 1
            self._bus.publish(BOOK_SAMPLES, sample)


def book_top(sample: OrderBookSnapshot) -> BookTop:
    """Return the best bid and ask of a book sample (levels are best first)."""
    bid, bid_size = sample.bids[0] if sample.bids else (None, 0.0)
    ask, ask_size = sample.asks[0] if sample.asks else (None, 0.0)
    return BookTop(
        venue=sample.venue,
        symbol=sample.symbol,
        sequence=sample.sequence,
        ts_event=sample.ts_event,
        ts_recv=sample.ts_recv,
        bid=bid,
        bid_size=bid_size,
        ask=ask,
        ask_size=ask_size,
        levels=len(sample.bids) + len(sample.asks),
    )


class BookTops:
    """Record the top of book of every sample on ``BOOK_SAMPLES``, and the latest per book."""

    def __init__(self, bus: MessageBus) -> None:
        """Subscribe to ``BOOK_SAMPLES``."""
        self.history: list[BookTop] = []
        self._latest: dict[tuple[str, str], BookTop] = {}
        bus.subscribe(BOOK_SAMPLES, self.on_sample)

    def on_sample(self, sample: OrderBookSnapshot) -> None:
        """Record the sample's top of book."""
        top = book_top(sample)
        self.history.append(top)
        self._latest[(top.venue, top.symbol)] = top

    def latest(self, venue: str, symbol: str) -> BookTop | None:
        """Return the last top of book seen for ``symbol`` on ``venue``, or None."""
        return self._latest.get((venue, symbol))
