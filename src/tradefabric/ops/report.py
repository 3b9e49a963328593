"""The daily report: one UTC day of a run folder as self-contained HTML plus a JSON twin.

It reads only the run folder (``fills.jsonl``, ``orders.jsonl``, ``signals.jsonl``,
``risk_rejections.jsonl``, ``risk_events.jsonl``, ``anomalies.jsonl``, ``equity.csv``,
``parents.jsonl`` for the transaction costs of the day's parent orders),
so it can be made during the run (the kernel's day-end timer, ``DailyReporter``)
or afterwards (``tradefabric report daily --run DIR [--day YYYY-MM-DD]``), with
the same result. Charts are PNGs (matplotlib, Agg) embedded as base64: the HTML
is one file with no outside references. Nothing depends on wall-clock time, so a
reproducible run gives byte-identical reports.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import msgspec
import numpy as np

from tradefabric.core.errors import ConfigError, DataSourceError
from tradefabric.core.plotting import concise_time_axis, pyplot
from tradefabric.core.time import NS_PER_DAY, ns_to_iso, parse_utc
from tradefabric.execution.tca import DayCost, ParentCost, day_costs, run_costs
from tradefabric.model.orders import Fill, OrderEvent, OrderSnapshot, OrderStatus
from tradefabric.ops.run_record import DataAnomaly, json_text
from tradefabric.risk.engine import RiskDecision, RiskStateEvent
from tradefabric.strategies.router import RoutedSignal

if TYPE_CHECKING:
    from matplotlib.axes import Axes

T = TypeVar("T")

REPORTS_DIR = "reports"


class PositionLine(msgspec.Struct, frozen=True, kw_only=True):
    """Net position of one (venue, symbol) at the end of the day, from the fills."""

    venue: str
    symbol: str
    quantity: float
    last_price: float


class CountLine(msgspec.Struct, frozen=True, kw_only=True):
    """How many times something happened (a reason, a rule, a tag)."""

    key: str
    count: int


class DailyReport(msgspec.Struct, frozen=True, kw_only=True):
    """One UTC day of a run: what the HTML shows, as data."""

    day: str
    strategies: list[str]
    """Strategy ids that sent orders or got fills this day (the folder name is left out:
    the same run in two folders gives the same bytes)."""
    start_equity: float
    end_equity: float
    pnl: float
    """End minus start equity of the day (marked to market, fees included)."""
    fees: float
    traded_notional: float
    fills: int
    orders: int
    orders_by_status: list[CountLine]
    positions: list[PositionLine]
    signals_taken: int
    signals_skipped: int
    skipped_reasons: list[CountLine]
    orders_by_tag: list[CountLine]
    """Orders the strategies sent, by their tag (the signal that caused them)."""
    risk_rejections: int
    rejections_by_rule: list[CountLine]
    risk_events: list[RiskStateEvent]
    anomalies: int
    anomalies_by_kind: list[CountLine]
    anomaly_samples: list[DataAnomaly]
    tca: DayCost | None = None
    """Transaction cost analysis of the parent orders that arrived this day (None: none)."""
    tca_parents: list[ParentCost] = []


def _lines(path: Path, kind: type[T]) -> Iterator[T]:
    if not path.exists():
        return
    decoder = msgspec.json.Decoder(kind)
    with path.open("rb") as f:
        for line in f:
            # A line without its newline is still being written (a live run): not yet a record.
            if line.strip() and line.endswith(b"\n"):
                yield decoder.decode(line)


class _RiskEventLine(msgspec.Struct, frozen=True, kw_only=True):
    """A ``RiskStateEvent`` as stored: a reset's unknown equity (NaN) is JSON null."""

    halted: bool
    reason: str
    operator: str
    equity: float | None
    day_high: float | None
    ts: int


def _risk_events(path: Path) -> Iterator[RiskStateEvent]:
    for e in _lines(path, _RiskEventLine):
        yield RiskStateEvent(
            halted=e.halted, reason=e.reason, operator=e.operator,
            equity=math.nan if e.equity is None else e.equity,
            day_high=math.nan if e.day_high is None else e.day_high, ts=e.ts,
        )  # fmt: skip


def _equity(run_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    path = run_dir / "equity.csv"
    if not path.exists():
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    rows = [line.split(",") for line in path.read_text().splitlines()[1:] if line]
    ts = np.array([int(r[0]) for r in rows], dtype=np.int64)
    equity = np.array([float(r[1]) for r in rows], dtype=np.float64)
    return ts, equity


def _initial_equity(run_dir: Path) -> float:
    metrics = run_dir / "metrics.json"
    if metrics.exists():
        value = msgspec.json.decode(metrics.read_bytes()).get("initial_equity")
        if isinstance(value, (int, float)):
            return float(value)
    return float("nan")


def _counts(keys: Iterator[str]) -> list[CountLine]:
    return [CountLine(key=k, count=n) for k, n in sorted(Counter(keys).items())]


_ENGINE_STATUSES = frozenset({OrderStatus.SUBMITTED, OrderStatus.CANCEL_PENDING})
"""Transitions the engine makes itself: stamped with the node's clock, not the market's."""


def order_market_times(run_dir: Path) -> dict[str, int]:
    """Return each order's market time: its first transition the venue reported.

    Reports put an order on the day of the market it traded in. In a backtest that is
    the kernel's clock anyway; in paper on a replay the kernel's clock is today's wall
    time while the venue answered in the recording's time. Orders the venue never saw
    (refused by risk) keep their creation time.
    """
    times: dict[str, int] = {}
    for event in _lines(run_dir / "order_events.jsonl", OrderEvent):
        if event.client_order_id not in times and _from_venue(event):
            times[event.client_order_id] = event.ts_event
    return times


def _from_venue(event: OrderEvent) -> bool:
    if event.status in _ENGINE_STATUSES:
        return False
    # A rejection the engine made (risk) carries the engine's clock on both stamps.
    return event.status is not OrderStatus.REJECTED or event.ts_event != event.ts_init


def run_days(run_dir: Path) -> list[str]:
    """Return the UTC days (YYYY-MM-DD) the run's equity curve, fills and orders cover."""
    ts, _ = _equity(run_dir)
    market = order_market_times(run_dir)
    orders = [
        market.get(o.client_order_id, o.ts_init)
        for o in _lines(run_dir / "orders.jsonl", OrderSnapshot)
    ]
    stamps = [int(t) for t in ts] + [f.ts_event for f in _lines(run_dir / "fills.jsonl", Fill)]
    stamps += orders
    days = sorted({t // NS_PER_DAY for t in stamps})
    return [ns_to_iso(d * NS_PER_DAY)[:10] for d in days]


def _day_bounds(day: str) -> tuple[int, int]:
    try:
        start = parse_utc(day)
    except ConfigError as exc:
        raise ConfigError(f"--day: expected YYYY-MM-DD, got {day!r}") from exc
    start -= start % NS_PER_DAY
    return start, start + NS_PER_DAY


def _day_equity(
    run_dir: Path, start: int, end: int, initial: float | None
) -> tuple[float, float, np.ndarray, np.ndarray]:
    ts, equity = _equity(run_dir)
    before = equity[ts <= start]
    upto = equity[ts <= end]
    if len(before):
        first = float(before[-1])
    else:
        first = _initial_equity(run_dir) if initial is None else initial
    if np.isnan(first) and len(equity):
        first = float(equity[0])
    last = float(upto[-1]) if len(upto) else first
    inside = (ts > start) & (ts <= end)
    return first, last, ts[inside], equity[inside]


class _Positions:
    """Net positions replayed from fills; samples of one day for the chart."""

    def __init__(self) -> None:
        self.net: dict[tuple[str, str], float] = {}
        self.price: dict[tuple[str, str], float] = {}
        self.samples: dict[str, list[tuple[int, float]]] = {}

    def apply(self, fill: Fill, sample: bool) -> None:
        key = (fill.venue, fill.symbol)
        self.net[key] = self.net.get(key, 0.0) + fill.quantity * fill.side.sign
        self.price[key] = fill.price
        if sample:
            name = f"{fill.venue}:{fill.symbol}"
            self.samples.setdefault(name, []).append((fill.ts_event, self.net[key]))

    def lines(self) -> list[PositionLine]:
        return [
            PositionLine(venue=v, symbol=s, quantity=round(q, 12), last_price=self.price[(v, s)])
            for (v, s), q in sorted(self.net.items())
        ]


def build_daily_report(
    run_dir: Path, day: str, initial_equity: float | None = None
) -> tuple[DailyReport, _Positions, np.ndarray, np.ndarray]:
    """Read the run folder and return the day's report and the series its charts draw.

    ``initial_equity`` values the day's start before the first equity sample (default:
    ``metrics.json``'s, written when the run ends).
    """
    if not run_dir.is_dir():
        raise DataSourceError(f"{run_dir}: no such run folder")
    start, end = _day_bounds(day)
    first, last, eq_ts, eq = _day_equity(run_dir, start, end, initial_equity)
    positions = _Positions()
    fees = notional = 0.0
    fills = 0
    strategies: set[str] = set()
    for fill in _lines(run_dir / "fills.jsonl", Fill):
        if fill.ts_event >= end:
            continue
        today = fill.ts_event >= start
        positions.apply(fill, today)
        if today:
            strategies.add(fill.strategy_id)
            fills += 1
            fees += fill.fee
            notional += fill.price * fill.quantity
    market = order_market_times(run_dir)
    orders = [
        o
        for o in _lines(run_dir / "orders.jsonl", OrderSnapshot)
        if start <= market.get(o.client_order_id, o.ts_init) < end
    ]
    signals = [s for s in _lines(run_dir / "signals.jsonl", RoutedSignal) if start <= s.ts < end]
    rejections = [
        r for r in _lines(run_dir / "risk_rejections.jsonl", RiskDecision) if start <= r.ts < end
    ]
    anomalies = [a for a in _lines(run_dir / "anomalies.jsonl", DataAnomaly) if start <= a.ts < end]
    costs = [c for c in run_costs(run_dir, required=False).parents if c.day == day]
    report = DailyReport(
        day=day,
        strategies=sorted({o.strategy_id for o in orders} | strategies),
        start_equity=first,
        end_equity=last,
        pnl=last - first,
        fees=fees,
        traded_notional=notional,
        fills=fills,
        orders=len(orders),
        orders_by_status=_counts(str(o.status) for o in orders),
        positions=positions.lines(),
        signals_taken=sum(1 for s in signals if s.taken),
        signals_skipped=sum(1 for s in signals if not s.taken),
        skipped_reasons=_counts(s.reason for s in signals if not s.taken),
        orders_by_tag=_counts(o.tag or "(none)" for o in orders),
        risk_rejections=len(rejections),
        rejections_by_rule=_counts(r.rule for r in rejections),
        risk_events=[e for e in _risk_events(run_dir / "risk_events.jsonl") if start <= e.ts < end],
        anomalies=len(anomalies),
        anomalies_by_kind=_counts(a.kind for a in anomalies),
        anomaly_samples=anomalies[:20],
        tca=next(iter(day_costs(costs)), None),
        tca_parents=costs,
    )
    return report, positions, eq_ts, eq


def _png(draw: Callable[[Axes], None], height: float = 3.0) -> str:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, height))
    draw(ax)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=72, metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _charts(
    report: DailyReport, positions: _Positions, eq_ts: np.ndarray, eq: np.ndarray
) -> list[tuple[str, str]]:
    def equity(ax: Axes) -> None:
        ax.plot(eq_ts.astype("datetime64[ns]"), eq, lw=1.0)
        ax.set_title(f"equity {report.day} (PnL {report.pnl:+,.2f})")
        concise_time_axis(ax)

    def held(ax: Axes) -> None:
        for name, samples in sorted(positions.samples.items()):
            ts = np.array([t for t, _ in samples], dtype=np.int64).astype("datetime64[ns]")
            ax.step(ts, [q for _, q in samples], where="post", label=name)
        if positions.samples:
            ax.legend(loc="best", fontsize=8)
            concise_time_axis(ax)
        ax.set_title("net position after each fill")

    def signals(ax: Axes) -> None:
        labels = ["signals taken", "signals skipped", "risk rejections", "anomalies"]
        values = [report.signals_taken, report.signals_skipped, report.risk_rejections,
                  report.anomalies]  # fmt: skip
        ax.barh(labels, values, color=["tab:green", "tab:orange", "tab:red", "tab:purple"])
        ax.set_title("signals, risk and data")

    return [("Equity", _png(equity)), ("Positions", _png(held)), ("Events", _png(signals, 2.2))]


def _table(title: str, rows: list[CountLine]) -> str:
    if not rows:
        return f"<h3>{html.escape(title)}</h3><p>none</p>"
    body = "".join(f"<tr><td>{html.escape(r.key)}</td><td>{r.count}</td></tr>" for r in rows)
    return f"<h3>{html.escape(title)}</h3><table>{body}</table>"


def _bps_cell(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


def _tca_html(report: DailyReport) -> str:
    """Return the day's transaction cost table: one row per parent, then the day's total."""
    day = report.tca
    if day is None:
        return "<h2>Transaction costs</h2><p>no parent orders</p>"
    head = "".join(
        f"<th>{h}</th>"
        for h in ("parent", "algo", "side", "fill", "avg price", "arrival", "vs arrival bps",
                  "vs VWAP bps", "vs forecast bps", "fees", "maker")
    )  # fmt: skip
    rows = "".join(
        f"<tr><td>{html.escape(c.parent_id)}</td><td>{html.escape(c.algorithm)}</td>"
        f"<td>{c.side}</td><td>{c.fill_ratio:.1%}</td><td>{c.avg_price or 0:.8g}</td>"
        f"<td>{c.arrival_price or 0:.8g}</td><td>{_bps_cell(c.slippage_bps)}</td>"
        f"<td>{_bps_cell(c.vwap_slippage_bps)}</td><td>{_bps_cell(c.vs_forecast_bps)}</td>"
        f"<td>{c.fees:,.2f}</td><td>{c.maker_share:.1%}</td></tr>"
        for c in report.tca_parents
    )
    total = (
        f"<tr><th>day ({day.parents})</th><td></td><td></td><td>{day.fill_ratio:.1%}</td>"
        f"<td>{day.notional:,.2f}</td><td></td><td>{_bps_cell(day.slippage_bps)}</td>"
        f"<td>{_bps_cell(day.vwap_slippage_bps)}</td><td>{_bps_cell(day.vs_forecast_bps)}</td>"
        f"<td>{day.fees:,.2f}</td><td>{day.maker_share:.1%}</td></tr>"
    )
    return f"<h2>Transaction costs</h2><table><tr>{head}</tr>{rows}{total}</table>"


def render_html(report: DailyReport, charts: list[tuple[str, str]]) -> str:
    """Return the report as one self-contained HTML page."""
    summary = (
        f"<p>PnL <b>{report.pnl:+,.2f}</b> (equity {report.start_equity:,.2f} &rarr; "
        f"{report.end_equity:,.2f}), fees {report.fees:,.2f}, "
        f"traded {report.traded_notional:,.2f}, "
        f"{report.fills} fills, {report.orders} orders, signals {report.signals_taken} taken / "
        f"{report.signals_skipped} skipped, {report.risk_rejections} risk rejections, "
        f"{len(report.risk_events)} risk events, {report.anomalies} data anomalies.</p>"
    )
    positions = "".join(
        f"<tr><td>{html.escape(p.venue)}</td><td>{html.escape(p.symbol)}</td>"
        f"<td>{p.quantity:.8g}</td><td>{p.last_price:.8g}</td></tr>"
        for p in report.positions
    )
    events = "".join(
        f"<li>{ns_to_iso(e.ts)} {'HALT' if e.halted else 'reset'} by {html.escape(e.operator)}: "
        f"{html.escape(e.reason)}</li>"
        for e in report.risk_events
    )
    anomalies = "".join(
        f"<li>{ns_to_iso(a.ts)} {html.escape(a.kind)} {html.escape(a.venue)}:"
        f"{html.escape(a.symbol)} {html.escape(a.detail)}</li>"
        for a in report.anomaly_samples
    )
    images = "".join(
        f'<h2>{title}</h2><img alt="{title}" src="data:image/png;base64,{data}">'
        for title, data in charts
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>tradefabric daily report {report.day}</title>"
        "<style>body{font-family:sans-serif;max-width:960px;margin:auto}"
        "td{padding:2px 10px;border-bottom:1px solid #ddd}</style></head><body>"
        f"<h1>Daily report {report.day}</h1>"
        f"<p>strategies: {html.escape(', '.join(report.strategies)) or 'none'}</p>{summary}{images}"
        "<h2>Positions at the end of the day</h2><table><tr><th>venue</th><th>symbol</th>"
        f"<th>quantity</th><th>last fill price</th></tr>{positions}</table>"
        f"<h2>Signals and orders</h2>{_table('Orders by tag', report.orders_by_tag)}"
        f"{_table('Orders by final status', report.orders_by_status)}"
        f"{_table('Skipped signals by reason', report.skipped_reasons)}"
        f"<h2>Risk</h2>{_table('Rejections by rule', report.rejections_by_rule)}"
        f"<h3>Halts and resets</h3><ul>{events or '<li>none</li>'}</ul>"
        f"<h2>Data anomalies</h2>{_table('By kind', report.anomalies_by_kind)}"
        f"<ul>{anomalies or '<li>none</li>'}</ul>{_tca_html(report)}</body></html>\n"
    )


class ReportPaths(msgspec.Struct, frozen=True, kw_only=True):
    """Where one day's report was written."""

    day: str
    html: Path
    json: Path


def write_daily_report(run_dir: Path, day: str, initial_equity: float | None = None) -> ReportPaths:
    """Build the day's report from ``run_dir``; write ``reports/daily-<day>.html`` and ``.json``."""
    report, positions, eq_ts, eq = build_daily_report(run_dir, day, initial_equity)
    out = run_dir / REPORTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    html_path = out / f"daily-{day}.html"
    json_path = out / f"daily-{day}.json"
    html_path.write_text(render_html(report, _charts(report, positions, eq_ts, eq)))
    json_path.write_bytes(msgspec.json.format(json_text(report).encode(), indent=2) + b"\n")
    return ReportPaths(day=day, html=html_path, json=json_path)


class DailyReporter:
    """Write a day's report when the kernel's clock passes the end of that UTC day.

    ``flush`` is called first so the run folder holds everything up to now
    (event streams flushed, equity curve written).
    """

    def __init__(self, run_dir: Path, flush: Callable[[], None], initial_equity: float) -> None:
        self.run_dir = run_dir
        self._flush = flush
        self._initial = initial_equity
        self.written: list[ReportPaths] = []
        # One worker: a day's report is built off the bus thread, one at a time.
        self._worker: ThreadPoolExecutor | None = None
        self._pending: list[Future[ReportPaths | None]] = []

    def on_day_end(self, due_ns: int) -> None:
        """Report on the day that ended at ``due_ns`` (a UTC midnight), in a worker thread.

        Only the flush of the run folder happens here, on the bus thread (buffered
        writes); reading it back and rendering the charts happen in the worker.
        """
        self._flush()
        day = ns_to_iso(due_ns - NS_PER_DAY)[:10]
        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="daily-report")
        self._pending.append(self._worker.submit(self._write_if_traded, day))

    def _write_if_traded(self, day: str) -> ReportPaths | None:
        if day not in run_days(self.run_dir):
            return None
        return write_daily_report(self.run_dir, day, self._initial)

    def _collect(self) -> None:
        for future in self._pending:
            paths = future.result()
            if paths is not None:
                self.written.append(paths)
        self._pending = []
        if self._worker is not None:
            self._worker.shutdown()
            self._worker = None

    def finish(self) -> None:
        """Report on every day of the run not reported yet (the last, partial day).

        The last day reported at its midnight is written again: events stamped
        exactly at that midnight (a candle closing then) arrive after the timer.
        In paper trading on a replayed recording the fills are on the recording's
        days and the equity samples on today's: both get a report.
        """
        self._collect()
        self._flush()
        redo = {self.written[-1].day} if self.written else set()
        done = {p.day for p in self.written} - redo
        self.written = [p for p in self.written if p.day not in redo]
        for day in run_days(self.run_dir):
            if day not in done:
                self.written.append(write_daily_report(self.run_dir, day, self._initial))
