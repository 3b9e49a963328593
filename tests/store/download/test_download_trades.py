"""Trade downloads through ccxt (Binance aggTrades) from the fake venue on a real socket."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import report_figure
from tests.store.download.conftest import ServedVenue
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import NS_PER_MS, parse_utc
from tradefabric.store.catalog import Catalog
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.download import (
    DownloadOptions,
    DownloadProgress,
    HistoryClient,
    download_trades,
)
from tradefabric.venues.binance.markets import market
from tradefabric.venues.fakevenue.binance import BinanceScript

SINCE = parse_utc("2024-08-08T23:00")
UNTIL = parse_utc("2024-08-09T01:00")


class SimulatedCrashError(Exception):
    """Stands for Ctrl-C or a crash in the middle of a download."""


def _served(venue: ServedVenue) -> list[tuple[object, ...]]:
    return [
        (str(a.agg_id), a.time_ms * NS_PER_MS, float(a.price), float(a.qty),
         "sell" if a.buyer_is_maker else "buy")
        for a in venue.script.history.agg_trades("BTCUSDT")
    ]  # fmt: skip


def _stored(root: Path) -> list[tuple[object, ...]]:
    return list(
        Catalog(root)
        .query(
            "SELECT trade_id, ts_event, price, size, side FROM trades "
            "WHERE venue = 'binance' AND symbol = 'BTC/USDT' ORDER BY CAST(trade_id AS BIGINT)"
        )
        .rows
    )


def test_downloaded_trades_equal_the_served_ones_by_id(
    venue: ServedVenue, client: HistoryClient, writer: CatalogWriter, catalog_root: Path
) -> None:
    report = download_trades(writer, client, symbol="BTC/USDT", since_ns=SINCE, until_ns=UNTIL)
    served = _served(venue)
    assert len(served) == 5813
    assert _stored(catalog_root) == served
    assert (report.rows_added, report.duplicates, report.rejected) == (5813, 0, 0)
    assert report.aggregate_trades and report.stored_in_range == 5813
    assert report.first_ns == served[0][1] and report.last_ns == served[-1][1]
    report_figure(
        f"trade download: {report.rows_added:,} Binance aggTrades in {report.pages} pages, "
        f"equal by id, price, size, side and time to what the fake venue served"
    )


def test_a_time_range_selects_its_trades_only(
    venue: ServedVenue, client: HistoryClient, writer: CatalogWriter, catalog_root: Path
) -> None:
    served = _served(venue)
    start, end = served[1000][1], served[3000][1]
    assert isinstance(start, int) and isinstance(end, int)
    download_trades(writer, client, symbol="BTC/USDT", since_ns=start, until_ns=end)
    expected = [t for t in served if start <= t[1] < end]  # type: ignore[operator]
    assert _stored(catalog_root) == expected


def test_quiet_hours_are_skipped_one_window_at_a_time(
    venue: ServedVenue, client: HistoryClient, writer: CatalogWriter, catalog_root: Path
) -> None:
    report = download_trades(
        writer, client, symbol="BTC/USDT", since_ns=parse_utc("2024-08-08T18:00"),
        until_ns=UNTIL,
    )  # fmt: skip
    assert report.rows_added == 5813
    assert report.pages == 5 + 6  # five empty hours, then six pages of up to 1,000


def test_an_interrupted_trade_download_resumes_without_loss_or_duplicates(
    venue: ServedVenue, client: HistoryClient, writer: CatalogWriter, catalog_root: Path
) -> None:
    def stop_after_three_pages(at: DownloadProgress) -> None:
        if at.pages == 3:
            raise SimulatedCrashError

    options = DownloadOptions(commit_rows=1000)
    with pytest.raises(SimulatedCrashError):
        download_trades(
            writer, client, symbol="BTC/USDT", since_ns=SINCE, until_ns=UNTIL,
            progress=stop_after_three_pages, options=options,
        )  # fmt: skip
    assert len(_stored(catalog_root)) == 3000
    report = download_trades(
        writer, client, symbol="BTC/USDT", since_ns=SINCE, until_ns=UNTIL, options=options
    )
    assert report.resumed_from_ns is not None
    assert report.rows_added == 5813 - 3000
    stored = _stored(catalog_root)
    assert stored == _served(venue)
    assert len({row[0] for row in stored}) == len(stored)
    report_figure(
        f"trade resume: 3,000 before the interrupt, {report.rows_added:,} added after "
        f"({report.duplicates} refetched at the resume millisecond, dropped), 0 duplicates"
    )


def test_rate_limited_trade_pages_are_retried(
    venue: ServedVenue, client: HistoryClient, writer: CatalogWriter, catalog_root: Path
) -> None:
    client.check("BTC/USDT")
    venue.inject("http?status=429&count=2&retry_after=0.1")
    report = download_trades(writer, client, symbol="BTC/USDT", since_ns=SINCE, until_ns=UNTIL)
    assert report.rate_limited == 2 == venue.status()["faults"]["http_errors"]
    assert _stored(catalog_root) == _served(venue)


def test_an_unknown_symbol_is_a_clear_error(
    venue: ServedVenue, client: HistoryClient, writer: CatalogWriter
) -> None:
    with pytest.raises(ConfigError, match=r"binance has no market 'BTC/EUR'"):
        download_trades(writer, client, symbol="BTC/EUR", since_ns=SINCE, until_ns=UNTIL)


def test_usdm_trades_download_from_the_futures_endpoints(
    shared_data: Path, writer: CatalogWriter, catalog_root: Path
) -> None:
    script = BinanceScript(
        shared_data / "binance_ws/usdm_btcusdt_20240808.gz", market("binance-usdm")
    )
    with (
        ServedVenue(script) as served,
        HistoryClient.open("binance-usdm", served.url, 1) as client,
    ):
        report = download_trades(
            writer, client, symbol="BTC/USDT:USDT", since_ns=SINCE, until_ns=UNTIL
        )
        _, _, page = served.get("/fapi/v1/aggTrades?symbol=BTCUSDT&limit=1")
    served_trades = script.history.agg_trades("BTCUSDT")
    assert "M" not in page[0]  # USD-M's aggTrades have no best-match flag
    assert report.rows_added == len(served_trades) > 10_000
    ids = (
        Catalog(catalog_root)
        .query(
            "SELECT trade_id FROM trades WHERE symbol = 'BTC/USDT:USDT' ORDER BY ts_event, trade_id"
        )
        .rows
    )
    assert sorted(int(i[0]) for i in ids) == [a.agg_id for a in served_trades]
