"""Client order ids unique across restarts and nodes: a time-based prefix and a stored counter.

An id reads ``<strategy>-<prefix>-<n>``: ``prefix`` is the allocator's start
time in base 36 (seconds since the epoch), ``n`` comes from the store's
``client_order_id`` counter, taken in blocks with one atomic ``reserve``. Two
processes on one store never get the same ``n``; a restart continues after the
last block taken (the unused rest of a block is skipped, never reused); nodes on
different stores differ by prefix unless they started in the same second, and
then still by counter once either has traded. Binance's 36-character limit on
client ids leaves 26 for the strategy id.
"""

from __future__ import annotations

import threading
import time

from tradefabric.state.store import StateStore

COUNTER = "client_order_id"
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36(value: int) -> str:
    """Return ``value`` (>= 0) in base 36, lower case."""
    out = ""
    while True:
        value, digit = divmod(value, 36)
        out = _DIGITS[digit] + out
        if not value:
            return out


class ClientIdAllocator:
    """Hand out client order ids (``ExecutionEngine.set_id_source(allocator)``)."""

    def __init__(self, store: StateStore, *, block: int = 100, now_s: int | None = None) -> None:
        """Take counter values from ``store`` ``block`` at a time; prefix from ``now_s``."""
        self._store = store
        self._block = block
        self.prefix = base36(int(time.time()) if now_s is None else now_s)
        self._next = 0
        self._end = 0
        self._lock = threading.Lock()

    def __call__(self, strategy_id: str) -> str:
        """Return the next id for ``strategy_id``."""
        return f"{strategy_id}-{self.prefix}-{self.next_value()}"

    def next_value(self) -> int:
        """Return the next counter value, reserving a new block from the store when needed."""
        with self._lock:
            if self._next >= self._end:
                self._next = self._store.reserve(COUNTER, self._block)
                self._end = self._next + self._block
            value = self._next
            self._next += 1
            return value
