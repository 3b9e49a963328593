"""The sweep report: a heatmap of two parameters and the best trials' equity curves."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from html import escape
from pathlib import Path

import numpy as np

from tradefabric.core.errors import ConfigError
from tradefabric.research.search import TrialRecord, best
from tradefabric.research.svg import heatmap, line_chart

_MAX_BINS = 8


def _axis(values: Sequence[object]) -> tuple[list[str], list[int]]:
    """Return axis labels and each value's position; many numbers are binned."""
    distinct = sorted(set(values), key=lambda v: (str(type(v)), v))
    numeric = all(isinstance(v, int | float) for v in distinct)
    if not numeric or len(distinct) <= _MAX_BINS:
        labels = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in distinct]
        return labels, [distinct.index(v) for v in values]
    nums = [float(v) for v in values]  # type: ignore[arg-type]
    low, high = min(nums), max(nums)
    width = (high - low) / _MAX_BINS
    pos = [min(int((v - low) / width), _MAX_BINS - 1) for v in nums]
    labels = [f"{low + (i + 0.5) * width:.3g}" for i in range(_MAX_BINS)]
    return labels, pos


def heatmap_svg(records: Sequence[TrialRecord], names: Sequence[str]) -> str:
    """Return the mean score of the feasible trials over two parameters, as SVG."""
    if len(names) != 2:
        raise ConfigError(f"report.heatmap: name two parameters, got {list(names)}")
    ok = [r for r in records if r.feasible]
    if not ok:
        return "<p>No feasible trial: no heatmap.</p>"
    xs, xpos = _axis([r.params.get(names[0]) for r in ok])
    ys, ypos = _axis([r.params.get(names[1]) for r in ok])
    sums: dict[tuple[int, int], list[float]] = defaultdict(list)
    for r, x, y in zip(ok, xpos, ypos, strict=True):
        sums[(x, y)].append(r.score or 0.0)
    cells = {k: sum(v) / len(v) for k, v in sums.items()}
    return heatmap(xs, ys, cells, f"mean score: {names[0]} (x) by {names[1]} (y)")


def importance(records: Sequence[TrialRecord]) -> list[tuple[str, float]]:
    """Return each parameter's share of the score variance it explains (eta squared:
    the variance of the mean score per value, or per bin, over the total variance)."""
    ok = [r for r in records if r.feasible]
    if len(ok) < 2:
        return []
    scores = np.array([r.score or 0.0 for r in ok])
    total = float(scores.var())
    out: list[tuple[str, float]] = []
    for name in ok[0].params.names:
        _, pos = _axis([r.params.get(name) for r in ok])
        groups = np.asarray(pos)
        between = sum(
            (groups == g).sum() * (scores[groups == g].mean() - scores.mean()) ** 2
            for g in set(pos)
        ) / len(scores)
        out.append((name, float(between) / total if total > 0 else 0.0))
    return sorted(out, key=lambda item: -item[1])


def _importance_html(records: Sequence[TrialRecord]) -> str:
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{share:.3f}</td></tr>"
        for name, share in importance(records)
    )
    return f"<h2>Parameter importance</h2><table><tr><th>param</th><th>eta²</th></tr>{rows}</table>"


def _row(r: TrialRecord) -> str:
    m = r.result.metrics if r.result else None
    if m is None:
        return ""
    return (
        f"<tr><td>{r.index}</td><td>{escape(r.params.label())}</td><td>{r.score:.4f}</td>"
        f"<td>{m.sharpe:.3f}</td><td>{m.total_return:+.4%}</td><td>{m.max_drawdown:.4%}</td>"
        f"<td>{m.closing_trades}</td></tr>"
    )


def write_report(
    path: Path, title: str, records: Sequence[TrialRecord], heat: Sequence[str], top: int
) -> Path:
    """Write the HTML report: summary, heatmap, best ``top`` table and equity curves."""
    chosen = best(records, top)
    curves = [(f"#{r.index} {r.params.label()}", r.result.equity) for r in chosen if r.result]
    feasible = sum(r.feasible for r in records)
    failed = sum(r.result is None for r in records)
    names = list(heat) if heat else list(records[0].params.names[:2]) if records else []
    heat_html = heatmap_svg(records, names) if len(names) == 2 else ""
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:right}</style>"
        f"</head><body><h1>{escape(title)}</h1>"
        f"<p>{len(records)} trials, {feasible} feasible, {failed} failed.</p>"
        f"{heat_html}{_importance_html(records)}"
        f"<h2>Best {len(chosen)}</h2><table><tr><th>trial</th><th>params</th>"
        "<th>score</th><th>sharpe</th><th>return</th><th>max DD</th><th>trades</th></tr>"
        + "".join(_row(r) for r in chosen)
        + "</table>"
        + line_chart(curves, "equity of the best trials")
        + "</body></html>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html)
    return path
