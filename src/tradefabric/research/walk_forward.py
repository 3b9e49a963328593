"""Walk-forward optimisation: optimise in-sample, trade the next window out of sample.

Windows roll (or, ``anchored``, grow from ``start``) by ``step``; each in-sample
search picks the best feasible params, which then trade the out-of-sample window
that follows. The out-of-sample equity curves, chained, are the result; the
in-sample vs out-of-sample degradation, the deflated Sharpe ratio and the PBO
(CSCV over each window's in-sample trials) say how much of the in-sample score
was selection luck.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np

from tradefabric.core.errors import ConfigError
from tradefabric.core.time import interval_to_ns, ns_to_iso, parse_utc
from tradefabric.research.config import Resolved, WalkForwardConfig, load, resolve
from tradefabric.research.overfitting import (
    DeflatedSharpe,
    Pbo,
    deflated_sharpe,
    probability_of_overfitting,
    returns_of,
    sharpe,
)
from tradefabric.research.search import Executor, Progress, TrialRecord, Window, best, run_search
from tradefabric.research.table import trials_table, write_trials
from tradefabric.research.trial import ParamSet, TrialResult, run_trial


class WindowSpan(msgspec.Struct, frozen=True):
    """One in-sample window and the out-of-sample window after it (UTC ISO)."""

    is_start: str
    is_end: str
    oos_start: str
    oos_end: str


class WindowResult(msgspec.Struct, frozen=True, kw_only=True):
    """One walk-forward step: the chosen params, their in- and out-of-sample figures."""

    span: WindowSpan
    params: ParamSet | None
    """None: no in-sample trial was feasible (the window is not traded)."""
    is_score: float
    oos_score: float
    is_sharpe: float
    oos_sharpe: float
    """Per period (equity samples), as the DSR and PBO use."""
    oos_return: float
    trials: int
    dsr: DeflatedSharpe | None
    pbo: Pbo | None


class WalkForwardResult(msgspec.Struct, frozen=True, kw_only=True):
    """The walk-forward's windows, stitched out-of-sample curve and overfitting figures."""

    catalog_version: int
    seed: int
    windows: list[WindowResult]
    oos_ts: list[int]
    oos_equity: list[float]
    oos_return: float
    mean_is_score: float
    mean_oos_score: float
    degradation: float
    """Mean in-sample score - mean out-of-sample score (> 0: worse out of sample); a
    difference, not a ratio, as scores such as Sharpe ratios may be negative."""
    dsr: DeflatedSharpe
    """Of the stitched out-of-sample returns, against every in-sample trial's Sharpe."""
    mean_pbo: float


def window_spans(cfg: WalkForwardConfig) -> list[WindowSpan]:
    """Return the windows from ``start`` while an out-of-sample window fits before ``end``."""
    start, end = parse_utc(cfg.start), parse_utc(cfg.end)
    is_len, oos_len = interval_to_ns(cfg.in_sample), interval_to_ns(cfg.out_of_sample)
    step = interval_to_ns(cfg.step) if cfg.step else oos_len
    spans: list[WindowSpan] = []
    k = 0
    while start + is_len + k * step + oos_len <= end:
        is_end = start + is_len + k * step
        is_start = start if cfg.anchored else is_end - is_len
        spans.append(
            WindowSpan(ns_to_iso(is_start), ns_to_iso(is_end), ns_to_iso(is_end),
                       ns_to_iso(is_end + oos_len))
        )  # fmt: skip
        k += 1
    if not spans:
        raise ConfigError(
            f"walk-forward: {cfg.in_sample} in-sample + {cfg.out_of_sample} out-of-sample "
            f"do not fit between {cfg.start} and {cfg.end}"
        )
    return spans


def _pbo(records: list[TrialRecord], blocks: int) -> Pbo | None:
    curves = [r.result.equity for r in records if r.result is not None and r.feasible]
    if len(curves) < 2:
        return None
    n = min(len(c) for c in curves)
    matrix = np.column_stack([returns_of(c[:n]) for c in curves])
    if matrix.shape[0] < 2 * blocks:
        return None
    return probability_of_overfitting(matrix, blocks)


def _trial_sharpes(records: list[TrialRecord]) -> list[float]:
    return [sharpe(returns_of(r.result.equity)) for r in records if r.result and r.feasible]


def _step(
    cfg: WalkForwardConfig, where: Resolved, span: WindowSpan, records: list[TrialRecord]
) -> tuple[WindowResult, TrialResult | None]:
    chosen = best(records)
    empty = WindowResult(
        span=span, params=None, is_score=0.0, oos_score=0.0, is_sharpe=0.0, oos_sharpe=0.0,
        oos_return=0.0, trials=len(records), dsr=None, pbo=None,
    )  # fmt: skip
    if not chosen or chosen[0].result is None:
        return empty, None
    top = chosen[0]
    assert top.result is not None
    oos = run_trial(where.config, where.catalog, where.version, span.oos_start, span.oos_end,
                    params=top.params)  # fmt: skip
    is_returns = returns_of(top.result.equity)
    return WindowResult(
        span=span,
        params=top.params,
        is_score=top.score or 0.0,
        oos_score=cfg.objective.score(oos.metrics),
        is_sharpe=sharpe(is_returns),
        oos_sharpe=sharpe(returns_of(oos.equity)),
        oos_return=oos.metrics.total_return,
        trials=len(records),
        dsr=deflated_sharpe(is_returns, _trial_sharpes(records)),
        pbo=_pbo(records, cfg.pbo_blocks),
    ), oos


def _stitch(curves: list[TrialResult]) -> tuple[list[int], list[float]]:
    """Chain the out-of-sample curves: each window starts where the last one ended."""
    ts: list[int] = []
    equity: list[float] = []
    for oos in curves:
        scale = equity[-1] / oos.metrics.initial_equity if equity else 1.0
        for t, e in zip(oos.equity_ts, oos.equity, strict=True):
            # One sample per time: the final sample of a run repeats its last timer's time.
            if ts and t <= ts[-1]:
                equity[-1] = e * scale
            else:
                ts.append(t)
                equity.append(e * scale)
    return ts, equity


def walk_forward(
    cfg: WalkForwardConfig,
    where: Resolved,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> tuple[WalkForwardResult, list[list[TrialRecord]]]:
    """Run every window; return the result and each window's in-sample trials."""
    spans = window_spans(cfg)
    windows: list[WindowResult] = []
    curves: list[TrialResult] = []
    all_records: list[list[TrialRecord]] = []
    for i, span in enumerate(spans):
        window = Window(where.catalog, where.version, span.is_start, span.is_end)
        records = run_search(cfg, where.config, window, executor)
        all_records.append(records)
        step, oos = _step(cfg, where, span, records)
        windows.append(step)
        if oos is not None:
            curves.append(oos)
        if progress is not None:
            progress(i + 1, len(spans))
    ts, equity = _stitch(curves)
    traded = [w for w in windows if w.params is not None]
    mean_is = float(np.mean([w.is_score for w in traded])) if traded else 0.0
    mean_oos = float(np.mean([w.oos_score for w in traded])) if traded else 0.0
    pbos = [w.pbo.pbo for w in windows if w.pbo is not None]
    sharpes = [s for records in all_records for s in _trial_sharpes(records)]
    result = WalkForwardResult(
        catalog_version=where.version,
        seed=cfg.seed,
        windows=windows,
        oos_ts=ts,
        oos_equity=equity,
        oos_return=equity[-1] / curves[0].metrics.initial_equity - 1.0 if curves else 0.0,
        mean_is_score=mean_is,
        mean_oos_score=mean_oos,
        degradation=mean_is - mean_oos,
        dsr=deflated_sharpe(returns_of(equity), sharpes),
        mean_pbo=float(np.mean(pbos)) if pbos else 0.0,
    )
    return result, all_records


class WalkForwardOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """A finished walk-forward and the files it wrote."""

    result: WalkForwardResult
    json: Path
    table: Path
    report: Path


def run_walk_forward(
    path: Path, executor: Executor | None = None, progress: Progress | None = None
) -> WalkForwardOutcome:
    """Load the config at ``path``, run it, write the result, trials table and report."""
    # Imported here: the report module imports this one for its types.
    from tradefabric.research.wf_report import write_wf_report  # noqa: PLC0415

    cfg = load(path, WalkForwardConfig)
    where = resolve(path, cfg)
    result, records = walk_forward(cfg, where, executor, progress)
    where.out.mkdir(parents=True, exist_ok=True)
    json_path = where.out / "walk_forward.json"
    json_path.write_bytes(msgspec.json.format(msgspec.json.encode(result)) + b"\n")
    tables = [
        trials_table(r, f"{w.span.is_start}..{w.span.is_end}")
        for r, w in zip(records, result.windows, strict=True)
    ]
    table = write_trials(where.out / "trials.parquet", tables)
    report = write_wf_report(where.out / "report.html", path.stem, result)
    return WalkForwardOutcome(result=result, json=json_path, table=table, report=report)
