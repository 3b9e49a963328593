"""Charts are files: matplotlib with its file-only (Agg) backend, imported on first use.

matplotlib takes a third of a second to import; importing it here, when a chart is
drawn, keeps that cost out of every command of the CLI that draws nothing.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def pyplot() -> Any:
    """Return ``matplotlib.pyplot`` set to the Agg backend (no display needed)."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


@functools.cache
def pyplot_patches() -> Any:
    """Return ``matplotlib.patches`` (legend patches for shaded bands)."""
    pyplot()
    from matplotlib import patches  # noqa: PLC0415

    return patches


def concise_time_axis(ax: Any) -> None:
    """Label a time x axis with as few, non-overlapping ticks as fit (hours on short spans,
    days on long ones, the date once in the offset), whatever the span."""
    pyplot()
    import matplotlib.dates as mdates  # noqa: PLC0415

    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
