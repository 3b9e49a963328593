"""Kraken's ``GET /0/public/Trades`` on the fake venue: every trade so far, paged by time.

``Trades?pair=XBTUSDT[&since=<cursor>][&count=N]`` answers as Kraken does:

- without ``since``: the newest ``count`` trades (default and maximum 1000);
- with ``since`` (ns, or seconds when it is that small): the first ``count``
  trades whose time is after it, oldest first;
- ``result`` holds the rows under the pair name, each
  ``[price, volume, time (decimal seconds), "b"|"s", "m"|"l", misc, trade_id]``,
  and ``last``, the time (ns) of the last row returned: the ``since`` of the
  next page.

``retention`` bounds how many of the newest trades a ``since`` query reaches
(``None``: all, ``0``: none, a venue serving no history); the newest are always
served without ``since``.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Final

import msgspec

from tradefabric.model.data import Trade

MAX_COUNT: Final = 1000
_NS: Final = 1_000_000_000
_SECONDS_BELOW: Final = 10**12
"""A ``since`` smaller than this is in seconds (Kraken accepts both)."""


class KrakenTradeHistory:
    """The trades a fake Kraken has matched, per unified symbol, in id order."""

    def __init__(self, retention: int | None = None) -> None:
        """Keep every trade; ``retention``: how many of the newest ``since`` reaches."""
        self.retention = retention
        self._trades: dict[str, list[Trade]] = {}
        self._times: dict[str, list[int]] = {}

    def add(self, trade: Trade) -> None:
        """Record a trade (the replay yields them in time order)."""
        self._trades.setdefault(trade.symbol, []).append(trade)
        self._times.setdefault(trade.symbol, []).append(trade.ts_event)

    def recent(self, symbol: str, count: int) -> list[Trade]:
        """Return the newest ``count`` trades of ``symbol``."""
        return self._trades.get(symbol, [])[-count:] if count > 0 else []

    def result(
        self,
        symbol: str,
        pair: str,
        query: dict[str, str],
        row: Callable[[Trade], list[object]],
    ) -> dict[str, object]:
        """Return the ``result`` of a ``Trades`` query; raise ``ValueError`` for bad params."""
        count = int(query.get("count") or MAX_COUNT)
        count = max(1, min(count, MAX_COUNT))
        since_text = query.get("since")
        if since_text is None:
            trades = self.recent(symbol, count)
            last = str(trades[-1].ts_event) if trades else "0"
        else:
            since = int(since_text)
            since = since * _NS if since < _SECONDS_BELOW else since
            trades = self._after(symbol, since, count)
            last = str(trades[-1].ts_event) if trades else str(since)
        return {pair: [row(t) for t in trades], "last": last}

    def _after(self, symbol: str, since_ns: int, count: int) -> list[Trade]:
        trades = self._trades.get(symbol, [])
        oldest = 0 if self.retention is None else max(0, len(trades) - self.retention)
        lo = max(oldest, bisect.bisect_right(self._times.get(symbol, []), since_ns))
        return trades[lo : lo + count]


def encode_result(result: dict[str, object]) -> bytes:
    """Return the JSON of a successful Kraken reply holding ``result``."""
    return msgspec.json.encode({"error": [], "result": result})
