"""Merge entries read from several streams back into the publisher's order.

Each stream is in order by itself, but a consumer reads many streams in batches,
so a batch of quotes may reach further in time than the batch of trades read
with it. Entries carry the publisher's key ``(clk, seq)``; this buffer holds them
until every stream is known to have nothing earlier left to deliver (its
*frontier* passed them), then releases them in key order. A stream's frontier
moves with each entry read from it and, once a read finds it drained, up to the
publisher's latest watermark.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Generic, TypeVar

T = TypeVar("T")

Key = tuple[int, int]
"""An entry's position in the publisher's order: ``(clk, seq)``."""

BOTTOM: Key = (-1, -1)
TOP: Key = (2**63, 0)


class ReleaseBuffer(Generic[T]):
    """Hold items of ``streams`` streams and release them in key order once safe.

    With ``ordered=False`` items are released at once (sorted within a batch only).
    """

    def __init__(self, streams: int, ordered: bool = True) -> None:
        """Start with every stream's frontier at the bottom: nothing is known yet."""
        self.ordered = ordered
        self._heap: list[tuple[Key, int, int, T]] = []
        self._frontier: list[Key] = [BOTTOM] * streams
        self._held: list[int] = [0] * streams
        self._tiebreak = itertools.count()

    def add(self, stream: int, key: Key, item: T) -> None:
        """Hold ``item`` read from ``stream``; the stream has reached at least ``key``."""
        heapq.heappush(self._heap, (key, next(self._tiebreak), stream, item))
        self._held[stream] += 1
        self.advance(stream, key)

    def advance(self, stream: int, key: Key) -> None:
        """Record that ``stream`` will deliver nothing at or before ``key`` from now on."""
        self._frontier[stream] = max(self._frontier[stream], key)

    def bound(self) -> Key:
        """Return the key up to which held items can be released."""
        if not self.ordered:
            return TOP
        return min(self._frontier, default=TOP)

    def release(self) -> list[T]:
        """Pop every held item at or before ``bound()``, in key order."""
        return self._pop_until(self.bound())

    def release_all(self) -> list[T]:
        """Pop every held item, in key order (a stream stopped advancing for too long)."""
        return self._pop_until(TOP)

    def held(self, stream: int | None = None) -> int:
        """Return how many items are held, for one stream or in total."""
        return len(self._heap) if stream is None else self._held[stream]

    def frontier(self, stream: int) -> Key:
        """Return how far ``stream`` is known to have delivered."""
        return self._frontier[stream]

    def _pop_until(self, bound: Key) -> list[T]:
        heap = self._heap
        out: list[T] = []
        while heap and heap[0][0] <= bound:
            _key, _n, stream, item = heapq.heappop(heap)
            self._held[stream] -= 1
            out.append(item)
        return out
