"""What a sweep optimises and which trials it may choose: objective and constraints."""

from __future__ import annotations

import enum

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.ops.run_record import Metrics

METRICS = ("sharpe", "sortino", "total_return", "max_drawdown", "win_rate", "realized_pnl")
"""The ``Metrics`` fields an objective may name."""


class Direction(enum.StrEnum):
    """Whether a higher or lower metric is better."""

    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"


class Objective(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The metric optimised; ``max_drawdown`` is minimised unless told otherwise."""

    metric: str = "sharpe"
    direction: Direction | None = None

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ConfigError(f"objective.metric: {self.metric!r} is not one of {list(METRICS)}")

    def score(self, metrics: Metrics) -> float:
        """Return the metric, negated when minimised (a higher score is always better)."""
        value = float(getattr(metrics, self.metric))
        direction = self.direction or (
            Direction.MINIMIZE if self.metric == "max_drawdown" else Direction.MAXIMIZE
        )
        return value if direction is Direction.MAXIMIZE else -value


class Constraints(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Limits a trial must meet to be chosen; None: no limit."""

    min_trades: int | None = None
    """Closing trades at least this many."""
    max_drawdown: float | None = None
    """Fraction: 0.1 = 10%."""
    min_sharpe: float | None = None
    min_return: float | None = None

    def violations(self, m: Metrics) -> list[str]:
        """Return a reason for every limit ``m`` breaks (empty: feasible)."""
        out: list[str] = []
        if self.min_trades is not None and m.closing_trades < self.min_trades:
            out.append(f"trades {m.closing_trades} < {self.min_trades}")
        if self.max_drawdown is not None and m.max_drawdown > self.max_drawdown:
            out.append(f"max drawdown {m.max_drawdown:.4f} > {self.max_drawdown}")
        if self.min_sharpe is not None and m.sharpe < self.min_sharpe:
            out.append(f"sharpe {m.sharpe:.3f} < {self.min_sharpe}")
        if self.min_return is not None and m.total_return < self.min_return:
            out.append(f"return {m.total_return:.4f} < {self.min_return}")
        return out
