"""Draw a candle series with its signals and regimes to a PNG (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tradefabric.analytics.frame import CandleFrame
from tradefabric.analytics.pipeline import PipelineResult
from tradefabric.analytics.regime import Regime
from tradefabric.analytics.signals.base import Direction
from tradefabric.core.errors import DataSourceError
from tradefabric.core.plotting import concise_time_axis, pyplot, pyplot_patches

_REGIME_COLORS = {
    Regime.BULL: "#d8f0d8",
    Regime.BEAR: "#f5d5d5",
    Regime.RANGE: "#ffffff",
    Regime.VOLATILE: "#fbeecb",
}


def draw_chart(frame: CandleFrame, result: PipelineResult) -> Any:
    """Return a figure of close prices, regime bands (in the legend) and signals."""
    plt = pyplot()
    times = frame.ts_event.astype("datetime64[ns]")
    fig, ax = plt.subplots(figsize=(14, 6), dpi=110)
    _regime_bands(ax, frame, result)
    ax.plot(times, frame.close, color="#333333", linewidth=0.6, label="close")
    for direction, marker, color in (
        (Direction.LONG, "^", "#1a9850"),
        (Direction.SHORT, "v", "#d73027"),
    ):
        picked = [s for s in result.signals if s.direction is direction]
        if picked:
            x = np.array([s.data_ts for s in picked]).astype("datetime64[ns]")
            y = [s.price for s in picked]
            size = [20 + 80 * s.confidence for s in picked]
            ax.scatter(x, y, marker=marker, s=size, color=color, label=direction.name.lower())
    ax.set_title(f"{frame.venue} {frame.symbol} {frame.interval}: {len(result.signals)} signals")
    ax.legend(handles=_legend_handles(ax, result, frame), loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    concise_time_axis(ax)
    return fig


def write_chart(frame: CandleFrame, result: PipelineResult, path: Path) -> Path:
    """Plot close prices, regime bands and signals (size: confidence) into ``path``."""
    plt = pyplot()
    fig = draw_chart(frame, result)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    except OSError as exc:
        raise DataSourceError(f"cannot write chart {path}: {exc.strerror or exc}") from exc
    finally:
        plt.close(fig)
    return path


def _regime_bands(ax: object, frame: CandleFrame, result: PipelineResult) -> None:
    changes = [c for c in result.regime_changes if c.asset == frame.symbol]
    if not changes or len(frame) == 0:
        return
    end = int(frame.ts_event[-1])
    for change, nxt in zip(changes, [*changes[1:], None], strict=True):
        stop = nxt.ts_event if nxt is not None else end
        ax.axvspan(  # type: ignore[attr-defined]
            np.datetime64(change.ts_event, "ns"),
            np.datetime64(stop, "ns"),
            color=_REGIME_COLORS[change.regime],
            alpha=0.6,
            linewidth=0,
        )


def _legend_handles(ax: Any, result: PipelineResult, frame: CandleFrame) -> list[Any]:
    """Return the plotted lines and markers plus one patch per regime shown as a band."""
    patches = pyplot_patches()
    handles, _ = ax.get_legend_handles_labels()
    shown = {c.regime for c in result.regime_changes if c.asset == frame.symbol}
    for regime, color in _REGIME_COLORS.items():
        if regime in shown:
            handles.append(patches.Patch(color=color, alpha=0.6, label=f"regime {regime}"))
    return list(handles)
