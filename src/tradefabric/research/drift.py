"""Feature drift by the population stability index (PSI).

At training, each feature's training values are cut into ``bins`` quantile bins
and the share of rows in each is kept (``DriftReference``, stored with the
model). A recent window's values are counted in the same bins;
``PSI = sum((recent - train) * ln(recent / train))``. Rules of thumb (and the
defaults): below 0.1 stable, 0.1-0.25 a shift worth watching, above 0.25 the
model is seeing a different market.
"""

from __future__ import annotations

from typing import Literal

import msgspec
import numpy as np
from numpy.typing import NDArray

from tradefabric.core.errors import ConfigError

FLOOR = 1e-4
"""Empty bins count as this share, so the logarithm stays finite."""
Level = Literal["stable", "warn", "alert"]


class DriftSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """PSI bins and thresholds, the recent window compared, hit-rate tolerance."""

    bins: int = 10
    warn: float = 0.1
    alert: float = 0.25
    recent: str = "3d"
    """How far back from the newest candle the recent window reaches."""
    hit_rate_drop: float = 0.05
    """Alert when the recent hit rate is this far below the validation hit rate."""

    def __post_init__(self) -> None:
        if self.bins < 2 or not 0 < self.warn < self.alert:
            raise ConfigError("drift: need bins >= 2 and 0 < warn < alert")


class DriftReference(msgspec.Struct, frozen=True, kw_only=True):
    """Per training feature: the inner bin edges and the training share in each bin."""

    columns: tuple[str, ...]
    edges: tuple[tuple[float, ...], ...]
    shares: tuple[tuple[float, ...], ...]
    settings: DriftSettings


class FeatureDrift(msgspec.Struct, frozen=True):
    """One feature's PSI between training and the recent window, and its level."""

    column: str
    psi: float
    level: Level


def _shares(values: NDArray[np.float64], edges: NDArray[np.float64]) -> NDArray[np.float64]:
    finite = values[np.isfinite(values)]
    counts = np.bincount(np.searchsorted(edges, finite, side="right"), minlength=len(edges) + 1)
    total = max(int(counts.sum()), 1)
    out: NDArray[np.float64] = counts / total
    return out


def reference(
    x: NDArray[np.float64], columns: tuple[str, ...], settings: DriftSettings
) -> DriftReference:
    """Return the drift reference of training matrix ``x`` (rows x ``columns``)."""
    quantiles = np.linspace(0, 1, settings.bins + 1)[1:-1]
    edges: list[tuple[float, ...]] = []
    shares: list[tuple[float, ...]] = []
    for j in range(x.shape[1]):
        column = x[:, j][np.isfinite(x[:, j])]
        cut = np.unique(np.quantile(column, quantiles)) if len(column) else np.zeros(0)
        edges.append(tuple(float(v) for v in cut))
        shares.append(tuple(float(v) for v in _shares(column, cut)))
    return DriftReference(columns=columns, edges=tuple(edges), shares=tuple(shares),
                          settings=settings)  # fmt: skip


def psi(expected: NDArray[np.float64], actual: NDArray[np.float64]) -> float:
    """Return the PSI of share vectors ``actual`` against ``expected``."""
    e = np.maximum(expected, FLOOR)
    a = np.maximum(actual, FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def drift(ref: DriftReference, x: NDArray[np.float64]) -> list[FeatureDrift]:
    """Return each feature's PSI of recent matrix ``x`` against the training reference."""
    if x.shape[1] != len(ref.columns):
        raise ConfigError(f"drift: {x.shape[1]} columns, the model has {len(ref.columns)}")
    out: list[FeatureDrift] = []
    for j, column in enumerate(ref.columns):
        edges = np.asarray(ref.edges[j], dtype=np.float64)
        value = psi(np.asarray(ref.shares[j]), _shares(x[:, j], edges))
        level: Level = (
            "alert" if value > ref.settings.alert
            else "warn" if value > ref.settings.warn else "stable"
        )  # fmt: skip
        out.append(FeatureDrift(column, value, level))
    return out
