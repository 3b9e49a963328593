"""Kraken's error table, its signature, and wire numbers printed from integers."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import aiohttp
import pytest

from tradefabric.core.errors import (
    AuthenticationError,
    ConfigError,
    OrderRejectedError,
    OrderStatusUnknownError,
    RateLimitedError,
    VenueUnavailableError,
)
from tradefabric.execution.live.decimals import decimals_of, wire_decimal
from tradefabric.execution.live.kraken.auth import sign
from tradefabric.execution.live.kraken.errors import as_exception
from tradefabric.execution.live.kraken.factory import build_client
from tradefabric.model.enums import InstrumentKind
from tradefabric.model.instrument import Instrument
from tradefabric.venues.fakevenue.kraken import KrakenScript
from tradefabric.venues.fakevenue.kraken_private import KrakenPrivateScript
from tradefabric.venues.fakevenue.scripts import script_for, with_private_api
from tradefabric.venues.fakevenue.server import FakeVenueServer
from tradefabric.venues.kraken.markets import PairPrecision


@pytest.mark.parametrize(
    ("error", "order_entry", "kind"),
    [
        ("EOrder:Insufficient funds", True, OrderRejectedError),
        ("EOrder:Post only order", True, OrderRejectedError),
        ("EGeneral:Invalid arguments:volume", True, OrderRejectedError),
        ("EAPI:Rate limit exceeded", False, RateLimitedError),
        ("EAPI:Invalid nonce", False, AuthenticationError),
        ("EService:Unavailable", True, OrderStatusUnknownError),
        ("EService:Busy", True, OrderStatusUnknownError),
        ("EService:Busy", False, VenueUnavailableError),
    ],
)
def test_each_error_string_maps_to_one_exception_type(
    error: str, order_entry: bool, kind: type[Exception]
) -> None:
    raised = as_exception(error, order_entry=order_entry)
    assert type(raised) is kind
    if isinstance(raised, OrderRejectedError):
        assert raised.code == error


def test_the_signature_is_hmac_sha512_of_path_and_sha256_of_nonce_and_body() -> None:
    secret = base64.b64encode(b"kraken-test-secret").decode()
    body = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
    inner = hashlib.sha256(b"1616492376594" + body.encode()).digest()
    mac = hmac.new(b"kraken-test-secret", b"/0/private/AddOrder" + inner, hashlib.sha512)
    assert (
        sign(secret, "/0/private/AddOrder", "1616492376594", body)
        == base64.b64encode(mac.digest()).decode()
    )


def test_wire_numbers_are_rounded_once_and_printed_without_float_noise() -> None:
    assert wire_decimal(0.1 + 0.2, 8) == "0.30000000"
    assert wire_decimal(57123.455, 2) == "57123.46"
    assert wire_decimal(57123.454999, 2) == "57123.45"
    assert wire_decimal(1e-8, 8) == "0.00000001"
    assert wire_decimal(42.0, 0) == "42"
    assert decimals_of(0.01) == 2 and decimals_of(0.00000001) == 8 and decimals_of(1.0) == 0


def test_the_registry_factory_prints_at_the_instruments_increments(tmp_path: Path) -> None:
    inst = Instrument(
        venue="kraken", symbol="BTC/USDT", raw_symbol="XBTUSDT", base="BTC", quote="USDT",
        kind=InstrumentKind.SPOT, price_increment="0.01", size_increment="0.00000001",
    )  # fmt: skip
    keys = Credentials("k1", "c2VjcmV0")
    client = build_client(
        "kraken", keys, {"BTC/USDT": inst}, testnet=False, rest_url="", ws_url="",
        state_dir=tmp_path,
    )  # fmt: skip
    assert client.config.rest_url == "https://api.kraken.com"
    assert client.config.precisions["BTC/USDT"] == PairPrecision(2, 8)
    assert client.config.nonce_file is not None
    assert client.config.nonce_file.parent == tmp_path
    assert "k1" not in client.config.nonce_file.name  # the key is hashed, never written


class Credentials:
    """The two fields the factory reads (the live config's ``Credentials`` has them)."""

    def __init__(self, api_key: str, api_secret: str) -> None:
        self.api_key = api_key
        self.api_secret = api_secret


async def test_venue_serve_private_keys_serves_kraken_and_coinbase(
    shared_data: Path, tmp_path: Path
) -> None:
    recording = shared_data / "binance_ws/spot_btcusdt_20240808.gz"
    kraken_keys = tmp_path / "kraken.json"
    kraken_keys.write_text('[{"api_key": "k1", "secret": "c2VjcmV0"}]')
    kraken = with_private_api(script_for("kraken", recording), kraken_keys)
    assert isinstance(kraken, KrakenPrivateScript)
    coinbase_keys = tmp_path / "coinbase.json"
    coinbase_keys.write_text('[{"name": "organizations/o/apiKeys/k", "public_pem": "x"}]')
    with pytest.raises(ConfigError, match="not an EC public key"):
        with_private_api(script_for("coinbase", recording), coinbase_keys)
    kraken_keys.write_text('[{"api_key": "k1"}]')
    with pytest.raises(ConfigError, match="--private-keys"):
        with_private_api(script_for("kraken", recording), kraken_keys)


async def test_both_fakes_serve_their_ledger(shared_data: Path) -> None:
    recording = shared_data / "binance_ws/spot_btcusdt_20240808.gz"
    kraken = KrakenPrivateScript(KrakenScript(recording), ())
    async with (
        FakeVenueServer(kraken) as server,
        aiohttp.ClientSession() as http,
        http.get(server.http_url + "/_ledger") as resp,
    ):
        ledger = await resp.json()
    assert ledger["placed"] == 0
    assert {b["asset"] for b in ledger["balances"]} == {"BTC", "ETH", "USDT"}
