"""The demo's integrity step: five venues' real candles around the USDC de-peg, triangulated.

The package bundles 30 hours (2023-03-10 12:00 to 2023-03-11 18:00 UTC) of the
real multi-venue 1m candles: BTC quoted in USD, USDT and USDC on Binance.US,
Coinbase, Kraken, Crypto.com and Bybit, and the stablecoin cross rates. USDC
lost its peg in those hours; the integrity layer must call that a stablecoin
event, keep the BTC consensus continuous, and report few BTC arbitrage episodes.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import msgspec

from tradefabric.core.time import ns_to_iso, parse_utc
from tradefabric.integrity.batch import Selection, triangulate_catalog
from tradefabric.integrity.chart import write_chart
from tradefabric.integrity.records import store_result
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.importers import import_path

DEMO_FOLDER = "multi_exchange_2023-03-10"
WINDOW = ("2023-03-10T12:00", "2023-03-11T18:00")


class DepegSummary(msgspec.Struct, frozen=True):
    """One stablecoin event the demo found."""

    coin: str
    start: str
    end: str | None
    """None while it was still going on at the end of the data."""
    peak_rate: float


class IntegrityDemoSummary(msgspec.Struct, frozen=True):
    """What the integrity step checked and found."""

    venues: int
    candles: int
    consensus_minutes: int
    consensus_valid_minutes: int
    anomalies: int
    corrections: int
    arbitrage_episodes: int
    stablecoin_events: tuple[DepegSummary, ...]
    chart: str


def run_integrity_demo(catalog: Path, chart: Path) -> IntegrityDemoSummary:
    """Import the bundled multi-venue slice into ``catalog``, triangulate BTC, store findings."""
    with resources.as_file(resources.files("tradefabric") / "demo_data" / DEMO_FOLDER) as folder:
        summary = import_path(folder, "multi-exchange", CatalogWriter(catalog))
    # Only the bundled window: the catalog may hold other BTC candles (the demo's 2024 ones).
    window = Selection(asset="BTC", ts_from=parse_utc(WINDOW[0]), ts_to=parse_utc(WINDOW[1]))
    result = triangulate_catalog(catalog, window)
    store_result(catalog, result)
    write_chart(result, chart)
    events = {
        (e.coin, e.ts_start): e for e in result.stablecoin_events
    }  # the last phase published per event (start, then end) wins
    return IntegrityDemoSummary(
        venues=len({r.report.venue for r in summary.per_file}),
        candles=result.candles,
        consensus_minutes=len(result.consensus_ts),
        consensus_valid_minutes=sum(result.consensus_valid),
        anomalies=len(result.anomalies),
        corrections=len(result.corrections),
        arbitrage_episodes=len(result.arbitrage),
        stablecoin_events=tuple(
            DepegSummary(e.coin, ns_to_iso(e.ts_start), _end(e.ts_end), e.peak_rate)
            for e in sorted(events.values(), key=lambda e: e.ts_start)
        ),
        chart=str(chart),
    )


def _end(ts_end: int) -> str | None:
    return ns_to_iso(ts_end) if ts_end else None
