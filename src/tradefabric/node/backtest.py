"""The backtest runner: the trading kernel on a ``SimClock``, fed from the catalog.

Candles are streamed from DuckDB in Arrow batches (memory stays flat however
long the run), published on the bus in time order; the simulated venue matches,
strategies decide, the risk engine checks. With ``data.recording`` set, a raw
recording is replayed through the market data node instead (books, trades and
candles built from them) and the venue matches against the L2 book.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock, SimClock
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import parse_utc
from tradefabric.data import topics
from tradefabric.execution.liquidity import LiquidityForecaster, load_liquidity_model
from tradefabric.execution.sim.venue import BookSource, SimulatedVenue
from tradefabric.execution.venue import VenueClient
from tradefabric.model.enums import EmptyCandlePolicy
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.kernel import DataConfig, TradingConfig, TradingKernel
from tradefabric.node.market_data import MarketDataNode
from tradefabric.node.signal_sources import build_signal_sources
from tradefabric.ops.report import DailyReporter, ReportPaths
from tradefabric.ops.run_record import (
    Metrics,
    RunEvents,
    compute_metrics,
    write_chart,
    write_equity_csv,
    write_json,
)
from tradefabric.risk.audit import AuditLog
from tradefabric.store.candle_reader import count_candles, read_candles
from tradefabric.store.catalog import Catalog, sql_string, time_range_sql

Progress = Callable[[int, int], None]
"""(candles done, candles in total) -> None."""

_BATCH_ROWS = 65_536


class RunInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What a run used: enough to run it again and get the same bytes."""

    config: TradingConfig
    catalog_version: int | None
    catalog_fingerprint: str | None
    recording: str | None
    candles: int
    first_ts: int
    last_ts: int


class BacktestResult(msgspec.Struct, frozen=True, kw_only=True):
    """A finished backtest: where its folder is, what it used, how it did."""

    run_dir: Path | None
    info: RunInfo
    metrics: Metrics
    orders: int
    fills: int
    seconds: float
    candles_per_second: float
    reports: list[ReportPaths] = []
    orders_held: int = 0
    """Orders the execution engine still held in memory at the end (flat-memory check)."""


def build_sim_venues(
    config: TradingConfig, bus: MessageBus, books: BookSource | None
) -> dict[str, SimulatedVenue]:
    """Build one simulated venue per configured venue (backtest and paper share this).

    A venue with a ``liquidity_model`` takes its slippage from the liquidity
    forecaster run on the live books (which needs books: a recording or a feed).
    Candle matching uses, per instrument, the interval of the first strategy trading it
    (else ``data.interval``) unless the venue config sets one.
    """
    venues = {}
    for name, venue_config in config.venues.items():
        impact = None
        if venue_config.liquidity_model is not None:
            if books is None:
                raise ConfigError(
                    f"venues.{name}.liquidity_model: needs order books (data.recording or paper)"
                )
            model = load_liquidity_model(venue_config.liquidity_model)
            impact = LiquidityForecaster(model, bus, books, name).slippage_bps
        venues[name] = SimulatedVenue(
            name, bus, venue_config, seed=config.seed, books=books, impact=impact,
            default_interval=config.data.interval,
            default_intervals=strategy_intervals(config, name),
        )  # fmt: skip
    return venues


def strategy_intervals(config: TradingConfig, venue: str) -> dict[str, str]:
    """Return symbol -> the candle interval of the first strategy trading it on ``venue``
    (the candles it decides on: the default interval its orders are matched against)."""
    out: dict[str, str] = {}
    for strategy in config.strategies:
        interval = getattr(strategy, "interval", None)
        if isinstance(interval, str) and strategy.venue == venue:
            out.setdefault(strategy.symbol, interval)
    return out


class KernelRun:
    """One run's kernel and its record: event streams, audit log, daily reports.

    Backtest and paper build the kernel through this, so both record the same way.
    """

    def __init__(
        self,
        config: TradingConfig,
        bus: MessageBus,
        clock: Clock,
        venues: dict[str, VenueClient],
        run_dir: Path | None,
    ) -> None:
        self.config = config
        self.run_dir = run_dir
        if run_dir is not None:
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "audit.jsonl").unlink(missing_ok=True)
        self.audit = AuditLog(run_dir / "audit.jsonl" if run_dir else None, buffered=True)
        self.events = RunEvents(bus, run_dir)
        self.kernel = TradingKernel(config, bus, clock, venues, audit=self.audit)
        self.signal_sources = build_signal_sources(config, bus, clock)
        self.initial_equity = initial_equity(config)
        self.reporter: DailyReporter | None = None
        if run_dir is not None:
            self.reporter = DailyReporter(run_dir, self._flush, self.initial_equity)
            self.kernel.every_day_end(self.reporter.on_day_end)

    def _flush(self) -> None:
        self.events.flush()
        if self.run_dir is not None:
            write_equity_csv(self.run_dir / "equity.csv", self.kernel.equity_curve)

    def finish(self, info: RunInfo, seconds: float) -> BacktestResult:
        """Stop the kernel, close the record, write the run folder and the last day's report."""
        kernel = self.kernel
        kernel.finish()
        self.audit.close()
        open_orders = kernel.execution.open_order_snapshots()
        self.events.close(open_orders)
        metrics = compute_metrics(
            kernel.equity_curve, kernel.portfolio, self.events, self.initial_equity
        )
        if self.run_dir is not None:
            write_run_folder(self.run_dir, kernel, info, metrics)
        reports: list[ReportPaths] = []
        if self.reporter is not None:
            self.reporter.finish()
            reports = self.reporter.written
        return BacktestResult(
            run_dir=self.run_dir,
            info=info,
            metrics=metrics,
            orders=self.events.orders_closed + len(open_orders),
            fills=self.events.fills,
            seconds=seconds,
            candles_per_second=info.candles / seconds if seconds > 0 else 0.0,
            reports=list(reports),
            orders_held=kernel.execution.orders_held,
        )


def candle_query(data: DataConfig, start: str | None, end: str | None) -> str:
    """Return the SQL condition selecting the backtest's candles."""
    first, last = start or data.start, end or data.end
    return " AND ".join(
        (
            f"venue = {sql_string(data.venue)}",
            f"interval = {sql_string(data.interval)}",
            "symbol IN (" + ", ".join(sql_string(s) for s in data.symbols) + ")",
            time_range_sql(
                "ts_open", parse_utc(first) if first else None, parse_utc(last) if last else None
            ),
        )
    )


class BacktestRunner:
    """Run one backtest from a ``TradingConfig``."""

    def __init__(
        self,
        config: TradingConfig,
        start: str | None = None,
        end: str | None = None,
    ) -> None:
        self.config = config
        self._start = start
        self._end = end

    def run(self, run_dir: Path | None, progress: Progress | None = None) -> BacktestResult:
        """Run, write the run folder (when ``run_dir`` is given) and return the result."""
        data = self.config.data
        if data.recording is not None:
            return self._run_recording(data.recording, run_dir)
        if data.catalog is None:
            raise ConfigError("data: give catalog (candles) or recording (books)")
        catalog = Catalog(data.catalog, version=data.catalog_version)
        version = catalog.version
        catalog = Catalog(data.catalog, version=version)
        where = candle_query(data, self._start, self._end)
        total = count_candles(catalog, where)
        clock = SimClock()
        bus = MessageBus()
        venues = build_sim_venues(self.config, bus, None)
        run = KernelRun(self.config, bus, clock, dict(venues), run_dir)
        started = time.perf_counter()
        count, first, last = _replay_candles(catalog, where, clock, bus, (total, progress))
        seconds = time.perf_counter() - started
        info = RunInfo(
            config=self.config,
            catalog_version=version,
            catalog_fingerprint=catalog.fingerprint(),
            recording=None,
            candles=count,
            first_ts=first,
            last_ts=last,
        )
        return run.finish(info, seconds)

    def _run_recording(self, recording: Path, run_dir: Path | None) -> BacktestResult:
        data = self.config.data
        node = MarketDataNode(
            MarketDataConfig(
                venue=data.venue,
                candle_intervals=data.recording_intervals,
                empty_candles=EmptyCandlePolicy.SKIP,
                candle_close_delay_ms=600_000,
            ),
            clock=SimClock(),
        )
        venues = build_sim_venues(self.config, node.bus, node.books)
        run = KernelRun(self.config, node.bus, node.clock, dict(venues), run_dir)
        candles: list[int] = []
        node.bus.subscribe(topics.CANDLES, lambda c: candles.append(c.ts_event))
        started = time.perf_counter()
        node.replay(recording)
        seconds = time.perf_counter() - started
        info = RunInfo(
            config=self.config,
            catalog_version=None,
            catalog_fingerprint=None,
            recording=recording.name,
            candles=len(candles),
            first_ts=candles[0] if candles else 0,
            last_ts=candles[-1] if candles else 0,
        )
        return run.finish(info, seconds)


def _replay_candles(
    catalog: Catalog,
    where: str,
    clock: SimClock,
    bus: MessageBus,
    progress: tuple[int, Progress | None],
) -> tuple[int, int, int]:
    # The hot loop: one clock move and one publish per candle, nothing else.
    advance = clock.advance_to
    publish = bus.publish
    topic = topics.CANDLES
    total, report = progress
    count = 0
    first = last = 0
    # Publishing order: by close time, then symbol.
    for batch in read_candles(catalog, where, "ts_event, symbol", _BATCH_ROWS):
        for candle in batch:
            advance(candle.ts_event)
            publish(topic, candle)
        if batch:
            first = first or batch[0].ts_event
            last = batch[-1].ts_event
        count += len(batch)
        if report is not None:
            report(count, total)
    return count, first, last


def initial_equity(config: TradingConfig) -> float:
    """Return the starting equity: every configured balance at 1 (quote balances)."""
    # Valued like Portfolio.equity before any mark: every currency at 1 (quote balances).
    return sum(sum(amounts.values()) for amounts in config.balances.values())


def write_run_folder(run_dir: Path, kernel: TradingKernel, info: RunInfo, metrics: Metrics) -> None:
    """Write positions, balances, equity, metrics, chart and run info (the event streams
    were written while the run went, by ``RunEvents``)."""
    write_json(run_dir / "positions.json", kernel.portfolio.positions())
    write_json(run_dir / "balances.json", kernel.portfolio.balances())
    write_json(run_dir / "metrics.json", metrics)
    write_json(run_dir / "run.json", info)
    write_equity_csv(run_dir / "equity.csv", kernel.equity_curve)
    names = ", ".join(s.strategy_id for s in kernel.strategies)
    version = f"catalog v{info.catalog_version}" if info.catalog_version else info.recording
    write_chart(run_dir / "chart.png", kernel.equity_curve, f"{names} ({version})")
