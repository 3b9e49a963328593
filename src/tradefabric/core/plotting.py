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
