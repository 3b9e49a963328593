"""The equity curve of a run: samples in flat arrays."""

from __future__ import annotations

from array import array


class EquityCurve:
    """Equity samples in two flat arrays (no object per sample)."""

    __slots__ = ("equity", "ts")

    def __init__(self) -> None:
        self.ts = array("q")
        self.equity = array("d")

    def append(self, ts: int, equity: float) -> None:
        """Add one sample."""
        self.ts.append(ts)
        self.equity.append(equity)
