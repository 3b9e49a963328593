"""Cross-validation for labels that look into the future (López de Prado, AFML ch. 7).

Sample ``i`` is decided by the candles ``start[i]..end[i]`` (a triple-barrier
label: its candle and the one that touched a barrier). A training sample whose
span overlaps the test fold's span leaks the test labels, so it is purged; the
``embargo`` candles after the fold are dropped too, since features computed
over windows reach back into the fold. Walk-forward splits train only on the
past (purged the same way).
"""

from __future__ import annotations

import msgspec
import numpy as np
from numpy.typing import NDArray

from tradefabric.core.errors import ConfigError

Index = NDArray[np.int64]


class Split(msgspec.Struct, frozen=True):
    """Sample positions to train on and to test on."""

    train: Index
    test: Index


def _check(start: Index, end: Index, folds: int) -> None:
    if len(start) != len(end):
        raise ConfigError(f"cv: start and end differ in length ({len(start)} vs {len(end)})")
    if folds < 2 or folds > len(start):
        raise ConfigError(f"cv: need 2 <= folds <= samples, got {folds} for {len(start)}")
    if np.any(np.diff(start) < 0) or np.any(end < start):
        raise ConfigError("cv: samples must be in time order with end >= start")


def _purged_train(start: Index, end: Index, test: Index, embargo: int) -> Index:
    lo, hi = int(start[test[0]]), int(end[test].max())
    overlaps = (start <= hi) & (end >= lo)
    embargoed = (start > hi) & (start <= hi + embargo)
    keep = ~(overlaps | embargoed)
    keep[test] = False
    out: Index = np.flatnonzero(keep).astype(np.int64)
    return out


def purged_kfold(start: Index, end: Index, folds: int, embargo: int = 0) -> list[Split]:
    """Return ``folds`` contiguous test folds, each with its purged, embargoed train set."""
    _check(start, end, folds)
    positions = np.arange(len(start), dtype=np.int64)
    return [
        Split(train=_purged_train(start, end, test, embargo), test=test)
        for test in np.array_split(positions, folds)
    ]


def walk_forward_splits(start: Index, end: Index, folds: int, embargo: int = 0) -> list[Split]:
    """Return ``folds - 1`` splits: each fold tested on, trained on the purged past only."""
    _check(start, end, folds)
    positions = np.arange(len(start), dtype=np.int64)
    splits: list[Split] = []
    for test in np.array_split(positions, folds)[1:]:
        train = _purged_train(start, end, test, embargo)
        splits.append(Split(train=train[train < test[0]], test=test))
    return splits


def uniqueness_weights(start: Index, end: Index) -> NDArray[np.float64]:
    """Return each sample's average uniqueness: the mean of 1/concurrency over its span."""
    if len(start) == 0:
        return np.zeros(0)
    base = int(start.min())
    length = int(end.max()) - base + 2
    delta = np.zeros(length, dtype=np.int64)
    np.add.at(delta, start - base, 1)
    np.add.at(delta, end - base + 1, -1)
    concurrency = np.cumsum(delta)[:-1]
    inverse = np.concatenate(([0.0], np.cumsum(1.0 / np.maximum(concurrency, 1))))
    total = inverse[end - base + 1] - inverse[start - base]
    out: NDArray[np.float64] = total / (end - start + 1)
    return out
