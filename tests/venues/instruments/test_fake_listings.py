"""Each fake venue serves its exchange info endpoint in the venue's shape, over a real socket."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from tests.venues.instruments.fakes import btc_symbol, recording
from tradefabric.model.identifiers import InstrumentId
from tradefabric.venues.exchange_info import canonical, parse_instruments
from tradefabric.venues.fakevenue.instrument_listings import LISTINGS
from tradefabric.venues.fakevenue.scripts import script_for
from tradefabric.venues.fakevenue.server import FakeVenueServer
from tradefabric.venues.registry import VENUES, venue_entry


@pytest.mark.parametrize("venue", sorted(VENUES))
async def test_fake_venue_lists_the_recorded_pairs_with_the_table_filters(
    shared_data: Path, venue: str
) -> None:
    entry = venue_entry(venue)
    source = entry.instruments
    assert source is not None
    async with (
        FakeVenueServer(script_for(entry.name, recording(shared_data, venue)), speed=0) as server,
        aiohttp.ClientSession() as session,
        session.get(server.http_url + source.path, params=source.params) as response,
    ):
        assert response.status == 200
        body = await response.read()
        assert server.status().rest_requests == {source.path: 1}
    found = {i.id: i for i in parse_instruments(source, body)}
    assert {i.symbol for i in found.values()} == {
        btc_symbol(venue),
        btc_symbol(venue).replace("BTC", "ETH"),
    }
    btc = found[InstrumentId(venue, btc_symbol(venue))]
    listing = LISTINGS[venue]["BTC/USDT"]
    values = (listing.tick, listing.lot, listing.min_qty, listing.min_notional)
    expected = tuple(canonical(Decimal(v)) for v in values)
    assert (btc.price_increment, btc.size_increment, btc.min_size, btc.min_notional) == expected
    assert btc.kind is source.kind


async def test_fake_bybit_rejects_another_category_as_bybit_does(shared_data: Path) -> None:
    entry = venue_entry("bybit")
    async with (
        FakeVenueServer(script_for(entry.name, recording(shared_data, "bybit")), speed=0) as server,
        aiohttp.ClientSession() as session,
        session.get(
            f"{server.http_url}/v5/market/instruments-info", params={"category": "linear"}
        ) as response,
    ):
        body = await response.json()
    assert (response.status, body["retCode"]) == (200, 10001)


async def test_fake_kraken_answers_one_pair_and_rejects_an_unknown_one(shared_data: Path) -> None:
    entry = venue_entry("kraken")
    async with (
        FakeVenueServer(
            script_for(entry.name, recording(shared_data, "kraken")), speed=0
        ) as server,
        aiohttp.ClientSession() as session,
    ):
        url = f"{server.http_url}/0/public/AssetPairs"
        async with session.get(url, params={"pair": "XBTUSDT"}) as response:
            one = await response.json()
        async with session.get(url, params={"pair": "NOPEUSD"}) as response:
            unknown = await response.json()
    assert list(one["result"]) == ["XBTUSDT"]
    assert one["result"]["XBTUSDT"]["base"] == "XXBT"
    assert unknown == {"error": ["EQuery:Unknown asset pair"]}
