"""The run report: one self-contained HTML page and an SVG chart, written once at the end.

It replaces the matplotlib PNG drawn inside a run (which cost more than the
simulation itself): the equity curve and its drawdown are drawn as SVG polylines
straight from the curve's arrays (downsampled to at most ``_MAX_POINTS`` by taking
each bucket's min and max, so no drawdown is smoothed away), next to the run's
metrics and its equity by UTC day. Daily reports with charts stay available on
demand (``tradefabric report daily``) or with ``reports.daily: true``.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from tradefabric.core.time import NS_PER_DAY, ns_to_iso
from tradefabric.ops.equity import EquityCurve
from tradefabric.ops.run_record import Metrics

_MAX_POINTS = 2_000
_WIDTH, _TOP_H, _BOTTOM_H, _PAD = 900, 260, 110, 48


def _downsample(ts: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep each bucket's first, min and max samples (order kept), at most ~_MAX_POINTS."""
    if len(values) <= _MAX_POINTS:
        return ts, values
    buckets = np.array_split(np.arange(len(values)), _MAX_POINTS // 3)
    keep: list[int] = []
    for idx in buckets:
        chunk = values[idx]
        keep.extend(sorted({int(idx[0]), int(idx[np.argmin(chunk)]), int(idx[np.argmax(chunk)])}))
    picked = np.array(keep)
    return ts[picked], values[picked]


def _polyline(ts: np.ndarray, values: np.ndarray, top: float, height: float) -> str:
    t0, t1 = float(ts[0]), float(ts[-1])
    lo, hi = float(values.min()), float(values.max())
    span_t = t1 - t0 or 1.0
    span_v = hi - lo or 1.0
    xs = _PAD + (ts.astype(np.float64) - t0) / span_t * (_WIDTH - 2 * _PAD)
    ys = top + height - (values - lo) / span_v * height
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))


def equity_svg(curve: EquityCurve, title: str) -> str:
    """Return an SVG of the equity curve (top) and its drawdown in % (bottom)."""
    total_h = _TOP_H + _BOTTOM_H + 3 * _PAD
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{total_h}" '
        f'font-family="sans-serif" font-size="12">'
        f'<text x="{_PAD}" y="20" font-size="14">{html.escape(title)}</text>'
    )
    ts = np.frombuffer(curve.ts, dtype=np.int64)
    equity = np.frombuffer(curve.equity, dtype=np.float64)
    if len(equity) < 2:
        return head + f'<text x="{_PAD}" y="60">fewer than two equity samples</text></svg>'
    peaks = np.maximum.accumulate(equity)
    drawdown = -(peaks - equity) / peaks * 100.0
    top = _PAD
    bottom = _PAD * 2 + _TOP_H
    e_ts, e_val = _downsample(ts, equity)
    d_ts, d_val = _downsample(ts, drawdown)
    parts = [
        head,
        f'<polyline fill="none" stroke="#1f77b4" points="{_polyline(e_ts, e_val, top, _TOP_H)}"/>',
        f'<polyline fill="none" stroke="#d62728" '
        f'points="{_polyline(d_ts, d_val, bottom, _BOTTOM_H)}"/>',
        _label(_PAD, top - 4, f"equity {equity.max():,.2f} max"),
        _label(_PAD, top + _TOP_H + 14, f"{equity.min():,.2f} min"),
        _label(_PAD, bottom - 4, "drawdown % (0 at the top)"),
        _label(_PAD, bottom + _BOTTOM_H + 14, f"{drawdown.min():.2f}%"),
        _label(_PAD, total_h - 8, _utc(int(ts[0]))),
        _label(_WIDTH - _PAD - 130, total_h - 8, _utc(int(ts[-1]))),
        "</svg>",
    ]
    return "".join(parts)


def _label(x: float, y: float, text: str) -> str:
    return f'<text x="{x:.0f}" y="{y:.0f}" fill="#444">{html.escape(text)}</text>'


def _utc(ts: int) -> str:
    return ns_to_iso(ts)[:16].replace("T", " ") + " UTC"


def daily_equity(curve: EquityCurve) -> list[tuple[str, float, float]]:
    """Return (UTC day, equity at the day's last sample, change over the day) per day."""
    ts = np.frombuffer(curve.ts, dtype=np.int64)
    equity = np.frombuffer(curve.equity, dtype=np.float64)
    if not len(ts):
        return []
    days = ts // NS_PER_DAY
    last = np.flatnonzero(np.diff(days, append=days[-1] + 1))  # last sample of each day
    out = []
    previous = float(equity[0])
    for i in last:
        value = float(equity[i])
        out.append((ns_to_iso(int(days[i]) * NS_PER_DAY)[:10], value, value - previous))
        previous = value
    return out


def write_run_report(run_dir: Path, curve: EquityCurve, metrics: Metrics, title: str) -> Path:
    """Write ``chart.svg`` and ``report.html`` (metrics, chart, equity by day); return the page."""
    svg = equity_svg(curve, title)
    (run_dir / "chart.svg").write_text(svg)
    rows = "".join(
        f"<tr><td>{day}</td><td>{value:,.2f}</td><td>{change:+,.2f}</td></tr>"
        for day, value, change in daily_equity(curve)
    )
    figures = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{value}</td></tr>"
        for name, value in _figures(metrics)
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1><table>{figures}</table>{svg}"
        "<h2>Equity by UTC day</h2><table><tr><th>day</th><th>equity</th><th>change</th></tr>"
        f"{rows}</table><p>Daily reports: <code>tradefabric report daily --run THIS_FOLDER</code>"
        "</p></body></html>"
    )
    path = run_dir / "report.html"
    path.write_text(page)
    return path


def _figures(m: Metrics) -> list[tuple[str, str]]:
    return [
        ("return", f"{m.total_return:+.4%}"),
        ("final equity", f"{m.final_equity:,.2f}"),
        ("sharpe / sortino", f"{m.sharpe:.2f} / {m.sortino:.2f}"),
        ("max drawdown", f"{m.max_drawdown:.4%}"),
        ("fills / closing trades", f"{m.fills} / {m.closing_trades}"),
        ("win rate", f"{m.win_rate:.1%}"),
        ("turnover", f"{m.turnover:.2f}"),
        ("fees / slippage", f"{m.fees:,.2f} / {m.slippage_cost:,.2f}"),
    ]
