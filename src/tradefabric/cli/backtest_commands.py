"""``tradefabric backtest``, ``paper``, ``run``, ``report daily`` and ``report s3-copy``: run
folders and reports."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from tradefabric.cli.output import fail, stderr, stdout
from tradefabric.core.errors import DataSourceError, TradefabricError
from tradefabric.node.backtest import BacktestRunner
from tradefabric.node.kernel import load_config
from tradefabric.node.paper import PaperRunner
from tradefabric.node.run import BacktestResult
from tradefabric.node.trading_node import RunMode
from tradefabric.ops.report import ReportPaths, run_days, write_daily_report
from tradefabric.ops.run_record import json_text


def backtest(
    config: Annotated[Path, typer.Option("--config", "-c", help="Trading config (YAML).")],
    start: Annotated[
        str | None, typer.Option("--from", help="First candle open (UTC), overrides data.start.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="End (UTC, exclusive), overrides data.end.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Run folder (default: output_dir/<config name>).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Run a backtest over the catalog; write orders, fills, equity, metrics and a chart."""
    try:
        cfg = load_config(config)
        run_dir = out or cfg.output_dir / config.stem
        columns = (
            TextColumn("[bold]backtest"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=stderr, transient=True) as progress:
            task = progress.add_task("candles", total=None)

            def update(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            result = BacktestRunner(cfg, start, end).run(run_dir, update)
    except TradefabricError as exc:
        raise fail(exc) from exc
    if json_output:
        sys.stdout.write(json_text(result) + "\n")
    else:
        _print(result)


def _print(result: BacktestResult) -> None:
    m = result.metrics
    info = result.info
    source = (
        f"catalog v{info.catalog_version} ({(info.catalog_fingerprint or '')[:12]})"
        if info.catalog_version is not None
        else f"recording {info.recording}"
    )
    stdout.print(f"run folder: {result.run_dir}")
    stdout.print(f"data: {source}, {info.candles:,} candles, {result.candles_per_second:,.0f}/s")
    stdout.print(
        f"orders {result.orders}, fills {result.fills}, return {m.total_return:+.4%}, "
        f"sharpe {m.sharpe:.2f}, sortino {m.sortino:.2f}, max drawdown {m.max_drawdown:.4%}, "
        f"win rate {m.win_rate:.1%}, turnover {m.turnover:.2f}, fees {m.fees:.2f}, "
        f"slippage {m.slippage_cost:.2f} ({m.avg_slippage_bps:.2f} bps), "
        f"risk rejections {result.risk_rejections}"
    )
    for fault in result.faults:
        stdout.print(
            f"[red]fault[/]: {fault.component} raised {fault.error_type} on {fault.topic}: "
            f"{fault.error} -> {fault.action}",
            highlight=False,
        )
    if result.halted:
        stdout.print(f"[red]trading halted[/]: {result.halted}", highlight=False)


ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Trading config (YAML).")]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Run folder (default: output_dir/<config name>).")
]
WsOption = Annotated[
    str | None,
    typer.Option("--ws-url", help="WebSocket URL of the config's one feed (overrides feeds.*)."),
]
RestOption = Annotated[
    str | None,
    typer.Option("--rest-url", help="REST URL of the config's one feed (overrides feeds.*)."),
]
DurationOption = Annotated[
    float, typer.Option("--duration", help="Stop after this many seconds (0 = until Ctrl-C).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def paper(
    config: ConfigOption,
    out: OutOption = None,
    ws_url: WsOption = None,
    rest_url: RestOption = None,
    duration: DurationOption = 0.0,
    json_output: JsonOption = False,
) -> None:
    """Paper-trade the config's strategies on its live feeds, filling with the simulator.

    Runs until Ctrl-C (or --duration), then writes the run folder as a backtest does.
    """
    _run_node(config, out, (ws_url, rest_url), duration, json_output, RunMode.PAPER)


ConfirmLiveOption = Annotated[
    bool,
    typer.Option(
        "--confirm-live",
        help="Allow mode: live venues on production (non-testnet, non-local) endpoints.",
    ),
]


def run(
    config: ConfigOption,
    out: OutOption = None,
    ws_url: WsOption = None,
    rest_url: RestOption = None,
    duration: DurationOption = 0.0,
    json_output: JsonOption = False,
    confirm_live: ConfirmLiveOption = False,
) -> None:
    """Run the trading node on its live feeds, each venue executed as its `execution` says.

    `mode: sim|paper` venues fill with the simulator; `mode: live` venues send orders to
    the venue (after the same risk checks), reconciled at start and after every
    reconnect. A production endpoint is refused unless --confirm-live is given.
    """
    _run_node(config, out, (ws_url, rest_url), duration, json_output, RunMode.LIVE, confirm_live)


def _run_node(
    config: Path,
    out: Path | None,
    urls: tuple[str | None, str | None],
    duration: float,
    json_output: bool,
    mode: RunMode,
    confirm_live: bool = False,
) -> None:
    try:
        cfg = load_config(config)
        run_dir = out or cfg.output_dir / f"{config.stem}-{mode}"
        runner = PaperRunner(
            cfg, ws_url=urls[0], rest_url=urls[1], mode=mode, confirm_live=confirm_live,
            config_file=config,
        )  # fmt: skip
        result = asyncio.run(_live(runner, run_dir, duration))
    except TradefabricError as exc:
        raise fail(exc) from exc
    if json_output:
        sys.stdout.write(json_text(result) + "\n")
    else:
        _print(result)


async def _live(runner: PaperRunner, run_dir: Path, duration: float) -> BacktestResult:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    task = asyncio.create_task(runner.run(run_dir, stop))
    started = loop.time()
    while not task.done():
        await asyncio.wait({task}, timeout=1.0)
        s = runner.status()
        if s is not None:
            halted = f", HALTED: {s.halt_reason}" if s.halted else ""
            stderr.print(
                f"{s.mode}: {s.trades:,} trades, {s.candles:,} candles, {s.orders} orders, "
                f"{s.fills} fills, equity {s.equity:,.2f}, {len(s.faults)} faults{halted}",
                end="\r",
            )
        if duration and loop.time() - started >= duration:
            stop.set()
    return await task


report_app = typer.Typer(
    help="Reports on run folders: daily reports, copies to S3.", no_args_is_help=True
)


@report_app.command("daily")
def report_daily(
    run: Annotated[Path, typer.Option("--run", help="Run folder (backtest or paper).")],
    day: Annotated[
        str | None,
        typer.Option("--day", help="UTC day YYYY-MM-DD (default: every day of the run)."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the paths as JSON.")] = False,
) -> None:
    """Write the daily HTML report (charts embedded) and its JSON twin into RUN/reports/."""
    try:
        if not run.is_dir():
            raise DataSourceError(f"{run}: no such run folder")
        known = run_days(run)
        if day and day not in known:
            span = f"{known[0]} .. {known[-1]}" if known else "none"
            raise DataSourceError(f"--day {day}: outside the run {run} (its days: {span})")
        days = [day] if day else known
        written: list[ReportPaths] = [write_daily_report(run, d) for d in days]
    except TradefabricError as exc:
        raise fail(exc) from exc
    if json_output:
        sys.stdout.write(json_text(written) + "\n")
        return
    for paths in written:
        stdout.print(f"{paths.day}: {paths.html} {paths.json}")
    if not written:
        stdout.print(f"{run}: no days with equity samples or fills")


@report_app.command("s3-copy")
def report_s3_copy(
    run: Annotated[Path, typer.Option("--run", help="Run folder (its audit log and reports/).")],
    bucket: Annotated[str, typer.Option("--bucket", help="S3 bucket.")],
    prefix: Annotated[str, typer.Option("--prefix", help="Key prefix (then the run's name).")] = "",
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="S3-compatible endpoint (default: AWS).")
    ] = None,
    region: Annotated[str, typer.Option("--region", help="Region.")] = "us-east-1",
    audit: Annotated[bool, typer.Option("--audit/--no-audit", help="Copy the audit log.")] = True,
    reports: Annotated[
        bool, typer.Option("--reports/--no-reports", help="Copy the daily reports.")
    ] = True,
    json_output: Annotated[bool, typer.Option("--json", help="Print the copy as JSON.")] = False,
) -> None:
    """Copy RUN's audit log and daily reports to S3, each upload checked by its SHA-256.

    Credentials come from the environment only (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    optional AWS_SESSION_TOKEN). Files whose stored copy has the same checksum are skipped.
    """
    from tradefabric.ops.s3_copy import S3Target, copy_run  # noqa: PLC0415 - boto3 on use

    try:
        target = S3Target(bucket=bucket, prefix=prefix, endpoint_url=endpoint_url, region=region)
        report = copy_run(run, target, audit=audit, reports=reports)
    except TradefabricError as exc:
        raise fail(exc) from exc
    if json_output:
        sys.stdout.write(json_text(report) + "\n")
        return
    for copied in report.files:
        what = "uploaded" if copied.uploaded else "unchanged"
        stdout.print(f"{what} s3://{bucket}/{copied.key} ({copied.bytes} bytes)", highlight=False)
    unchanged = len(report.files) - report.uploaded
    stdout.print(f"{report.uploaded} uploaded, {unchanged} unchanged, all verified")
