"""The TradingNode: one object that builds and owns the running system from one config.

Backtest, paper and live are this node; they differ only by the clock (a
``SimClock`` driven by the data, or wall time) and by where market data comes
from and who fills orders (catalog or recording and the simulated exchange;
live feeds and the simulated exchange; live feeds and the venue).

Build order is fixed here, because for every market event the handlers run in
subscription order: books and candles first, then the simulated exchanges match,
the kernel's price tracking moves, strategies decide, and the analytics pipeline
and integrity checks (which only publish their own topics) come last. Each
component is built inside ``bus.owned_by(name)`` so a fault in it is isolated
to it (``node.isolation``).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import tempfile
import time
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import structlog

from tradefabric.analytics.pipeline import AnalyticsPipeline
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock, SimClock
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import NS_PER_MS, interval_to_ns
from tradefabric.data import topics
from tradefabric.data.book_sync import OrderBooks
from tradefabric.data.candles import CandleAggregator
from tradefabric.execution.client import ExecutionClient
from tradefabric.execution.live.apply import is_derived
from tradefabric.execution.live.engine import LiveVenue
from tradefabric.execution.live.heartbeat import HeartbeatWriter
from tradefabric.integrity.triangulator import Triangulator
from tradefabric.model.data import Candle, Trade
from tradefabric.model.enums import EmptyCandlePolicy
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.instrument import Instrument
from tradefabric.model.orders import Fill
from tradefabric.node.cache import NodeCache
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.data_engine import DataEngine, DataEngineStats
from tradefabric.node.isolation import FaultPolicy, FaultRecord
from tradefabric.node.kernel import TradingConfig, strategy_owner
from tradefabric.node.live_feed import LiveFeed, LiveFeedConfig
from tradefabric.node.live_sources import LiveSources
from tradefabric.node.live_venues import alert_live_events, build_live_venues
from tradefabric.node.market_data import MarketDataNode, SharedMarketData
from tradefabric.node.reload import ConfigReloader
from tradefabric.node.run import (
    BacktestResult,
    DailySchedule,
    KernelRun,
    RunInfo,
    build_sim_venues,
)
from tradefabric.node.schedule import JobStats, ScheduledJob, Scheduler
from tradefabric.node.signal_sources import build_signal_sources
from tradefabric.node.supervisor import Supervisor, alert_on_breaker_events
from tradefabric.ops.alerts import ALERTS, Alert
from tradefabric.risk.audit import AuditLog
from tradefabric.state import Recorder, attach, open_store
from tradefabric.venues.registry import sequence_rules, venue_profile

if TYPE_CHECKING:  # loaded only when a node serves operators (see _serve_operators)
    from tradefabric.ops.control.http import ControlServer
    from tradefabric.ops.control.service import ControlService
    from tradefabric.ops.dashboard.server import DashboardServer
    from tradefabric.ops.telegram.bot import TelegramBot

log = structlog.get_logger(__name__)


class RunMode(enum.StrEnum):
    """What drives the node: recorded data on simulated time, or live feeds on wall time."""

    BACKTEST = "backtest"
    PAPER = "paper"
    LIVE = "live"


class NodeStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Where a running node is: market data seen, orders, fills, equity, halt, faults."""

    mode: RunMode
    trades: int
    candles: int
    orders: int
    fills: int
    equity: float
    last_market_ts: int
    halted: bool
    halt_reason: str
    faults: list[FaultRecord]
    alerts: int
    data: DataEngineStats | None


def _daily_schedule(config: TradingConfig, mode: RunMode) -> DailySchedule:
    daily = config.reports.daily
    if mode is RunMode.BACKTEST:
        # Simulated midnights pass in microseconds: building reports then would be the
        # run's hot path. They are written once, at the end, when asked for.
        return DailySchedule.AT_END if daily else DailySchedule.OFF
    return DailySchedule.OFF if daily is False else DailySchedule.AT_MIDNIGHT


class MarketTally:
    """Counts market data and keeps the first/last candle time (no per-event storage)."""

    def __init__(self) -> None:
        self.trades = 0
        self.candles = 0
        self.first_candle = 0
        self.last_candle = 0
        self.last_market = 0

    def on_trade(self, trade: Trade) -> None:
        """Count one trade."""
        self.trades += 1
        self.last_market = max(self.last_market, trade.ts_event)

    def on_candle(self, candle: Candle) -> None:
        """Count one closed candle."""
        self.candles += 1
        self.first_candle = self.first_candle or candle.ts_event
        self.last_candle = candle.ts_event


async def _end_heartbeat(task: asyncio.Task[None], stop: asyncio.Event, clean: bool) -> None:
    """Write ``stopped`` after a clean stop; after a failure let the heartbeat go stale."""
    if clean:
        stop.set()
    else:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class _Background:
    """Tasks that run until the node stops: each gets its own stop event."""

    def __init__(self) -> None:
        self._tasks: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    def start(self, run: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
        """Start ``run(stop)`` as a task."""
        stop = asyncio.Event()
        self._tasks.append((stop, asyncio.create_task(run(stop))))

    async def stop(self) -> None:
        """Set every stop event, then wait for each task in start order."""
        for stop, _ in self._tasks:
            stop.set()
        for _, task in self._tasks:
            await task
        self._tasks.clear()


class TradingNode:
    """Build every component from ``config`` for ``mode``; see the module docstring.

    Paper and live nodes must be built inside the running event loop (their clock's
    timers need it).
    """

    def __init__(
        self,
        config: TradingConfig,
        mode: RunMode,
        clock: Clock,
        run_dir: Path | None,
        *,
        audit: AuditLog | None = None,
        instruments: Mapping[InstrumentId, Instrument] | None = None,
        confirm_live: bool = False,
    ) -> None:
        """Build the node; ``audit`` replaces the run folder's audit log; ``instruments``
        are the venues' own (``node.instruments.fetch_instruments``); ``confirm_live``
        allows ``mode: live`` venues on production endpoints (``--confirm-live``)."""
        self.config = config
        self.mode = mode
        self.clock = clock
        self.bus = MessageBus()
        self.isolation = FaultPolicy(self.bus, clock)
        self.bus.on_fault = self.isolation.on_fault
        self.market_clock = self._market_clock()
        self.alerts: list[Alert] = []
        self.bus.subscribe(ALERTS, self.alerts.append, owner="record")
        alert_on_breaker_events(self.bus)
        self.markets: dict[str, MarketDataNode] = {}
        self.books: OrderBooks | None = None
        self.engine: DataEngine | None = None
        self._build_market_data()
        venues: dict[str, ExecutionClient] = dict(
            build_sim_venues(config, self.bus, self.books, live_data=mode is not RunMode.BACKTEST)
        )
        self.live_venues = self._build_live_venues(instruments or {}, confirm_live)
        venues.update(self.live_venues)
        self.run = KernelRun(
            config, self.bus, clock, venues, run_dir,
            audit=audit, books=self.books, durable_audit=config.state is not None,
            daily_reports=_daily_schedule(config, mode), instruments=instruments,
            market_clock=self.market_clock,
        )  # fmt: skip
        self.instruments = dict(instruments or {})
        """The venues' instruments this node was started with (empty: config only)."""
        self.kernel = self.run.kernel
        self.isolation.attach(self.kernel.risk, self.kernel.stop_strategy)
        self.recorder = self._restore_state()
        self.tally = MarketTally()
        self.bus.subscribe(topics.TRADES, self.tally.on_trade, owner="record")
        self.bus.subscribe(topics.CANDLES, self.tally.on_candle, owner="record")
        self.sources = LiveSources(
            config, live=mode is not RunMode.BACKTEST, bus=self.bus, clock=clock
        )
        with self.bus.owned_by("analytics"):
            self.analytics: AnalyticsPipeline | None = build_signal_sources(
                config, self.bus, clock, macro=self.sources.macro,
                volatility=self.sources.volatility,
            )  # fmt: skip
        self.integrity: Triangulator | None = None
        if config.integrity is not None:
            with self.bus.owned_by("integrity"):
                self.integrity = Triangulator(self.bus, config.integrity)
                self.integrity.attach()  # it consumes the bus's candles and quotes
        self.cache = NodeCache(
            self.kernel.precisions(), self.books, self.kernel.execution, self.kernel.portfolio
        )
        self.control: tuple[ControlService, ControlServer] | None = None
        """The control service and its HTTP server while ``run_live`` runs (``control:``)."""
        self.telegram: TelegramBot | None = None
        """The Telegram bot over the control service while ``run_live`` runs (``telegram:``)."""
        self.supervisors: list[Supervisor] = []
        """One per live feed while ``run_live`` runs: restarts and last errors."""
        self.dashboard: DashboardServer | None = None
        """The web dashboard while ``run_live`` runs (``dashboard:``)."""
        self.scheduler: Scheduler | None = None
        """The batch jobs of ``schedule:`` while ``run_live`` runs."""
        self.reloader: ConfigReloader | None = None
        """Set by ``enable_reload``: the config file ``reload_config`` re-reads."""

    def _build_live_venues(
        self, instruments: Mapping[InstrumentId, Instrument], confirm_live: bool
    ) -> dict[str, LiveVenue]:
        live = self.config.live_venues()
        if not live or self.mode is RunMode.BACKTEST:
            return {}  # a backtest simulates every venue
        if self.mode is RunMode.PAPER:
            raise ConfigError(
                f"execution.{sorted(live)[0]}.mode: live: `tradefabric paper` simulates every "
                "venue; run live venues with `tradefabric run`, or set mode: paper"
            )
        alert_live_events(self.bus, self.clock)
        return build_live_venues(self.config, instruments, confirm_live=confirm_live)

    def _restore_state(self) -> Recorder | None:
        """Load the kernel from the state store, then record into it (when configured).

        The simulated exchange keeps nothing across a restart: orders open at the crash
        are finished (audited) rather than left open forever. A halted node stays halted.
        Parent orders of execution algorithms resume what their children left (``attach``).
        """
        state = self.config.state
        if state is None:
            return None
        recorder, _ = attach(
            self.kernel, open_store(state), venue_state_lost=True, id_block=state.id_block,
            risk_interval_ns=interval_to_ns(self.config.risk_interval),
            live_venues=frozenset(self.live_venues),
        )  # fmt: skip
        if self.live_venues:
            self._resume_live_venues(recorder.store.fills())
        for strategy in self.kernel.strategies:
            strategy.ctx.set_state_saver(recorder.save_strategy_state)
            saved = recorder.store.strategy_state(strategy.strategy_id)
            owner = strategy_owner(strategy.strategy_id)
            try:
                with self.bus.owned_by(owner):
                    strategy.on_restore(saved.data if saved is not None else None)
            except Exception as exc:  # isolated like any handler: that strategy stops
                self.bus.report_fault("state.restore", owner, exc)
        return recorder

    def _resume_live_venues(self, fills: list[Fill]) -> None:
        """Tell each live venue the last venue trade it had and what it derived."""
        for name, venue in self.live_venues.items():
            venue.applier.restore_derived(fills)
            known = [f.ts_event for f in fills if f.venue == name and not is_derived(f.fill_id)]
            venue.trades_since_ns = max(known, default=0)  # reconciliation asks from there

    def _market_clock(self) -> Clock | None:
        """Return a clock moved by the market's event times when the node parses raw data.

        Equity samples and daily reports are timed by it, so a paper run on a replay and
        the backtest of that replay sample equity at the same market moments (the same
        Sharpe on the same fills). Subscribed first: it moves before anything else sees
        the event. Catalog backtests need none: their clock already is candle time.
        """
        if self.mode is RunMode.BACKTEST and self.config.data.recording is None:
            return None
        market = SimClock()
        advance = market.advance_to
        with self.bus.owned_by("core"):
            self.bus.subscribe(topics.TRADES, lambda trade: advance(trade.ts_event))
            self.bus.subscribe(topics.CANDLES, lambda candle: advance(candle.ts_event))
        return market

    def _market_venues(self) -> dict[str, tuple[str, ...]]:
        """Return the venues whose raw data this node parses, with their candle intervals."""
        settings = self.config.market_data
        if self.mode is RunMode.BACKTEST:
            data = self.config.data
            return {data.venue: data.recording_intervals} if data.recording else {}
        if not self.config.feeds:
            if self.mode is RunMode.LIVE and self.config.live_venues():
                return {}  # execution only: orders from the control API or timers
            raise ConfigError(f"feeds: a {self.mode} run needs at least one venue's feed")
        return {venue: settings.candle_intervals for venue in self.config.feeds}

    def _build_market_data(self) -> None:
        venues = self._market_venues()
        if not venues:
            return  # catalog candles only: no books, no candle building
        intervals = next(iter(venues.values()))
        settings = self.config.market_data
        self.books = OrderBooks(self.bus, self.clock, sequence_rules())
        candles = CandleAggregator(
            self.bus,
            self.clock,
            intervals,
            EmptyCandlePolicy.SKIP,
            settings.candle_close_delay_ms * NS_PER_MS,
        )
        shared = SharedMarketData(self.bus, self.books, candles)
        for venue in venues:
            venue_profile(venue)  # an unknown venue fails here, naming the known ones
            md_config = MarketDataConfig(venue=venue, candle_intervals=intervals)
            self.markets[venue] = MarketDataNode(md_config, self.clock, shared)
        if self.mode is not RunMode.BACKTEST:
            self.engine = DataEngine(self.bus, self.clock, self.books, settings.queue_size)

    def status(self) -> NodeStatus:
        """Return the node's progress and health."""
        run = self.run
        risk = self.kernel.risk
        return NodeStatus(
            mode=self.mode,
            trades=self.tally.trades,
            candles=self.tally.candles,
            orders=run.events.orders_closed + len(self.kernel.execution.open_order_snapshots()),
            fills=run.events.fills,
            equity=self.kernel.portfolio.equity(),
            last_market_ts=self.tally.last_market,
            halted=risk.halted,
            halt_reason=risk.halt_reason,
            faults=list(self.isolation.faults),
            alerts=len(self.alerts),
            data=self.engine.stats() if self.engine else None,
        )

    # --- live data (paper, live) ---

    def feeds(self) -> list[LiveFeed]:
        """Build one live feed per configured venue, writing into the data engine's queue."""
        engine = self.engine
        if engine is None:
            raise ConfigError(f"a {self.mode} node has no live feeds")
        feeds = []
        for venue, feed_config in self.config.feeds.items():
            market = self.markets[venue]
            channels = feed_config.channels or market.venue.default_channels
            live_config = LiveFeedConfig(
                symbols=feed_config.symbols,
                channels=channels,
                ws_url=feed_config.ws_url,
                rest_url=feed_config.rest_url,
                rest_fallback_lag_s=feed_config.rest_fallback_lag_s,
            )
            sink = engine.queue_for(venue, market.parser)
            feeds.append(LiveFeed(market, live_config, sink=sink))
        return feeds

    async def run_live(self, stop: asyncio.Event) -> BacktestResult:
        """Run every feed, the data engine and the live venues until ``stop``; then finish.

        Live venues connect and reconcile before any market data flows. Each feed runs
        under a ``Supervisor``: a crash is alerted, counted by that venue's circuit
        breaker and restarted with backoff; the other feeds keep running. A node with
        live venues and no feeds (execution only) runs until ``stop``.
        """
        engine = self.engine
        if engine is None and not self.live_venues:
            raise ConfigError(f"a {self.mode} node has no live feeds")
        feeds = self.feeds() if engine is not None else []
        restart = self.config.market_data.restart
        self.supervisors = [
            Supervisor(f"feed:{f.live.venue}", f.live.venue, self.bus, self.clock, restart)
            for f in feeds
        ]
        background = _Background()
        started = time.perf_counter()
        beat_stop = asyncio.Event()
        beating = None
        if self.config.guard is not None:  # beating before the venues connect
            beating = asyncio.create_task(HeartbeatWriter(self.config.guard).run(beat_stop))
        clean = False
        try:
            for venue in self.live_venues.values():
                await venue.start()
            self._serve_operators()
            self._start_scheduler()
            if engine is not None:
                background.start(engine.run)
            background.start(self.sources.run)  # stopped in finally: feeds may end first
            await self._run_feeds(feeds, stop)
            clean = True
        finally:
            if self.scheduler is not None:  # running jobs are ended, none started after
                await self.scheduler.stop()
            await background.stop()  # the data engine parses what is still queued
            for venue in self.live_venues.values():
                await venue.stop()
            if beating is not None:
                await _end_heartbeat(beating, beat_stop, clean)
            await self._stop_services()
        return self.finish(self._source_text(), time.perf_counter() - started)

    async def _run_feeds(self, feeds: list[LiveFeed], stop: asyncio.Event) -> None:
        if not feeds:
            await stop.wait()
            return
        jobs = zip(self.supervisors, feeds, strict=True)
        await asyncio.gather(*(supervisor.run(feed.run, stop) for supervisor, feed in jobs))

    async def _stop_services(self) -> None:
        self._close_market_data()
        cancel = getattr(self.clock, "cancel_timers", None)
        if callable(cancel):
            cancel()
        if self.telegram is not None:  # off the loop: it sends what is queued, briefly
            await asyncio.to_thread(self.telegram.stop)
        if self.control is not None:  # off the loop: a request in flight still answers
            await asyncio.to_thread(self.control[1].stop)
        if self.dashboard is not None:
            await asyncio.to_thread(self.dashboard.stop)

    def _source_text(self) -> str:
        sources = ", ".join(
            f"{venue} {feed.ws_url or '(venue default)'}"
            for venue, feed in self.config.feeds.items()
        )
        live = ", ".join(f"{name} live" for name in self.live_venues)
        return f"live feeds: {sources}" + (f"; {live}" if live else "")

    def _serve_operators(self) -> None:
        """Start the dashboard, the control API and, over its service, the Telegram bot
        (each when configured)."""
        # FastAPI, uvicorn and python-telegram-bot cost about a second of start-up: a node
        # that serves no operator (backtests, most tests) never loads them.
        from tradefabric.ops.dashboard.server import serve_dashboard  # noqa: PLC0415

        control = self.config.control
        if self.config.dashboard is not None:  # first: a missing token fails before any serves
            self.dashboard = serve_dashboard(self, self.config.dashboard, control)
        try:
            self._serve_control()
        except BaseException:  # a bad bot token, a port in use: stop what listens already
            if self.dashboard is not None:
                self.dashboard.stop()
            raise

    def _serve_control(self) -> None:
        control, telegram = self.config.control, self.config.telegram
        if control is None:
            return
        from tradefabric.ops.control.http import serve_node  # noqa: PLC0415 (see above)
        from tradefabric.ops.telegram.bot import start_telegram  # noqa: PLC0415
        from tradefabric.ops.telegram.secret import read_token  # noqa: PLC0415

        bot_token = read_token(telegram) if telegram is not None else ""  # fails before serving
        self.control = serve_node(self, control)
        if telegram is not None:
            self.telegram = start_telegram(self.control[0], telegram, control.token, bot_token)

    def _start_scheduler(self) -> None:
        """Start ``schedule:``'s jobs; each run's request, result and log go to RUN/jobs/."""
        if not self.config.schedule:
            return
        run_dir = self.run.run_dir
        work = run_dir / "jobs" if run_dir else Path(tempfile.mkdtemp(prefix="tradefabric-jobs-"))
        self.scheduler = Scheduler(
            self.bus, self.clock, self.config.schedule, work, run_dir=run_dir,
            defaults=self._job_defaults(), flush=self.run.flush,
        )  # fmt: skip
        self.scheduler.start()

    def _job_defaults(self) -> dict[str, dict[str, Any]]:
        """Return what the node fills in for built-in jobs: the daily report's initial
        equity; the regime backtest's strategies (this node's config file, when it has one)."""
        defaults: dict[str, dict[str, Any]] = {
            "daily_report": {"initial_equity": self.run.initial_equity}
        }
        if self.reloader is not None:
            defaults["regime_backtest"] = {"base": str(self.reloader.file.resolve())}
        return defaults

    def enable_reload(self, file: Path, loaded: TradingConfig) -> None:
        """Let ``reload_config`` re-read ``file`` (``loaded``: what it said at start)."""
        self.reloader = ConfigReloader(self, file, loaded)

    def reload_config(self) -> str:
        """Re-read the config file; apply what may change at runtime (``node.reload``)."""
        if self.reloader is None:
            raise ConfigError("this node was not started from a config file: nothing to reload")
        return self.reloader.reload()

    def job_stats(self) -> list[JobStats]:
        """Return each scheduled job's runs, failures, skips and next due time."""
        return self.scheduler.stats() if self.scheduler is not None else []

    def run_job(self, name: str) -> str:
        """Start scheduled job ``name`` now in its worker; say what happened."""
        if self.scheduler is None:
            raise ConfigError("this node runs no schedule: (no jobs to run)")
        return self.scheduler.run_now(name)

    def update_schedule(self, entries: tuple[ScheduledJob, ...]) -> list[str]:
        """Run ``entries`` as the schedule from the next minute on; return what changed."""
        if self.scheduler is not None:
            return self.scheduler.update(entries)
        self._start_scheduler()  # the node had no schedule: ``self.config`` has the new one
        return [f"schedule: added {e.label} ({e.cron or e.event})" for e in entries]

    def _close_market_data(self) -> None:
        for market in self.markets.values():
            market.close()

    # --- backtest ---

    def replay_recording(self, recording: Path) -> float:
        """Replay a raw recording through the data venue's parser; return the seconds taken."""
        if not isinstance(self.clock, SimClock):
            raise ConfigError("a recording is replayed on a SimClock (backtest mode)")
        market = self.markets.get(self.config.data.venue)
        if market is None:
            raise ConfigError("data.recording: the node was built without it")
        started = time.perf_counter()
        market.replay(recording)
        return time.perf_counter() - started

    def finish(self, source: str, seconds: float, info: RunInfo | None = None) -> BacktestResult:
        """Stop the kernel, write the run folder and return the result."""
        if info is None:
            info = RunInfo(
                config=self.config,
                catalog_version=None,
                catalog_fingerprint=None,
                recording=source,
                candles=self.tally.candles,
                first_ts=self.tally.first_candle,
                last_ts=self.tally.last_candle,
            )
        try:
            result = self.run.finish(info, seconds)
        finally:
            if self.recorder is not None:
                self.recorder.close()
                self.recorder.store.close()
        risk = self.kernel.risk
        return msgspec.structs.replace(
            result,
            faults=list(self.isolation.faults),
            halted=risk.halt_reason if risk.halted else self.run.audit_error,
        )
