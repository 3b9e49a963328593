"""Retrain on the newest window; promote only a challenger that beats the promoted model.

``retrain`` trains ``MODEL.yaml``'s model (give ``window: 14d`` to train on the
span up to the catalog's newest candle), stores it, then scores it and the
promoted model of the same name on the challenger's out-of-sample tail, with the
challenger's labels, so both face the same rows. The challenger is promoted
only if it is better by more than ``min_improvement`` on ``metric``; the
decision, promoted or refused, is written to the registry's audit log with the
two scores. With no promoted model yet the challenger is promoted.

The node's scheduler runs it as ``job: retrain`` (``research.jobs``, in a worker process);
cron or a systemd timer as ``tradefabric research models retrain -c MODEL.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.research.calibration import Metrics
from tradefabric.research.monitor import score_on_window
from tradefabric.research.registry import Promotion, Registry
from tradefabric.research.training import ModelConfig, ModelRecord, Trained, train_model
from tradefabric.store.catalog import Catalog

Metric = Literal["log_loss", "brier", "accuracy", "hit_rate"]
LOWER_IS_BETTER = {"log_loss", "brier"}


class Comparison(msgspec.Struct, frozen=True, kw_only=True):
    """Two models scored on the same window and labels, and which is better."""

    metric: str
    window: tuple[str, str]
    challenger: str
    champion: str
    challenger_metrics: Metrics
    champion_metrics: Metrics
    improvement: float
    """How much better the challenger is on ``metric`` (positive: better)."""
    champion_saw_window: bool
    """The champion's training rows reach into the window: its score flatters it."""


class RetrainOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """What a retraining run did: the challenger, the comparison, the audited decision."""

    challenger: ModelRecord
    comparison: Comparison | None
    decision: Promotion


def improvement(metric: str, challenger: Metrics, champion: Metrics) -> float:
    """Return how much better ``challenger`` is than ``champion`` on ``metric``."""
    a, b = _value(challenger, metric), _value(champion, metric)
    return b - a if metric in LOWER_IS_BETTER else a - b


def _value(m: Metrics, metric: str) -> float:
    value = getattr(m, metric)
    return float("nan") if value is None else float(value)  # NaN never beats anything


def compare(
    registry: Registry, challenger: str, champion: str, catalog: Path, metric: Metric = "log_loss"
) -> Comparison:
    """Score two models on the challenger's out-of-sample window with its labels."""
    if metric not in ("log_loss", "brier", "accuracy", "hit_rate"):
        raise ConfigError(f"metric {metric!r}: use log_loss, brier, accuracy or hit_rate")
    new, new_learner = registry.load(challenger)
    old, old_learner = registry.load(champion)
    cat = Catalog(catalog, version=new.catalog_version)
    window = (new.test_start, new.test_end)
    new_m = score_on_window(new, new_learner, cat, window, barrier=new.barrier)
    old_m = score_on_window(old, old_learner, cat, window, barrier=new.barrier)
    return Comparison(
        metric=metric, window=window, challenger=new.id, champion=old.id,
        challenger_metrics=new_m, champion_metrics=old_m,
        improvement=improvement(metric, new_m, old_m),
        champion_saw_window=old.train_end > new.test_start,
    )  # fmt: skip


def retrain(
    config: ModelConfig,
    *,
    who: str,
    now_ns: int,
    created: str,
) -> RetrainOutcome:
    """Train a challenger, compare it with the promoted model, promote or refuse (audited)."""
    metric, min_improvement = config.retrain.metric, config.retrain.min_improvement
    root = Path(config.catalog)
    registry = Registry(root)
    trained: Trained = train_model(config, created)
    registry.save(trained)
    new = trained.record
    current = registry.promoted(config.name)
    if current is None or current == new.id:
        why = "first model of this name" if current is None else "already the promoted model"
        decision = registry.promote(
            new.id, who=who, why=why, now_ns=now_ns, refused=current == new.id
        )
        return RetrainOutcome(challenger=new, comparison=None, decision=decision)
    comparison = compare(registry, new.id, current, root, metric)
    better = comparison.improvement > min_improvement
    why = (
        f"retrain: {metric} on {comparison.window[0]}..{comparison.window[1]}: challenger "
        f"{_value(comparison.challenger_metrics, metric):.5f} vs promoted "
        f"{_value(comparison.champion_metrics, metric):.5f} (improvement "
        f"{comparison.improvement:+.5f}, needed > {min_improvement})"
    )
    decision = registry.promote(new.id, who=who, why=why, now_ns=now_ns, refused=not better)
    return RetrainOutcome(challenger=new, comparison=comparison, decision=decision)
