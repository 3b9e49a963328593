"""Datasets for supervised learning: analytics features and triple-barrier labels.

Rows are candles whose features have warmed up and whose label is decided
(``touch`` >= 0); ``start``/``end`` are each row's candle index and the index of
the candle that decided its label, which purged cross-validation needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import numpy as np
from numpy.typing import NDArray

from tradefabric.analytics.features.base import Feature, FeatureSet
from tradefabric.analytics.features.labels import BarrierParams, triple_barrier_labels
from tradefabric.analytics.frame import CandleFrame
from tradefabric.core.errors import DataSourceError


class Dataset(msgspec.Struct, frozen=True, kw_only=True):
    """Features ``x`` (rows x columns), labels ``y``, and each row's label span."""

    columns: tuple[str, ...]
    x: NDArray[np.float64]
    y: NDArray[np.int8]
    start: NDArray[np.int64]
    end: NDArray[np.int64]
    ts_event: NDArray[np.int64]


def build_dataset(
    frame: CandleFrame, features: Sequence[Feature], barrier: BarrierParams
) -> Dataset:
    """Compute the features and labels of ``frame``; keep complete, decided rows."""
    table = FeatureSet(features).batch(frame)
    x = np.column_stack(table.values) if table.values else np.zeros((len(frame.close), 0))
    labels = triple_barrier_labels(frame, barrier)
    keep = np.all(np.isfinite(x), axis=1) & (labels.touch >= 0)
    rows = np.flatnonzero(keep).astype(np.int64)
    if len(rows) == 0:
        raise DataSourceError(
            f"{frame.venue} {frame.symbol} {frame.interval}: no candle has warm features "
            f"and a decided label ({len(frame.close)} candles)"
        )
    return Dataset(
        columns=table.columns,
        x=x[rows],
        y=labels.label[rows],
        start=rows,
        end=labels.touch[rows],
        ts_event=frame.ts_event[rows],
    )
