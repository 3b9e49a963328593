"""What a run leaves behind: recorded events, metrics, the run folder and its chart.

The folder holds only what the run computed from its data, config and seed (no
wall-clock times, no absolute paths of temporary places), so the same catalog
version and seed give byte-identical files.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import IO

import msgspec
import numpy as np

from tradefabric.core.bus import MessageBus
from tradefabric.core.plotting import pyplot
from tradefabric.core.time import NS_PER_DAY
from tradefabric.data import topics
from tradefabric.execution import topics as exec_topics
from tradefabric.execution.portfolio import Portfolio
from tradefabric.model.data import OrderBookStatus, TradeGap
from tradefabric.model.orders import Fill, OrderEvent, OrderSnapshot
from tradefabric.ops.equity import EquityCurve
from tradefabric.risk.engine import RISK_DECISIONS, RISK_EVENTS, RiskDecision, RiskStateEvent
from tradefabric.strategies.router import ROUTED, RoutedSignal

_YEAR_NS = 365 * NS_PER_DAY


class DataAnomaly(msgspec.Struct, frozen=True, kw_only=True):
    """A data problem seen during the run (book invalidated, trades missed)."""

    kind: str
    venue: str
    symbol: str
    detail: str
    ts: int


class RunEvents:
    """Everything order-related the run published, streamed to the run folder as it happens.

    Nothing grows in memory with the run's length: each record is appended to its
    JSON lines file (when a folder is given) and only counters and sums are kept.
    ``orders.jsonl`` gets each order's final state when it finishes; ``close`` adds
    the orders still open at the end.
    """

    def __init__(self, bus: MessageBus, run_dir: Path | None = None) -> None:
        self.run_dir = run_dir
        self.fills = 0
        self.fill_notional = 0.0
        self.slippage_cost = 0.0
        self.order_events = 0
        self.orders_closed = 0
        self.risk_accepted = 0
        self.risk_rejected = 0
        self.risk_events = 0
        self.signals_taken = 0
        self.signals_skipped = 0
        self.anomalies = 0
        self._files: dict[str, IO[bytes]] = {}
        if run_dir is not None:
            run_dir.mkdir(parents=True, exist_ok=True)
            for name in RUN_STREAMS:
                self._files[name] = (run_dir / name).open("wb")
        bus.subscribe(exec_topics.FILLS, self._on_fill)
        bus.subscribe(exec_topics.ORDER_EVENTS, self._on_order_event)
        bus.subscribe(exec_topics.ORDERS_CLOSED, self._on_order_closed)
        bus.subscribe(RISK_DECISIONS, self._on_decision)
        bus.subscribe(RISK_EVENTS, self._on_risk_event)
        bus.subscribe(ROUTED, self._on_routed)
        bus.subscribe(topics.BOOK_STATUS, self._on_book_status)
        bus.subscribe(topics.TRADE_GAPS, self._on_gap)

    def _write(self, name: str, item: msgspec.Struct) -> None:
        f = self._files.get(name)
        if f is not None:
            f.write(_ENCODER.encode(item) + b"\n")

    def _on_fill(self, fill: Fill) -> None:
        self.fills += 1
        notional = fill.price * fill.quantity
        self.fill_notional += notional
        self.slippage_cost += fill.slippage_bps * notional / 10_000.0
        self._write("fills.jsonl", fill)

    def _on_order_event(self, event: OrderEvent) -> None:
        self.order_events += 1
        self._write("order_events.jsonl", event)

    def _on_order_closed(self, order: OrderSnapshot) -> None:
        self.orders_closed += 1
        self._write("orders.jsonl", order)

    def _on_decision(self, decision: RiskDecision) -> None:
        if decision.accepted:
            self.risk_accepted += 1
        else:
            self.risk_rejected += 1
            self._write("risk_rejections.jsonl", decision)

    def _on_risk_event(self, event: RiskStateEvent) -> None:
        self.risk_events += 1
        self._write("risk_events.jsonl", event)

    def _on_routed(self, routed: RoutedSignal) -> None:
        if routed.taken:
            self.signals_taken += 1
        else:
            self.signals_skipped += 1
        self._write("signals.jsonl", routed)

    def _on_book_status(self, status: OrderBookStatus) -> None:
        # A book made before any data ("awaiting a snapshot", ts 0) is a start, not a problem.
        if not status.valid and status.ts_event > 0:
            self._anomaly(
                DataAnomaly(
                    kind="book_invalid",
                    venue=status.venue,
                    symbol=status.symbol,
                    detail=status.reason,
                    ts=status.ts_event,
                )
            )

    def _on_gap(self, gap: TradeGap) -> None:
        self._anomaly(
            DataAnomaly(
                kind="trade_gap",
                venue=gap.venue,
                symbol=gap.symbol,
                detail=f"{gap.missing} trades missing",
                ts=gap.ts_event,
            )
        )

    def _anomaly(self, anomaly: DataAnomaly) -> None:
        self.anomalies += 1
        self._write("anomalies.jsonl", anomaly)

    def flush(self) -> None:
        """Push everything written so far to the files (before a report reads them)."""
        for f in self._files.values():
            f.flush()

    def close(self, open_orders: list[OrderSnapshot]) -> None:
        """Append the orders still open at the end to ``orders.jsonl`` and close the files."""
        for order in open_orders:
            self._write("orders.jsonl", order)
        for f in self._files.values():
            f.close()
        self._files.clear()


RUN_STREAMS = (
    "orders.jsonl",
    "order_events.jsonl",
    "fills.jsonl",
    "risk_rejections.jsonl",
    "risk_events.jsonl",
    "signals.jsonl",
    "anomalies.jsonl",
)
"""The JSON lines files a run appends to while it runs."""


class Metrics(msgspec.Struct, frozen=True, kw_only=True):
    """A run's performance figures; returns and drawdowns are fractions (0.01 = 1%)."""

    initial_equity: float
    final_equity: float
    total_return: float
    sharpe: float
    sortino: float
    max_drawdown: float
    win_rate: float
    closing_trades: int
    fills: int
    turnover: float
    """Traded notional over initial equity."""
    fees: float
    slippage_cost: float
    """Quote currency lost to slippage against each fill's reference price."""
    avg_slippage_bps: float
    realized_pnl: float


def compute_metrics(
    curve: EquityCurve, portfolio: Portfolio, events: RunEvents, initial_equity: float
) -> Metrics:
    """Return the metrics of a finished run."""
    equity = np.frombuffer(curve.equity, dtype=np.float64) if len(curve.equity) else np.zeros(0)
    final = float(equity[-1]) if len(equity) else initial_equity
    sharpe, sortino = _ratios(equity, _periods_per_year(curve))
    notional = events.fill_notional
    slip_cost = events.slippage_cost
    closing = portfolio.closing_fills
    return Metrics(
        initial_equity=initial_equity,
        final_equity=final,
        total_return=final / initial_equity - 1.0 if initial_equity else 0.0,
        sharpe=sharpe,
        sortino=sortino,
        max_drawdown=_max_drawdown(np.concatenate(([initial_equity], equity))),
        win_rate=portfolio.winning_fills / closing if closing else 0.0,
        closing_trades=closing,
        fills=events.fills,
        turnover=notional / initial_equity if initial_equity else 0.0,
        fees=portfolio.fees,
        slippage_cost=slip_cost,
        avg_slippage_bps=slip_cost / notional * 10_000.0 if notional else 0.0,
        realized_pnl=portfolio.realized_pnl,
    )


def _periods_per_year(curve: EquityCurve) -> float:
    if len(curve.ts) < 2:
        return 0.0
    step = (curve.ts[-1] - curve.ts[0]) / (len(curve.ts) - 1)
    return _YEAR_NS / step if step > 0 else 0.0


def _ratios(equity: np.ndarray, per_year: float) -> tuple[float, float]:
    if len(equity) < 3 or per_year <= 0:
        return 0.0, 0.0
    returns = np.diff(equity) / equity[:-1]
    mean = float(returns.mean())
    std = float(returns.std(ddof=1))
    downside = returns[returns < 0.0]
    down = float(np.sqrt((downside**2).sum() / len(returns))) if len(downside) else 0.0
    scale = math.sqrt(per_year)
    sharpe = mean / std * scale if std > 0 else 0.0
    sortino = mean / down * scale if down > 0 else 0.0
    return sharpe, sortino


def _max_drawdown(equity: np.ndarray) -> float:
    if len(equity) == 0:
        return 0.0
    peaks = np.maximum.accumulate(equity)
    return float(((peaks - equity) / peaks).max())


def _enc_hook(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    raise NotImplementedError(f"cannot encode {type(value).__name__}")


_ENCODER = msgspec.json.Encoder(enc_hook=_enc_hook)


def json_text(value: object) -> str:
    """Return ``value`` as one line of JSON (paths as strings)."""
    return _ENCODER.encode(value).decode()


def write_jsonl(path: Path, items: list[msgspec.Struct]) -> None:
    """Write ``items`` as JSON lines."""
    encoder = _ENCODER
    with path.open("wb") as f:
        for item in items:
            f.write(encoder.encode(item) + b"\n")


def write_json(path: Path, value: object) -> None:
    """Write ``value`` as indented JSON."""
    path.write_bytes(msgspec.json.format(_ENCODER.encode(value), indent=2) + b"\n")


def write_equity_csv(path: Path, curve: EquityCurve) -> None:
    """Write the equity curve as ``ts_ns,equity`` lines (repr floats: exact round-trip)."""
    lines = ["ts,equity"] + [f"{t},{e!r}" for t, e in zip(curve.ts, curve.equity, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def write_chart(path: Path, curve: EquityCurve, title: str) -> None:
    """Draw the equity curve and its drawdown to a PNG (no timestamp in its metadata)."""
    ts = np.frombuffer(curve.ts, dtype=np.int64).astype("datetime64[ns]")
    equity = np.frombuffer(curve.equity, dtype=np.float64)
    plt = pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, height_ratios=(3, 1))
    top.plot(ts, equity, lw=1.0)
    top.set_title(title)
    top.set_ylabel("equity")
    if len(equity):
        peaks = np.maximum.accumulate(equity)
        bottom.fill_between(ts, -(peaks - equity) / peaks * 100.0, 0.0, color="tab:red")
    bottom.set_ylabel("drawdown %")
    fig.tight_layout()
    fig.savefig(path, dpi=80, metadata={"Software": None})
    plt.close(fig)
