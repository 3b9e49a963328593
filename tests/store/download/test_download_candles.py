"""Candle downloads through ccxt from the fake Binance venue on a real socket, into the catalog."""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pytest
from pyarrow import feather

from tests.conftest import report_figure
from tests.store.download.conftest import BTC_CANDLES, ServedVenue, make_client
from tradefabric.core.errors import ConfigError, VenueUnavailableError
from tradefabric.core.time import NS_PER_MINUTE, parse_utc
from tradefabric.model.enums import CandleFlag
from tradefabric.store.catalog import Catalog
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.download import (
    DownloadOptions,
    DownloadProgress,
    HistoryClient,
    download_candles,
)

DAY_START = parse_utc("2024-08-08")
DAY_END = parse_utc("2024-08-09")


class SimulatedCrashError(Exception):
    """Stands for Ctrl-C or a crash in the middle of a download."""


def _feather_day(shared_data: Path, start: int, end: int) -> list[tuple[object, ...]]:
    table = feather.read_table(shared_data / BTC_CANDLES)
    ts = table.column("date").cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64()).to_pylist()
    columns = [table.column(c).to_pylist() for c in ("open", "high", "low", "close", "volume")]
    return [(t, *values) for t, *values in zip(ts, *columns, strict=True) if start <= t < end]


def _stored(root: Path, start: int = 0, end: int = 2**62) -> list[tuple[object, ...]]:
    return list(
        Catalog(root)
        .query(
            "SELECT ts_open, open, high, low, close, volume FROM candles "
            f"WHERE venue = 'binance' AND symbol = 'BTC/USDT' AND interval = '1m' "
            f"AND ts_open >= {start} AND ts_open < {end} ORDER BY ts_open"
        )
        .rows
    )


def test_a_real_day_of_candles_lands_in_the_catalog_exactly(
    venue: ServedVenue, client: HistoryClient, writer: CatalogWriter, catalog_root: Path,
    shared_data: Path,
) -> None:  # fmt: skip
    seen: list[DownloadProgress] = []
    report = download_candles(
        writer, client, symbol="BTC/USDT", interval="1m", since_ns=DAY_START, until_ns=DAY_END,
        progress=seen.append,
    )  # fmt: skip
    truth = _feather_day(shared_data, DAY_START, DAY_END)
    assert len(truth) == 1440
    assert _stored(catalog_root) == truth  # every value equal, not approximately
    assert (report.rows_fetched, report.rows_added, report.duplicates) == (1440, 1440, 0)
    assert (report.stored_in_range, report.missing_in_range, report.rejected) == (1440, 0, 0)
    assert report.pages == 2 and report.commits == 1 and report.last_version == 1
    assert report.max_used_weight is not None and report.max_used_weight > 0
    assert seen[-1].cursor_ns == DAY_END and seen[-1].rows_fetched == 1440
    row = (
        Catalog(catalog_root)
        .query(
            "SELECT interval, trades, buy_volume, vwap, ts_event - ts_open, revision, flags "
            "FROM candles LIMIT 1"
        )
        .rows[0]
    )
    assert row[:2] == ("1m", -1) and math.isnan(row[2]) and math.isnan(row[3])
    assert row[4:] == (NS_PER_MINUTE, 0, 0)


def test_a_second_run_fetches_nothing_and_a_full_run_adds_nothing(
    venue: ServedVenue, client: HistoryClient, writer: CatalogWriter, catalog_root: Path
) -> None:
    args = {"symbol": "BTC/USDT", "interval": "1m", "since_ns": DAY_START, "until_ns": DAY_END}
    download_candles(writer, client, **args)  # type: ignore[arg-type]
    again = download_candles(writer, client, **args)  # type: ignore[arg-type]
    assert again.resumed_from_ns == DAY_END and again.rows_fetched == 0 and again.pages == 0
    full = download_candles(writer, client, options=DownloadOptions(resume=False), **args)  # type: ignore[arg-type]
    assert (full.rows_fetched, full.rows_added, full.duplicates) == (1440, 0, 1440)
    assert len(_stored(catalog_root)) == 1440


def test_an_interrupted_download_resumes_where_it_stopped(
    venue: ServedVenue, client: HistoryClient, writer: CatalogWriter, catalog_root: Path,
    shared_data: Path,
) -> None:  # fmt: skip
    start, end = parse_utc("2024-08-01"), parse_utc("2024-08-04")  # 4,320 candles, 5 pages

    def stop_after_two_pages(at: DownloadProgress) -> None:
        if at.pages == 2:
            raise SimulatedCrashError

    options = DownloadOptions(commit_rows=1000)  # one commit per page
    with pytest.raises(SimulatedCrashError):
        download_candles(
            writer, client, symbol="BTC/USDT", interval="1m", since_ns=start, until_ns=end,
            progress=stop_after_two_pages, options=options,
        )  # fmt: skip
    assert len(_stored(catalog_root)) == 2000
    report = download_candles(
        writer, client, symbol="BTC/USDT", interval="1m", since_ns=start, until_ns=end,
        options=options,
    )  # fmt: skip
    assert report.resumed_from_ns == start + 2000 * NS_PER_MINUTE
    assert (report.rows_fetched, report.rows_added, report.duplicates) == (2320, 2320, 0)
    stored = _stored(catalog_root)
    assert stored == _feather_day(shared_data, start, end)
    assert len({row[0] for row in stored}) == len(stored) == 4320
    report_figure(
        f"download resume: 2,000 of 4,320 candles before the interrupt, 2,320 fetched after, "
        f"{len(stored):,} stored, 0 duplicates"
    )


def test_an_error_keeps_the_pages_fetched_before_it(
    venue: ServedVenue, client: HistoryClient, writer: CatalogWriter, catalog_root: Path
) -> None:
    start, end = parse_utc("2024-08-01"), parse_utc("2024-08-04")

    def stop_after_three_pages(at: DownloadProgress) -> None:
        if at.pages == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        download_candles(
            writer, client, symbol="BTC/USDT", interval="1m", since_ns=start, until_ns=end,
            progress=stop_after_three_pages,
        )  # fmt: skip
    # Nothing was committed yet (batches of 10,000 rows); Ctrl-C still keeps the 3 pages.
    assert len(_stored(catalog_root)) == 3000


def test_rate_limits_back_off_then_succeed(
    venue: ServedVenue, client: HistoryClient, writer: CatalogWriter, catalog_root: Path,
    shared_data: Path,
) -> None:  # fmt: skip
    client.check("BTC/USDT", "1m")  # markets loaded: the 429s hit the klines requests
    venue.inject("http?status=429&count=3&retry_after=0.2")
    report = download_candles(
        writer, client, symbol="BTC/USDT", interval="1m", since_ns=DAY_START, until_ns=DAY_END
    )
    assert report.rate_limited == 3 == venue.status()["faults"]["http_errors"]
    assert report.waited_s >= round(3 * 0.2, 3)  # the venue's Retry-After was honoured each time
    assert _stored(catalog_root) == _feather_day(shared_data, DAY_START, DAY_END)
    report_figure(
        f"download 429s: {report.rate_limited} seen, backed off {report.waited_s:.2f} s, "
        f"then all {report.rows_added:,} candles stored"
    )


def test_venue_outages_are_retried_then_given_up(
    venue: ServedVenue, client: HistoryClient, writer: CatalogWriter, catalog_root: Path
) -> None:
    venue.inject("http?status=503&count=2")
    report = download_candles(
        writer, client, symbol="BTC/USDT", interval="1m", since_ns=DAY_START, until_ns=DAY_END
    )
    assert (report.failures, report.rows_added) == (2, 1440)
    venue.inject("http?status=503&count=100")
    with pytest.raises(VenueUnavailableError):
        download_candles(
            writer, client, symbol="BTC/USDT", interval="1m", since_ns=DAY_END,
            until_ns=DAY_END + 60 * NS_PER_MINUTE,
        )  # fmt: skip
    assert client.retrier.failures == 2 + 6  # six attempts, then the error


def test_an_open_candle_is_not_stored(
    venue: ServedVenue, client: HistoryClient, writer: CatalogWriter, catalog_root: Path
) -> None:
    now = parse_utc("2024-08-08T12:00:30")  # the 12:00 candle is still open
    report = download_candles(
        writer, client, symbol="BTC/USDT", interval="1m", since_ns=DAY_START, until_ns=DAY_END,
        options=DownloadOptions(now_ns=now),
    )  # fmt: skip
    assert report.end_ns == parse_utc("2024-08-08T12:00")
    assert report.rows_added == 720
    assert _stored(catalog_root)[-1][0] == parse_utc("2024-08-08T11:59")


def test_longer_intervals_download_too(
    venue: ServedVenue, client: HistoryClient, writer: CatalogWriter, catalog_root: Path
) -> None:
    report = download_candles(
        writer, client, symbol="ETH/USDT", interval="1h", since_ns=DAY_START,
        until_ns=DAY_START + 30 * 86_400 * 10**9,
    )  # fmt: skip
    # The file ends 2024-08-25 14:23: the venue has 17 days + 14 whole hours from Aug 8.
    assert report.rows_added == 17 * 24 + 14
    assert report.missing_in_range == 30 * 24 - report.rows_added


def test_an_unknown_symbol_or_interval_is_a_clear_error(
    venue: ServedVenue, client: HistoryClient, writer: CatalogWriter
) -> None:
    with pytest.raises(ConfigError, match=r"binance has no market 'XRP/USDT'"):
        download_candles(
            writer, client, symbol="XRP/USDT", interval="1m", since_ns=DAY_START, until_ns=DAY_END
        )
    with pytest.raises(ConfigError, match=r"no '7m' candles"):
        download_candles(
            writer, client, symbol="BTC/USDT", interval="7m", since_ns=DAY_START, until_ns=DAY_END
        )


def test_an_unreachable_venue_is_retried_then_reported(writer: CatalogWriter) -> None:
    with make_client("http://127.0.0.1:9", backoff_s=0.01) as client:
        with pytest.raises(VenueUnavailableError, match="exchangeInfo"):
            download_candles(
                writer, client, symbol="BTC/USDT", interval="1m", since_ns=DAY_START,
                until_ns=DAY_END,
            )  # fmt: skip
        assert client.retrier.failures == 6


def test_downloaded_candles_replace_interpolated_ones(
    venue: ServedVenue, client: HistoryClient, writer: CatalogWriter, catalog_root: Path,
    shared_data: Path,
) -> None:  # fmt: skip
    # An hour filled by interpolation (flag 1) earlier: a download neither resumes after it
    # nor keeps it; the real candles supersede it.
    hour = [DAY_START + i * NS_PER_MINUTE for i in range(600, 660)]
    fake = pa.table({
        "venue": ["binance"] * 60, "symbol": ["BTC/USDT"] * 60, "interval": ["1m"] * 60,
        "ts_open": hour, "open": [1.0] * 60, "high": [1.0] * 60, "low": [1.0] * 60,
        "close": [1.0] * 60, "volume": [0.0] * 60, "trades": [0] * 60,
        "ts_event": [t + NS_PER_MINUTE for t in hour], "flags": [int(CandleFlag.INTERPOLATED)] * 60,
    })  # fmt: skip
    assert writer.write_table("candles", fake, "test", "repair").rows_added == 60
    report = download_candles(
        writer, client, symbol="BTC/USDT", interval="1m", since_ns=DAY_START, until_ns=DAY_END
    )
    assert report.resumed_from_ns is None
    assert (report.rows_added, report.replaced, report.duplicates) == (1380, 60, 0)
    assert _stored(catalog_root) == _feather_day(shared_data, DAY_START, DAY_END)
    flags = Catalog(catalog_root).query("SELECT DISTINCT flags FROM candles").rows
    assert flags == ((0,),)
