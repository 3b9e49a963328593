"""Research jobs a node's scheduler runs in worker processes: the scheduled retraining
(``research models retrain``) and the auto-backtest on a regime change."""

from __future__ import annotations

from pathlib import Path

import msgspec

from tradefabric.analytics.regime import RegimeChange
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import ns_to_iso
from tradefabric.core.worker import JobRequest
from tradefabric.node.kernel import load_config
from tradefabric.ops.jobs import RegimeBacktestArgs, RetrainArgs, job_args
from tradefabric.research.objective import Constraints
from tradefabric.research.regime_backtest import Backtester
from tradefabric.research.retrain import retrain
from tradefabric.research.training import load_model_config
from tradefabric.store.catalog import Catalog


class RetrainDone(msgspec.Struct, frozen=True, kw_only=True):
    """What a scheduled retraining decided."""

    challenger: str
    outcome: str
    """``promoted`` or ``refused``."""
    why: str
    improvement: float | None
    """The challenger's margin on the config's metric (None: nothing to compare with)."""


def retrain_job(request: JobRequest) -> RetrainDone:
    """Train on the newest window; promote only a challenger that beats the promoted model.

    The decision is audited in the registry as ``args.who`` at the scheduled minute.
    """
    args: RetrainArgs = job_args(request.args, RetrainArgs, f"job {request.name}")
    config = load_model_config(Path(args.config))
    outcome = retrain(
        config, who=args.who, now_ns=request.due_ns, created=ns_to_iso(request.due_ns)
    )
    comparison = outcome.comparison
    return RetrainDone(
        challenger=outcome.challenger.id,
        outcome=outcome.decision.outcome,
        why=outcome.decision.why,
        improvement=comparison.improvement if comparison is not None else None,
    )


class RegimeBacktestDone(msgspec.Struct, frozen=True, kw_only=True):
    """The verdict of each strategy after a regime change (the alert carries it)."""

    at: str
    asset: str
    change: str
    """``previous->regime``."""
    verdicts: dict[str, str]
    """Strategy id -> ``holds`` or ``fails`` for the strategies trading ``asset``; the
    reasons are in ``json``."""
    json: str
    """The full check; empty when no strategy trades the asset (nothing was run)."""


def regime_backtest_job(request: JobRequest) -> RegimeBacktestDone:
    """Backtest the config's strategies of the changed asset on the window up to the
    regime change that started this run; write the check to the run's research folder
    and say which hold."""
    args: RegimeBacktestArgs = job_args(request.args, RegimeBacktestArgs, f"job {request.name}")
    if request.event is None:
        raise ConfigError(f"job {request.name}: runs on a regime change (event: regime_change)")
    change = msgspec.convert(request.event, RegimeChange)
    if args.base is None:
        raise ConfigError(f"job {request.name}: give args.base (the node has no config file)")
    config = load_config(Path(args.base))
    mine = tuple(s for s in config.strategies if s.symbol == change.asset)
    if not mine:  # the pipeline tracks an asset no strategy trades: nothing to check
        return RegimeBacktestDone(at=ns_to_iso(change.ts_event), asset=change.asset,
                                  change=f"{change.previous}->{change.regime}", verdicts={},
                                  json="")  # fmt: skip
    config = msgspec.structs.replace(config, strategies=mine)
    root = Path(args.catalog) if args.catalog else config.data.catalog
    if root is None:
        raise ConfigError(f"job {request.name}: give args.catalog (the config has no data.catalog)")
    version = args.catalog_version or Catalog(root).version
    hold = msgspec.convert(msgspec.to_builtins(args.hold), Constraints)
    check = Backtester(config, root, version, hold).check_change(change, args.recent)
    target = _report_path(request, args, check.at)
    target.write_bytes(msgspec.json.format(msgspec.json.encode(check)) + b"\n")
    verdicts = {s.strategy: "holds" if s.holds else "fails" for s in check.strategies}
    return RegimeBacktestDone(at=check.at, asset=change.asset,
                              change=f"{check.previous}->{check.regime}",
                              verdicts=verdicts, json=str(target))  # fmt: skip


def _report_path(request: JobRequest, args: RegimeBacktestArgs, at: str) -> Path:
    if args.out is not None:
        folder = Path(args.out)
    elif request.run_dir is not None:
        folder = Path(request.run_dir) / "research"
    else:
        raise ConfigError(f"job {request.name}: give args.out (the node has no run folder)")
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"regime_backtest_{at.replace(':', '')}.json"
