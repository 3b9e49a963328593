"""Small hand-written SVG charts for research reports (no matplotlib on the hot path)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf")


def _colour(value: float, low: float, high: float) -> str:
    # Red (worst) to green (best) through pale yellow.
    t = 0.5 if high <= low else (value - low) / (high - low)
    r = int(215 + (26 - 215) * t)
    g = int(48 + (152 - 48) * t)
    b = int(39 + (80 - 39) * t)
    return f"rgb({r},{g},{b})"


def heatmap(
    xs: Sequence[str], ys: Sequence[str], cells: dict[tuple[int, int], float], title: str
) -> str:
    """Return an SVG heatmap: ``cells[(x, y)]`` is the score at ``xs[x]``, ``ys[y]``."""
    cw, ch, left, top = 56, 28, 70, 30
    width, height = left + cw * len(xs) + 10, top + ch * len(ys) + 40
    vals = [v for v in cells.values() if math.isfinite(v)]
    low, high = (min(vals), max(vals)) if vals else (0.0, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="11">',
        f'<text x="{left}" y="16" font-size="13">{escape(title)}</text>',
    ]
    for (x, y), v in sorted(cells.items()):
        px, py = left + x * cw, top + y * ch
        parts.append(
            f'<rect x="{px}" y="{py}" width="{cw - 1}" height="{ch - 1}" '
            f'fill="{_colour(v, low, high)}"><title>{v:.4g}</title></rect>'
            f'<text x="{px + cw / 2}" y="{py + ch / 2 + 4}" text-anchor="middle">{v:.3g}</text>'
        )
    for y, label in enumerate(ys):
        parts.append(
            f'<text x="{left - 4}" y="{top + y * ch + ch / 2 + 4}" '
            f'text-anchor="end">{escape(label)}</text>'
        )
    for x, label in enumerate(xs):
        parts.append(
            f'<text x="{left + x * cw + cw / 2}" y="{top + len(ys) * ch + 14}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(series: Sequence[tuple[str, Sequence[float]]], title: str) -> str:
    """Return an SVG line chart of several series (each drawn over the full width)."""
    width, height, pad = 720, 300, 40
    values = [v for _, s in series for v in s if math.isfinite(v)]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    span = high - low or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="11">',
        f'<text x="{pad}" y="16" font-size="13">{escape(title)}</text>',
        f'<text x="4" y="{pad}">{high:,.0f}</text>',
        f'<text x="4" y="{height - pad}">{low:,.0f}</text>',
    ]
    for k, (name, s) in enumerate(series):
        if len(s) < 2:
            continue
        step = (width - 2 * pad) / (len(s) - 1)
        points = " ".join(
            f"{pad + i * step:.1f},{height - pad - (v - low) / span * (height - 2 * pad):.1f}"
            for i, v in enumerate(s)
        )
        colour = _COLOURS[k % len(_COLOURS)]
        parts.append(f'<polyline fill="none" stroke="{colour}" points="{points}"/>')
        parts.append(f'<text x="{pad + 8}" y="{34 + 13 * k}" fill="{colour}">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
