"""A live feed: one venue's connection, book resyncs and clock offset, around a node."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import msgspec
import structlog

from tradefabric.core.clock import OffsetClock
from tradefabric.core.errors import TradefabricError
from tradefabric.data import topics
from tradefabric.data.feed.activity import ChannelActivity, ChannelState
from tradefabric.data.feed.backfill import TradeBackfill
from tradefabric.data.feed.book_resync import BookResync
from tradefabric.data.feed.catch_up import TradeCatchUp
from tradefabric.data.feed.clock_offset import ClockOffsetEstimator
from tradefabric.data.feed.connection import ConnectionStats, FrameSink, VenueConnection
from tradefabric.data.feed.fallback import FallbackStats, RestFallback
from tradefabric.data.feed.rest import VenueRestClient
from tradefabric.model.data import Trade
from tradefabric.node.market_data import BookSummary, EventCounts, MarketDataNode

log = structlog.get_logger(__name__)


class LiveFeedConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which symbols and channels to follow, and where the venue is."""

    symbols: tuple[str, ...]
    channels: tuple[str, ...] = ("trade", "bookTicker", "depth")
    ws_url: str | None = None
    """Override the venue's WebSocket URL (testnet, proxy, the local fake venue)."""
    rest_url: str | None = None
    record_dir: Path | None = None
    silence_timeout_s: float = 10.0
    clock_sync_interval_s: float = 30.0
    poll_interval_s: float = 30.0
    """How often to poll REST-only data (open interest)."""
    rest_fallback_lag_s: float = 2.0
    """Poll trades by REST while the stream is silent, or behind REST, by this long
    (0 disables the fallback)."""
    rest_probe_s: float = 5.0
    """How often one REST poll races the stream to measure how far behind it is."""
    book_refresh_s: float | None = None
    """Rebuild books from a fresh snapshot this often; None: the venue's default
    (Kraken 300 s, others never), 0: never."""
    recv_on_venue_clock: bool = False
    """Stamp ``ts_recv`` on the venue's clock (local time + the continuously estimated
    offset to its server time) instead of the local clock, so receive and event times of
    one venue are comparable ("timestamp sync to Binance")."""


class FeedStatus(msgspec.Struct, frozen=True):
    """A live feed's state, for status tables and ``--json``."""

    venue: str
    connection: ConnectionStats
    events: EventCounts
    books: list[BookSummary]
    snapshots_fetched: int
    snapshot_failures: int
    book_refreshes: int
    rest_requests: int
    rest_rate_limited: int
    clock_offset_ms: float
    clock_offset_uncertainty_ms: float
    trade_source: FallbackStats | None
    channels: list[ChannelState]


class LiveFeed:
    """Run one venue's live feed into a ``MarketDataNode`` until stopped."""

    def __init__(
        self,
        node: MarketDataNode,
        config: LiveFeedConfig,
        time_reference: ClockOffsetEstimator | None = None,
        sink: FrameSink | None = None,
    ) -> None:
        """Build the feed; ``time_reference`` is another venue's offset estimator (e.g. the
        Binance feed's) to stamp receive times on that venue's clock instead of this one's.

        ``sink`` takes the raw frames instead of the node's parser (the trading node's
        data engine queue); the feed then leaves closing the node to its owner, which
        must first parse what is still queued.
        """
        self.node = node
        self._owns_node = sink is None
        self.config = config
        self.offset = ClockOffsetEstimator()
        reference = time_reference or self.offset
        recv_clock = (
            OffsetClock(node.clock, reference.offset_ns)
            if config.recv_on_venue_clock
            else node.clock
        )
        self.live = node.venue.make_live(node.parser, recv_clock, config.ws_url, config.rest_url)
        self.activity = ChannelActivity(node.bus, node.clock)
        self._newest_trade_ns: dict[str, int] = {}
        self.connection = VenueConnection(
            name=self.live.venue,
            url=lambda: self.live.stream_url(config.symbols, config.channels),
            subscribe_frames=lambda: self.live.subscribe_frames(config.symbols, config.channels),
            sink=node.parser if sink is None else sink,
            clock=recv_clock,
            on_connected=self._on_connected,
            on_disconnected=self._on_disconnected,
            silence_timeout_s=config.silence_timeout_s,
            record_dir=config.record_dir,
        )
        self._rest: VenueRestClient | None = None
        self.backfill: TradeBackfill | None = None
        self.catch_up: TradeCatchUp | None = None
        self.fallback: RestFallback | None = None
        if config.rest_fallback_lag_s > 0 and "trade" in config.channels:
            self.fallback = RestFallback(
                # The connection's clock: its last-frame times are read on that clock.
                self.connection, recv_clock, config.symbols, self._poll_trades,
                rest_lead=self._rest_lead, lag_threshold_s=config.rest_fallback_lag_s,
                probe_s=config.rest_probe_s, on_silent=self._on_stream_silent,
            )  # fmt: skip
            # Only the freshness race needs the newest streamed trade: no work per trade otherwise.
            node.bus.subscribe(topics.TRADES, self._on_trade)
        self._resync: BookResync | None = None
        self._catch_ups: set[asyncio.Task[None]] = set()
        self.trades_caught_up = 0
        """Trades fetched by REST right after reconnects."""
        refresh = config.book_refresh_s
        self.book_refresh_s = node.venue.book_refresh_s if refresh is None else refresh
        self.book_refreshes = 0
        """Periodic book rebuilds started."""

    async def run(self, stop: asyncio.Event) -> None:
        """Connect and stay connected until ``stop`` is set; then close the node."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            self._rest = VenueRestClient(self.live.rest_url, self.live.limiter, session)
            self._build_recovery()
            assert self._resync is not None and self.backfill is not None
            background = [
                asyncio.create_task(self._every(stop, config_interval, job))
                for config_interval, job in (
                    (self.config.clock_sync_interval_s, self._sync_clock),
                    (self.config.poll_interval_s, self._poll),
                )
            ]
            if self.book_refresh_s > 0:
                background.append(
                    asyncio.create_task(self._every(stop, self.book_refresh_s, self._refresh))
                )
            if self.fallback is not None:
                background.append(asyncio.create_task(self.fallback.run(stop)))
            heartbeat = self.live.heartbeat()
            if heartbeat is not None:
                background.append(asyncio.create_task(self._heartbeat(stop, *heartbeat)))
            try:
                await self.connection.run(stop)
            finally:
                for task in background:
                    task.cancel()
                await asyncio.gather(*background, return_exceptions=True)
                await asyncio.gather(*self._catch_ups, return_exceptions=True)
                await self._resync.close()
                await self.backfill.close()
                if self._owns_node:
                    self.node.close()

    def _build_recovery(self) -> None:
        """Build the resync, catch-up and backfill once: a supervisor may run the feed again,
        and a second set would double every subscription on the bus."""
        if self._resync is None:
            self._resync = BookResync(
                self.node.bus, self.node.books, self.live.venue, self._fetch_snapshot
            )
        if self.catch_up is None and not self.live.detects_trade_gaps:
            self.catch_up = TradeCatchUp(
                self.node.bus, self.node.clock, self.live.venue, self._trades_between,
                counts_ids=self.live.trade_ids_count_per_symbol,
            )  # fmt: skip
        if self.backfill is None:
            self.backfill = TradeBackfill(
                self.node.bus, self.node.clock, self.live.venue, self._trades_from
            )

    async def _trades_between(self, symbol: str, start_ns: int, end_ns: int) -> list[Trade]:
        assert self._rest is not None
        return await self.live.trades_between(self._rest, symbol, start_ns, end_ns)

    async def _trades_from(self, symbol: str, from_id: int) -> list[Trade]:
        assert self._rest is not None
        return await self.live.trades_from(self._rest, symbol, from_id)

    def status(self) -> FeedStatus:
        """Return the feed's current state."""
        rest = self._rest
        resync = self._resync
        return FeedStatus(
            venue=self.live.venue,
            connection=self.connection.stats(),
            events=self.node.event_counts(),
            books=self.node.book_summaries(),
            snapshots_fetched=resync.snapshots_fetched if resync else 0,
            snapshot_failures=resync.failures if resync else 0,
            book_refreshes=self.book_refreshes,
            rest_requests=rest.requests if rest else 0,
            rest_rate_limited=rest.rate_limited if rest else 0,
            clock_offset_ms=self.offset.offset_ns() / 1e6,
            clock_offset_uncertainty_ms=self.offset.uncertainty_ns() / 1e6,
            trade_source=self.fallback.stats() if self.fallback else None,
            channels=self.activity.states(),
        )

    async def _on_connected(self) -> None:
        self.live.on_connect(self.node.clock.timestamp_ns())
        # Whatever happened while we were away is lost: every book must be rebuilt.
        self._invalidate_books("reconnected")
        catch_up = not self.live.detects_trade_gaps and "trade" in self.config.channels
        if catch_up and self.connection.connects > 1:
            # Trades of the outage: venues without consecutive ids raise no TradeGap, so
            # page REST back in time to the last trade before it (``TradeCatchUp``).
            self._start_catch_up()

    def _on_stream_silent(self) -> None:
        # A stall the watchdog has not cut: the stream skips trades while REST stands in,
        # an outage like a drop's, caught up by time once the stream delivers again.
        if self.catch_up is not None:
            self.catch_up.on_disconnected()
            self._start_catch_up()

    def _start_catch_up(self) -> None:
        task = asyncio.create_task(self._catch_up_trades())
        self._catch_ups.add(task)
        task.add_done_callback(self._catch_ups.discard)

    def _on_disconnected(self) -> None:
        # From the moment the socket is gone updates are missed: say so now, not at reconnect.
        self._invalidate_books("connection lost")
        if self.catch_up is not None:
            self.catch_up.on_disconnected()

    def _invalidate_books(self, reason: str) -> None:
        for symbol in self.config.symbols:
            unified = self.live.unified_symbol(symbol)
            self.node.books.invalidate(self.live.venue, unified, reason)

    async def _catch_up_trades(self) -> None:
        if self.catch_up is None:
            return
        before = self.catch_up.recovered
        await self.catch_up.on_reconnected(
            [self.live.unified_symbol(s) for s in self.config.symbols]
        )
        self.trades_caught_up += self.catch_up.recovered - before

    async def _fetch_snapshot(self, symbol: str) -> None:
        assert self._rest is not None
        await self.live.resync_book(symbol, self._rest, self.connection.send)

    async def _rest_lead(self, symbol: str) -> int:
        """Return how much newer REST's newest trade of ``symbol`` is than the stream's."""
        recent = await self._recent_trades(symbol)
        if not recent:
            return 0
        streamed = self._newest_trade_ns.get(self.live.unified_symbol(symbol), 0)
        return max(t.ts_event for t in recent) - streamed if streamed else 0

    def _on_trade(self, trade: Trade) -> None:
        if trade.ts_event > self._newest_trade_ns.get(trade.symbol, 0):
            self._newest_trade_ns[trade.symbol] = trade.ts_event

    async def _poll_trades(self, symbol: str) -> int:
        recent = await self._recent_trades(symbol)
        if self.catch_up is None:
            return self.live.merge_trades(symbol, recent)
        # Marked as REST's: trades a poll stands in with do not end an outage.
        with self.catch_up.rest_trades():
            return self.live.merge_trades(symbol, recent)

    async def _recent_trades(self, symbol: str) -> list[Trade]:
        assert self._rest is not None
        return await self.live.recent_trades(self._rest, symbol)

    async def _sync_clock(self, rest: VenueRestClient) -> None:
        self.offset.add(await self.live.sample_server_time(rest))

    async def _refresh(self, _rest: VenueRestClient) -> None:
        for symbol in self.config.symbols:
            unified = self.live.unified_symbol(symbol)
            book = self.node.books.book(self.live.venue, unified)
            if book is not None and book.valid:
                self.book_refreshes += 1
                self.node.books.invalidate(self.live.venue, unified, "periodic refresh")

    async def _poll(self, rest: VenueRestClient) -> None:
        await self.live.poll(rest, self.config.symbols)

    async def _heartbeat(self, stop: asyncio.Event, interval_s: float, frame: str) -> None:
        # An application-level keepalive (Bybit drops a socket that sends no ping).
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval_s)
            if not stop.is_set():
                await self.connection.send(frame)

    async def _every(
        self,
        stop: asyncio.Event,
        interval_s: float,
        job: Callable[[VenueRestClient], Awaitable[None]],
    ) -> None:
        while not stop.is_set():
            if self._rest is not None:
                try:
                    await job(self._rest)
                except TradefabricError as exc:
                    log.info("periodic_request_failed", venue=self.live.venue, error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval_s)
