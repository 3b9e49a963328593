"""``tradefabric research models``: train, list, show, compare, promote, drift, retrain."""

from __future__ import annotations

import getpass
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import msgspec
import typer

from tradefabric.cli.output import fail, print_json, stdout
from tradefabric.core.errors import ConfigError, TradefabricError
from tradefabric.core.time import ns_to_iso
from tradefabric.research.calibration import Metrics
from tradefabric.research.monitor import DriftReport, drift_report
from tradefabric.research.registry import Registry
from tradefabric.research.retrain import Comparison, Metric, RetrainOutcome, compare, retrain
from tradefabric.research.training import ModelRecord, load_model_config, train_model

T = TypeVar("T")

app = typer.Typer(
    help="Side models: train (purged CV + out-of-sample), registry, promotion, drift, retraining.",
    no_args_is_help=True,
)

CatalogOption = Annotated[
    Path, typer.Option("--catalog", help="Catalog root whose models/ folder is the registry.")
]
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="MODEL.yaml.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")]
ModelArg = Annotated[str, typer.Argument(help="Model id, unique id prefix, name, or JSON path.")]
WhoOption = Annotated[str, typer.Option("--who", help="Who decides (default: the OS user).")]


class ListedModel(msgspec.Struct, frozen=True, kw_only=True):
    """One row of ``models list --json``."""

    record: ModelRecord
    promoted: bool


def _run(job: Callable[[], T]) -> T:
    """Run ``job``; project errors end the command with one line on stderr."""
    try:
        return job()
    except TradefabricError as exc:
        raise fail(exc) from exc


def _metric(name: str) -> Metric:
    if name not in ("log_loss", "brier", "accuracy", "hit_rate"):
        raise fail(ConfigError(f"--metric {name!r}: use log_loss, brier, accuracy or hit_rate"))
    return name  # type: ignore[return-value]


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _user(who: str) -> str:
    return who or getpass.getuser()


def _metrics_line(label: str, m: Metrics) -> str:

    return (
        f"{label}: {m.rows} rows, accuracy {m.accuracy:.4f}, log loss {m.log_loss:.4f}, "
        f"Brier {m.brier:.4f} (base rate {m.base_rate:.3f}), calibration error "
        f"{m.calibration_error:.4f}, hit rate {_rate(m.hit_rate)} "
        f"on {m.signals} signals"
    )


def _print_record(record: ModelRecord, calibration: bool) -> None:

    r = record
    stdout.print(
        f"{r.id} ({r.learner.kind}, seed {r.learner.seed}) {r.venue} {r.symbol} {r.interval}: "
        f"train {r.train_start}..{r.train_end}, test {r.test_start}..{r.test_end}, catalog "
        f"v{r.catalog_version}; {r.train_rows} train rows ({r.purged_rows} purged); "
        f"features {', '.join(r.columns)}; hash {r.content_hash}",
        highlight=False,
    )
    stdout.print(_metrics_line("purged CV", r.cv_metrics), highlight=False)
    stdout.print(_metrics_line("out of sample", r.oos_metrics), highlight=False)
    if calibration:
        stdout.print("calibration (out of sample): bin, rows, mean predicted, observed")
        for b in r.oos_metrics.calibration:
            stdout.print(
                f"  {b.low:.1f}-{b.high:.1f}  {b.rows:6d}  {b.predicted:.3f}  {b.observed:.3f}"
            )


@app.command("train")
def train(config: ConfigOption, json_output: JsonOption = False) -> None:
    """Train MODEL.yaml's model; store it in the catalog's registry; print its scores."""

    def job() -> tuple[ModelRecord, Path]:
        settings = load_model_config(config)
        trained = train_model(settings, ns_to_iso(time.time_ns()))
        return trained.record, Registry(Path(settings.catalog)).save(trained)

    record, path = _run(job)
    if json_output:
        print_json(record)
        return
    _print_record(record, calibration=True)
    stdout.print(f"stored {path}", highlight=False)


@app.command("list")
def list_models(catalog: CatalogOption, json_output: JsonOption = False) -> None:
    """List the registry's models, oldest first; * marks each name's promoted model."""

    registry = Registry(catalog)
    records = _run(registry.records)
    promoted = {r.name: registry.promoted(r.name) for r in records}
    if json_output:
        print_json([ListedModel(record=r, promoted=promoted[r.name] == r.id) for r in records])
        return
    if not records:
        stdout.print(f"no models in {registry.folder}", highlight=False)
    for r in records:
        mark = "*" if promoted[r.name] == r.id else " "
        m = r.oos_metrics
        stdout.print(
            f"{mark} {r.id}  {r.learner.kind:13s} {r.symbol} {r.interval} "
            f"{r.train_start[:10]}..{r.test_end[:10]}  OOS acc {m.accuracy:.4f} "
            f"logloss {m.log_loss:.4f} Brier {m.brier:.4f} hit {_rate(m.hit_rate)}",
            highlight=False,
        )


@app.command("show")
def show(model: ModelArg, catalog: CatalogOption, json_output: JsonOption = False) -> None:
    """Show one model's record: window, features, params, metrics, calibration table."""

    record = _run(lambda: Registry(catalog).record(model))
    if json_output:
        print_json(record)
        return
    _print_record(record, calibration=True)
    stdout.print(f"params {record.learner.params}", highlight=False)


@app.command("compare")
def compare_models(
    challenger: ModelArg,
    champion: Annotated[str, typer.Argument(help="The model to beat (id, prefix or name).")],
    catalog: CatalogOption,
    metric: Annotated[str, typer.Option(help="log_loss | brier | accuracy | hit_rate.")] = (
        "log_loss"
    ),
    json_output: JsonOption = False,
) -> None:
    """Score two models on the first one's out-of-sample window, with its labels."""

    def job() -> Comparison:
        return compare(Registry(catalog), challenger, champion, catalog, _metric(metric))

    outcome = _run(job)
    if json_output:
        print_json(outcome)
        return
    stdout.print(f"window {outcome.window[0]}..{outcome.window[1]}", highlight=False)
    stdout.print(_metrics_line(outcome.challenger, outcome.challenger_metrics), highlight=False)
    stdout.print(_metrics_line(outcome.champion, outcome.champion_metrics), highlight=False)
    note = " (the second model trained on part of this window)" * outcome.champion_saw_window
    stdout.print(
        f"{metric}: the first is better by {outcome.improvement:+.5f}{note}", highlight=False
    )


@app.command("promote")
def promote(
    model: ModelArg,
    catalog: CatalogOption,
    why: Annotated[str, typer.Option("--why", help="Why (kept in the audit log).")],
    who: WhoOption = "",
    json_output: JsonOption = False,
) -> None:
    """Promote a model: the signal plugin's name reference then loads it (audited)."""

    entry = _run(
        lambda: Registry(catalog).promote(model, who=_user(who), why=why, now_ns=time.time_ns())
    )
    if json_output:
        print_json(entry)
        return
    stdout.print(
        f"promoted {entry.model} as {entry.name} (was {entry.previous or 'none'}) by "
        f"{entry.who} at {entry.when}: {entry.why}",
        highlight=False,
    )


@app.command("drift")
def drift_command(
    model: ModelArg,
    catalog: CatalogOption,
    recent: Annotated[str, typer.Option(help="Recent window (default: the model's).")] = "",
    json_output: JsonOption = False,
) -> None:
    """Feature drift (PSI per feature) and hit rate on the recent window vs validation."""

    def job() -> DriftReport:
        record, learner = Registry(catalog).load(model)
        return drift_report(record, learner, catalog, recent or None)

    report = _run(job)
    if json_output:
        print_json(report)
        return

    stdout.print(
        f"{report.model}: {report.start}..{report.end} (catalog v{report.catalog_version}), "
        f"drift {report.level}",
        highlight=False,
    )
    for f in report.features:
        stdout.print(f"  {f.column:24s} PSI {f.psi:8.4f}  {f.level}", highlight=False)
    alert = "  ALERT" if report.hit_rate_alert else ""
    stdout.print(
        f"hit rate recent {_rate(report.recent.hit_rate)} on {report.recent.signals} signals vs "
        f"validation {_rate(report.validation_hit_rate)}{alert}",
        highlight=False,
    )


@app.command("retrain")
def retrain_command(
    config: ConfigOption, who: WhoOption = "", json_output: JsonOption = False
) -> None:
    """Train on the newest window; promote only if it beats the promoted model (audited)."""

    def job() -> RetrainOutcome:
        now = time.time_ns()
        return retrain(
            load_model_config(config), who=_user(who), now_ns=now, created=ns_to_iso(now)
        )

    outcome = _run(job)
    if json_output:
        print_json(outcome)
        return

    _print_record(outcome.challenger, calibration=False)
    d = outcome.decision
    stdout.print(f"{d.outcome}: {d.model} ({d.why})", highlight=False)
