"""Recover the trades of an outage on venues whose trade ids reveal no gap, by time.

Such venues (Coinbase, Bybit) raise no ``TradeGap``, so after every reconnect the
feed asks REST for what it missed. Merging the venue's recent trades by "newer
than the last id" is not enough: the resubscribed stream (Coinbase resends its
latest trades on subscribe) moves the last id past the outage first, and a long
outage is deeper than one page. So the catch-up:

- remembers the newest trade published before the socket went (the boundary),
- waits for the first trade published after the reconnect and lets the stream
  settle; the newest trade published then is the upper bound (nothing older can
  be published any more: the parser drops what is not newer than its last id),
- pages the venue's trades back in time (``fetch(symbol, start_ns, end_ns)``,
  one page of trades in ``[start, end)``) from that trade down to the boundary,
- publishes on ``topics.TRADES_BACKFILLED`` every trade strictly between the two
  (ordered by time, then id) that was not published during the outage, each once.

Only the stream ends an outage. While the socket is back but silent (a stall),
REST polls stand in for it (``rest_trades`` marks what they publish); a venue
serving only its latest trades leaves holes between polls, so those trades do
not count as the stream resuming. When the stream stays silent past
``first_trade_wait_s`` while REST delivers, the catch-up fills and reports the
hole up to the newest trade so far and the outage goes on from there, round
after round, until the stream delivers again.

A reconnect that comes while an earlier one is still catching up (a stall: the
socket reconnects, stays silent, the watchdog drops it again) takes the outage
over: the earlier attempt stops at its next step without publishing, and the
newer one fills the whole hole from the same boundary, skipping whatever the
earlier attempt had already published. Two attempts never publish one trade twice.

A venue that cannot page back far enough (Bybit serves only its latest trades)
leaves a hole, published as a ``GapReport``: counted by id where each symbol's ids
count up by one (``counts_ids``), otherwise by time only (Bybit numbers spot trades
across all symbols, and its linear ids are UUIDs, so no count would be true).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator, Sequence

import structlog

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock
from tradefabric.core.errors import TradefabricError
from tradefabric.data import topics
from tradefabric.model.data import GapReport, Trade

log = structlog.get_logger(__name__)

TradesBetween = Callable[[str, int, int], Awaitable[list[Trade]]]
"""Fetch one page of a symbol's trades with ``start_ns <= ts_event < end_ns`` (the newest
of them when there are more than a page), in any order."""

MAX_PAGES = 1_000
_Key = tuple[int, int, str]


def _key(trade: Trade) -> _Key:
    tid = trade.trade_id
    return trade.ts_event, int(tid) if tid.isascii() and tid.isdigit() else -1, tid


class TradeCatchUp:
    """After each reconnect, page back to the last trade before the outage and fill the hole."""

    def __init__(
        self,
        bus: MessageBus,
        clock: Clock,
        venue: str,
        fetch: TradesBetween,
        *,
        first_trade_wait_s: float = 5.0,
        settle_s: float = 0.5,
        counts_ids: bool = True,
    ) -> None:
        """Follow ``venue``'s trades on ``bus``; ``fetch`` pages its REST trades by time."""
        self._bus = bus
        self._clock = clock
        self._venue = venue
        self._fetch = fetch
        self._wait_s = first_trade_wait_s
        self._settle_s = settle_s
        self._counts_ids = counts_ids
        self._newest: dict[str, Trade] = {}
        self._boundary: dict[str, Trade] = {}
        self._first_after: dict[str, Trade] = {}
        """The first trade the stream (not a REST poll) published in this round, by symbol."""
        self._polled: set[str] = set()
        """Symbols REST polls published trades of in this round."""
        self._seen: dict[tuple[str, str], _Key] = {}
        self._outage = False
        self._merging_rest = False
        self._attempt = 0
        self._arrived = asyncio.Event()
        self.recovered = 0
        self.pages_fetched = 0
        self.reports: list[GapReport] = []
        bus.subscribe(topics.TRADES, self._on_trade)

    def _on_trade(self, trade: Trade) -> None:
        if trade.venue != self._venue:
            return
        newest = self._newest.get(trade.symbol)
        if newest is None or _key(trade) > _key(newest):
            self._newest[trade.symbol] = trade
        if not self._outage:
            return
        # Published during the outage or after it (REST polls, the resubscribed
        # stream): never backfill these again.
        self._seen[(trade.symbol, trade.trade_id)] = _key(trade)
        if trade.symbol not in self._boundary:
            return
        if self._merging_rest:
            self._polled.add(trade.symbol)
        elif trade.symbol not in self._first_after:
            self._first_after[trade.symbol] = trade
            self._arrived.set()

    @contextlib.contextmanager
    def rest_trades(self) -> Iterator[None]:
        """Mark the trades published inside as a REST poll's, not the stream's.

        A poll stands in for a silent stream; where the venue serves only its latest
        trades it skips what happened between polls, so it does not end an outage.
        """
        self._merging_rest = True
        try:
            yield
        finally:
            self._merging_rest = False

    def on_disconnected(self) -> None:
        """Mark the boundary: the newest trade of each symbol published so far.

        Called when the socket goes, or goes silent while REST stands in for it.
        """
        if not self._outage:
            self._boundary = dict(self._newest)
            self._first_after.clear()
            self._seen.clear()
            self._outage = True

    async def on_reconnected(self, symbols: Sequence[str]) -> None:
        """Fill the hole of the outage for ``symbols`` (unified names); return when done.

        Returns once the stream delivers again (or the market is quiet). A later call
        (another reconnect) supersedes this one: it then returns early.
        """
        if not self._outage:
            return
        self._attempt += 1
        attempt = self._attempt
        pending = [s for s in symbols if s in self._boundary]
        try:
            while pending and attempt == self._attempt:
                pending = await self._round(pending, attempt)
        finally:
            if attempt == self._attempt:
                self._outage = False
                self._seen.clear()

    async def _round(self, symbols: list[str], attempt: int) -> list[str]:
        """Fill each symbol's hole up to its newest trade; return the symbols still silent.

        A symbol is silent when REST polls published its trades but the stream did not:
        its hole is reported up to the newest trade and its outage goes on from there.
        """
        self._first_after.clear()
        self._polled.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._until_all_arrived(symbols), timeout=self._wait_s)
        # Let the resubscribed stream settle (a snapshot of recent trades, then live
        # ones): from the newest trade published then on, the stream is whole again.
        await asyncio.sleep(self._settle_s)
        silent = []
        for symbol in symbols:
            if attempt != self._attempt:
                return []
            newest = self._newest.get(symbol)
            # Judged with the upper bound: the stream is whole from its first trade on.
            still_silent = symbol in self._polled and symbol not in self._first_after
            await self._fill(symbol, self._boundary[symbol], newest, attempt)
            if attempt != self._attempt:
                return []  # taken over while paging: the hole is the newer attempt's
            if still_silent and newest is not None:
                silent.append(symbol)
                self._move_boundary(symbol, newest)
        return silent

    def _move_boundary(self, symbol: str, boundary: Trade) -> None:
        """Go on with the outage of ``symbol`` from ``boundary`` (everything up to it is done)."""
        self._boundary[symbol] = boundary
        done = _key(boundary)
        self._seen = {k: v for k, v in self._seen.items() if k[0] != symbol or v > done}

    async def _until_all_arrived(self, symbols: Sequence[str]) -> None:
        while not all(s in self._first_after for s in symbols if s in self._boundary):
            self._arrived.clear()
            await self._arrived.wait()

    async def _fill(self, symbol: str, boundary: Trade, newest: Trade | None, attempt: int) -> None:
        lo = _key(boundary)
        if newest is None or _key(newest) <= lo:
            return
        end_ns, hi = newest.ts_event + 1, _key(newest)
        found, reached = await self._page(symbol, boundary.ts_event, end_ns)
        if attempt != self._attempt:
            return  # a newer reconnect took the outage over while we paged
        hole = sorted(
            (
                t
                for t in found.values()
                if lo < _key(t) < hi and (symbol, t.trade_id) not in self._seen
            ),
            key=_key,
        )
        for trade in hole:
            # Seen from now on: an attempt that takes the outage over must not publish it again.
            self._seen[(symbol, trade.trade_id)] = _key(trade)
            self._bus.publish(topics.TRADES_BACKFILLED, trade)
        self.recovered += len(hole)
        if not reached:
            self._report_hole(symbol, boundary, found, hole)

    async def _page(self, symbol: str, start_ns: int, end_ns: int) -> tuple[dict[str, Trade], bool]:
        """Return the trades fetched, by id, and whether paging reached back to ``start_ns``."""
        found: dict[str, Trade] = {}
        for _ in range(MAX_PAGES):
            try:
                page = await self._fetch(symbol, start_ns, end_ns)
            except TradefabricError as exc:
                log.warning("catch_up_failed", venue=self._venue, symbol=symbol, error=str(exc))
                return found, False
            self.pages_fetched += 1
            fresh = [t for t in page if t.trade_id not in found]
            found.update((t.trade_id, t) for t in fresh)
            if not page:
                return found, False  # not even the boundary trade: nothing served back there
            oldest = min(t.ts_event for t in page)
            if oldest <= start_ns:
                return found, True
            if not fresh:
                return found, False  # the same page again: the venue serves nothing older
            # Overlap by the oldest instant: more trades of it may come on the next page.
            end_ns = oldest + 1
        return found, False

    def _report_hole(
        self, symbol: str, boundary: Trade, found: dict[str, Trade], hole: list[Trade]
    ) -> None:
        """Report what paging could not reach, up to the oldest trade served after it."""
        lo = _key(boundary)
        after = [_key(t) for t in found.values() if _key(t) > lo]
        if not after:
            log.warning(
                "trades_maybe_lost", venue=self._venue, symbol=symbol, since_ns=boundary.ts_event
            )
            return
        until = min(after)
        if self._counts_ids and lo[1] >= 0 and until[1] >= 0:
            if until[1] == lo[1] + 1:
                return  # the ids leave no room for a missing trade
            report = self._counted_report(symbol, lo, until, hole)
        else:
            report = self._timed_report(symbol, lo, until)
        self.reports.append(report)
        self._bus.publish(topics.GAP_REPORTS, report)
        if report.unrecoverable:
            log.warning(
                "trades_lost", venue=self._venue, symbol=symbol,
                lost=report.unrecoverable if report.counted else "not counted",
                since_ns=report.ts_event, until_ns=report.ts_until,
            )  # fmt: skip

    def _counted_report(self, symbol: str, lo: _Key, until: _Key, hole: list[Trade]) -> GapReport:
        """Return the hole between two numbered trades, every missing id counted."""
        first, last = lo[1] + 1, until[1] - 1
        got = {int(tid) for s, tid in self._seen if s == symbol and tid.isdigit()}
        got.update(_key(t)[1] for t in hole)
        recovered = sum(1 for i in got if first <= i <= last)
        return GapReport(
            self._venue, symbol, first, last, recovered, last - first + 1 - recovered,
            lo[0], self._clock.timestamp_ns(), until[0],
        )  # fmt: skip

    def _timed_report(self, symbol: str, lo: _Key, until: _Key) -> GapReport:
        """Return the hole between two trades by time only (how many are lost is unknown)."""
        recovered = sum(1 for (s, _), k in self._seen.items() if s == symbol and lo < k < until)
        return GapReport(
            self._venue, symbol, -1, -1, recovered, -1, lo[0], self._clock.timestamp_ns(),
            until[0],
        )  # fmt: skip
