"""A Coinbase fake venue with its private API (throwaway EC key), a public subscriber, a client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import msgspec
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.venues.kraken_private.conftest import Recorder, until
from tradefabric.execution.live.coinbase import CoinbaseClientConfig, CoinbaseLiveClient
from tradefabric.venues.coinbase.markets import COINBASE
from tradefabric.venues.fakevenue.coinbase import CoinbaseScript
from tradefabric.venues.fakevenue.coinbase_private import CoinbasePrivateScript
from tradefabric.venues.fakevenue.coinbase_private_auth import CdpKey
from tradefabric.venues.fakevenue.coinbase_private_ws import WS_USER_PATH
from tradefabric.venues.fakevenue.server import FakeVenueServer

RECORDING = "binance_ws/spot_btcusdt_20240808.gz"
SYMBOL = "BTC/USDT"
KEY_NAME = "organizations/0f6c5a8e-test/apiKeys/3b1d-test"

__all__ = ["KEY_NAME", "SYMBOL", "Recorder", "Venue", "new_key", "until"]


def new_key() -> tuple[str, str]:
    """Return a fresh P-256 key as (private PEM, public PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()  # fmt: skip
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


class Venue(msgspec.Struct):
    """The running fake venue and how to reach it."""

    script: CoinbasePrivateScript
    server: FakeVenueServer
    private_pem: str

    def client(self, private_pem: str | None = None) -> CoinbaseLiveClient:
        """Return a client for the registered key (``private_pem`` overrides it)."""
        config = CoinbaseClientConfig(
            rest_url=self.server.http_url, ws_user_url=self.server.ws_url + WS_USER_PATH,
            symbols=(SYMBOL,), increments={SYMBOL: ("0.01", "0.00000001")},
        )  # fmt: skip
        return CoinbaseLiveClient(KEY_NAME, private_pem or self.private_pem, config)

    async def fault(self, kind: str, **params: str) -> None:
        """Inject one fault over HTTP."""
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.server.http_url}/_fault/{kind}", params=params) as resp,
        ):
            assert resp.status == 200

    def bid(self) -> float:
        """Return the venue's best bid now."""
        book = self.script.venue_book(SYMBOL)
        assert book is not None
        return book.best_bid()


async def _watch_public(url: str) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(url + "/ws") as ws:
        await ws.send_json(
            {"type": "subscribe", "channel": "market_trades", "product_ids": ["BTC-USDT"]}
        )
        async for _message in ws:
            pass


@pytest.fixture
async def venue(shared_data: Path) -> AsyncIterator[Venue]:
    """Serve the recording as Coinbase with a private API; return once the book is known."""
    private_pem, public_pem = new_key()
    public = CoinbaseScript(shared_data / RECORDING, COINBASE)
    script = CoinbasePrivateScript(public, (CdpKey(KEY_NAME, public_pem),))
    async with FakeVenueServer(script, speed=1.0) as server:
        watcher = asyncio.create_task(_watch_public(server.ws_url))
        await until(lambda: _valid(script), 30.0)
        yield Venue(script, server, private_pem)
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


def _valid(script: CoinbasePrivateScript) -> bool:
    book = script.venue_book(SYMBOL)
    return book is not None and book.valid


ClientFactory = Callable[[], Awaitable[tuple[CoinbaseLiveClient, Recorder]]]


@pytest.fixture
async def connect(venue: Venue) -> AsyncIterator[ClientFactory]:
    """Return a function connecting a client (closed at the end of the test)."""
    opened: list[CoinbaseLiveClient] = []

    async def make() -> tuple[CoinbaseLiveClient, Recorder]:
        client = venue.client()
        recorder = Recorder()
        await client.connect(recorder)
        opened.append(client)
        return client, recorder

    yield make
    for client in opened:
        await client.close()
