"""Watch a registered model: feature drift and hit rate on a recent window; score on any window.

The recent window ends at the catalog's newest candle of the model's series and
reaches back ``drift.recent`` (the model's setting, or one given). Features are
computed from ``WARMUP`` candles earlier so they are warm at the window's start.
The recent hit rate is what the model's signal scored there: the rows where it
fires, against the triple-barrier labels decided inside the window (the signal
is the same in batch and live, so this is the live hit rate over the window);
it is set beside the validation (out-of-sample) hit rate.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np

from tradefabric.analytics.features.base import FeatureSet
from tradefabric.analytics.features.labels import BarrierParams
from tradefabric.core.time import interval_to_ns, ns_to_iso, parse_utc
from tradefabric.research.calibration import Metrics, score
from tradefabric.research.dataset import Dataset, build_dataset
from tradefabric.research.drift import FeatureDrift, Level, drift
from tradefabric.research.learners import Learner
from tradefabric.research.training import (
    ModelRecord,
    features_of,
    newest_ns,
    read_frame,
    side_rows,
    take,
)
from tradefabric.store.catalog import Catalog

WARMUP = 300
"""Candles of the model's interval read before a window so its features are warm."""


class DriftReport(msgspec.Struct, frozen=True, kw_only=True):
    """PSI per feature and hit rates of one model over a recent window."""

    model: str
    catalog_version: int
    start: str
    end: str
    rows: int
    features: tuple[FeatureDrift, ...]
    level: Level
    """The worst feature's level."""
    recent: Metrics
    validation_hit_rate: float | None
    hit_rate_alert: bool


def window_dataset(
    record: ModelRecord, catalog: Catalog, start_ns: int, end_ns: int, barrier: BarrierParams
) -> Dataset:
    """Return the model's features and side labels for candles closing in ``(start, end]``."""
    warm = start_ns - WARMUP * interval_to_ns(record.interval)
    frame = read_frame(record, catalog, warm, end_ns)
    data, _ = side_rows(build_dataset(frame, features_of(record.features), barrier))
    rows = np.flatnonzero(data.ts_event > start_ns).astype(np.int64)
    return take(data, rows)


def feature_matrix(record: ModelRecord, catalog: Catalog, start_ns: int, end_ns: int) -> Dataset:
    """Return every warm feature row of the window (labelled or not) as a dataset."""
    warm = start_ns - WARMUP * interval_to_ns(record.interval)
    frame = read_frame(record, catalog, warm, end_ns)
    table = FeatureSet(features_of(record.features)).batch(frame)
    x = np.column_stack(table.values)
    keep = np.all(np.isfinite(x), axis=1) & (frame.ts_event > start_ns)
    rows = np.flatnonzero(keep).astype(np.int64)
    zeros = np.zeros(len(rows), dtype=np.int8)
    return Dataset(columns=table.columns, x=x[rows], y=zeros, start=rows, end=rows,
                   ts_event=frame.ts_event[rows])  # fmt: skip


def drift_report(
    record: ModelRecord, learner: Learner, catalog_root: Path, recent: str | None = None,
    version: int | None = None,
) -> DriftReport:  # fmt: skip
    """Compare the recent window with the model's training data and validation hit rate."""
    catalog = Catalog(catalog_root, version=version)
    settings = record.drift.settings
    end = newest_ns(catalog, record)
    start = end - interval_to_ns(recent or settings.recent)
    features = drift(record.drift, feature_matrix(record, catalog, start, end).x)
    labelled = window_dataset(record, catalog, start, end, record.barrier)
    metrics = score(learner.predict_proba(labelled.x), labelled.y, record.min_probability)
    validation = record.oos_metrics.hit_rate
    levels: tuple[Level, ...] = ("stable", "warn", "alert")
    worst = levels[max((levels.index(f.level) for f in features), default=0)]
    return DriftReport(
        model=record.id, catalog_version=catalog.version, start=ns_to_iso(start),
        end=ns_to_iso(end), rows=len(labelled.y), features=tuple(features), level=worst,
        recent=metrics, validation_hit_rate=validation,
        hit_rate_alert=_fell(metrics.hit_rate, validation, settings.hit_rate_drop),
    )  # fmt: skip


def _fell(recent: float | None, validation: float | None, drop: float) -> bool:
    # A signal that stopped firing has lost what it was validated on, too.
    if validation is None:
        return False
    return recent is None or recent < validation - drop


def score_on_window(
    record: ModelRecord, learner: Learner, catalog: Catalog, window: tuple[str, str], *,
    barrier: BarrierParams,
) -> Metrics:  # fmt: skip
    """Score a model on the side labels (``barrier``) of candles closing in ``(start, end]``."""
    start, end = parse_utc(window[0]), parse_utc(window[1])
    data = window_dataset(record, catalog, start, end, barrier)
    return score(learner.predict_proba(data.x), data.y, record.min_probability)
