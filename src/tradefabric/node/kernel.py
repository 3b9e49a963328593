"""The trading kernel: one config builds portfolio, risk, execution and strategies.

Backtest, paper and live are this same kernel. Only what is handed in differs:
the clock (``SimClock`` or ``LiveClock``) and the venue clients (the simulated
venue, or real ones). Wiring order matters and is fixed here: venue clients
subscribe to market data before the kernel is built, the kernel's price
tracking subscribes before the strategies, so for every event the venue
matches first, prices move next, and strategies decide last.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec
import structlog
import yaml

from tradefabric.analytics.config import AnalyticsConfig
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock, TimerCallback
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import NS_PER_DAY, interval_to_ns
from tradefabric.data import topics
from tradefabric.execution import topics as exec_topics
from tradefabric.execution.algorithms import BUILTIN
from tradefabric.execution.algorithms.engine import ExecAlgorithmEngine
from tradefabric.execution.client import ExecutionClient
from tradefabric.execution.live.config import LiveConfig
from tradefabric.execution.live.heartbeat import GuardConfig
from tradefabric.execution.oms import ExecutionEngine
from tradefabric.execution.portfolio import Portfolio
from tradefabric.execution.precision import Precision
from tradefabric.execution.sim.exchange import BookSource, SimExchangeConfig
from tradefabric.integrity.config import IntegrityConfig
from tradefabric.model.data import Candle, Trade
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.instrument import Instrument
from tradefabric.model.orders import Fill, OrderEvent, ParentSnapshot
from tradefabric.node.schedule import ScheduledJob, check_schedule
from tradefabric.node.supervisor import RestartPolicy
from tradefabric.ops.control.config import ControlConfig
from tradefabric.ops.dashboard.config import DashboardConfig
from tradefabric.ops.equity import EquityCurve
from tradefabric.ops.telegram.config import TelegramConfig
from tradefabric.risk.audit import AuditLog
from tradefabric.risk.config import RiskConfig
from tradefabric.risk.engine import ConsensusPriceSource, RiskEngine
from tradefabric.state.config import StateConfig
from tradefabric.strategies.base import Strategy, StrategyContext
from tradefabric.strategies.ema_cross import EmaCross, EmaCrossConfig
from tradefabric.strategies.plugin import (
    PluginStrategyConfig,
    build_plugin_strategy,
    tag_plugin_entries,
)
from tradefabric.strategies.router import RouterConfig, SignalRouter

log = structlog.get_logger(__name__)


class InstrumentConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Tick and lot of one traded instrument; these win over the venue's exchange info."""

    venue: str
    symbol: str
    price_increment: str
    size_increment: str
    min_size: str | None = None
    """Smallest order quantity; None keeps the venue's (``venues.instruments``)."""
    min_notional: str | None = None
    """Smallest order value in the quote asset; None keeps the venue's."""
    contract_size: str | None = None
    """Base asset per unit of quantity; None keeps the venue's."""


DEFAULT_INSTRUMENTS = (
    # Binance spot's filters for the bundled markets (PRICE_FILTER / LOT_SIZE, 2024).
    InstrumentConfig(
        venue="binance", symbol="BTC/USDT", price_increment="0.01", size_increment="0.00001"
    ),
    InstrumentConfig(
        venue="binance", symbol="ETH/USDT", price_increment="0.01", size_increment="0.0001"
    ),
)


class DataConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a backtest replays: catalog candles, or a recording (books and trades)."""

    catalog: Path | None = None
    catalog_version: int | None = None
    """Pin the catalog version (default: the newest, recorded in the run folder)."""
    venue: str = "binance"
    symbols: tuple[str, ...] = ("BTC/USDT",)
    interval: str = "1m"
    start: str | None = None
    """UTC date/time (inclusive) of the first candle's open; None: from the start."""
    end: str | None = None
    """UTC date/time (exclusive); None: to the end."""
    recording: Path | None = None
    """A raw recording (``../shared/data/binance_ws``) replayed through the market data
    node instead of catalog candles: books, trades, and candles built from them."""
    recording_intervals: tuple[str, ...] = ("1s", "1m")


class FeedConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One venue's live market data feed (paper and live runs)."""

    symbols: tuple[str, ...]
    channels: tuple[str, ...] | None = None
    """The venue's channels (None: the venue's defaults)."""
    ws_url: str | None = None
    """Override the venue's WebSocket URL (testnet, proxy, the local fake venue)."""
    rest_url: str | None = None
    rest_fallback_lag_s: float = 2.0
    """Poll trades by REST while the stream is silent or behind REST by this long
    (0 disables: a replay faster than real time always looks behind REST)."""

    def __post_init__(self) -> None:
        if not self.symbols:
            raise ConfigError("feeds: give at least one symbol per venue")
        if self.rest_fallback_lag_s < 0:
            raise ConfigError("feeds.*.rest_fallback_lag_s: must be >= 0")


class MarketDataSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the node turns feeds (or a recording) into books and candles."""

    candle_intervals: tuple[str, ...] = ("1s", "1m")
    candle_close_delay_ms: int = 600_000
    """Close candles on the first trade past their end; the timer only closes candles
    of a feed silent this long (so candle boundaries follow the data, as in a replay)."""
    queue_size: int = 100_000
    """Frames the socket readers may queue ahead of the data engine; when full, new
    frames are dropped, counted, the venue's books invalidated and an alert raised."""
    restart: RestartPolicy = RestartPolicy()
    """How a crashed feed is started again (``node.supervisor``)."""

    def __post_init__(self) -> None:
        for interval in self.candle_intervals:
            interval_to_ns(interval)
        if self.candle_close_delay_ms < 0:
            raise ConfigError("market_data.candle_close_delay_ms: must be >= 0")
        if self.queue_size < 1:
            raise ConfigError("market_data.queue_size: must be >= 1")


class ReportsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which reports a run writes besides its run report (``report.html``, always)."""

    daily: bool | None = None
    """Daily reports with charts: None (default) writes them at each midnight in paper and
    live runs and not in backtests; True always (a backtest writes them all at its end);
    False never. Any day's report on demand: ``tradefabric report daily --run DIR``."""


class ExecutionMode(enum.StrEnum):
    """Who fills a venue's orders: the simulator (backtest, paper) or the venue (live)."""

    SIM = "sim"
    PAPER = "paper"
    LIVE = "live"


class ExecutionConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How orders on one venue are executed."""

    mode: ExecutionMode = ExecutionMode.SIM
    """``sim`` and ``paper`` fill with the simulated exchange (``sim`` below) on the
    node's market data; ``live`` sends orders to the venue (``live`` below)."""
    sim: SimExchangeConfig = SimExchangeConfig()
    live: LiveConfig | None = None
    """Keys, endpoints and engine settings of a ``mode: live`` venue
    (``execution.live.config``)."""

    def __post_init__(self) -> None:
        if self.mode is ExecutionMode.LIVE and self.live is None:
            raise ConfigError(
                "mode: live needs live: {credentials: {api_key_env: .., api_secret_env: ..}}"
            )


StrategyConfig = EmaCrossConfig | RouterConfig | PluginStrategyConfig
"""A built-in kind (``kind: ema_cross | router``) or a user class (``class: pkg.mod.Cls``)."""

_RENAMED = {
    "venues": "execution: {VENUE: {mode: sim, sim: {matching: .., fees: .., ...}}}",
    "paper": "feeds: {VENUE: {symbols: [...], ws_url: .., rest_url: ..}} and "
    "market_data: {candle_intervals: [...]}",
}


class TradingConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything a trading node is built from; one file drives backtest, paper and live."""

    seed: int = 0
    execution: dict[str, ExecutionConfig] = msgspec.field(
        default_factory=lambda: {"binance": ExecutionConfig()}
    )
    balances: dict[str, dict[str, float]] = msgspec.field(
        default_factory=lambda: {"binance": {"USDT": 100_000.0}}
    )
    instruments: tuple[InstrumentConfig, ...] = DEFAULT_INSTRUMENTS
    risk: RiskConfig = RiskConfig()
    strategies: tuple[StrategyConfig, ...] = ()
    equity_interval: str = "1h"
    """How often the equity curve is sampled (not per candle: flat memory)."""
    risk_interval: str = "1m"
    """How often equity is checked against the daily drawdown limit."""
    data: DataConfig = DataConfig()
    """What a backtest replays."""
    feeds: dict[str, FeedConfig] = msgspec.field(default_factory=dict)
    """Live market data per venue (paper and live runs)."""
    market_data: MarketDataSettings = MarketDataSettings()
    analytics: AnalyticsConfig | None = None
    """The analytics pipeline (signals for ``kind: router``,
    ``node.signal_sources.build_signal_sources``); None: not run."""
    integrity: IntegrityConfig | None = None
    """Cross-venue checks (consensus, anomalies); None: not run."""
    reports: ReportsConfig = ReportsConfig()
    output_dir: Path = Path("runs")
    state: StateConfig | None = None
    """Where paper/live state survives a restart (``state: {backend: sqlite, path: ...}``);
    None: nothing is restored or recorded."""
    control: ControlConfig | None = None
    """The control API and ``/metrics`` a paper/live node serves (``ops.control.http``:
    ``control: {host: 127.0.0.1, port: 8780, token: ...}``); None: not served."""
    guard: GuardConfig | None = None
    """The heartbeat file ``tradefabric guard`` watches (``execution.live.heartbeat``:
    ``guard: {heartbeat_file: ..., interval_s: 1, timeout_s: 10}``); None: none written."""

    telegram: TelegramConfig | None = None
    """A Telegram bot over the control service (``ops.telegram``; needs ``control:``);
    None: no bot."""
    dashboard: DashboardConfig | None = None
    """The web dashboard a paper/live node serves (``ops.dashboard``:
    ``dashboard: {port: 8781, token_env: TF_DASHBOARD_TOKEN}``); None: not served."""
    schedule: tuple[ScheduledJob, ...] = ()
    """Batch jobs a paper/live node runs on a cron schedule in low-priority worker
    processes (``node.schedule``: ``[{job: daily_report, cron: "5 0 * * *"}]``)."""

    def live_venues(self) -> frozenset[str]:
        """Return the venues executed ``mode: live``."""
        return frozenset(v for v, e in self.execution.items() if e.mode is ExecutionMode.LIVE)

    def __post_init__(self) -> None:
        interval_to_ns(self.equity_interval)
        interval_to_ns(self.risk_interval)
        ids = [s.id for s in self.strategies]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"strategies: ids must be unique, got {ids}")
        _check_balances(self.balances)
        check_schedule(self.schedule)
        if self.telegram is not None and self.control is None:
            raise ConfigError("telegram: needs a control: section (the bot uses its service)")
        for strategy in self.strategies:
            venue = getattr(strategy, "venue", None)
            if isinstance(venue, str) and venue not in self.execution:
                raise ConfigError(
                    f"strategies.{strategy.id}.venue: {venue!r} has no execution: entry "
                    f"(configured: {sorted(self.execution)})"
                )


def _check_balances(balances: dict[str, dict[str, float]]) -> None:
    for venue, amounts in balances.items():
        for currency, amount in amounts.items():
            if not amount >= 0:  # also refuses NaN
                raise ConfigError(f"balances.{venue}.{currency}: must be >= 0, got {amount}")


def load_config(path: Path) -> TradingConfig:
    """Load a YAML config; an unknown or invalid key fails naming the file and the key."""
    try:
        raw: Any = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if isinstance(raw, dict):
        for key, replacement in _RENAMED.items():
            if key in raw:
                raise ConfigError(f"{path}: `{key}:` was replaced by {replacement}")
    try:
        return msgspec.convert(tag_plugin_entries(raw or {}), TradingConfig, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _dec_hook(kind: type, value: Any) -> Any:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError


def strategy_owner(strategy_id: str) -> str:
    """Return the bus owner name of a strategy's subscriptions."""
    return f"strategy:{strategy_id}"


class StrategyStopped(msgspec.Struct, frozen=True, kw_only=True):
    """Audit record: a strategy was stopped after a fault."""

    ids: tuple[str, ...]
    reason: str
    ts: int


class TradingKernel:
    """Portfolio, risk, execution and strategies on one bus and one clock."""

    def __init__(
        self,
        config: TradingConfig,
        bus: MessageBus,
        clock: Clock,
        venues: Mapping[str, ExecutionClient],
        *,
        audit: AuditLog,
        consensus: ConsensusPriceSource | None = None,
        books: BookSource | None = None,
        instruments: Mapping[InstrumentId, Instrument] | None = None,
        market_clock: Clock | None = None,
    ) -> None:
        """Build the kernel; ``instruments`` (from the venues' exchange info) add to and
        replace the tick/lot of ``config.instruments``. ``market_clock`` (default
        ``clock``) times the equity curve and the daily reports: the market's event
        time, so a paper run on a replay samples equity exactly where its backtest does
        (risk checks stay on ``clock``)."""
        self.config = config
        self.market_clock = market_clock if market_clock is not None else clock
        self.books = books
        """Where strategies read L2 books (``StrategyContext.book``); None: no books."""
        self.bus = bus
        self.clock = clock
        self.audit = audit
        self.portfolio = Portfolio(config.balances)
        self.risk = RiskEngine(config.risk, bus, clock, audit, consensus)
        self.execution = ExecutionEngine(bus, clock, self.risk, self.portfolio, audit)
        # Built after the venues: on each book change the venue matches, then algorithms act.
        self.algorithms = ExecAlgorithmEngine(
            bus, self.execution, clock, books=books, seed=config.seed, algorithms=BUILTIN
        )
        self._precisions: dict[InstrumentId, Precision] = {}
        increments = {InstrumentId(i.venue, i.symbol): (i.price_increment, i.size_increment)
                      for i in config.instruments}  # fmt: skip
        for iid, inst in (instruments or {}).items():
            increments[iid] = (inst.price_increment, inst.size_increment)
        for iid, (tick, lot) in increments.items():
            precision = Precision(tick, lot)
            self._precisions[iid] = precision
            self.execution.add_instrument(iid, precision)
        for venue in venues.values():
            self.execution.add_venue(venue)
        self.equity_curve = EquityCurve()
        self._prices = self.execution.prices
        bus.subscribe(topics.CANDLES, self._on_candle)
        bus.subscribe(topics.TRADES, self._on_trade)
        self.strategies: list[Strategy] = []
        for strategy_config in config.strategies:
            with bus.owned_by(strategy_owner(strategy_config.id)):
                self.strategies.append(self._build(strategy_config))
        self._by_id: dict[str, Strategy] = {}
        for strategy in self.strategies:
            self._start(strategy)
        bus.subscribe(exec_topics.FILLS, self._route_fill)
        bus.subscribe(exec_topics.ORDER_EVENTS, self._route_event)
        bus.subscribe(exec_topics.PARENT_EVENTS, self._route_parent)
        clock.set_timer(interval_to_ns(config.risk_interval), self._check_equity)
        self.market_clock.set_timer(interval_to_ns(config.equity_interval), self._sample_equity)

    def every_day_end(self, callback: TimerCallback) -> None:
        """Call ``callback`` at every UTC midnight of the market clock (daily reports).

        Set after the equity timers, so a midnight equity sample is taken first.
        """
        self.market_clock.set_timer(NS_PER_DAY, callback)

    def precisions(self) -> dict[InstrumentId, Precision]:
        """Return the tick/lot of every instrument the kernel trades."""
        return dict(self._precisions)

    def precision(self, instrument: InstrumentId) -> Precision:
        """Return the tick/lot of ``instrument``; unknown instruments are a config error."""
        precision = self._precisions.get(instrument)
        if precision is None:
            raise ConfigError(f"instruments: no tick/lot for {instrument}")
        return precision

    def _build(self, config: StrategyConfig) -> Strategy:
        if isinstance(config, EmaCrossConfig):
            return EmaCross(config, self.precision(InstrumentId(config.venue, config.symbol)))
        if isinstance(config, PluginStrategyConfig):
            return build_plugin_strategy(config)
        precision = self.precision(InstrumentId(config.venue, config.symbol))
        return SignalRouter(config, precision, self.bus)

    def _start(self, strategy: Strategy) -> None:
        for strategy_id in strategy.strategy_ids():
            self._by_id[strategy_id] = strategy
        ids = strategy.strategy_ids()
        # Everything the strategy subscribes is owned by it: a fault stops only this strategy.
        with self.bus.owned_by(strategy_owner(strategy.strategy_id)):
            ctx = StrategyContext(
                strategy.strategy_id, self.execution, self.clock,
                bus=self.bus, owned=ids, books=self.books,
                owner=strategy_owner(strategy.strategy_id), algorithms=self.algorithms,
            )  # fmt: skip
            strategy.start(ctx)
            if strategy.wants_candles:
                self.bus.subscribe(topics.CANDLES, strategy.on_candle)
            if strategy.wants_trades:
                self.bus.subscribe(topics.TRADES, strategy.on_trade)

    def add_strategy(self, strategy: Strategy) -> None:
        """Start one more strategy (built outside the config: plugins, tests, research)."""
        if any(s.strategy_id == strategy.strategy_id for s in self.strategies):
            raise ConfigError(f"strategies: id {strategy.strategy_id!r} is already running")
        self.strategies.append(strategy)
        self._start(strategy)

    def stop_strategy(self, strategy_id: str, reason: str) -> None:
        """Stop one strategy after a fault: no more data, its open orders cancelled, audited.

        The other strategies, the feeds and the risk engine keep running.
        """
        strategy = next((s for s in self.strategies if s.strategy_id == strategy_id), None)
        if strategy is None:
            return
        self.bus.unsubscribe_owner(strategy_owner(strategy.strategy_id))
        ids = strategy.strategy_ids()
        for sid in ids:
            del self._by_id[sid]
        self.strategies.remove(strategy)
        now = self.clock.timestamp_ns()
        self.audit.write("strategy_stopped", now, StrategyStopped(ids=ids, reason=reason, ts=now))
        for sid in ids:
            self.execution.cancel_all(sid)
        strategy.detach()  # its timers stop too
        try:
            strategy.stop()
        except Exception as exc:  # its own clean-up failing must not stop anything else
            log.warning("strategy_stop_failed", strategy=strategy_id, error=repr(exc))

    def _on_candle(self, candle: Candle) -> None:
        # The hot path: one dict lookup and one store per candle.
        prices = self._prices.get(candle.venue)
        if prices is None:
            prices = self._prices[candle.venue] = {}
        prices[candle.symbol] = candle.close

    def _on_trade(self, trade: Trade) -> None:
        prices = self._prices.get(trade.venue)
        if prices is None:
            prices = self._prices[trade.venue] = {}
        prices[trade.symbol] = trade.price

    def _route_fill(self, fill: Fill) -> None:
        self._route(exec_topics.FILLS.name, fill.strategy_id, lambda s: s.on_fill(fill))

    def _route_event(self, event: OrderEvent) -> None:
        self._route(
            exec_topics.ORDER_EVENTS.name, event.strategy_id, lambda s: s.on_order_event(event)
        )

    def _route_parent(self, parent: ParentSnapshot) -> None:
        self._route(
            exec_topics.PARENT_EVENTS.name, parent.strategy_id, lambda s: s.on_parent_event(parent)
        )

    def _route(self, topic: str, strategy_id: str, deliver: Callable[[Strategy], None]) -> None:
        # The kernel dispatches to the strategy itself: a fault there is the strategy's.
        strategy = self._by_id.get(strategy_id)
        if strategy is None:
            return
        try:
            deliver(strategy)
        except Exception as exc:
            self.bus.report_fault(topic, strategy_owner(strategy.strategy_id), exc)

    def mark_to_market(self) -> float:
        """Mark every position at the latest price and return the equity."""
        for venue, prices in self._prices.items():
            for symbol, price in prices.items():
                self.portfolio.mark(InstrumentId(venue, symbol), price)
        return self.portfolio.equity()

    def _check_equity(self, due_ns: int) -> None:
        # Flat, equity is cash and cannot fall: skip the valuation (most of the time).
        if self.portfolio.exposed:
            self.risk.on_equity(self.mark_to_market(), due_ns)

    def _sample_equity(self, due_ns: int) -> None:
        self.equity_curve.append(due_ns, self.mark_to_market())

    def finish(self) -> float:
        """Take a last equity sample and stop the strategies; return the final equity."""
        equity = self.mark_to_market()
        self.equity_curve.append(self.market_clock.timestamp_ns(), equity)
        self.risk.on_equity(equity, self.clock.timestamp_ns())
        for strategy in self.strategies:
            strategy.stop()
        return equity
