"""One run's record around the kernel: audit log, event streams, run folder, result.

Backtest, paper and live runs all build their kernel through ``KernelRun`` (the
``TradingNode`` does), so every mode records the same way.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from pathlib import Path

import msgspec
import structlog

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock
from tradefabric.core.errors import AuditWriteError, ConfigError
from tradefabric.execution.client import ExecutionClient
from tradefabric.execution.liquidity import LiquidityForecaster, load_liquidity_model
from tradefabric.execution.sim.exchange import BookSource, SimulatedExchange
from tradefabric.execution.tca import PARENTS_FILE
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.instrument import Instrument
from tradefabric.node.isolation import FaultRecord
from tradefabric.node.kernel import ExecutionMode, TradingConfig, TradingKernel
from tradefabric.ops.report import REPORTS_DIR, DailyReporter, ReportPaths
from tradefabric.ops.run_record import (
    Metrics,
    RunEvents,
    compute_metrics,
    write_equity_csv,
    write_json,
    write_jsonl,
)
from tradefabric.ops.run_report import write_run_report
from tradefabric.risk.audit import AuditLog


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
    risk_rejections: int = 0
    """Orders the risk engine refused (each in ``risk_rejections.jsonl``)."""
    faults: list[FaultRecord] = []
    """Components that raised during the run, and what the node did about it."""
    halted: str = ""
    """Why trading was halted at the end ('' when it was not)."""


log = structlog.get_logger(__name__)


def build_sim_venues(
    config: TradingConfig, bus: MessageBus, books: BookSource | None, live_data: bool = False
) -> dict[str, SimulatedExchange]:
    """Build the simulated exchange of every venue the config executes on.

    In a backtest (``live_data`` False) every venue is simulated; on live data a
    venue with ``mode: live`` is left out (``node.live_venues`` builds its live
    client; a paper node refuses it rather than simulating it silently). A
    venue with a ``liquidity_model`` takes its slippage from the liquidity
    forecaster run on the live books (which needs books: a recording or a feed).
    Candle matching uses, per instrument, the interval of the first strategy trading it
    (else ``data.interval``) unless the venue's ``sim`` config sets one.
    """
    venues = {}
    for name, execution in config.execution.items():
        if live_data and execution.mode is ExecutionMode.LIVE:
            continue
        venue_config = execution.sim
        impact = None
        if venue_config.liquidity_model is not None:
            if books is None:
                raise ConfigError(
                    f"execution.{name}.sim.liquidity_model: needs order books "
                    "(data.recording or feeds)"
                )
            model = load_liquidity_model(venue_config.liquidity_model)
            impact = LiquidityForecaster(model, bus, books, name).slippage_bps
        venues[name] = SimulatedExchange(
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


def _run_audit(config: TradingConfig, run_dir: Path | None, durable: bool) -> AuditLog:
    path = run_dir / "audit.jsonl" if run_dir else None
    if not durable:
        return AuditLog(path, buffered=True)
    risk = config.risk
    return AuditLog(
        path,
        fsync=risk.audit_fsync,
        rotate_daily=risk.audit_rotate_daily,
        copy_to=risk.audit_copy_to,
    )


_PREVIOUS_OUTPUTS = ("chart.png", "chart.svg", "report.html", PARENTS_FILE)
"""Files a run writes only at its end: a re-run must not leave the previous run's copy."""


def _remove_previous_outputs(run_dir: Path) -> None:
    for name in _PREVIOUS_OUTPUTS:
        (run_dir / name).unlink(missing_ok=True)
    reports = run_dir / REPORTS_DIR
    if reports.is_dir():
        for path in reports.glob("daily-*.*"):
            path.unlink()


class DailySchedule(enum.StrEnum):
    """When a run writes its daily reports (they are never built on the hot path)."""

    OFF = "off"
    AT_END = "at_end"
    AT_MIDNIGHT = "at_midnight"
    """Each day's report at its midnight, in a worker thread (live runs), the rest at the end."""


class KernelRun:
    """One run's kernel and its record: event streams, audit log, daily reports.

    Backtest and paper build the kernel through this, so both record the same way.
    """

    def __init__(
        self,
        config: TradingConfig,
        bus: MessageBus,
        clock: Clock,
        venues: dict[str, ExecutionClient],
        run_dir: Path | None,
        *,
        audit: AuditLog | None = None,
        books: BookSource | None = None,
        durable_audit: bool = False,
        daily_reports: DailySchedule = DailySchedule.AT_END,
        instruments: Mapping[InstrumentId, Instrument] | None = None,
        market_clock: Clock | None = None,
    ) -> None:
        """Build the kernel; ``audit`` replaces the run folder's own audit log, ``books``
        are the L2 books strategies may read. ``durable_audit`` (a run with a state store)
        flushes every audit line (fsync with ``risk.audit_fsync``) and rotates/copies it as
        ``risk`` says; a backtest only flushes at the end. ``daily_reports`` says when the
        daily reports are written: never, all at the end, or at each midnight in a worker
        thread (live runs) and the rest at the end."""
        self.config = config
        self.run_dir = run_dir
        if run_dir is not None:
            # The audit log is append-only: a second run into this folder continues its chain.
            run_dir.mkdir(parents=True, exist_ok=True)
            _remove_previous_outputs(run_dir)
        if audit is None:
            audit = _run_audit(config, run_dir, durable_audit)
        self.audit = audit
        self.audit_error = ""
        self.events = RunEvents(bus, run_dir)
        self.kernel = TradingKernel(
            config,
            bus,
            clock,
            venues,
            audit=self.audit,
            books=books,
            instruments=instruments,
            market_clock=market_clock,
        )
        for name, venue in venues.items():
            # The simulated venue's liquidity forecaster is the algorithms' pre-trade forecast.
            if isinstance(venue, SimulatedExchange) and venue.impact is not None:
                self.kernel.algorithms.set_forecaster(name, venue.impact)
        self.initial_equity = initial_equity(config)
        self.reporter: DailyReporter | None = None
        if run_dir is not None and daily_reports is not DailySchedule.OFF:
            self.reporter = DailyReporter(run_dir, self.flush, self.initial_equity)
            if daily_reports is DailySchedule.AT_MIDNIGHT:
                self.kernel.every_day_end(self.reporter.on_day_end)

    def flush(self) -> None:
        """Write the buffered event streams and the equity curve into the run folder."""
        self.events.flush()
        if self.run_dir is not None:
            write_equity_csv(self.run_dir / "equity.csv", self.kernel.equity_curve)
            # The parents so far: a report made at midnight has the day's transaction costs.
            write_jsonl(self.run_dir / PARENTS_FILE, list(self.kernel.algorithms.parents()))

    def finish(self, info: RunInfo, seconds: float) -> BacktestResult:
        """Stop the kernel, close the record, write the run folder and the last day's report."""
        kernel = self.kernel
        kernel.finish()
        try:
            self.audit.close()
        except AuditWriteError as exc:
            # Written into the result (and the node's halt), never lost in a traceback
            # that would also lose the run folder.
            self.audit_error = str(exc)
            log.error("audit_close_failed", error=str(exc))
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
            risk_rejections=self.events.risk_rejected,
        )


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
    write_jsonl(run_dir / PARENTS_FILE, list(kernel.algorithms.parents()))
    write_equity_csv(run_dir / "equity.csv", kernel.equity_curve)
    names = ", ".join(s.strategy_id for s in kernel.strategies)
    version = f"catalog v{info.catalog_version}" if info.catalog_version else info.recording
    write_run_report(run_dir, kernel.equity_curve, metrics, f"{names} ({version})")
