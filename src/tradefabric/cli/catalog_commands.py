"""``tradefabric data versions|compact|gaps|resample``: look after the catalog itself."""

from __future__ import annotations

from typing import Annotated

import msgspec
import typer
from rich.table import Table

from tradefabric.cli.output import fail, print_json, stdout
from tradefabric.cli.tables import fmt_count, fmt_time, new_table
from tradefabric.core.errors import ConfigError, TradefabricError
from tradefabric.core.time import ns_to_iso, parse_utc
from tradefabric.store.catalog import Catalog
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.compaction import CompactionReport, compact
from tradefabric.store.gap_repair import Repair, RepairReport, repair_gaps
from tradefabric.store.gaps import GapScan, SeriesFilter, scan_gaps
from tradefabric.store.manifest import ManifestEntry
from tradefabric.store.resample import resample
from tradefabric.store.schema import CandleSeries, DataType
from tradefabric.store.table_commit import as_data_type

CatalogOpt = Annotated[
    str, typer.Option("--catalog", help="Catalog root: a directory or an fsspec URL (s3://...).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one machine-readable JSON document.")]
RawOpt = Annotated[
    bool, typer.Option("--raw", help="Show times as stored (int ns) instead of UTC ISO.")
]
VenueOpt = Annotated[str | None, typer.Option("--venue", help="Only this venue.")]
SymbolOpt = Annotated[str | None, typer.Option("--symbol", help="Only this symbol, e.g. BTC/USDT.")]
IntervalOpt = Annotated[str | None, typer.Option("--interval", help="Only this candle interval.")]
TimeOpt = Annotated[
    str | None, typer.Option(help="UTC time: 2024-08-01, 2024-08-01T12:00 or ns since epoch.")
]


class VersionRow(msgspec.Struct, frozen=True):
    """One line of ``data versions``."""

    version: int
    committed_at: str
    operation: str
    source: str
    files_added: int
    files_removed: int
    rows_added: int
    first_ts: str | None
    last_ts: str | None
    content_hash: str


class GapReport(msgspec.Struct, frozen=True):
    """What ``data gaps`` found and repaired (``scan`` is after the repair)."""

    scan: GapScan
    missing_candles: int
    missing_trades: int
    repair: RepairReport | None


def versions(catalog: CatalogOpt, json_output: JsonOpt = False, raw: RawOpt = False) -> None:
    """List every catalog version: what each commit added or removed, from what source.

    Pin one in queries and backtests with its number (e.g. ``data query --version 3``).
    """
    try:
        entries = Catalog(catalog).versions()
    except TradefabricError as exc:
        raise fail(exc) from exc
    if json_output:
        print_json([_version_row(e) for e in entries])
        return
    _print_versions(catalog, entries, raw)


def _print_versions(catalog: str, entries: tuple[ManifestEntry, ...], raw: bool) -> None:
    table = new_table(f"Catalog versions of {catalog}")
    table.add_column("ver", justify="right")
    table.add_column("committed", overflow="fold", min_width=10)
    table.add_column("operation, source", overflow="fold", min_width=10, ratio=1)
    table.add_column("files", justify="right", no_wrap=True)
    table.add_column("rows", justify="right", no_wrap=True)
    table.add_column("data (UTC)", no_wrap=True, min_width=20)
    table.add_column("hash", no_wrap=True, min_width=8)
    for e in entries:
        first = min((f.ts_min for f in e.added), default=None)
        last = max((f.ts_max for f in e.added), default=None)
        span = "-" if first is None else f"{fmt_time(first, raw)}\n{fmt_time(last, raw)}"
        committed = fmt_time(e.committed_at, raw, millis=False).replace("T", "\n", 1)
        table.add_row(
            str(e.version), committed, f"{e.operation}\n{e.source}",
            f"+{len(e.added)}/-{len(e.removed)}", fmt_count(e.rows_added), span,
            e.content_hash[:8],
        )  # fmt: skip
    stdout.print(table)


def compact_catalog(
    catalog: CatalogOpt,
    data_type: Annotated[
        str | None, typer.Option("--type", help="Only this table: trades, quotes or candles.")
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Merge each partition's small files into one daily file (one new version, atomic)."""
    try:
        report = compact(catalog, _table_name(data_type))
    except TradefabricError as exc:
        raise fail(exc) from exc
    if json_output:
        print_json(report)
        return
    _print_compaction(report)


def gaps(
    catalog: CatalogOpt,
    venue: VenueOpt = None,
    symbol: SymbolOpt = None,
    interval: IntervalOpt = None,
    start: Annotated[str | None, typer.Option("--from", help="Expected start (UTC).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Expected end, exclusive (UTC).")] = None,
    repair: Annotated[
        Repair,
        typer.Option(
            "--repair",
            help="none: report only; download: fetch the missing candles from the venue; "
            "interpolate: fill them, flagged; auto: download, then interpolate the rest.",
        ),
    ] = Repair.NONE,
    exchange_url: Annotated[
        str | None,
        typer.Option("--exchange-url", help="Venue REST base URL for downloads (fake venue)."),
    ] = None,
    json_output: JsonOpt = False,
    raw: RawOpt = False,
) -> None:
    """Find missing candles and missed trades (trade-id jumps); optionally repair candle gaps.

    Downloaded candles are real venue data; interpolated ones are flagged
    INTERPOLATED (the ``flags`` column), never mixed unmarked with real ones, and
    real data imported or downloaded later replaces them. Exit code 1 when gaps
    remain, so scripts can check completeness.
    """
    try:
        series = SeriesFilter(venue, symbol, interval, _time(start), _time(end))
        check_selection(Catalog(catalog), series)
        repaired = None
        if repair is not Repair.NONE:
            repaired = repair_gaps(catalog, series, repair, exchange_url)
        scan = scan_gaps(Catalog(catalog), series)
    except TradefabricError as exc:
        raise fail(exc) from exc
    report = GapReport(scan, scan.missing_candles, scan.missing_trades, repaired)
    if json_output:
        print_json(report)
    else:
        _print_gaps(report, raw)
    if scan.candle_gaps or scan.trade_gaps:
        raise typer.Exit(code=1)


def check_selection(catalog: Catalog, series: SeriesFilter) -> None:
    """Raise ``ConfigError`` when --venue/--symbol/--interval name nothing the catalog holds.

    A scan over no data finds no gaps; a typo must not pass as a complete catalog.
    """
    files = [f for f in catalog.files().values() if f.data_type in ("candles", "trades")]
    venues = sorted({f.venue for f in files})
    if series.venue is not None and series.venue not in venues:
        raise ConfigError(
            f"catalog {catalog.root} holds no candles or trades of venue {series.venue!r}; "
            f"its venues: {', '.join(venues) or 'none'}"
        )
    symbols = sorted({f.symbol for f in files if series.venue in (None, f.venue)})
    if series.symbol is not None and series.symbol not in symbols:
        raise ConfigError(
            f"catalog {catalog.root} holds no candles or trades of symbol {series.symbol!r}"
            f"{'' if series.venue is None else ' on ' + series.venue}; "
            f"its symbols there: {', '.join(symbols) or 'none'}"
        )
    if series.interval is not None:
        rows = catalog.query("SELECT DISTINCT interval FROM candles ORDER BY interval").rows
        intervals = [str(r[0]) for r in rows]
        if series.interval not in intervals:
            raise ConfigError(
                f"catalog {catalog.root} holds no {series.interval!r} candles; "
                f"its intervals: {', '.join(intervals) or 'none'}"
            )


def resample_candles(
    catalog: CatalogOpt,
    venue: Annotated[str, typer.Option("--venue", help="Venue of the series.")],
    symbol: Annotated[str, typer.Option("--symbol", help="Symbol of the series.")],
    source: Annotated[str, typer.Option("--from-interval", help="Stored interval, e.g. 1s.")],
    target: Annotated[str, typer.Option("--to-interval", help="Wanted interval, e.g. 1h.")],
    write: Annotated[
        bool, typer.Option("--write", help="Store the result in the catalog (new version).")
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Resample stored candles in DuckDB (e.g. 1s -> 1m -> 1h -> 1d); print or store them."""
    try:
        series = CandleSeries(venue, symbol, source)
        table = resample(Catalog(catalog), series, target)
        report = None
        if write:
            source_name = f"resample:{source}->{target}"
            report = CatalogWriter(catalog).write_table("candles", table, source_name, "resample")
    except TradefabricError as exc:
        raise fail(exc) from exc
    if json_output:
        print_json({"candles": table.to_pylist(), "write": report})
        return
    _print_candles(table.to_pylist(), f"{venue} {symbol} {source} -> {target}")
    if report is not None:
        stdout.print(
            f"stored {report.rows_added:,} new, {report.replaced:,} replaced, "
            f"{report.duplicates:,} already there (version {report.version})"
        )


def _version_row(entry: ManifestEntry) -> VersionRow:
    first = min((f.ts_min for f in entry.added), default=None)
    last = max((f.ts_max for f in entry.added), default=None)
    return VersionRow(
        version=entry.version,
        committed_at=ns_to_iso(entry.committed_at),
        operation=entry.operation,
        source=entry.source,
        files_added=len(entry.added),
        files_removed=len(entry.removed),
        rows_added=entry.rows_added,
        first_ts=ns_to_iso(first) if first is not None else None,
        last_ts=ns_to_iso(last) if last is not None else None,
        content_hash=entry.content_hash,
    )


def _print_compaction(report: CompactionReport) -> None:
    if report.version is None:
        stdout.print("nothing to compact: every partition is already one file")
        return
    stdout.print(
        f"compacted {report.partitions:,} partitions: {report.files_before:,} files -> "
        f"{report.files_after:,}, {report.rows:,} rows, {report.duplicates:,} repeated rows "
        f"dropped (version {report.version})"
    )


def _print_gaps(report: GapReport, raw: bool = False) -> None:
    scan = report.scan
    table = new_table("Candle gaps")
    table.add_column("series", ratio=1)
    table.add_column("first missing (UTC)", no_wrap=True)
    table.add_column("next present (UTC)", no_wrap=True)
    table.add_column("missing", justify="right", no_wrap=True)
    for g in scan.candle_gaps[:200]:
        table.add_row(
            f"{g.venue} {g.symbol} {g.interval}", fmt_time(g.start_ns, raw),
            fmt_time(g.end_ns, raw), fmt_count(g.missing),
        )  # fmt: skip
    stdout.print(table)
    if len(scan.candle_gaps) > 200:
        stdout.print(f"... {len(scan.candle_gaps) - 200:,} more gaps (use --json for all)")
    for t in scan.trade_gaps[:50]:
        stdout.print(
            f"trades {t.venue} {t.symbol}: ids {t.first_missing_id}..{t.last_missing_id} missing "
            f"({t.missing:,}) between {fmt_time(t.ts_before, raw)} and {fmt_time(t.ts_after, raw)}"
        )
    for name in scan.unchecked_trade_series:
        stdout.print(f"trades {name}: ids are not sequential on this venue; not checkable")
    stdout.print(
        f"missing candles: {report.missing_candles:,} in {len(scan.candle_gaps):,} gaps; "
        f"missing trades: {report.missing_trades:,}; interpolated candles stored: "
        f"{scan.interpolated_candles:,}"
    )
    repaired = report.repair
    if repaired is not None:
        stdout.print(
            f"repair: {repaired.downloaded:,} candles downloaded, {repaired.interpolated:,} "
            f"filled by flagged interpolation (version {repaired.version})"
        )
        for failure in repaired.failures:
            stdout.print(f"download failed: {failure}")


def _print_candles(rows: list[dict[str, object]], title: str) -> None:
    table = Table(title=title)
    for name in ("open (UTC)", "open", "high", "low", "close", "volume", "trades", "flags"):
        table.add_column(name, justify="right")
    for r in rows[:500]:
        table.add_row(
            ns_to_iso(int(str(r["ts_open"]))),
            *(str(r[k]) for k in ("open", "high", "low", "close", "volume", "trades", "flags")),
        )
    stdout.print(table)
    stdout.print(f"{len(rows):,} candles")


def _time(text: str | None) -> int | None:
    return None if text is None else parse_utc(text)


def _table_name(name: str | None) -> DataType | None:
    return None if name is None else as_data_type(name)
