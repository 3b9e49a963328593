"""``build_client``: the live registry's signature builds either market's client."""

from __future__ import annotations

import pytest

from tests.venues.binance_private.conftest import HMAC, Recorder, Venue, order, wait_until
from tradefabric.core.errors import ConfigError
from tradefabric.execution.live.binance.factory import TESTNET_URLS, VENUES, build_client
from tradefabric.execution.precision import Increment
from tradefabric.model.enums import InstrumentKind
from tradefabric.model.instrument import Instrument
from tradefabric.model.orders import OrderSide, OrderStatus

PERP = Instrument(
    venue="binance-usdm", symbol="BTC/USDT:USDT", raw_symbol="BTCUSDT", base="BTC",
    quote="USDT", kind=InstrumentKind.PERPETUAL, price_increment="0.10", size_increment="0.001",
    min_size="0.001", min_notional="100",
)  # fmt: skip

TICK = Increment("0.10")
"""USD-M BTCUSDT's tick: the test computes the wire price the way the client must."""


async def test_the_registry_signature_builds_a_working_usdm_client(usdm_venue: Venue) -> None:
    client = build_client(
        "binance-usdm", HMAC, {PERP.symbol: PERP}, testnet=False,
        rest_url=usdm_venue.server.http_url, ws_url=f"{usdm_venue.server.ws_url}/ws",
    )  # fmt: skip
    assert (client.name, client.supports_cancel_after, client.supports_modify) == (
        "binance-usdm", True, True,
    )  # fmt: skip
    recorder = Recorder()
    await client.connect(recorder)
    try:
        bid, _ask = usdm_venue.book_touch()
        ticket = order(
            "f-1", OrderSide.BUY, 0.002, bid - 100.04, symbol=PERP.symbol, venue="binance-usdm"
        )
        await client.submit(ticket)
        await wait_until(lambda: OrderStatus.ACCEPTED in recorder.statuses("f-1"))
        placed = usdm_venue.exchange.order("BTCUSDT", "f-1")
        assert placed is not None
        # Printed from the 0.10 tick with integers: a buy rounds down.
        assert placed.price == pytest.approx(TICK.floor(bid - 100.04))
    finally:
        await client.close()


def test_testnet_is_the_default_and_unknown_venues_are_refused() -> None:
    spot = build_client("binance", HMAC, {})
    assert spot.rest.base_url in TESTNET_URLS["binance"]  # type: ignore[attr-defined]
    assert set(VENUES) == set(TESTNET_URLS)
    with pytest.raises(ConfigError):
        build_client("binance-coinm", HMAC, {})
