"""The built-in batch jobs a node's scheduler runs in worker processes, and their arguments.

Each job is a function of a ``JobRequest`` (``core.worker``) returning a summary;
its arguments are a frozen struct here, so the node checks a schedule entry's
``args:`` when it loads the config, long before the job first runs. Retraining
lives with the research code (``research.jobs``); its arguments are here so the
node can check them without importing research (which builds on the node).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.core.time import NS_PER_DAY, ns_to_iso
from tradefabric.core.worker import JobRequest
from tradefabric.ops.report import run_days, write_daily_report
from tradefabric.ops.s3_copy import CopyReport, S3Target, copy_run
from tradefabric.store.compaction import CompactionReport, compact
from tradefabric.store.schema import DataType


class DailyReportArgs(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``daily_report``: the report of the UTC day before the scheduled minute."""

    run_dir: str | None = None
    """The run folder (default: the node's)."""
    initial_equity: float | None = None
    """Filled in by the node (its configured balances)."""


class CompactArgs(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``compact``: merge the catalog's small files (``store.compaction``)."""

    catalog: str
    """The catalog root: a directory or an fsspec URL."""
    data_type: DataType | None = None
    """One table (``trades``, ``candles``...); None: all."""


class RetrainArgs(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``retrain``: ``research models retrain -c CONFIG`` (``research.retrain``)."""

    config: str
    """The model's config file (MODEL.yaml)."""
    who: str = "scheduler"
    """Who the promotion decision is audited as."""


class HoldArgs(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a strategy's recent backtest must show to hold (``research.objective.Constraints``)."""

    min_trades: int | None = None
    max_drawdown: float | None = None
    min_sharpe: float | None = 0.0
    min_return: float | None = None


class RegimeBacktestArgs(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``regime_backtest`` (``event: regime_change``): the node's strategies backtested on
    the window up to the change (``research.regime_backtest``)."""

    base: str | None = None
    """The trading config whose strategies are checked (default: the node's config file)."""
    catalog: str | None = None
    """The catalog the backtests read (default: the config's ``data.catalog``)."""
    catalog_version: int | None = None
    """Default: the catalog's newest version when the job runs."""
    recent: str = "3d"
    """Each check backtests ``[change - recent, change)``."""
    hold: HoldArgs = HoldArgs()
    out: str | None = None
    """Folder of the reports (default: ``<run dir>/research``)."""


class S3CopyArgs(S3Target, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``s3_copy``: the run's audit log and daily reports to S3 (``ops.s3_copy``)."""

    run_dir: str | None = None
    """The run folder (default: the node's)."""
    audit: bool = True
    reports: bool = True


class DailyReportDone(msgspec.Struct, frozen=True, kw_only=True):
    """What ``daily_report`` did."""

    day: str
    html: str | None
    """None: the run has nothing on that day."""


def job_args(args: dict[str, Any], kind: type[msgspec.Struct], where: str) -> Any:
    """Decode ``args`` as ``kind``; raise ``ConfigError`` naming ``where`` and the key."""
    try:
        return msgspec.convert(args, kind)
    except (msgspec.ValidationError, ConfigError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _run_dir(request: JobRequest, given: str | None) -> Path:
    path = given or request.run_dir
    if path is None:
        raise ConfigError(f"job {request.name}: give args.run_dir (the node has no run folder)")
    return Path(path)


def daily_report(request: JobRequest) -> DailyReportDone:
    """Write the report of the day before ``request.due_ns`` (when the run has that day)."""
    args: DailyReportArgs = job_args(request.args, DailyReportArgs, f"job {request.name}")
    run_dir = _run_dir(request, args.run_dir)
    day = ns_to_iso(request.due_ns - NS_PER_DAY)[:10]
    if day not in run_days(run_dir):
        return DailyReportDone(day=day, html=None)
    paths = write_daily_report(run_dir, day, args.initial_equity)
    return DailyReportDone(day=day, html=str(paths.html))


def compact_catalog(request: JobRequest) -> CompactionReport:
    """Merge the catalog's small files into one file per partition (one version)."""
    args: CompactArgs = job_args(request.args, CompactArgs, f"job {request.name}")
    return compact(args.catalog, args.data_type)


def s3_copy(request: JobRequest) -> CopyReport:
    """Copy the run's audit files and daily reports to S3 (verified; unchanged skipped)."""
    args: S3CopyArgs = job_args(request.args, S3CopyArgs, f"job {request.name}")
    return copy_run(_run_dir(request, args.run_dir), args, audit=args.audit, reports=args.reports)
