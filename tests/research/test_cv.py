"""Purged k-fold, embargo, walk-forward splits and uniqueness weights; on the real month,
purged CV scores lower (honestly) than shuffled CV on an overlapping label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier

from tests.conftest import report_figure
from tradefabric.analytics.features.builtin import (
    DeltaPressureFeature,
    FractalFeature,
    default_features,
)
from tradefabric.analytics.features.labels import BarrierParams
from tradefabric.analytics.frame import FrameQuery, frame_from_catalog, resample
from tradefabric.core.errors import ConfigError
from tradefabric.research.cv import purged_kfold, uniqueness_weights, walk_forward_splits
from tradefabric.research.dataset import build_dataset
from tradefabric.research.models import cv_score, shuffled_kfold
from tradefabric.store.catalog import Catalog


def _spans(n: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    start = np.arange(n, dtype=np.int64)
    return start, np.minimum(start + horizon, n + horizon).astype(np.int64)


def test_purged_kfold_drops_every_overlapping_and_embargoed_sample() -> None:
    start, end = _spans(100, 5)
    splits = purged_kfold(start, end, 4, embargo=3)
    assert [len(s.test) for s in splits] == [25] * 4
    second = splits[1]  # test 25..49: its labels span candles 25..54
    train = set(second.train.tolist())
    # Before the fold: samples 20..24 end inside it (purged); after: 50..54 start inside
    # the test labels' span, 55..57 are the embargo.
    assert train == set(range(20)) | set(range(58, 100))
    for split in splits:
        tr, te = split.train, split.test
        lo, hi = start[te[0]], end[te].max()
        assert not np.any((start[tr] <= hi) & (end[tr] >= lo))
    assert set(splits[0].train.tolist()) == set(range(33, 100))  # 25..29 purged, 30..32 embargo


def test_walk_forward_splits_train_on_the_purged_past_only() -> None:
    start, end = _spans(100, 5)
    splits = walk_forward_splits(start, end, 5, embargo=2)
    assert len(splits) == 4
    for split in splits:
        assert split.train.max() < split.test[0]
        assert end[split.train].max() < split.test[0]
    assert splits[0].train.tolist() == list(range(15))  # test 20..39; 15..19 end inside
    with pytest.raises(ConfigError, match="need 2 <= folds"):
        walk_forward_splits(start, end, 1)
    with pytest.raises(ConfigError, match="time order"):
        purged_kfold(start[::-1].copy(), end, 2)


def test_uniqueness_weights() -> None:
    # Two labels sharing one of their two candles: each is unique half the time.
    start = np.array([0, 1, 5], dtype=np.int64)
    end = np.array([1, 2, 5], dtype=np.int64)
    assert uniqueness_weights(start, end).tolist() == [0.75, 0.75, 1.0]


@pytest.mark.slow
def test_purged_cv_is_lower_than_shuffled_cv_on_real_candles(research_catalog: Path) -> None:
    candles = frame_from_catalog(
        Catalog(research_catalog, version=1), FrameQuery(venue="binance", symbol="BTC/USDT")
    )
    frame = resample(candles, "5m")
    # Freqtrade candles have no buy volume (delta NaN); fractals are NaN between pivots.
    features = [
        f for f in default_features() if not isinstance(f, DeltaPressureFeature | FractalFeature)
    ]
    # 4-hour vertical barrier on 5m candles: each label overlaps its ~48 neighbours.
    data = build_dataset(frame, features, BarrierParams(up=1.0, down=1.0, horizon=48,
                                                        vol_window=48))  # fmt: skip
    assert len(data.y) > 8000 and set(np.unique(data.y)) <= {-1, 0, 1}
    weights = uniqueness_weights(data.start, data.end)
    assert 0.1 < float(weights.mean()) < 0.5  # heavy overlap

    def model() -> RandomForestClassifier:
        return RandomForestClassifier(n_estimators=40, min_samples_leaf=5, random_state=0, n_jobs=1)

    naive = cv_score(data, shuffled_kfold(len(data.y), 5, seed=0), model)
    purged = cv_score(data, purged_kfold(data.start, data.end, 5, embargo=48), model)
    majority = float(np.bincount(data.y + 1).max() / len(data.y))
    report_figure(
        f"purged CV on real BTC 5m, triple-barrier 4h labels ({len(data.y)} rows): shuffled "
        f"k-fold accuracy {naive.mean:.3f}, purged+embargo {purged.mean:.3f}, "
        f"majority class {majority:.3f}"
    )
    # Shuffled folds put each test label's overlapping neighbours in training: it leaks.
    assert naive.mean > purged.mean + 0.1
    assert purged.mean < majority + 0.08  # honest: little skill out of sample


def test_cv_score_passes_sample_weights() -> None:
    from sklearn.tree import DecisionTreeClassifier

    from tradefabric.research.dataset import Dataset

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 1))
    y = (x[:, 0] > 0).astype(np.int8)
    y[:100] = 1 - y[:100]  # the first half is labelled backwards
    start, end = _spans(200, 0)
    data = Dataset(columns=("x",), x=x, y=y, start=start, end=end, ts_event=start)
    splits = [s for s in purged_kfold(start, end, 2) if s.test[0] == 100]

    def stump() -> DecisionTreeClassifier:
        return DecisionTreeClassifier(max_depth=1, random_state=0)

    # Trained on the backwards half only, it scores ~0 on the honest half.
    assert cv_score(data, splits, stump).mean < 0.1
    weights = np.ones(200)
    assert cv_score(data, splits, stump, weights).mean == cv_score(data, splits, stump).mean
