"""Recover trades lost in an outage by REST, and report what could not be recovered.

A venue that numbers its trades consecutively reveals every loss as a ``TradeGap``
(ids ``first_missing..last_missing``). The backfill pages the venue's trade
history from the first missing id (``fetch``: one page of trades with id >=
a cursor, oldest first) until the gap is closed, deduplicating by trade id, so
a gap of any length is recovered as long as the venue still serves it. What
the venue does not serve (older than its retention, or no history at all) is
the only thing a ``GapReport`` counts as unrecoverable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock
from tradefabric.core.errors import TradefabricError
from tradefabric.data import topics
from tradefabric.model.data import GapReport, Trade, TradeGap

log = structlog.get_logger(__name__)

TradesFrom = Callable[[str, int], Awaitable[list[Trade]]]
"""Fetch one page of a symbol's trades with id >= the given id, oldest first
(empty when the venue serves none there)."""

MAX_PAGES = 10_000
"""A bound on pages per gap, so a venue that keeps answering the same page cannot loop us."""


class TradeBackfill:
    """Answer each ``TradeGap`` with the missing trades, paged by id from the venue's history.

    Recovered trades go out on ``topics.TRADES_BACKFILLED`` (candles revise
    themselves, the catalog stores them), each once and in id order; every gap
    ends in a ``GapReport`` that says how many trades were recovered and how
    many are lost for good.
    """

    def __init__(self, bus: MessageBus, clock: Clock, venue: str, fetch: TradesFrom) -> None:
        """Subscribe to the gaps of ``venue``; ``fetch`` pages its trade history by id."""
        self._bus = bus
        self._clock = clock
        self._venue = venue
        self._fetch = fetch
        self._tasks: set[asyncio.Task[None]] = set()
        self.reports: list[GapReport] = []
        self.pages_fetched = 0
        bus.subscribe(topics.TRADE_GAPS, self.on_gap)

    def on_gap(self, gap: TradeGap) -> None:
        """Schedule a backfill of ``gap``."""
        if gap.venue != self._venue:
            return
        task = asyncio.get_running_loop().create_task(self._backfill(gap))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Wait for backfills in progress, then stop."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _backfill(self, gap: TradeGap) -> None:
        recovered = await self._page(gap)
        for trade_id in sorted(recovered):
            self._bus.publish(topics.TRADES_BACKFILLED, recovered[trade_id])
        report = GapReport(
            gap.venue, gap.symbol, gap.first_missing, gap.last_missing, len(recovered),
            gap.missing - len(recovered), gap.ts_event, self._clock.timestamp_ns(),
        )  # fmt: skip
        self.reports.append(report)
        self._bus.publish(topics.GAP_REPORTS, report)
        if report.unrecoverable:
            log.warning(
                "trades_lost", venue=gap.venue, symbol=gap.symbol, lost=report.unrecoverable
            )

    async def _page(self, gap: TradeGap) -> dict[int, Trade]:
        """Return the gap's trades the venue serves, by id (each id once)."""
        found: dict[int, Trade] = {}
        cursor = gap.first_missing
        for _ in range(MAX_PAGES):
            if cursor > gap.last_missing:
                break
            try:
                page = await self._fetch(gap.symbol, cursor)
            except TradefabricError as exc:
                log.warning("backfill_failed", venue=gap.venue, symbol=gap.symbol, error=str(exc))
                break
            self.pages_fetched += 1
            ids = [(int(t.trade_id), t) for t in page if t.trade_id.isdigit()]
            newest = max((i for i, _ in ids), default=-1)
            if newest < cursor:
                break  # nothing at or after the cursor: the venue serves no more
            for trade_id, trade in ids:
                if cursor <= trade_id <= gap.last_missing:
                    found.setdefault(trade_id, trade)
            cursor = newest + 1
        return found
