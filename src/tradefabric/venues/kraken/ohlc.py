"""Turn Kraken's running OHLC bars into closed candles.

Kraken v2 ``ohlc`` sends the bar of the current interval again after every trade
in it (a *running* bar); it never says a bar is final. The rule here:

- a bar is closed when a bar of a *later* interval (``interval_begin``) arrives for
  the same symbol and interval: the last version received of the earlier bar is
  then published as a ``Candle`` (``ts_event`` = its interval's end, ``ts_recv`` =
  when the later bar arrived);
- ``flush(now_ns)`` also closes every bar whose interval ended at or before
  ``now_ns`` (a quiet market sends no later bar; a feed calls it on a timer);
- a bar older than the one pending, or one already published, is stale: skipped
  in a snapshot (Kraken resends history on subscribe), an error in an update.

Kraken publishes no aggressor split, so ``buy_volume`` is NaN (unknown).
"""

from __future__ import annotations

import math

from tradefabric.core.time import NS_PER_MINUTE
from tradefabric.model.data import Candle
from tradefabric.venues.kraken.markets import interval_name
from tradefabric.venues.kraken.timestamps import rfc3339_to_ns
from tradefabric.venues.kraken.wire import WireOhlc


class _Pending:
    __slots__ = ("bar", "begin_ns", "interval_ns")

    def __init__(self, bar: WireOhlc, begin_ns: int) -> None:
        self.bar = bar
        self.begin_ns = begin_ns
        self.interval_ns = bar.interval * NS_PER_MINUTE


class OhlcCloser:
    """Keep the running bar of each (symbol, interval) and emit candles as bars close."""

    def __init__(self, venue: str) -> None:
        self._venue = venue
        self._pending: dict[tuple[str, int], _Pending] = {}
        self._published: dict[tuple[str, int], int] = {}

    def on_bar(self, bar: WireOhlc, ts_recv: int) -> tuple[Candle | None, bool]:
        """Take one bar; return (the candle it closed or None, whether the bar was stale)."""
        key = (bar.symbol, bar.interval)
        begin_ns = rfc3339_to_ns(bar.interval_begin)
        pending = self._pending.get(key)
        if begin_ns <= self._published.get(key, -1) or (
            pending is not None and begin_ns < pending.begin_ns
        ):
            return None, True
        self._pending[key] = _Pending(bar, begin_ns)
        if pending is None or begin_ns == pending.begin_ns:
            return None, False
        return self._close(key, pending, ts_recv), False

    def flush(self, now_ns: int) -> list[Candle]:
        """Close every pending bar whose interval ended at or before ``now_ns``."""
        due = [
            (key, pending)
            for key, pending in self._pending.items()
            if pending.begin_ns + pending.interval_ns <= now_ns
        ]
        candles = [self._close(key, pending, now_ns) for key, pending in due]
        for key, _ in due:
            del self._pending[key]
        return candles

    def _close(self, key: tuple[str, int], pending: _Pending, ts_recv: int) -> Candle:
        self._published[key] = pending.begin_ns
        bar = pending.bar
        vwap = bar.vwap if bar.volume > 0 else bar.close
        return Candle(
            self._venue, bar.symbol, interval_name(bar.interval), pending.begin_ns, bar.open,
            bar.high, bar.low, bar.close, bar.volume, bar.trades, math.nan, vwap,
            pending.begin_ns + pending.interval_ns, ts_recv,
        )  # fmt: skip
