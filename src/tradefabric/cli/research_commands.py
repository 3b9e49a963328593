"""``tradefabric research sweep`` and ``research walk-forward``: parameter search."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from tradefabric.cli.models_commands import app as models_app
from tradefabric.cli.output import fail, stdout
from tradefabric.cli.output import stderr as err_console
from tradefabric.core.errors import TradefabricError
from tradefabric.ops.run_record import json_text
from tradefabric.research.regime_backtest import run_regime_backtest
from tradefabric.research.search import Executor
from tradefabric.research.sweep import run_sweep
from tradefabric.research.walk_forward import run_walk_forward

T = TypeVar("T")

app = typer.Typer(
    help="Research: parameter sweeps and walk-forward optimisation.", no_args_is_help=True
)
app.add_typer(models_app, name="models")

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Sweep/walk-forward YAML.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")]
AddressOption = Annotated[
    str | None,
    typer.Option("--address", help="Run the trials on the Ray cluster at this address."),
]
WorkersOption = Annotated[
    int,
    typer.Option("--workers", help="Run the trials on a local Ray of N CPUs (0: serially)."),
]


@contextmanager
def _executor(address: str | None, workers: int) -> Iterator[Executor | None]:
    if address is None and workers == 0:
        yield None
        return
    # Ray is heavy: loaded only when asked for.
    from tradefabric.research.ray_executor import RayExecutor  # noqa: PLC0415

    with RayExecutor(address, workers or 2) as executor:
        yield executor


@contextmanager
def _bar(label: str) -> Iterator[Callable[[int, int], None]]:
    columns = (TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("trials", total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def _research(
    label: str,
    address: str | None,
    workers: int,
    job: Callable[[Executor | None, Callable[[int, int], None]], T],
) -> T:
    """Run ``job`` on the chosen executor behind a progress bar; errors end the command."""
    try:
        with _executor(address, workers) as executor, _bar(label) as update:
            return job(executor, update)
    except TradefabricError as exc:
        raise fail(exc) from exc


def _printed_as_json(outcome: object, json_output: bool) -> bool:
    if json_output:
        sys.stdout.write(json_text(outcome) + "\n")
    return json_output


@app.command("sweep")
def sweep(
    config: ConfigOption,
    address: AddressOption = None,
    workers: WorkersOption = 0,
    json_output: JsonOption = False,
) -> None:
    """Run a parameter sweep; write trials.parquet and report.html (heatmap, best curves)."""
    outcome = _research(
        "sweep", address, workers, lambda ex, update: run_sweep(config, ex, progress=update)
    )
    if _printed_as_json(outcome, json_output):
        return
    stdout.print(
        f"catalog v{outcome.catalog_version}: {outcome.trials} trials, "
        f"{outcome.feasible} feasible; table {outcome.table}; report {outcome.report}"
    )
    for r in outcome.best:
        m = r.result.metrics if r.result else None
        if m is not None:
            stdout.print(
                f"#{r.index} {r.params.label()}: score {r.score:.4f}, sharpe {m.sharpe:.3f}, "
                f"return {m.total_return:+.4%}, max DD {m.max_drawdown:.4%}, "
                f"trades {m.closing_trades}",
                highlight=False,
            )


@app.command("walk-forward")
def walk_forward(
    config: ConfigOption,
    address: AddressOption = None,
    workers: WorkersOption = 0,
    json_output: JsonOption = False,
) -> None:
    """Optimise in-sample, trade the next window; stitched OOS equity, degradation, DSR, PBO."""
    outcome = _research(
        "walk-forward",
        address,
        workers,
        lambda ex, update: run_walk_forward(config, ex, progress=update),
    )
    if _printed_as_json(outcome, json_output):
        return
    r = outcome.result
    for w in r.windows:
        params = w.params.label() if w.params else "(no feasible trial)"
        stdout.print(
            f"{w.span.is_start[:10]}..{w.span.is_end[:10]} -> {w.span.oos_end[:10]}: {params}; "
            f"IS {w.is_score:.4f}, OOS {w.oos_score:.4f}, OOS return {w.oos_return:+.4%}",
            highlight=False,
        )
    stdout.print(
        f"catalog v{r.catalog_version}: OOS return {r.oos_return:+.4%}, degradation "
        f"{r.degradation:+.4f}, deflated Sharpe {r.dsr.dsr:.3f}, mean PBO {r.mean_pbo:.3f}; "
        f"{outcome.json}, {outcome.table}, {outcome.report}",
        highlight=False,
    )


@app.command("regime-backtest")
def regime_backtest(config: ConfigOption, json_output: JsonOption = False) -> None:
    """At each regime change, backtest every strategy on the recent window: which still hold."""
    try:
        report = run_regime_backtest(config)
    except TradefabricError as exc:
        raise fail(exc) from exc
    if _printed_as_json(report, json_output):
        return
    for check in report.checks:
        held = [s.strategy for s in check.strategies if s.holds]
        stdout.print(
            f"{check.at[:16]} {check.previous} -> {check.regime}: holds {held or 'none'}",
            highlight=False,
        )
        for s in check.strategies:
            why = f" ({'; '.join(s.violations)})" if s.violations else ""
            stdout.print(
                f"  {s.strategy}: return {s.total_return:+.4%}, sharpe {s.sharpe:.3f}, "
                f"max DD {s.max_drawdown:.4%}, trades {s.closing_trades}{why}",
                highlight=False,
            )
    stdout.print(
        f"catalog v{report.catalog_version}: {report.changes} regime changes; {report.json}",
        highlight=False,
    )
