"""Recover trades lost in an outage by REST, and report what could not be recovered."""

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

RecentTrades = Callable[[str], Awaitable[list[Trade]]]
"""Fetch the venue's most recent trades of a symbol."""


class TradeBackfill:
    """Answer each ``TradeGap`` with the missing trades, fetched by REST where still served.

    Recovered trades go out on ``topics.TRADES_BACKFILLED`` (candles revise
    themselves, the catalog stores them); every gap ends in a ``GapReport`` that
    says how many trades were recovered and how many are lost for good.
    """

    def __init__(self, bus: MessageBus, clock: Clock, venue: str, fetch: RecentTrades) -> None:
        self._bus = bus
        self._clock = clock
        self._venue = venue
        self._fetch = fetch
        self._tasks: set[asyncio.Task[None]] = set()
        self.reports: list[GapReport] = []
        bus.subscribe(topics.TRADE_GAPS, self.on_gap)

    def on_gap(self, gap: TradeGap) -> None:
        """Schedule a backfill of ``gap``."""
        if gap.venue != self._venue:
            return
        task = asyncio.get_running_loop().create_task(self._backfill(gap))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Wait for backfills in progress (they are short), then stop."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _backfill(self, gap: TradeGap) -> None:
        try:
            trades = await self._fetch(gap.symbol)
        except TradefabricError as exc:
            log.warning("backfill_failed", venue=gap.venue, symbol=gap.symbol, error=str(exc))
            trades = []
        wanted = range(gap.first_missing, gap.last_missing + 1)
        recovered = sorted(
            (t for t in trades if t.trade_id.isdigit() and int(t.trade_id) in wanted),
            key=lambda t: int(t.trade_id),
        )
        for trade in recovered:
            self._bus.publish(topics.TRADES_BACKFILLED, trade)
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
