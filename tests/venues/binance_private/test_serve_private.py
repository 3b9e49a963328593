"""``venue serve --private-keys``: a keys file turns on the fake venue's private API."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.venues.binance_private.conftest import HMAC_KEY, HMAC_SECRET
from tradefabric.core.errors import AuthenticationError, ConfigError
from tradefabric.execution.live.binance.rest import BinanceRest
from tradefabric.execution.live.binance.signing import HmacSigner
from tradefabric.venues.fakevenue.scripts import script_for, with_private_api
from tradefabric.venues.fakevenue.server import FakeVenueServer


async def test_a_keys_file_serves_the_private_api(shared_data: Path, tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(f'[{{"api_key": "{HMAC_KEY}", "hmac_secret": "{HMAC_SECRET}"}}]')
    recording = shared_data / "binance_ws/spot_btcusdt_20240808.gz"
    script = with_private_api(script_for("binance-usdm", recording), keys)
    async with FakeVenueServer(script) as server:
        rest = BinanceRest(server.http_url, HMAC_KEY, HmacSigner(HMAC_SECRET))
        other = BinanceRest(server.http_url, "someone-else", HmacSigner(HMAC_SECRET))
        await rest.open()
        await other.open()
        try:
            account = await rest.signed("GET", "/fapi/v2/account", {})
            assert account["assets"][0]["asset"] == "USDT"
            with pytest.raises(AuthenticationError, match="-2015"):
                await other.signed("GET", "/fapi/v2/account", {})
            await rest.signed("POST", "/fapi/v1/order", {
                "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                "quantity": "0.002", "price": "50000.0", "newClientOrderId": "seen-1",
            })  # fmt: skip
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{server.http_url}/_ledger") as answer,
            ):
                ledger = await answer.json()
            assert ledger["placed"] == 1
            assert [o["client_order_id"] for o in ledger["orders"]] == ["seen-1"]
            assert ledger["balances"] == [{"asset": "USDT", "free": 100000.0, "locked": 0.0}]
        finally:
            await rest.close()
            await other.close()


def test_a_venue_without_a_fake_private_api_is_refused(shared_data: Path, tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text("[]")
    script = script_for("kraken", shared_data / "binance_ws/spot_btcusdt_20240808.gz")
    with pytest.raises(ConfigError, match="no fake private API"):
        with_private_api(script, keys)
