"""Robust statistics for the consensus: weighted median and MAD."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import msgspec

MAD_TO_SIGMA: Final = 1.4826
"""MAD times this estimates the standard deviation of normal data."""


class Consensus(msgspec.Struct, frozen=True):
    """The weighted median of some prices and their scaled MAD in bps of it."""

    price: float
    mad_bps: float


def weighted_median(values: Sequence[float], weights: Sequence[float]) -> float:
    """Return the weighted median: the smallest value with half the total weight at or below it.

    When the weight below a value is exactly half, the midpoint with the next
    value is returned, so equal weights give the ordinary median.
    """
    pairs = sorted((v, w) for v, w in zip(values, weights, strict=True) if w > 0)
    if not pairs:
        raise ValueError("weighted_median needs at least one positive weight")
    half = sum(w for _, w in pairs) / 2.0
    acc = 0.0
    for i, (value, weight) in enumerate(pairs):
        acc += weight
        if math.isclose(acc, half, rel_tol=1e-12) and i + 1 < len(pairs):
            return (value + pairs[i + 1][0]) / 2.0
        if acc > half:
            return value
    return pairs[-1][0]


def consensus(values: Sequence[float], weights: Sequence[float]) -> Consensus:
    """Return the weighted median of ``values`` and the weighted MAD around it in bps."""
    center = weighted_median(values, weights)
    spread = weighted_median([abs(v - center) for v in values], weights)
    return Consensus(price=center, mad_bps=MAD_TO_SIGMA * spread / center * 1e4)


def decay(half_life: float) -> float:
    """Return the per-step weight of a new sample in an EW average with this half life."""
    return 1.0 - math.pow(0.5, 1.0 / half_life)
