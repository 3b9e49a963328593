"""The scheduled retraining job: ``research models retrain`` in a node's worker process."""

from __future__ import annotations

from pathlib import Path

import msgspec

from tradefabric.core.time import ns_to_iso
from tradefabric.core.worker import JobRequest
from tradefabric.ops.jobs import RetrainArgs, job_args
from tradefabric.research.retrain import retrain
from tradefabric.research.training import load_model_config


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
