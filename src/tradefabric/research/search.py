"""The search: trials of a parameter space on one window, serially or on an executor.

Grid and random points are fixed before the first trial, and Optuna's TPE asks
``batch`` points at a time and is told their scores in order, so the trials and
their order depend only on the config and the seed, never on the executor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.node.kernel import TradingConfig
from tradefabric.research.objective import Constraints, Objective
from tradefabric.research.prefilter_search import PrefilterSettings, prefilter_points
from tradefabric.research.space import (
    ParamSpec,
    Sampler,
    check_space,
    grid_points,
    random_points,
)
from tradefabric.research.study import StudyConfig
from tradefabric.research.trial import ParamSet, TrialResult, apply_params, run_trial

Progress = Callable[[int, int], None]
"""(trials done, trials in total) -> None."""


class SearchConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The parameter space, how it is sampled, and what is optimised."""

    params: dict[str, ParamSpec]
    sampler: Sampler = Sampler.GRID
    trials: int = 50
    """Trials of random and TPE sampling (a grid runs every point)."""
    batch: int = 1
    """TPE points asked before their scores are told (parallel trials)."""
    seed: int = 0
    objective: Objective = Objective()
    constraints: Constraints = Constraints()
    prefilter: PrefilterSettings | None = None
    """Grid/random over one ema_cross strategy: run only the ``top`` points by the
    vectorized path's return (``research.prefilter_search``)."""
    study: StudyConfig | None = None
    """TPE only: keep the Optuna study in a database, shared with other sweeps (give each
    sharing sweep its own seed: TPE's first trials are seeded random draws)."""

    def __post_init__(self) -> None:
        check_space(self.params)
        if self.trials < 1 or self.batch < 1:
            raise ConfigError("trials and batch: must be >= 1")
        if self.prefilter is not None and self.sampler is Sampler.TPE:
            raise ConfigError("prefilter: only for grid and random sampling")


class TrialJob(msgspec.Struct, frozen=True, kw_only=True):
    """Everything one trial needs: it can be shipped to any worker."""

    index: int
    config: TradingConfig
    catalog: Path
    version: int
    start: str
    end: str
    params: ParamSet


class TrialRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One trial of a search: its result or why it could not run, its score."""

    index: int
    params: ParamSet
    result: TrialResult | None
    error: str = ""
    score: float | None = None
    """Objective score (higher is better); None when the trial failed."""
    violations: list[str] = []

    @property
    def feasible(self) -> bool:
        """Return whether the trial ran and met every constraint."""
        return self.score is not None and not self.violations


def evaluate(job: TrialJob) -> TrialResult | str:
    """Run one trial; return its result, or why the strategy refused its params.

    Only the params' errors are a trial's outcome: a window or catalog without
    candles is the search's error and raises.
    """
    try:
        config = apply_params(job.config, job.params)
    except ConfigError as exc:
        return str(exc)
    result = run_trial(config, job.catalog, job.version, job.start, job.end)
    return msgspec.structs.replace(result, params=job.params)


class Executor(Protocol):
    """Runs trial jobs and returns their outcomes in job order."""

    @property
    def parallelism(self) -> int:
        """Return how many trials run at once (grid and random send this many per batch)."""
        ...

    def map(self, jobs: Sequence[TrialJob]) -> list[TrialResult | str]:
        """Run every job."""
        ...


class SerialExecutor:
    """Run trials one after another in this process."""

    parallelism = 1

    def map(self, jobs: Sequence[TrialJob]) -> list[TrialResult | str]:
        """Run every job in order."""
        return [evaluate(job) for job in jobs]


class Window(msgspec.Struct, frozen=True):
    """The data a search runs on: a catalog pinned to a version, and ``[start, end)``."""

    catalog: Path
    version: int
    start: str
    end: str


def _record(search: SearchConfig, job: TrialJob, outcome: TrialResult | str) -> TrialRecord:
    if isinstance(outcome, str):
        return TrialRecord(index=job.index, params=job.params, result=None, error=outcome)
    return TrialRecord(
        index=job.index,
        params=job.params,
        result=outcome,
        score=search.objective.score(outcome.metrics),
        violations=search.constraints.violations(outcome.metrics),
    )


def run_search(
    search: SearchConfig,
    config: TradingConfig,
    window: Window,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> list[TrialRecord]:
    """Run the search's trials on ``window``; return one record per trial, in order."""
    run = executor or SerialExecutor()

    def jobs(points: Sequence[ParamSet], first: int) -> list[TrialJob]:
        return [
            TrialJob(index=first + i, config=config, catalog=window.catalog,
                     version=window.version, start=window.start, end=window.end, params=p)
            for i, p in enumerate(points)
        ]  # fmt: skip

    if search.sampler is Sampler.TPE:
        return _run_tpe(search, jobs, run, progress)
    if search.sampler is Sampler.GRID:
        points = grid_points(search.params)
    else:
        points = random_points(search.params, search.trials, search.seed)
    if search.prefilter is not None:
        where = (window.catalog, window.version, window.start, window.end)
        points = prefilter_points(points, config, where, search.prefilter)
    records: list[TrialRecord] = []
    # Fixed points: any chunking gives the same trials; chunks keep every worker busy.
    step = max(search.batch, 8 * run.parallelism)
    for first in range(0, len(points), step):
        batch = jobs(points[first : first + step], first)
        records.extend(_record(search, j, o) for j, o in zip(batch, run.map(batch), strict=True))
        if progress is not None:
            progress(len(records), len(points))
    return records


def _run_tpe(
    search: SearchConfig,
    jobs: Callable[[Sequence[ParamSet], int], list[TrialJob]],
    run: Executor,
    progress: Progress | None,
) -> list[TrialRecord]:
    from tradefabric.research.tpe import TpeStudy  # noqa: PLC0415 - optuna: only TPE pays

    study = TpeStudy(search.params, search.seed, search.study)
    records: list[TrialRecord] = []
    while len(records) < search.trials:
        count = min(search.batch, search.trials - len(records))
        asked = study.ask(count)
        batch = jobs([a.params for a in asked], len(records))
        done = [_record(search, j, o) for j, o in zip(batch, run.map(batch), strict=True)]
        for a, rec in zip(asked, done, strict=True):
            study.tell(a, rec.score if rec.feasible else None)
        records.extend(done)
        if progress is not None:
            progress(len(records), search.trials)
    return records


def best(records: Sequence[TrialRecord], top: int = 1) -> list[TrialRecord]:
    """Return the ``top`` feasible records by score (ties: the earlier trial first)."""
    feasible = [r for r in records if r.feasible]
    feasible.sort(key=lambda r: (-(r.score or 0.0), r.index))
    return feasible[:top]
