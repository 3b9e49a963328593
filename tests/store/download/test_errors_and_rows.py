"""ccxt errors become tradefabric errors by type; URLs are rebased; invalid rows are left out."""

from __future__ import annotations

import math

import ccxt
import pytest

from tests.store.download.conftest import ServedVenue
from tradefabric.core.errors import (
    ConfigError,
    RateLimitedError,
    RequestRejectedError,
    VenueUnavailableError,
)
from tradefabric.core.time import parse_utc
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.download import (
    CCXT_VENUES,
    HistoryClient,
    build_exchange,
    ccxt_venue,
    download_candles,
)
from tradefabric.store.download.retry import translate
from tradefabric.store.download.rows import candle_rows, trade_rows


@pytest.mark.parametrize(
    ("ccxt_error", "ours"),
    [
        (ccxt.RateLimitExceeded, RateLimitedError),
        (ccxt.DDoSProtection, RateLimitedError),
        (ccxt.RequestTimeout, VenueUnavailableError),
        (ccxt.ExchangeNotAvailable, VenueUnavailableError),
        (ccxt.OnMaintenance, VenueUnavailableError),
        (ccxt.NetworkError, VenueUnavailableError),
        (ccxt.OperationFailed, VenueUnavailableError),  # Binance -1000/-1001: try again
        (ccxt.BadSymbol, ConfigError),
        (ccxt.BadRequest, RequestRejectedError),
        (ccxt.AuthenticationError, RequestRejectedError),
        (ccxt.ExchangeError, RequestRejectedError),
        (ccxt.NotSupported, RequestRejectedError),
    ],
)
def test_ccxt_errors_map_by_type(ccxt_error: type[Exception], ours: type[Exception]) -> None:
    error = translate(ccxt_error("binance said no"), retry_after_s=2.5)
    assert type(error) is ours
    if isinstance(error, RateLimitedError):
        assert error.retry_after_s == 2.5


def test_a_socket_error_names_its_reason() -> None:
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as cause:
            raise ccxt.NetworkError("binance GET http://127.0.0.1:9/api/v3/time") from cause
    except ccxt.NetworkError as exc:
        error = translate(exc)
    assert str(error) == "binance GET http://127.0.0.1:9/api/v3/time: Connection refused"


def test_a_ban_is_not_waited_out(
    venue: ServedVenue, client: HistoryClient, writer: CatalogWriter
) -> None:
    client.check("BTC/USDT", "1m")
    venue.inject("http?status=429&count=1&retry_after=3600")
    with pytest.raises(RateLimitedError) as raised:
        download_candles(
            writer, client, symbol="BTC/USDT", interval="1m", since_ns=parse_utc("2024-08-08"),
            until_ns=parse_utc("2024-08-09"),
        )  # fmt: skip
    assert raised.value.retry_after_s == 3600
    assert client.retrier.rate_limited == 1 and client.retrier.waited_s == 0


@pytest.mark.parametrize("venue", sorted(CCXT_VENUES))
def test_an_exchange_url_override_leaves_no_endpoint_on_the_internet(venue: str) -> None:
    spec = ccxt_venue(venue)
    exchange = build_exchange(spec, "http://127.0.0.1:8765/")

    def urls(value: object) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            return [u for v in value.values() for u in urls(v)]
        return []

    found = urls(exchange.urls["api"])
    assert found and all(u.startswith("http://127.0.0.1:8765/") for u in found)
    if venue == "binance":
        assert exchange.urls["api"]["public"] == "http://127.0.0.1:8765/api/v3"
    exchange.options["fetchMarkets"]["types"].append("option")  # ccxt may change its options
    assert spec.options["fetchMarkets"] in ({"types": ["spot"]}, {"types": ["linear"]})


@pytest.mark.parametrize("url", ["127.0.0.1:8765", "ftp://host", "http://", "http://a b"])
def test_a_bad_exchange_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="invalid exchange URL"):
        build_exchange(ccxt_venue("binance"), url)


def test_an_unsupported_venue_says_which_are() -> None:
    with pytest.raises(ConfigError, match=r"\['binance', 'binance-usdm'\]"):
        ccxt_venue("kraken")


def test_candles_that_cannot_be_stored_truthfully_are_counted_not_kept() -> None:
    rows = [
        [1723161240000, 61803.5, 62000.0, 61795.71, 61947.02, 80.32624],
        [1723161300000, None, 62000.0, 61795.71, 61947.02, 1.0],
        [1723161360000, 61803.5, math.nan, 61795.71, 61947.02, 1.0],
        [1723161420000, 61803.5, 62000.0, 61795.71, 61947.02, -1.0],
        [1723161480000, 61803.5, 62000.0, 61795.71, 61947.02, 0.0],  # no volume: a real candle
    ]
    page = candle_rows(
        "binance", "BTC/USDT", interval="1m", interval_ns=60 * 10**9, ohlcv=rows, ts_recv=7
    )
    assert (page.rows, page.rejected) == (2, 3)
    assert page.table["ts_open"].to_pylist() == [1723161240000 * 10**6, 1723161480000 * 10**6]
    assert page.table.schema.names[:4] == ["venue", "symbol", "interval", "ts_open"]


def test_trades_that_cannot_be_stored_truthfully_are_counted_not_kept() -> None:
    good = {"id": "1", "timestamp": 1723161255342, "price": 61837.63, "amount": 0.02, "side": "buy"}
    trades = [
        good,
        {**good, "id": None},
        {**good, "side": None},
        {**good, "price": 0.0},
        {**good, "amount": math.inf},
        {**good, "timestamp": None},
    ]
    page = trade_rows("binance", "BTC/USDT", trades, ts_recv=7)
    assert (page.rows, page.rejected) == (1, 5)
    assert page.table.to_pylist() == [
        {"venue": "binance", "symbol": "BTC/USDT", "ts_event": 1723161255342000000,
         "ts_recv": 7, "price": 61837.63, "size": 0.02, "side": "buy", "trade_id": "1"}
    ]  # fmt: skip
