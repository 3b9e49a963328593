"""Inputs a live node takes beside its feeds: CoinGecko, Deribit's DVOL, TradingView alerts.

In a backtest the analytics pipeline reads what earlier runs stored (macro readings in
the catalog, DVOL history fetched before the run). A paper or live node keeps them
current itself: ``ScheduledMacro`` backfills the recent past once and then reads
CoinGecko's ``/global`` every ``analytics.macro.refresh_s``; ``DeribitDvol`` follows the
volatility index stream; ``TradingViewWebhook`` serves ``analytics.tradingview``'s
webhook, its alerts published as external signals that the analytics pipeline scores
(and a ``kind: router`` strategy trades). They run as tasks of the node's loop; a failing source is
logged and counted by the source itself and never stops the feeds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable

import structlog

from tradefabric.analytics.coingecko import CoinGeckoClient
from tradefabric.analytics.deribit_dvol import DeribitDvol
from tradefabric.analytics.macro import MacroSource, ScheduledMacro
from tradefabric.analytics.plugins import build_macro, build_volatility
from tradefabric.analytics.regime import VolatilitySource
from tradefabric.analytics.tradingview import TradingViewWebhook
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock
from tradefabric.core.errors import ConfigError
from tradefabric.node.kernel import TradingConfig

log = structlog.get_logger(__name__)


class LiveSources:
    """The macro and volatility sources of ``config.analytics`` for a paper or live node."""

    def __init__(
        self,
        config: TradingConfig,
        live: bool,
        bus: MessageBus | None = None,
        clock: Clock | None = None,
    ) -> None:
        """Build the sources; ``bus`` and ``clock`` are the node's (needed by the webhook)."""
        analytics = config.analytics
        self.macro: MacroSource | None = None
        self.volatility: VolatilitySource | None = None
        self.scheduled: ScheduledMacro | None = None
        self.webhook: TradingViewWebhook | None = None
        self._client: CoinGeckoClient | None = None
        if analytics is None:
            return
        if live and analytics.tradingview is not None:
            if bus is None or clock is None:
                raise ConfigError("analytics.tradingview: the webhook needs the node's bus")
            self.webhook = TradingViewWebhook(bus, clock, analytics.tradingview)
        catalog = config.data.catalog
        if live and analytics.macro.source == "coingecko":
            self._client = CoinGeckoClient(analytics.macro.coingecko)
            self.scheduled = ScheduledMacro(
                self._client, catalog, refresh_s=analytics.macro.refresh_s
            )
            self.macro = self.scheduled
        else:
            self.macro = build_macro(analytics.macro, catalog)
        self.volatility = build_volatility(analytics.volatility)

    async def run(self, stop: asyncio.Event) -> None:
        """Run the live sources until ``stop``; a source that fails is logged, not raised."""
        async with contextlib.AsyncExitStack() as stack:
            jobs: list[Awaitable[object]] = []
            if self.scheduled is not None and self._client is not None:
                await stack.enter_async_context(self._client)
                jobs.append(self.scheduled.run(stop))
            if isinstance(self.volatility, DeribitDvol):
                jobs.append(self.volatility.run(stop))
            if self.webhook is not None:
                try:
                    await stack.enter_async_context(self.webhook)
                except OSError as exc:  # the port is taken: the feeds and trading go on
                    log.error("tradingview_webhook_failed", error=str(exc))
                else:
                    log.info("tradingview_webhook", url=self.webhook.url)
                    jobs.append(stop.wait())
            for outcome in await asyncio.gather(*jobs, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    log.error("live_source_failed", error=repr(outcome))
