"""A PNG of the consensus against each venue, with the flagged points marked."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tradefabric.core.plotting import pyplot
from tradefabric.integrity.collector import TriangulationResult
from tradefabric.integrity.events import AnomalyKind

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_PRICE_KINDS = frozenset({AnomalyKind.PRICE_OUTLIER, AnomalyKind.FLATLINE, AnomalyKind.TIMESTAMP})


def _dates(ts: np.ndarray) -> np.ndarray:
    return ts.astype("datetime64[ns]")


def write_chart(result: TriangulationResult, path: Path) -> Path:
    """Draw consensus vs venues (top) and deviations in bps (bottom); mark anomalies; save."""
    plt = pyplot()
    import matplotlib.dates as mdates  # noqa: PLC0415  (loaded with pyplot above)

    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(14, 8), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
    )
    points = {(s.venue, s.symbol): s for s in result.series}
    consensus_ts = np.asarray(result.consensus_ts, dtype=np.int64)
    consensus = np.asarray(result.consensus_price, dtype=np.float64)
    for (venue, symbol), series in sorted(points.items()):
        ts = np.asarray(series.ts, dtype=np.int64)
        prices = np.asarray(series.price_usd, dtype=np.float64)
        top.plot(_dates(ts), prices, lw=0.4, alpha=0.6, label=f"{venue} {symbol}")
        reference = np.interp(ts, consensus_ts, consensus) if consensus.size else prices
        bottom.plot(_dates(ts), (prices / reference - 1.0) * 1e4, lw=0.3, alpha=0.6)
    top.plot(_dates(consensus_ts), consensus, color="black", lw=0.9, label="consensus")
    _mark_anomalies(top, result, points)
    _shade_episodes(top, bottom, result)
    top.set_ylabel(f"{result.asset} price (USD)")
    bottom.set_ylabel("deviation from consensus (bps)")
    bottom.set_ylim(-150, 150)
    top.legend(loc="upper left", fontsize=7, ncol=3)
    top.set_title(
        f"{result.asset}: consensus vs venues; x = flagged price, shaded = stablecoin de-peg, "
        "red bars = arbitrage episodes"
    )
    # Dates alone repeat on a chart shorter than a few days; the hour tells the ticks apart.
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    bottom.xaxis.set_major_locator(locator)
    bottom.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _mark_anomalies(
    top: Axes, result: TriangulationResult, points: Mapping[tuple[str, str], object]
) -> None:
    flagged = [
        a for a in result.anomalies if a.kind in _PRICE_KINDS and (a.venue, a.symbol) in points
    ]
    if not flagged:
        return
    ts = np.asarray([a.ts_event for a in flagged], dtype=np.int64)
    consensus_ts = np.asarray(result.consensus_ts, dtype=np.int64)
    consensus = np.asarray(result.consensus_price, dtype=np.float64)
    values = np.asarray([a.value for a in flagged], dtype=np.float64)
    # Flat lines and shifts carry no USD value: mark them on the consensus line.
    fallback = np.interp(ts, consensus_ts, consensus) if consensus.size else values
    kinds = np.asarray([a.kind is AnomalyKind.PRICE_OUTLIER for a in flagged])
    y = np.where(kinds & np.isfinite(values), values, fallback)
    top.scatter(_dates(ts), y, marker="x", color="red", s=18, zorder=5, label="flagged")


def _shade_episodes(top: Axes, bottom: Axes, result: TriangulationResult) -> None:
    for event in result.stablecoin_events:
        if event.phase == "end":
            start, end = _dates(np.asarray([event.ts_start, event.ts_end], dtype=np.int64))
            top.axvspan(start, end, color="orange", alpha=0.12)
            bottom.axvspan(start, end, color="orange", alpha=0.12)
    for episode in result.arbitrage:
        start, end = _dates(np.asarray([episode.ts_start, episode.ts_end], dtype=np.int64))
        bottom.axvspan(start, end, ymin=0.0, ymax=0.05, color="red", alpha=0.6)
