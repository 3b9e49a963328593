"""``tradefabric signals``: run the analytics over catalog candles; print and chart the signals."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from tradefabric.analytics.chart import write_chart
from tradefabric.analytics.config import AnalyticsConfig, load_config
from tradefabric.analytics.frame import FrameQuery, frame_from_catalog
from tradefabric.analytics.macro import MacroSource
from tradefabric.analytics.pipeline import (
    AnalyticsPipeline,
    BatchRun,
    PipelineResult,
    replay_candles,
    run_batch,
)
from tradefabric.analytics.plugins import (
    build_macro,
    build_volatility,
    fill_macro,
    fill_volatility,
)
from tradefabric.analytics.regime import VolatilitySource
from tradefabric.analytics.signals.base import Signal
from tradefabric.cli.output import fail, print_json, stderr, stdout
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.errors import TradefabricError
from tradefabric.core.time import interval_to_ns, ns_to_iso, parse_utc
from tradefabric.store.catalog import Catalog
from tradefabric.store.derivatives import load_liquidations, load_open_interest


class SignalsReport(msgspec.Struct, frozen=True):
    """What ``signals --json`` prints."""

    venue: str
    symbol: str
    interval: str
    candles: int
    first_ts: int
    last_ts: int
    mode: str
    result: PipelineResult
    chart: str | None


def signals(
    catalog: Annotated[Path, typer.Option("--catalog", help="Catalog root directory.")],
    symbol: Annotated[str, typer.Option("--symbol", help="Unified symbol, e.g. BTC/USDT.")],
    venue: Annotated[str, typer.Option("--venue", help="Venue of the candles.")] = "binance",
    start: Annotated[
        str | None, typer.Option("--from", help="First candle open (UTC), e.g. 2024-08-01.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="End (UTC, exclusive) of candle opens.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Analytics YAML (default: built-in alphas).")
    ] = None,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="Write a PNG chart of prices and signals.")
    ] = None,
    stream: Annotated[
        bool, typer.Option("--stream", help="Feed candles one by one through the bus.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", help="Signals to list (newest).")] = 30,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Run indicators, regime, the signal plugins, confidence and the ensemble over candles.

    Prints each signal with its confidence and factor breakdown (mtf alignment,
    volume, whale, macro, reward) and writes a chart with --chart.
    """
    try:
        cfg = load_config(config) if config is not None else AnalyticsConfig()
        query = FrameQuery(
            venue=venue,
            symbol=symbol,
            interval=cfg.base_interval,
            start_ns=parse_utc(start) if start else None,
            end_ns=parse_utc(end) if end else None,
        )
        store = Catalog(catalog)
        frame = frame_from_catalog(store, query)
        start_ns, end_ns = query.start_ns, query.end_ns
        run = BatchRun(
            frame=frame,
            liquidations=load_liquidations(store, start_ns=start_ns, end_ns=end_ns),
            open_interest=load_open_interest(store, start_ns=start_ns, end_ns=end_ns),
        )
        # The readings a signal can use start one macro window before the first candle.
        window = interval_to_ns(cfg.confidence.macro_window)
        fill_macro(cfg.macro, catalog, int(frame.ts_open[0]) - window, int(frame.ts_event[-1]))
        macro = build_macro(cfg.macro, catalog)
        volatility = build_volatility(cfg.volatility)
        # A day of index before the first candle: the regime reads it from the start.
        fill_volatility(volatility, symbol, int(frame.ts_open[0]) - 86_400 * 10**9,
                        int(frame.ts_event[-1]))  # fmt: skip
        sources = _Sources(macro, volatility)
        result = _run(cfg, run, sources, stream=stream, progress=not json_output)
        chart_path = write_chart(frame, result, chart) if chart is not None else None
    except TradefabricError as exc:
        raise fail(exc) from exc
    report = SignalsReport(
        venue=venue, symbol=symbol, interval=frame.interval, candles=len(frame),
        first_ts=int(frame.ts_open[0]), last_ts=int(frame.ts_event[-1]),
        mode="stream" if stream else "batch", result=result,
        chart=str(chart_path) if chart_path else None,
    )  # fmt: skip
    if json_output:
        print_json(report)
    else:
        _print(report, limit)


class _Sources(msgspec.Struct, frozen=True):
    macro: MacroSource
    volatility: VolatilitySource | None


def _run(
    cfg: AnalyticsConfig, run: BatchRun, sources: _Sources, *, stream: bool, progress: bool
) -> PipelineResult:
    frame = run.frame
    macro, volatility = sources.macro, sources.volatility
    if not stream:
        return run_batch(cfg, run, macro=macro, volatility=volatility)
    bus = MessageBus()
    clock = SimClock()
    pipeline = AnalyticsPipeline(bus, clock, cfg, macro=macro, volatility=volatility)
    if not progress:
        return replay_candles(pipeline, bus, run, clock.advance_to)
    columns = (TextColumn("[bold]candles"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=stderr, transient=True) as bar:
        task = bar.add_task("candles", total=len(frame))

        def advance(ts: int) -> None:
            clock.advance_to(ts)
            bar.advance(task)

        return replay_candles(pipeline, bus, run, advance)


def _print(report: SignalsReport, limit: int) -> None:
    result = report.result
    stdout.print(
        f"{report.venue} {report.symbol} {report.interval}: {report.candles:,} candles "
        f"{ns_to_iso(report.first_ts)} .. {ns_to_iso(report.last_ts)} ({report.mode})"
    )
    shown = min(limit, len(result.signals))
    table = Table(
        title=f"signals (newest {shown} of {len(result.signals)})",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )
    for column in ("time (UTC)", "source", "dir", "str", "conf", "mtf", "vol", "whale", "macro",
                   "rew"):  # fmt: skip
        text = column in ("time (UTC)", "source")
        width = {"time (UTC)": 11, "source": 14, "dir": 3}.get(column, 5)
        table.add_column(column, justify="left" if text else "right", no_wrap=True, min_width=width)
    for sig in result.signals[-limit:] if limit > 0 else ():
        table.add_row(*_row(sig))
    stdout.print(table)
    stdout.print(
        "dir L/S: long/short; str: strength; conf: confidence = sum of the factor columns "
        "(contributions); ~ = input missing, counted neutral"
    )
    counts = Counter(s.source for s in result.signals)
    stdout.print("per source: " + (", ".join(f"{k} {v}" for k, v in counts.items()) or "none"))
    stdout.print(f"regime changes: {len(result.regime_changes)}")
    if result.decisions:
        last = result.decisions[-1]
        stdout.print(
            f"last decision: {last.direction.name} score {last.score:+.3f} "
            f"in {last.regime.value} at {ns_to_iso(last.ts)}"
        )
    if report.chart:
        stdout.print(f"chart: {report.chart}")


def _row(sig: Signal) -> list[str]:
    parts = {f.name: f for f in sig.factors}

    def factor(name: str) -> str:
        f = parts.get(name)
        if f is None:
            return "-"
        # "~": the input was missing and the factor counted as neutral.
        return f"{'' if f.available else '~'}{f.contribution:.2f}"

    when = ns_to_iso(sig.data_ts)[5:16].replace("T", " ")
    head = [when, sig.source, sig.direction.name[0], f"{sig.strength:.2f}", f"{sig.confidence:.2f}"]
    names = ("mtf_alignment", "volume", "whale", "macro", "reward")
    return head + [factor(name) for name in names]
