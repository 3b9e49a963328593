"""Repair candle gaps: download the missing candles where the venue serves them, else interpolate.

``download`` asks the venue (through ccxt, see ``store/download``) for exactly the
missing intervals of each gap; what it cannot get (an unsupported venue, a refused
request, a venue that has no data for those minutes either) stays a gap and is
reported. ``auto`` downloads first, then fills whatever is still missing by flagged
interpolation, so the series is complete and every filled candle is marked.
"""

from __future__ import annotations

import enum
from pathlib import Path

import msgspec

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa

from tradefabric.core.errors import ConfigError, TradefabricError
from tradefabric.store.catalog import Catalog
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.download import DownloadOptions, HistoryClient, download_candles
from tradefabric.store.gaps import CandleGap, SeriesFilter, interpolated_candles, scan_gaps


class Repair(enum.StrEnum):
    """How candle gaps are repaired."""

    NONE = "none"
    DOWNLOAD = "download"
    INTERPOLATE = "interpolate"
    AUTO = "auto"
    """Download what the venue serves, interpolate (flagged) the rest."""


class RepairReport(msgspec.Struct, frozen=True):
    """What a repair added, and what it could not."""

    downloaded: int
    """Real candles fetched from the venue."""
    interpolated: int
    """Candles filled by flagged interpolation."""
    failures: tuple[str, ...]
    """One line per series whose download failed, naming why."""
    version: int | None
    """The newest catalog version after the repair (None when nothing was written)."""


def repair_gaps(
    root: Path | str,
    series: SeriesFilter,
    mode: Repair,
    exchange_url: str | None = None,
) -> RepairReport:
    """Repair the candle gaps ``series`` selects in the catalog at ``root``, as ``mode`` says."""
    downloaded, version = 0, None
    failures: list[str] = []
    if mode in (Repair.DOWNLOAD, Repair.AUTO):
        gaps = scan_gaps(Catalog(root), series).candle_gaps
        downloaded, failures = _download(root, gaps, exchange_url)
    interpolated = 0
    if mode in (Repair.INTERPOLATE, Repair.AUTO):
        interpolated, version = _interpolate(root, series)
    if downloaded and version is None:
        version = Catalog(root).version
    return RepairReport(downloaded, interpolated, tuple(failures), version)


def _download(
    root: Path | str, gaps: tuple[CandleGap, ...], exchange_url: str | None
) -> tuple[int, list[str]]:
    writer = CatalogWriter(root)
    by_venue: dict[str, list[CandleGap]] = {}
    for gap in gaps:
        by_venue.setdefault(gap.venue, []).append(gap)
    added = 0
    failures: list[str] = []
    for venue, venue_gaps in sorted(by_venue.items()):
        try:
            with HistoryClient.open(venue, exchange_url) as client:
                for gap in venue_gaps:
                    added += _download_gap(writer, client, gap)
        except (ConfigError, TradefabricError) as exc:
            failures.append(f"{venue}: {exc}")
    return added, failures


def _download_gap(writer: CatalogWriter, client: HistoryClient, gap: CandleGap) -> int:
    report = download_candles(
        writer,
        client,
        symbol=gap.symbol,
        interval=gap.interval,
        since_ns=gap.start_ns,
        until_ns=gap.end_ns,
        options=DownloadOptions(resume=False),
    )
    return report.rows_added + report.replaced


def _interpolate(root: Path | str, series: SeriesFilter) -> tuple[int, int | None]:
    catalog = Catalog(root)
    gaps = scan_gaps(catalog, series).candle_gaps
    if not gaps:
        return 0, None
    fills = pa.concat_tables([interpolated_candles(catalog, gap) for gap in gaps])
    report = CatalogWriter(root).write_table("candles", fills, "interpolate", "repair")
    return report.rows_added + report.replaced, report.version
