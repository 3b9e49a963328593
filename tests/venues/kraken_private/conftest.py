"""A Kraken fake venue with its private API, a public subscriber driving the replay, a client."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import msgspec
import pytest

from tests.feed_waits import until
from tradefabric.execution.live.kraken import KrakenLiveClient, build_client
from tradefabric.execution.live.reports import (
    BalanceReport,
    OrderStatusReport,
    PositionReport,
    TradeReport,
)
from tradefabric.venues.fakevenue.kraken import SOURCE_PRECISIONS, KrakenScript
from tradefabric.venues.fakevenue.kraken_private import KrakenPrivateScript
from tradefabric.venues.fakevenue.kraken_private_api import KrakenKey
from tradefabric.venues.fakevenue.kraken_private_ws import WS_AUTH_PATH
from tradefabric.venues.fakevenue.server import FakeVenueServer

RECORDING = "binance_ws/spot_btcusdt_20240808.gz"
SYMBOL = "BTC/USDT"


class Recorder:
    """A ``LiveReports`` that keeps everything it is told, in order."""

    def __init__(self) -> None:
        self.orders: list[OrderStatusReport] = []
        self.trades: list[TradeReport] = []
        self.balances: list[BalanceReport] = []
        self.positions: list[PositionReport] = []
        self.reconnects: list[str] = []

    def on_order_status(self, report: OrderStatusReport) -> None:
        self.orders.append(report)

    def on_trade(self, report: TradeReport) -> None:
        self.trades.append(report)

    def on_balance(self, report: BalanceReport) -> None:
        self.balances.append(report)

    def on_position(self, report: PositionReport) -> None:
        self.positions.append(report)

    def on_stream_reconnected(self, venue: str) -> None:
        self.reconnects.append(venue)

    def last(self, client_order_id: str) -> OrderStatusReport | None:
        """Return the last status reported for ``client_order_id``."""
        found = [r for r in self.orders if r.client_order_id == client_order_id]
        return found[-1] if found else None


class Venue(msgspec.Struct):
    """The running fake venue and how to reach it."""

    script: KrakenPrivateScript
    server: FakeVenueServer
    secret: str

    def client(self, state_dir: Path, secret: str | None = None) -> KrakenLiveClient:
        """Return a client for key ``k1`` (``secret`` overrides the right one)."""
        return build_client(
            "k1", secret or self.secret, rest_url=self.server.http_url,
            ws_url=self.server.ws_url + WS_AUTH_PATH, state_dir=state_dir,
            precisions=SOURCE_PRECISIONS,
        )  # fmt: skip

    async def fault(self, kind: str, **params: str) -> None:
        """Inject one private fault over HTTP, as a test operator would."""
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
    async with aiohttp.ClientSession() as http, http.ws_connect(url + "/v2") as ws:
        subscribe = {"method": "subscribe", "params": {"channel": "trade", "symbol": [SYMBOL]}}
        await ws.send_json(subscribe)
        async for _message in ws:
            pass


@pytest.fixture
async def venue(shared_data: Path) -> AsyncIterator[Venue]:
    """Serve the recording as Kraken with a private API; return once the book is known."""
    secret = base64.b64encode(secrets.token_bytes(64)).decode()
    script = KrakenPrivateScript(KrakenScript(shared_data / RECORDING), (KrakenKey("k1", secret),))
    async with FakeVenueServer(script, speed=1.0) as server:
        watcher = asyncio.create_task(_watch_public(server.ws_url))
        await until(lambda: script.venue_book(SYMBOL) is not None, 30.0)
        yield Venue(script, server, secret)
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


ClientFactory = Callable[..., Awaitable[tuple[KrakenLiveClient, Recorder]]]


@pytest.fixture
async def connect(venue: Venue, tmp_path: Path) -> AsyncIterator[ClientFactory]:
    """Return a function connecting a client (closed at the end of the test)."""
    opened: list[KrakenLiveClient] = []

    async def make(state_dir: Path | None = None) -> tuple[KrakenLiveClient, Recorder]:
        client = venue.client(state_dir or tmp_path)
        recorder = Recorder()
        await client.connect(recorder)
        opened.append(client)
        return client, recorder

    yield make
    for client in opened:
        await client.close()
