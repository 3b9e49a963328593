"""The market data node: one place that builds bus, clock, parser, books, candles and store.

Replay and (later) live feeds drive the same node; only the clock and where
frames come from differ.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import NamedTuple, TypeVar

import msgspec

from tradefabric.core.bus import MessageBus, Topic
from tradefabric.core.clock import Clock, SimClock
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import NS_PER_MS
from tradefabric.data import topics
from tradefabric.data.book_check import BookCheckStats, BookTopChecker
from tradefabric.data.book_sync import OrderBooks, SyncedBook
from tradefabric.data.candles import CandleAggregator, CandleStats
from tradefabric.model.data import TradeGap
from tradefabric.node.config import MarketDataConfig
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.schema import RowCounts
from tradefabric.venues.registry import sequence_rules, venue_profile
from tradefabric.venues.replay.recording import ProgressCallback
from tradefabric.venues.replay.replayer import Replayer, ReplayStats

T = TypeVar("T")


class EventCounts(msgspec.Struct, frozen=True):
    """Domain events published, per type."""

    trades: int
    quotes: int
    book_deltas: int
    book_snapshots: int
    candles: int


class BookSummary(msgspec.Struct, frozen=True):
    """Where one rebuilt book ended, and how its synchronization went."""

    venue: str
    symbol: str
    valid: bool
    sequence: int
    best_bid: float | None
    best_bid_size: float
    best_ask: float | None
    best_ask_size: float
    bid_levels: int
    ask_levels: int
    deltas_applied: int
    stale_dropped: int
    gaps: int
    resyncs: int


class ReplaySummary(msgspec.Struct, frozen=True):
    """Everything a replay did, for people (tables) and machines (``--json``)."""

    file: str
    venue: str
    replay: ReplayStats
    events: EventCounts
    books: list[BookSummary]
    candles: CandleStats
    book_check: BookCheckStats | None
    catalog_rows: RowCounts | None
    seconds: float


class SharedMarketData(NamedTuple):
    """The bus, books and candle aggregator that a node's venues share."""

    bus: MessageBus
    books: OrderBooks
    candles: CandleAggregator


class _Counter:
    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, _message: object) -> None:
        self.count += 1


class _VenueCounter(_Counter):
    """Count one venue's messages on a bus several venues share."""

    __slots__ = ("venue",)

    def __init__(self, venue: str) -> None:
        super().__init__()
        self.venue = venue

    def __call__(self, message: object) -> None:
        if getattr(message, "venue", None) == self.venue:
            self.count += 1


class MarketDataNode:
    """Build the market data pipeline for one venue from ``config``.

    Standalone (``data replay``, ``feed``) it builds its own bus, books and candles.
    Inside a ``TradingNode`` several of these, one per venue, share the node's bus,
    books and candle aggregator (``shared``): each then only adds its venue's parser.
    """

    def __init__(
        self,
        config: MarketDataConfig,
        clock: Clock | None = None,
        shared: SharedMarketData | None = None,
    ) -> None:
        self.config = config
        self.clock: Clock = clock if clock is not None else SimClock()
        self.venue = venue_profile(config.venue)
        if shared is None:
            self.bus = MessageBus()
            self.books = OrderBooks(self.bus, self.clock, sequence_rules())
            self.candles = CandleAggregator(
                self.bus,
                self.clock,
                config.candle_intervals,
                config.empty_candles,
                config.candle_close_delay_ms * NS_PER_MS,
            )
        else:
            self.bus, self.books, self.candles = shared.bus, shared.books, shared.candles
        self.checker = BookTopChecker(self.bus, self.books) if config.check_books else None
        self.writer = (
            CatalogWriter(config.catalog, self.bus, background=config.write_in_background)
            if config.catalog
            else None
        )
        self.parser = self.venue.make_parser(self.bus)
        # On a shared bus every venue's events pass: count only this one's.
        self._own_venue = config.venue if shared is not None else None
        self._counters = {
            "trades": self._count(topics.TRADES),
            "quotes": self._count(topics.QUOTES),
            "book_deltas": self._count(topics.BOOK_DELTAS),
            "book_snapshots": self._count(topics.BOOK_SNAPSHOTS),
            "candles": self._count(topics.CANDLES),
        }
        self.trade_gaps: list[TradeGap] = []
        self.bus.subscribe(topics.TRADE_GAPS, self._on_trade_gap)

    def _on_trade_gap(self, gap: TradeGap) -> None:
        if self._own_venue is None or gap.venue == self._own_venue:
            self.trade_gaps.append(gap)

    def _count(self, topic: Topic[T]) -> _Counter:
        counter = _Counter() if self._own_venue is None else _VenueCounter(self._own_venue)
        self.bus.subscribe(topic, counter)
        return counter

    def replay(self, path: Path, progress: ProgressCallback | None = None) -> ReplaySummary:
        """Replay a recording through the pipeline, flush candles and the store, summarize."""
        if not isinstance(self.clock, SimClock):
            raise ConfigError("replay needs a node built on a SimClock")
        started = time.perf_counter()
        try:
            stats = Replayer(self.clock, self.parser).run(path, progress)
        finally:
            self.candles.flush()
            if self.writer is not None:
                self.writer.close()
        return ReplaySummary(
            file=str(path),
            venue=self.config.venue,
            replay=stats,
            events=self.event_counts(),
            books=self.book_summaries(),
            candles=self.candles.stats(),
            book_check=self.checker.stats() if self.checker else None,
            catalog_rows=self.writer.rows_written() if self.writer else None,
            seconds=time.perf_counter() - started,
        )

    def close(self) -> None:
        """Close open candles and flush the store (end of a live run)."""
        self.candles.flush()
        if self.writer is not None:
            self.writer.close()

    def event_counts(self) -> EventCounts:
        """Return how many events of each type were published so far."""
        return EventCounts(**{name: c.count for name, c in self._counters.items()})

    def book_summaries(self) -> list[BookSummary]:
        """Return the state of every book built so far."""
        return [_book_summary(synced) for synced in self.books.all_books()]


def _book_summary(synced: SyncedBook) -> BookSummary:
    book = synced.book
    bids, asks = book.level_count()
    best_bid = book.best_bid()
    best_ask = book.best_ask()
    return BookSummary(
        venue=book.venue,
        symbol=book.symbol,
        valid=book.valid,
        sequence=book.sequence,
        best_bid=None if math.isnan(best_bid) else best_bid,
        best_bid_size=book.best_bid_size(),
        best_ask=None if math.isnan(best_ask) else best_ask,
        best_ask_size=book.best_ask_size(),
        bid_levels=bids,
        ask_levels=asks,
        deltas_applied=synced.deltas_applied,
        stale_dropped=synced.stale_dropped,
        gaps=synced.gaps,
        resyncs=synced.resyncs,
    )
