"""``tradefabric data triangulate``: check an asset's prices across venues over the catalog."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tradefabric.cli.output import fail, print_json, stderr, stdout
from tradefabric.cli.tables import fmt_count, fmt_time, new_table
from tradefabric.core.errors import TradefabricError
from tradefabric.core.time import NS_PER_MINUTE, ns_to_iso, parse_utc
from tradefabric.integrity.batch import (
    Selection,
    candle_symbols,
    count_candles,
    triangulate_catalog,
)
from tradefabric.integrity.chart import write_chart
from tradefabric.integrity.collector import DeviationStats, TriangulationResult
from tradefabric.integrity.config import IntegrityConfig
from tradefabric.integrity.events import ArbitrageEpisode, StablecoinEvent, VenueQuality
from tradefabric.integrity.records import StoredRows, store_result
from tradefabric.store.catalog import Catalog


class KindCount(msgspec.Struct, frozen=True):
    """Anomalies or corrections of one kind on one series."""

    venue: str
    symbol: str
    kind: str
    count: int


class TriangulateSummary(msgspec.Struct, frozen=True):
    """The ``--json`` document of ``data triangulate``."""

    asset: str
    first: str
    last: str
    candles: int
    consensus_buckets: int
    consensus_valid: int
    deviations: tuple[DeviationStats, ...]
    anomalies: tuple[KindCount, ...]
    corrections: tuple[KindCount, ...]
    stablecoin_events: tuple[StablecoinEvent, ...]
    arbitrage: tuple[ArbitrageEpisode, ...]
    quality: tuple[VenueQuality, ...]
    stored: StoredRows | None
    chart: str | None


def triangulate(
    catalog: Annotated[
        str, typer.Option("--catalog", help="Catalog root: a directory or an fsspec URL.")
    ],
    asset: Annotated[str, typer.Option("--asset", help="Base asset to check, e.g. BTC.")] = "BTC",
    ts_from: Annotated[
        str | None, typer.Option("--from", help="First candle open time (UTC), e.g. 2023-03-01.")
    ] = None,
    ts_to: Annotated[
        str | None, typer.Option("--to", help="End (exclusive, UTC), e.g. 2023-03-22.")
    ] = None,
    interval: Annotated[str, typer.Option("--interval", help="Candle interval checked.")] = "1m",
    chart: Annotated[
        Path | None,
        typer.Option("--chart", help="PNG to write (default: triangulate_<ASSET>.png in cwd)."),
    ] = None,
    store: Annotated[
        bool,
        typer.Option(
            "--store/--no-store",
            help="Write anomalies, corrections and arbitrage episodes into the catalog.",
        ),
    ] = True,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one machine-readable JSON document.")
    ] = False,
) -> None:
    """Check ASSET's candles on every venue against the cross-venue consensus.

    Converts USDT/USDC/EUR quotes to USD with the venues' own stablecoin rates,
    prints per-venue deviation statistics, anomalies, corrections, stablecoin
    de-pegs and arbitrage episodes, and writes a chart of consensus vs venues.
    """
    try:
        selection = Selection(
            asset=asset.upper(),
            interval=interval,
            ts_from=parse_utc(ts_from) if ts_from else None,
            ts_to=parse_utc(ts_to) if ts_to else None,
        )
        result = _run(catalog, selection, progress=not json_output and stderr.is_terminal)
        stored = store_result(catalog, result) if store else None
        chart_path = chart or Path(f"triangulate_{selection.asset}.png")
        write_chart(result, chart_path)
    except TradefabricError as exc:
        raise fail(exc) from exc
    summary = _summary(result, stored, str(chart_path))
    if json_output:
        print_json(summary)
        return
    _print(summary)


def _run(catalog: str, selection: Selection, progress: bool) -> TriangulationResult:
    if not progress:
        return triangulate_catalog(catalog, selection)
    config = IntegrityConfig()
    total = count_candles(
        Catalog(catalog), selection, candle_symbols(Catalog(catalog), selection, config)
    )
    columns = (
        TextColumn("[bold]triangulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as bar:
        task = bar.add_task("candles", total=total)
        return triangulate_catalog(
            catalog, selection, config, progress=lambda done: bar.update(task, completed=done)
        )


def _counts(pairs: list[tuple[str, str, str]]) -> tuple[KindCount, ...]:
    counted = Counter(pairs)
    return tuple(KindCount(v, s, k, n) for (v, s, k), n in sorted(counted.items()))


def _summary(
    result: TriangulationResult, stored: StoredRows | None, chart: str
) -> TriangulateSummary:
    ts = result.consensus_ts
    return TriangulateSummary(
        asset=result.asset,
        first=ns_to_iso(ts[0]) if ts else "",
        last=ns_to_iso(ts[-1]) if ts else "",
        candles=result.candles,
        consensus_buckets=len(ts),
        consensus_valid=sum(result.consensus_valid),
        deviations=result.deviations,
        anomalies=_counts([(a.venue, a.symbol, str(a.kind)) for a in result.anomalies]),
        corrections=_counts(
            [(c.candle.venue, c.candle.symbol, str(c.reason)) for c in result.corrections]
        ),
        stablecoin_events=tuple(e for e in result.stablecoin_events if e.phase == "end"),
        arbitrage=result.arbitrage,
        quality=result.quality,
        stored=stored,
        chart=chart,
    )


def _print(summary: TriangulateSummary) -> None:
    stdout.print(
        f"{summary.asset}: {summary.candles:,} candles, {summary.first} .. {summary.last}; "
        f"consensus in {summary.consensus_buckets:,} buckets "
        f"({summary.consensus_valid:,} from at least 3 venues)"
    )
    _print_deviations(summary)
    _print_counts("Anomalies found", summary.anomalies)
    _print_counts("Corrections made", summary.corrections)
    _print_stablecoins(summary.stablecoin_events)
    _print_arbitrage(summary.arbitrage)
    if summary.stored is not None:
        s = summary.stored
        stdout.print(
            f"catalog rows added: anomalies {s.anomalies:,}, corrections {s.corrections:,}, "
            f"arbitrage {s.arbitrage:,}"
        )
    stdout.print(f"chart: {summary.chart}")


def _print_deviations(summary: TriangulateSummary) -> None:
    quality = {(q.venue, q.symbol): q.score for q in summary.quality}
    table = Table(title="Deviation from consensus (bps, after quote conversion)")
    for name in ("venue", "symbol", "buckets", "mean", "median |dev|", "p95 |dev|", "max |dev|"):
        table.add_column(name, justify="right" if name not in ("venue", "symbol") else "left")
    table.add_column("quality", justify="right")
    for d in summary.deviations:
        table.add_row(
            d.venue,
            d.symbol,
            f"{d.count:,}",
            f"{d.mean_bps:+.2f}",
            f"{d.median_abs_bps:.2f}",
            f"{d.p95_abs_bps:.2f}",
            f"{d.max_abs_bps:.1f}",
            f"{quality.get((d.venue, d.symbol), 1.0):.4f}",
        )
    stdout.print(table)


def _print_counts(title: str, counts: tuple[KindCount, ...]) -> None:
    table = Table(title=title)
    for name in ("venue", "symbol", "kind", "count"):
        table.add_column(name, justify="right" if name == "count" else "left")
    for c in counts:
        table.add_row(c.venue, c.symbol, c.kind, f"{c.count:,}")
    stdout.print(table)


def _print_stablecoins(events: tuple[StablecoinEvent, ...]) -> None:
    table = Table(title="Stablecoin events (off peg by >= the configured bps)")
    for name in ("coin", "start", "peak", "end", "peak rate", "peak bps"):
        table.add_column(name)
    for e in events:
        table.add_row(
            e.coin,
            ns_to_iso(e.ts_start),
            ns_to_iso(e.ts_peak),
            ns_to_iso(e.ts_end),
            f"{e.peak_rate:.4f}",
            f"{e.peak_bps:.0f}",
        )
    stdout.print(table)


def _print_arbitrage(episodes: tuple[ArbitrageEpisode, ...], raw: bool = False) -> None:
    table = new_table(
        f"Arbitrage episodes: {len(episodes)} (bps at the peak, gross and net of taker fees)"
    )
    table.add_column("start (UTC)", no_wrap=True)
    table.add_column("min", justify="right", no_wrap=True)
    table.add_column("peak", justify="right", no_wrap=True)
    table.add_column("buy -> sell", ratio=1, overflow="fold")
    table.add_column("gross", justify="right", no_wrap=True)
    table.add_column("net", justify="right", no_wrap=True)
    table.add_column("USD", justify="right", no_wrap=True)
    for e in episodes:
        peak = fmt_time(e.ts_peak, raw) if raw else f"+{(e.ts_peak - e.ts_start) // NS_PER_MINUTE}m"
        table.add_row(
            fmt_time(e.ts_start, raw),
            str(e.minutes),
            peak,
            f"{e.buy_venue} {e.buy_symbol} -> {e.sell_venue} {e.sell_symbol}",
            f"{e.gross_bps_peak:.1f}",
            f"{e.net_bps_peak:.1f}",
            fmt_count(e.notional_usd),
        )
    stdout.print(table)
