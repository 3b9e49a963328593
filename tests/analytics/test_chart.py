"""The signals chart on a real month: every regime shaded is in the legend, and the time
axis labels do not overlap (they did with the default locator on long spans)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.analytics.conftest import read_month
from tradefabric.analytics.chart import draw_chart
from tradefabric.analytics.config import AnalyticsConfig
from tradefabric.analytics.pipeline import BatchRun, run_batch
from tradefabric.core.plotting import pyplot


def _overlapping(fig: Any, ax: Any) -> list[tuple[str, str]]:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    labels = [t for t in ax.get_xticklabels() if t.get_text()]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels]
    return [
        (a, b)
        for i, (a, box_a) in enumerate(boxes)
        for b, box_b in boxes[i + 1 :]
        if box_a.overlaps(box_b)
    ]


def test_regimes_are_in_the_legend_and_time_labels_do_not_overlap(shared_data: Path) -> None:
    frame = read_month(shared_data, "BTC/USDT")
    result = run_batch(AnalyticsConfig(), BatchRun(frame=frame))
    regimes = {str(c.regime) for c in result.regime_changes if c.asset == frame.symbol}
    assert len(regimes) >= 2  # a real month changes regime
    fig = draw_chart(frame, result)
    try:
        ax = fig.axes[0]
        legend = {t.get_text() for t in ax.get_legend().get_texts()}
        assert {f"regime {r}" for r in regimes} <= legend
        assert "close" in legend
        assert _overlapping(fig, ax) == []
        assert len([t for t in ax.get_xticklabels() if t.get_text()]) >= 3
    finally:
        pyplot().close(fig)
