"""The loader against every fake venue over real sockets; the catalog cache; the resolver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from tests.venues.instruments.fakes import btc_symbol, recording
from tradefabric.core.errors import ConfigError, VenueUnavailableError
from tradefabric.model.enums import InstrumentKind
from tradefabric.model.identifiers import InstrumentId
from tradefabric.node.kernel import InstrumentConfig
from tradefabric.store.instrument_cache import InstrumentCache
from tradefabric.venues.bybit.markets import BYBIT_LINEAR
from tradefabric.venues.fakevenue.bybit import BybitScript
from tradefabric.venues.fakevenue.faults import HttpFault
from tradefabric.venues.fakevenue.scripts import script_for
from tradefabric.venues.fakevenue.server import FakeVenueServer
from tradefabric.venues.instruments import (
    DEFAULT_TTL_S,
    InstrumentLoader,
    instrument_source,
    resolve_instruments,
)
from tradefabric.venues.registry import VENUES

# What each fake venue lists for BTC/USDT (fakevenue/instrument_listings.py, real 2024 values):
# tick, lot, min size, min notional.
EXPECTED_BTC = {
    "binance": ("0.01", "0.00001", "0.00001", "5"),
    "binance-usdm": ("0.1", "0.001", "0.001", "100"),
    "bybit": ("0.01", "0.000001", "0.000048", "1"),
    "bybit-linear": ("0.1", "0.001", "0.001", "5"),
    "coinbase": ("0.01", "0.00000001", "0.00000001", "1"),
    "kraken": ("0.01", "0.00000001", "0.00005", "0.5"),
}


@asynccontextmanager
async def _served(shared_data: Path, venue: str) -> AsyncIterator[FakeVenueServer]:
    script = script_for(venue, recording(shared_data, venue))
    async with FakeVenueServer(script, speed=0) as server:
        yield server


def _requests(server: FakeVenueServer, venue: str) -> int:
    return server.status().rest_requests.get(instrument_source(venue).path, 0)


@pytest.mark.parametrize("venue", sorted(VENUES))
async def test_loader_fetches_every_venue_and_caches_the_listing_in_the_catalog(
    shared_data: Path, tmp_path: Path, venue: str
) -> None:
    btc = InstrumentId(venue, btc_symbol(venue))
    cache = InstrumentCache(tmp_path / "catalog")
    async with _served(shared_data, venue) as server, aiohttp.ClientSession() as session:
        urls = {venue: server.http_url}
        loader = InstrumentLoader(session, cache, rest_urls=urls)
        found = await resolve_instruments([btc], loader=loader)
        instrument = found[btc]
        assert (
            instrument.price_increment,
            instrument.size_increment,
            instrument.min_size,
            instrument.min_notional,
        ) == EXPECTED_BTC[venue]
        assert instrument.kind is (
            InstrumentKind.PERPETUAL if btc.symbol.endswith(":USDT") else InstrumentKind.SPOT
        )
        assert instrument.contract_size == "1"
        assert (_requests(server, venue), loader.requests) == (1, {venue: 1})

        # A second node on the same catalog: read from the cache, no request reaches the venue.
        again = InstrumentLoader(session, InstrumentCache(tmp_path / "catalog"), rest_urls=urls)
        assert await resolve_instruments([btc], loader=again) == found
        assert (_requests(server, venue), again.requests) == (1, {})

    snapshot = cache.latest(venue)
    assert snapshot is not None
    assert snapshot.url == server.http_url
    assert {i.symbol for i in snapshot.instruments} == {
        btc.symbol,
        btc.symbol.replace("BTC", "ETH"),
    }
    assert len(cache.history(venue)) == 1


async def test_listing_older_than_the_ttl_is_fetched_again_as_a_new_version(
    shared_data: Path, tmp_path: Path
) -> None:
    venue, btc = "binance", InstrumentId("binance", "BTC/USDT")
    cache = InstrumentCache(tmp_path)
    now = [1_723_161_240_000_000_000]
    async with _served(shared_data, venue) as server, aiohttp.ClientSession() as session:
        loader = InstrumentLoader(
            session, cache, ttl_s=60, rest_urls={venue: server.http_url}, now_ns=lambda: now[0]
        )
        await loader.load(venue)
        now[0] += 59 * 10**9
        await resolve_instruments([btc], loader=loader)
        assert _requests(server, venue) == 1
        now[0] += 2 * 10**9
        await resolve_instruments([btc], loader=loader)
        assert _requests(server, venue) == 2
    assert cache.history(venue) == [1_723_161_240_000_000_000, 1_723_161_301_000_000_000]


async def test_an_unreachable_venue_falls_back_to_the_stale_listing_it_traded_with(
    shared_data: Path, tmp_path: Path
) -> None:
    venue, btc = "binance", InstrumentId("binance", "BTC/USDT")
    now = [1_723_161_240_000_000_000]
    async with _served(shared_data, venue) as server, aiohttp.ClientSession() as session:
        url = server.http_url
        first = InstrumentLoader(session, InstrumentCache(tmp_path), rest_urls={venue: url},
                                 now_ns=lambda: now[0])  # fmt: skip
        fresh = await resolve_instruments([btc], loader=first)
    # The venue is gone now (its server closed) and the cached listing is past its TTL.
    now[0] += 2 * DEFAULT_TTL_S * 10**9
    async with aiohttp.ClientSession() as session:
        loader = InstrumentLoader(session, InstrumentCache(tmp_path), rest_urls={venue: url},
                                  now_ns=lambda: now[0])  # fmt: skip
        assert await resolve_instruments([btc], loader=loader) == fresh
        nothing_cached = InstrumentLoader(session, InstrumentCache(tmp_path / "empty"),
                                          rest_urls={venue: url})  # fmt: skip
        with pytest.raises(VenueUnavailableError):
            await nothing_cached.load(venue)


async def test_listing_fetched_elsewhere_is_not_reused_for_another_url(
    shared_data: Path, tmp_path: Path
) -> None:
    venue = "kraken"
    async with _served(shared_data, venue) as first, aiohttp.ClientSession() as session:
        await InstrumentLoader(
            session, InstrumentCache(tmp_path), rest_urls={venue: first.http_url}
        ).load(venue)
        async with _served(shared_data, venue) as second:
            loader = InstrumentLoader(
                session, InstrumentCache(tmp_path), rest_urls={venue: second.http_url}
            )
            await loader.load(venue)
            assert (_requests(first, venue), _requests(second, venue)) == (1, 1)


async def test_rate_limited_reply_is_retried_with_the_venues_limiter(
    shared_data: Path, tmp_path: Path
) -> None:
    venue = "bybit-linear"
    async with _served(shared_data, venue) as server, aiohttp.ClientSession() as session:
        server.faults.fail_http(HttpFault(status=429, count=1, retry_after_s=0.0))
        loader = InstrumentLoader(session, rest_urls={venue: server.http_url})
        snapshot = await loader.load(venue)
    assert loader.requests == {venue: 2}
    assert len(snapshot.instruments) == 2


async def test_overrides_win_field_by_field_over_the_venues_values(
    shared_data: Path, tmp_path: Path
) -> None:
    venue = "binance-usdm"
    btc = InstrumentId(venue, "BTC/USDT:USDT")
    override = InstrumentConfig(
        venue=venue, symbol=btc.symbol, price_increment="0.5", size_increment="0.01",
        min_notional="50",
    )  # fmt: skip
    async with _served(shared_data, venue) as server, aiohttp.ClientSession() as session:
        loader = InstrumentLoader(
            session, InstrumentCache(tmp_path), rest_urls={venue: server.http_url}
        )
        # The override alone names the instrument: it is resolved without being asked for.
        found = await resolve_instruments([], [override], loader)
    instrument = found[btc]
    assert (instrument.price_increment, instrument.size_increment, instrument.min_notional) == (
        "0.5",
        "0.01",
        "50",
    )
    # What the override leaves unset stays the venue's.
    assert (instrument.min_size, instrument.contract_size, instrument.raw_symbol) == (
        "0.001",
        "1",
        "BTCUSDT",
    )


async def test_unknown_symbol_is_a_config_error_naming_it_and_the_closest(
    shared_data: Path, tmp_path: Path
) -> None:
    venue = "binance"
    async with _served(shared_data, venue) as server, aiohttp.ClientSession() as session:
        loader = InstrumentLoader(
            session, InstrumentCache(tmp_path), rest_urls={venue: server.http_url}
        )
        with pytest.raises(
            ConfigError,
            match=r"binance:BTC/USTD: binance does not list symbol 'BTC/USTD'.*BTC/USDT",
        ):
            await resolve_instruments([InstrumentId(venue, "BTC/USTD")], loader=loader)


async def test_unknown_venue_fails_before_any_request(tmp_path: Path) -> None:
    async with aiohttp.ClientSession() as session:
        loader = InstrumentLoader(session, InstrumentCache(tmp_path))
        with pytest.raises(ConfigError, match="unknown venue 'binanse'"):
            await resolve_instruments([InstrumentId("binanse", "BTC/USDT")], loader=loader)
    assert loader.requests == {}


async def test_offline_resolution_needs_an_override_with_tick_and_lot() -> None:
    override = InstrumentConfig(
        venue="coinbase", symbol="BTC/USD", price_increment="0.01", size_increment="0.00000001",
        min_notional="1",
    )  # fmt: skip
    found = await resolve_instruments([InstrumentId("coinbase", "BTC/USD")], [override])
    instrument = found[InstrumentId("coinbase", "BTC/USD")]
    assert (instrument.base, instrument.quote, instrument.kind) == (
        "BTC",
        "USD",
        InstrumentKind.SPOT,
    )
    assert (instrument.min_notional, instrument.min_size) == ("1", "0")
    with pytest.raises(ConfigError, match="coinbase:ETH/USD: no exchange info loaded"):
        await resolve_instruments([InstrumentId("coinbase", "ETH/USD")], [override])


@pytest.mark.parametrize(("field", "value"), [("price_increment", "0"), ("min_notional", "five")])
async def test_bad_override_value_is_a_config_error_naming_the_field(
    field: str, value: str
) -> None:
    fields = {"price_increment": "0.01", "size_increment": "0.001"} | {field: value}
    override = InstrumentConfig(venue="binance", symbol="BTC/USDT", **fields)
    with pytest.raises(ConfigError, match=f"binance:BTC/USDT {field}: '{value}'"):
        await resolve_instruments([], [override])


def test_default_ttl_is_hours_not_seconds() -> None:
    assert DEFAULT_TTL_S >= 3600


async def test_loader_follows_bybit_linear_pages_to_the_last(shared_data: Path) -> None:
    venue = "bybit-linear"
    # Pages of one instrument: the loader must pass nextPageCursor back until it is empty.
    script = BybitScript(recording(shared_data, venue), BYBIT_LINEAR, instruments_page_max=1)
    async with FakeVenueServer(script, speed=0) as server, aiohttp.ClientSession() as session:
        loader = InstrumentLoader(session, rest_urls={venue: server.http_url})
        snapshot = await loader.load(venue)
        url = server.http_url + instrument_source(venue).path
        bad = {"category": "linear", "cursor": "garbage"}
        async with session.get(url, params=bad) as response:
            rejected = await response.json()
        assert _requests(server, venue) == 3
    assert loader.requests == {venue: 2}
    assert sorted(i.symbol for i in snapshot.instruments) == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    assert rejected["retCode"] == 10001
