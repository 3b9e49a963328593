"""``tradefabric demo``: the offline demo on the real Binance traffic bundled with the package."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.table import Table

from tradefabric.cli.output import check_out_dir, fail, file_progress, print_json, stderr, stdout
from tradefabric.core.errors import TradefabricError
from tradefabric.core.time import NS_PER_MINUTE, floor_ns, ns_to_iso
from tradefabric.data import topics
from tradefabric.data.candle_check import CandleCheck, ReferenceCandle, check_candles
from tradefabric.demo.integrity import IntegrityDemoSummary, run_integrity_demo
from tradefabric.demo.pipeline import Phase1Summary, run_phase1_demo
from tradefabric.model.data import Candle
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.market_data import MarketDataNode, ReplaySummary
from tradefabric.store.catalog import Catalog, QueryResult

DEMO_FILES = ("spot_btcusdt_20240808.gz", "spot_ethusdt_20240808.gz")
REFERENCE_FILE = "binance_spot_klines_1m.json"

CATALOG_SQL = """
SELECT symbol, count(*) AS trades, round(sum(size), 5) AS volume,
       round(sum(price * size) / sum(size), 2) AS vwap,
       min(price) AS low, max(price) AS high,
       round(100.0 * avg(CASE WHEN side = 'buy' THEN 1 ELSE 0 END), 1) AS buy_pct
FROM trades GROUP BY symbol ORDER BY symbol
"""


class _ReferenceKlines(msgspec.Struct, frozen=True):
    source: str
    venue: str
    interval: str
    candles: dict[str, list[ReferenceCandle]]


class DemoFileResult(msgspec.Struct, frozen=True):
    """One bundled recording's replay and its candle check."""

    replay: ReplaySummary
    candles_1m: CandleCheck


class DemoResult(msgspec.Struct, frozen=True):
    """The whole demo run, as printed with ``--json``."""

    files: list[DemoFileResult]
    catalog: str
    catalog_query: QueryResult
    integrity: IntegrityDemoSummary
    phase1: Phase1Summary
    out_dir: str


def demo(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Keep the catalog, charts, run folder and report here (default: a "
            "new folder under the temp dir, printed at the end).",
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Run the whole Phase 1 pipeline offline on the real data bundled with the package.

    1. Data: replays real Binance traffic (BTC/USDT, ETH/USDT), rebuilds order books
       and checks them against Binance's own top of book, builds 1s and 1m candles and
       checks the 1m ones against Binance's klines, stores it all in the catalog.
    2. Integrity: triangulates five venues' real BTC candles around the March 2023 USDC
       de-peg (consensus, anomalies, corrections, arbitrage, stablecoin events; chart).
    3. Trading: a fake Binance venue replays the traffic over real sockets to a live feed;
       analytics signals, the router and an EMA cross trade it through the risk engine
       with simulated fills; a daily HTML report is written.
    """
    try:
        check_out_dir(out, "--out")
        out_dir = out or Path(tempfile.mkdtemp(prefix="tradefabric-demo-"))
        result = _run_demo(out_dir, progress=not json_output)
    except TradefabricError as exc:
        raise fail(exc) from exc
    if json_output:
        print_json(result)
    else:
        _print_demo(result)


def _run_demo(out_dir: Path, progress: bool) -> DemoResult:
    catalog = out_dir / "catalog"
    data = resources.files("tradefabric") / "demo_data"
    reference = msgspec.json.decode(
        (data / REFERENCE_FILE).read_bytes(), type=_ReferenceKlines
    ).candles
    files = []
    for name in DEMO_FILES:
        with resources.as_file(data / name) as path:
            files.append(_replay_one(path, catalog, reference, progress))
    query = Catalog(catalog).query(CATALOG_SQL)
    with _stage("integrity: triangulating five venues around the USDC de-peg", progress):
        integrity = run_integrity_demo(catalog, out_dir / "integrity.png")
    with _stage("trading: fake venue -> feed -> signals -> risk -> paper fills", progress):
        phase1 = run_phase1_demo(progress=False, out_dir=out_dir / "run")
    return DemoResult(
        files=files, catalog=str(catalog), catalog_query=query, integrity=integrity,
        phase1=phase1, out_dir=str(out_dir),
    )  # fmt: skip


@contextmanager
def _stage(description: str, progress: bool) -> Iterator[None]:
    """Show a spinner with ``description`` on stderr while a stage runs."""
    if not (progress and stderr.is_terminal):
        yield
        return
    with stderr.status(description):
        yield


def _replay_one(
    path: Path, catalog: Path, reference: dict[str, list[ReferenceCandle]], progress: bool
) -> DemoFileResult:
    node = MarketDataNode(MarketDataConfig(venue="binance", catalog=catalog, check_books=True))
    built: list[Candle] = []
    node.bus.subscribe(topics.CANDLES, lambda c: built.append(c) if c.interval == "1m" else None)
    first_trade: list[int] = []
    last_trade = [0]

    def track(trade_ts: int) -> None:
        if not first_trade:
            first_trade.append(trade_ts)
        last_trade[0] = trade_ts

    node.bus.subscribe(topics.TRADES, lambda t: track(t.ts_event))
    with file_progress(path, progress and stderr.is_terminal) as update:
        summary = node.replay(path, update)
    symbol = summary.books[0].symbol if summary.books else ""
    # Only minutes whose every trade is in the recording can equal the venue's kline.
    covered_from = floor_ns(first_trade[0], NS_PER_MINUTE) + NS_PER_MINUTE if first_trade else 0
    check = check_candles(built, reference.get(symbol, []), covered_from, last_trade[0])
    return DemoFileResult(replay=summary, candles_1m=check)


def _print_demo(result: DemoResult) -> None:
    table = Table(title="tradefabric demo: real Binance spot traffic, 2024-08-08 23:54-24:00 UTC")
    for column in ("symbol", "frames", "trades", "quotes", "book deltas", "candles (1s+1m)"):
        table.add_column(column, justify="right")
    for item in result.files:
        s = item.replay
        table.add_row(
            s.books[0].symbol if s.books else "?",
            f"{s.replay.frames_accepted:,}",
            f"{s.events.trades:,}",
            f"{s.events.quotes:,}",
            f"{s.events.book_deltas:,}",
            f"{s.events.candles:,}",
        )
    stdout.print(table)
    for item in result.files:
        _print_checks(item)
    _print_catalog(result)
    _print_integrity(result.integrity)
    _print_phase1(result.phase1)
    stdout.print(f"Everything is kept in {result.out_dir}")


def _print_checks(item: DemoFileResult) -> None:
    s = item.replay
    for book in s.books:
        stdout.print(
            f"[bold]{book.symbol}[/] book {'valid' if book.valid else 'INVALID'} at update "
            f"{book.sequence}: bid {book.best_bid} x {book.best_bid_size}, "
            f"ask {book.best_ask} x {book.best_ask_size} ({book.bid_levels}/{book.ask_levels} "
            f"levels, {book.gaps} gaps)"
        )
    if s.book_check is not None:
        c = s.book_check
        stdout.print(
            f"  top of book = Binance bookTicker at the same update id: "
            f"{c.matches}/{c.comparisons} ({c.match_rate:.2%})"
        )
    k = item.candles_1m
    stdout.print(
        f"  1m candles rebuilt from trades = Binance 1m klines: {k.matched}/{k.compared} "
        f"full minutes (OHLC exact, volume to 1e-8)"
    )
    for line in k.mismatches:
        stdout.print(f"  [red]mismatch[/] {line}")
    stdout.print(
        f"  replayed {ns_to_iso(s.replay.first_ts_recv)} .. {ns_to_iso(s.replay.last_ts_recv)} "
        f"in {s.seconds:.2f}s; rejected lines: {s.replay.rejected_total}"
    )


def _print_catalog(result: DemoResult) -> None:
    table = Table(title=f"DuckDB over the Parquet catalog ({result.catalog})")
    for column in result.catalog_query.columns:
        table.add_column(column, justify="right")
    for row in result.catalog_query.rows:
        table.add_row(*(str(v) for v in row))
    stdout.print(table)
    stdout.print('Query it yourself: tradefabric data query --catalog DIR "SELECT ..."')


def _print_integrity(summary: IntegrityDemoSummary) -> None:
    stdout.print(
        f"[bold]Integrity[/] (real 1m candles of {summary.venues} venues, 2023-03-10 12:00 .. "
        f"03-11 18:00 UTC): BTC consensus {summary.consensus_valid_minutes}/"
        f"{summary.consensus_minutes} minutes from 3+ venues; {summary.anomalies} anomalies, "
        f"{summary.corrections} corrections, {summary.arbitrage_episodes} BTC arbitrage episodes"
    )
    for event in summary.stablecoin_events:
        end = event.end or "still on"
        stdout.print(
            f"  stablecoin event {event.coin}: {event.start} .. {end}, furthest from the peg "
            f"{event.peak_rate:.4f} USD"
        )
    stdout.print(f"  chart: {summary.chart}")


def _print_phase1(summary: Phase1Summary) -> None:
    stdout.print(
        f"[bold]Trading[/] (paper, on the fake venue replaying {summary.recording}): "
        f"{summary.trades:,} trades, {summary.candles} candles, {summary.signals} signals "
        f"({summary.signals_taken} taken, {summary.signals_skipped} skipped), "
        f"{summary.orders} orders, {summary.fills} fills, {summary.risk_rejections} risk "
        f"rejections; return {summary.total_return:+.4%} in {summary.seconds:.1f}s"
    )
    stdout.print(f"  daily report: {summary.report_html}")
