"""The trials of a search as a Parquet table (one row per trial, one column per param)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tradefabric.research.search import TrialRecord

_METRICS = ("sharpe", "sortino", "total_return", "max_drawdown", "win_rate", "closing_trades")


def _param_column(records: Sequence[TrialRecord], i: int) -> pa.Array:
    values = [r.params.values[i] for r in records]
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return pa.array([float(v) for v in values], pa.float64())
    return pa.array([str(v) for v in values], pa.string())


def trials_table(records: Sequence[TrialRecord], window: str = "") -> pa.Table:
    """Return the records as a table: trial, window, params, score, feasible, metrics."""
    names = records[0].params.names if records else ()
    columns: dict[str, pa.Array] = {
        "trial": pa.array([r.index for r in records], pa.int64()),
        "window": pa.array([window] * len(records), pa.string()),
    }
    for i, name in enumerate(names):
        columns[f"param.{name}"] = _param_column(records, i)
    columns["score"] = pa.array([r.score for r in records], pa.float64())
    columns["feasible"] = pa.array([r.feasible for r in records], pa.bool_())
    columns["error"] = pa.array([r.error or "; ".join(r.violations) for r in records])
    for metric in _METRICS:
        columns[metric] = pa.array(
            [getattr(r.result.metrics, metric) if r.result else None for r in records]
        )
    columns["fills"] = pa.array([r.result.fills if r.result else None for r in records])
    return pa.table(columns)


def write_trials(path: Path, tables: Sequence[pa.Table]) -> Path:
    """Write the tables as one Parquet file (replaced atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(pa.concat_tables(tables), tmp)
    tmp.replace(path)
    return path
