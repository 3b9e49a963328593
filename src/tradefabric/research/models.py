"""Cross-validated scores of scikit-learn classifiers on a ``Dataset``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import numpy as np
from sklearn.model_selection import KFold

from tradefabric.research.cv import Split
from tradefabric.research.dataset import Dataset

ModelFactory = Callable[[], Any]
"""Return a fresh, unfitted scikit-learn classifier (``fit``/``score``)."""


class CvScore(msgspec.Struct, frozen=True):
    """The mean accuracy over the folds and each fold's."""

    mean: float
    folds: list[float]


def cv_score(
    data: Dataset,
    splits: Sequence[Split],
    factory: ModelFactory,
    weights: np.ndarray[Any, np.dtype[np.float64]] | None = None,
) -> CvScore:
    """Fit a fresh model on each split's train rows, score it on its test rows."""
    scores: list[float] = []
    for split in splits:
        model = factory()
        w = weights[split.train] if weights is not None else None
        model.fit(data.x[split.train], data.y[split.train], sample_weight=w)
        scores.append(float(model.score(data.x[split.test], data.y[split.test])))
    return CvScore(mean=float(np.mean(scores)), folds=scores)


def shuffled_kfold(rows: int, folds: int, seed: int) -> list[Split]:
    """Return the naive splits: shuffled k-fold, blind to label overlap (for comparison)."""
    kfold = KFold(n_splits=folds, shuffle=True, random_state=seed)
    return [
        Split(train=np.asarray(tr, dtype=np.int64), test=np.asarray(te, dtype=np.int64))
        for tr, te in kfold.split(np.zeros(rows))
    ]
