"""Check a locally built book against the venue's own top of book.

Binance publishes ``bookTicker`` with the update id of the book state it shows;
the local book after applying the delta batch ending at that same id must show
the same best bid and ask (price and size). Either side may arrive first, so
both are kept briefly, keyed by update id.
"""

from __future__ import annotations

from collections import OrderedDict

import msgspec
import structlog

from tradefabric.core.bus import MessageBus
from tradefabric.core.logging import WarningThrottle
from tradefabric.data import topics
from tradefabric.data.book_sync import OrderBooks
from tradefabric.model.data import OrderBookDeltas, Quote

log = structlog.get_logger(__name__)

_PENDING_LIMIT = 4096

Top = tuple[float, float, float, float]
"""(bid, bid_size, ask, ask_size)."""


class BookCheckStats(msgspec.Struct, frozen=True):
    """How often the local top of book equalled the venue's at the same update id."""

    comparisons: int
    matches: int

    @property
    def match_rate(self) -> float:
        """Return matches / comparisons (NaN when nothing was compared)."""
        return self.matches / self.comparisons if self.comparisons else float("nan")


class _PendingTops:
    """Recent tops by update id, oldest dropped first, for one symbol."""

    __slots__ = ("books", "quotes")

    def __init__(self) -> None:
        self.books: OrderedDict[int, Top] = OrderedDict()
        self.quotes: OrderedDict[int, Top] = OrderedDict()


def _remember(pending: OrderedDict[int, Top], update_id: int, top: Top) -> None:
    pending[update_id] = top
    if len(pending) > _PENDING_LIMIT:
        pending.popitem(last=False)


class BookTopChecker:
    """Compare every valid local book with the venue's quotes at matching update ids."""

    def __init__(self, bus: MessageBus, books: OrderBooks) -> None:
        self._books = books
        self._pending: dict[tuple[str, str], _PendingTops] = {}
        self.comparisons = 0
        self.matches = 0
        self._warnings = WarningThrottle(log, limit=20)
        # Subscribed after OrderBooks, so the book already holds each batch when we look.
        bus.subscribe(topics.QUOTES, self.on_quote)
        bus.subscribe(topics.BOOK_DELTAS, self.on_deltas)

    def stats(self) -> BookCheckStats:
        """Return the counts so far."""
        return BookCheckStats(comparisons=self.comparisons, matches=self.matches)

    def on_quote(self, quote: Quote) -> None:
        """Compare with the book state at the quote's id, or keep it until that state exists."""
        pending = self._pending_for(quote.venue, quote.symbol)
        top = (quote.bid, quote.bid_size, quote.ask, quote.ask_size)
        book_top = pending.books.pop(quote.sequence, None)
        if book_top is None:
            _remember(pending.quotes, quote.sequence, top)
        else:
            self._compare(quote.venue, quote.symbol, quote.sequence, book_top, top)

    def on_deltas(self, deltas: OrderBookDeltas) -> None:
        """Record the book's top right after this batch, if it was applied to a valid book."""
        book = self._books.book(deltas.venue, deltas.symbol)
        if book is None or not book.valid or book.sequence != deltas.last_id:
            return
        top = (book.best_bid(), book.best_bid_size(), book.best_ask(), book.best_ask_size())
        pending = self._pending_for(deltas.venue, deltas.symbol)
        quote_top = pending.quotes.pop(deltas.last_id, None)
        if quote_top is None:
            _remember(pending.books, deltas.last_id, top)
        else:
            self._compare(deltas.venue, deltas.symbol, deltas.last_id, top, quote_top)

    def _compare(self, venue: str, symbol: str, update_id: int, book: Top, venue_top: Top) -> None:
        self.comparisons += 1
        if book == venue_top:
            self.matches += 1
            return
        self._warnings.warn(
            "book_top_mismatch",
            "local top of book differs from the venue's",
            venue=venue,
            symbol=symbol,
            update_id=update_id,
            book=book,
            venue_top=venue_top,
        )

    def _pending_for(self, venue: str, symbol: str) -> _PendingTops:
        key = (venue, symbol)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _PendingTops()
        return pending
