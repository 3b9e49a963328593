"""L2 order book: price -> size per side, with best bid/ask kept cheap.

Each side is a dict (price -> size) plus a heap of prices used lazily: a price
is pushed when it first appears and heap entries whose price has left the dict
are discarded only when they reach the top. Applying a level is one dict write
and at most one heap push, and finding the best price after a batch is usually
one dict lookup, which is what the hot path needs. The heap is compacted when
stale entries outnumber live ones.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable

import msgspec

from tradefabric.core.errors import MalformedMessageError
from tradefabric.model.data import OrderBookDeltas, OrderBookSnapshot, PriceLevel

_COMPACT_SLACK = 256


class BookDepth(msgspec.Struct, frozen=True):
    """The top levels of both sides, best first."""

    bids: list[PriceLevel]
    asks: list[PriceLevel]


class DepthNearMid(msgspec.Struct, frozen=True):
    """Resting size within a band of basis points around the mid price."""

    bps: float
    bid_size: float
    ask_size: float


class _BookSide:
    """One side of the book; ``sign`` is -1 for bids (max-heap via negation), +1 for asks."""

    __slots__ = ("heap", "levels", "sign")

    def __init__(self, sign: int) -> None:
        self.sign = sign
        self.levels: dict[float, float] = {}
        self.heap: list[float] = []

    def clear(self) -> None:
        self.levels.clear()
        self.heap.clear()

    def apply(self, updates: Iterable[PriceLevel]) -> int:
        """Apply level updates (size 0 removes); return how many were applied."""
        levels = self.levels
        heap = self.heap
        sign = self.sign
        push = heapq.heappush
        count = 0
        for price, size in updates:
            count += 1
            if size > 0.0:
                if price not in levels:
                    push(heap, sign * price)
                levels[price] = size
            elif size == 0.0:
                levels.pop(price, None)
            else:
                raise MalformedMessageError(f"negative or NaN size {size!r} at price {price!r}")
        if len(heap) > 2 * len(levels) + _COMPACT_SLACK:
            self._compact()
        return count

    def best(self) -> float:
        """Return the best price, or NaN when the side is empty."""
        heap = self.heap
        levels = self.levels
        while heap:
            price = heap[0] * self.sign
            if price in levels:
                return price
            heapq.heappop(heap)
        return math.nan

    def top(self, n: int) -> list[PriceLevel]:
        prices = heapq.nsmallest(n, self.levels, key=lambda p: p * self.sign)
        return [(p, self.levels[p]) for p in prices]

    def size_within(self, limit: float) -> float:
        if self.sign < 0:
            return sum(s for p, s in self.levels.items() if p >= limit)
        return sum(s for p, s in self.levels.items() if p <= limit)

    def _compact(self) -> None:
        self.heap = [self.sign * p for p in self.levels]
        heapq.heapify(self.heap)


class OrderBook:
    """An L2 book for one instrument on one venue.

    ``sequence`` is the venue update id of the last change applied. A book that
    lost continuity is marked invalid by its owner and must not be traded on.
    """

    __slots__ = (
        "_asks",
        "_bids",
        "level_changes",
        "sequence",
        "symbol",
        "ts_event",
        "valid",
        "venue",
    )

    def __init__(self, venue: str, symbol: str) -> None:
        self.venue = venue
        self.symbol = symbol
        self._bids = _BookSide(-1)
        self._asks = _BookSide(1)
        self.sequence = -1
        self.ts_event = 0
        self.valid = False
        self.level_changes = 0

    def apply_snapshot(self, snapshot: OrderBookSnapshot) -> None:
        """Replace the whole book with ``snapshot`` and mark it valid.

        A negative or NaN size raises ``MalformedMessageError`` and leaves the book invalid.
        """
        self.valid = False
        self._bids.clear()
        self._asks.clear()
        self.level_changes += self._bids.apply(snapshot.bids) + self._asks.apply(snapshot.asks)
        self.sequence = snapshot.sequence
        self.ts_event = snapshot.ts_event
        self.valid = True

    def apply_deltas(self, deltas: OrderBookDeltas) -> None:
        """Apply a batch of level changes; a negative or NaN size raises and invalidates."""
        try:
            changed = self._bids.apply(deltas.bids) + self._asks.apply(deltas.asks)
        except MalformedMessageError:
            self.valid = False
            raise
        self.level_changes += changed
        self.sequence = deltas.last_id
        self.ts_event = deltas.ts_event

    def invalidate(self) -> None:
        """Mark the book unusable until the next snapshot."""
        self.valid = False

    def best_bid(self) -> float:
        """Return the highest bid price, NaN if there is none."""
        return self._bids.best()

    def best_ask(self) -> float:
        """Return the lowest ask price, NaN if there is none."""
        return self._asks.best()

    def best_bid_size(self) -> float:
        """Return the size resting at the best bid, 0.0 if there is none."""
        return self._bids.levels.get(self._bids.best(), 0.0)

    def best_ask_size(self) -> float:
        """Return the size resting at the best ask, 0.0 if there is none."""
        return self._asks.levels.get(self._asks.best(), 0.0)

    def mid(self) -> float:
        """Return the mid price, NaN if a side is empty."""
        return (self._bids.best() + self._asks.best()) / 2.0

    def spread(self) -> float:
        """Return best ask minus best bid, NaN if a side is empty."""
        return self._asks.best() - self._bids.best()

    def is_crossed(self) -> bool:
        """Return True when the best bid is at or above the best ask (locked or crossed)."""
        return self._bids.best() >= self._asks.best()

    def depth(self, levels: int) -> BookDepth:
        """Return the best ``levels`` levels of each side."""
        return BookDepth(bids=self._bids.top(levels), asks=self._asks.top(levels))

    def size_near_mid(self, bps: float) -> DepthNearMid:
        """Return the resting size within ``bps`` basis points of the mid on each side."""
        mid = self.mid()
        if math.isnan(mid):
            return DepthNearMid(bps=bps, bid_size=0.0, ask_size=0.0)
        band = mid * bps / 10_000.0
        return DepthNearMid(
            bps=bps,
            bid_size=self._bids.size_within(mid - band),
            ask_size=self._asks.size_within(mid + band),
        )

    def level_count(self) -> tuple[int, int]:
        """Return the number of (bid, ask) levels."""
        return len(self._bids.levels), len(self._asks.levels)
