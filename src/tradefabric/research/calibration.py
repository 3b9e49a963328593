"""How good and how honest a side probability is: accuracy, log loss, Brier, reliability.

``hit_rate`` is what the model signal delivers: among the rows where the
probability clears ``min_probability`` on either side (the signal fires), the
share whose label went that way.
"""

from __future__ import annotations

import msgspec
import numpy as np
from numpy.typing import NDArray

from tradefabric.core.errors import DataSourceError

Floats = NDArray[np.float64]
EPS = 1e-12


class CalibrationBin(msgspec.Struct, frozen=True):
    """One reliability bin: its range, rows, mean predicted and observed frequency of +1."""

    low: float
    high: float
    rows: int
    predicted: float
    observed: float


class Metrics(msgspec.Struct, frozen=True, kw_only=True):
    """Scores of P(label +1) against outcomes (``y > 0``) on one set of rows."""

    rows: int
    base_rate: float
    """Share of +1 labels: the Brier score of always predicting it is base*(1-base)."""
    accuracy: float
    log_loss: float
    brier: float
    signals: int
    """Rows where the signal fires (probability beyond ``min_probability`` on a side)."""
    hit_rate: float | None
    """None when the signal never fires on these rows."""
    calibration_error: float
    """Expected calibration error: the row-weighted mean |predicted - observed| over bins."""
    calibration: tuple[CalibrationBin, ...] = ()


def reliability(p: Floats, outcome: NDArray[np.bool_], bins: int = 10) -> list[CalibrationBin]:
    """Return the reliability table of ``p`` over ``bins`` equal-width bins (empty ones dropped)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    out: list[CalibrationBin] = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            out.append(CalibrationBin(
                float(edges[b]), float(edges[b + 1]), int(mask.sum()),
                float(p[mask].mean()), float(outcome[mask].mean()),
            ))  # fmt: skip
    return out


def score(p: Floats, y: NDArray[np.int8], min_probability: float, *, bins: int = 10) -> Metrics:
    """Score probabilities ``p`` of ``y > 0`` on these rows."""
    outcome = y > 0
    n = len(p)
    if n == 0:
        raise DataSourceError("no labelled rows to score the model on")
    clipped = np.clip(p, EPS, 1 - EPS)
    log_loss = -np.mean(np.where(outcome, np.log(clipped), np.log(1 - clipped)))
    fires = np.maximum(p, 1 - p) >= min_probability
    hits = (p[fires] > 0.5) == outcome[fires]
    table = reliability(p, outcome, bins)
    ece = sum(b.rows * abs(b.predicted - b.observed) for b in table) / n
    return Metrics(
        rows=n,
        base_rate=float(outcome.mean()),
        accuracy=float(((p > 0.5) == outcome).mean()),
        log_loss=float(log_loss),
        brier=float(np.mean((p - outcome) ** 2)),
        signals=int(fires.sum()),
        hit_rate=float(hits.mean()) if len(hits) else None,
        calibration_error=float(ece),
        calibration=tuple(table),
    )
