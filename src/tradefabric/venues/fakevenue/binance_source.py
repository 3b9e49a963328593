"""Real Binance traffic as the market of a fake venue that has no recording of its own.

The Coinbase, Kraken and Bybit fake venues serve a Binance recording re-encoded in
their own protocol. This is what they share: the recording runs through
tradefabric's Binance parser and ``OrderBooks`` on a private bus and clock, and the
book Binance's documented procedure rebuilds is the venue's own book. A venue
script subscribes to ``bus`` after this (so the book is updated first) and asks
``take_snapshot`` / ``take_deltas`` which book events became part of that book:
deltas buffered before a snapshot, or dropped as stale, are not.
"""

from __future__ import annotations

import contextlib

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.errors import DataError
from tradefabric.data.book_sync import OrderBooks
from tradefabric.data.order_book import OrderBook
from tradefabric.model.data import OrderBookDeltas, OrderBookSnapshot
from tradefabric.venues.binance.markets import BinanceMarket, sequence_rules
from tradefabric.venues.binance.parser import BinanceStreamParser


class BinanceSource:
    """Replay Binance frames into a book, trades and quotes a fake venue serves as its own."""

    def __init__(self, market: BinanceMarket) -> None:
        self.venue = market.venue
        self.clock = SimClock()
        self.bus = MessageBus()
        self.books = OrderBooks(self.bus, self.clock, sequence_rules())
        self._parser = BinanceStreamParser(self.bus, market)
        self._applied: dict[str, int] = {}

    def read(self, raw: bytes, ts_recv: int) -> None:
        """Parse one recorded frame at its receive time; its events land on ``bus``."""
        self.clock.advance_to(ts_recv)
        # The venue streams what it recorded; coping with a bad frame is the client's job.
        with contextlib.suppress(DataError):
            self._parser.on_frame(raw, ts_recv)

    def book(self, symbol: str) -> OrderBook | None:
        """Return the venue's book of ``symbol`` (None before the source has one)."""
        return self.books.book(self.venue, symbol)

    def take_snapshot(self, snapshot: OrderBookSnapshot) -> OrderBook | None:
        """Return the venue's book when ``snapshot`` (with its buffer replayed) made it valid."""
        synced = self.books.synced(snapshot.venue, snapshot.symbol)
        if synced is None or not synced.book.valid:
            return None
        self._applied[snapshot.symbol] = synced.deltas_applied
        return synced.book

    def take_deltas(self, deltas: OrderBookDeltas) -> bool:
        """Return True when ``deltas`` were applied to the venue's book (not buffered or stale)."""
        synced = self.books.synced(deltas.venue, deltas.symbol)
        if synced is None or synced.deltas_applied <= self._applied.get(deltas.symbol, 0):
            return False
        self._applied[deltas.symbol] = synced.deltas_applied
        return True
