"""``research sweep``: the search on one window, its table and its report."""

from __future__ import annotations

from pathlib import Path

import msgspec

from tradefabric.research.config import Resolved, SweepConfig, load, resolve
from tradefabric.research.report import write_report
from tradefabric.research.search import (
    Executor,
    Progress,
    TrialRecord,
    Window,
    best,
    run_search,
)
from tradefabric.research.table import trials_table, write_trials


class SweepOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """A finished sweep: where its table and report are, its best trials."""

    catalog_version: int
    trials: int
    feasible: int
    table: Path
    report: Path
    best: list[TrialRecord]


def run_sweep(
    path: Path, executor: Executor | None = None, progress: Progress | None = None
) -> SweepOutcome:
    """Load the sweep config at ``path``, run it, write ``trials.parquet`` and the report."""
    sweep = load(path, SweepConfig)
    where = resolve(path, sweep)
    records = sweep_records(sweep, where, executor, progress)
    table = write_trials(where.out / "trials.parquet", [trials_table(records, "sweep")])
    report = write_report(
        where.out / "report.html",
        f"sweep {path.stem} (catalog v{where.version}, {sweep.start}..{sweep.end})",
        records,
        sweep.report.heatmap,
        sweep.report.top,
    )
    return SweepOutcome(
        catalog_version=where.version,
        trials=len(records),
        feasible=sum(r.feasible for r in records),
        table=table,
        report=report,
        best=best(records, sweep.report.top),
    )


def sweep_records(
    sweep: SweepConfig,
    where: Resolved,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> list[TrialRecord]:
    """Run the sweep's trials on its window (no files written)."""
    window = Window(where.catalog, where.version, sweep.start, sweep.end)
    return run_search(sweep, where.config, window, executor, progress)
