"""No Kraken secret, Coinbase private key or JWT in the logs of a DEBUG session with faults."""

from __future__ import annotations

import math

import pytest

from tests.venues.coinbase_private import conftest as coinbase
from tests.venues.coinbase_private.test_coinbase_private import order as coinbase_order
from tests.venues.kraken_private import conftest as kraken
from tests.venues.kraken_private.test_kraken_private import order as kraken_order
from tradefabric.core.errors import OrderStatusUnknownError
from tradefabric.core.logging import configure_logging
from tradefabric.model.orders import OrderSide

venue = kraken.venue
cb_venue = coinbase.venue
connect = kraken.connect


def _price(bid: float) -> float:
    return math.floor(bid * 0.97 * 100) / 100


async def test_a_debug_kraken_session_logs_no_secret(
    venue: kraken.Venue, connect: kraken.ClientFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    configure_logging("DEBUG", json_logs=True)
    try:
        client, seen = await connect()
        await client.submit(kraken_order("s-1", OrderSide.BUY, 0.01, _price(venue.bid())))
        await venue.fault("lose_response")
        with pytest.raises(OrderStatusUnknownError):
            await client.submit(kraken_order("s-2", OrderSide.BUY, 0.01, _price(venue.bid())))
        await venue.fault("drop_user_stream")
        await kraken.until(lambda: seen.reconnects == ["kraken"])
        await client.cancel_all()
    finally:
        configure_logging("WARNING")
    out, err = capfd.readouterr()
    text = out + err + repr(client) + repr(client.rest) + repr(client.config)
    assert "kraken_stream_reconnecting" in text and "kraken_rest" in text  # logs captured
    assert venue.secret not in text
    assert client.stream.token not in text


async def test_a_debug_coinbase_session_logs_no_key(
    cb_venue: coinbase.Venue, capfd: pytest.CaptureFixture[str]
) -> None:
    configure_logging("DEBUG", json_logs=True)
    client = cb_venue.client()
    seen = coinbase.Recorder()
    await client.connect(seen)
    try:
        await client.submit(coinbase_order("s-1", OrderSide.BUY, 0.01, _price(cb_venue.bid())))
        await cb_venue.fault("lose_response")
        with pytest.raises(OrderStatusUnknownError):
            await client.submit(coinbase_order("s-2", OrderSide.BUY, 0.01, _price(cb_venue.bid())))
        await cb_venue.fault("drop_user_stream")
        await coinbase.until(lambda: seen.reconnects == ["coinbase"])
        await client.cancel_all()
    finally:
        await client.close()
        configure_logging("WARNING")
    out, err = capfd.readouterr()
    text = out + err + repr(client) + repr(client.rest) + repr(client.stream)
    body = "".join(cb_venue.private_pem.splitlines()[1:-1])
    assert "coinbase_user_stream_reconnecting" in text and "coinbase_rest" in text
    for secret_part in (body[:40], body[-40:], "Bearer ", "eyJ"):
        assert secret_part not in text
