"""Tell a repeated trade from a late first delivery, by the trade numbers seen lately.

A high-water mark ("drop anything not newer than the last id") loses trades when
two sources race: a REST poll publishes the venue's newest page while the socket
still holds older, never-published trades in its buffer; under the mark those
look like repeats and vanish. Keeping the numbers themselves (within a window
below the newest) drops only what was really published.
"""

from __future__ import annotations

WINDOW = 100_000
"""Trade numbers this far below the newest are taken as repeats without looking."""


class RecentTradeIds:
    """The trade numbers of one symbol published within ``window`` of the newest."""

    __slots__ = ("_ids", "_newest", "_window")

    def __init__(self, window: int = WINDOW) -> None:
        self._window = window
        self._ids: set[int] = set()
        self._newest = -1

    @property
    def newest(self) -> int:
        """Return the newest trade number seen (-1: none)."""
        return self._newest

    def first_time(self, number: int) -> bool:
        """Record ``number``; return False when it was seen before (or is too old to know)."""
        if number in self._ids or number <= self._newest - self._window:
            return False
        self._ids.add(number)
        if number > self._newest:
            self._newest = number
            if len(self._ids) > 2 * self._window:
                floor = number - self._window
                self._ids = {i for i in self._ids if i > floor}
        return True
