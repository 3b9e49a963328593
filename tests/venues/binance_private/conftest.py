"""Fake Binance venues with their private API over real sockets, and throwaway keys."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from tests.feed_waits import until as wait_until
from tradefabric.execution.live.binance.config import BinanceClientConfig, Credentials
from tradefabric.execution.live.reports import (
    BalanceReport,
    OrderStatusReport,
    PositionReport,
    TradeReport,
)
from tradefabric.model.orders import (
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from tradefabric.venues.binance.markets import BINANCE_SPOT, BINANCE_USDM, BinanceMarket
from tradefabric.venues.fakevenue.binance import BinanceScript
from tradefabric.venues.fakevenue.binance_private import BinancePrivateScript
from tradefabric.venues.fakevenue.binance_private_auth import ApiKey
from tradefabric.venues.fakevenue.server import FakeVenueServer

_ED25519 = Ed25519PrivateKey.generate()
ED25519_PRIVATE_PEM = _ED25519.private_bytes(
    Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
).decode()
ED25519_PUBLIC_PEM = (
    _ED25519.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
)
HMAC_KEY, HMAC_SECRET = "hmac-" + secrets.token_hex(8), secrets.token_hex(32)
ED_KEY = "ed25519-" + secrets.token_hex(8)
KEYS = (
    ApiKey(HMAC_KEY, hmac_secret=HMAC_SECRET),
    ApiKey(ED_KEY, ed25519_public_pem=ED25519_PUBLIC_PEM),
)


class Recorder:
    """A ``LiveReports`` that keeps everything it is told."""

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

    def statuses(self, client_order_id: str) -> list[OrderStatus]:
        return [r.status for r in self.orders if r.client_order_id == client_order_id]


class Venue:
    """A running fake venue: its server, its script (the ledger) and URLs."""

    def __init__(self, server: FakeVenueServer, script: BinancePrivateScript) -> None:
        self.server = server
        self.script = script
        self.exchange = script.exchange

    def book_touch(self, raw: str = "BTCUSDT") -> tuple[float, float]:
        book = self.script.public.book(raw)
        assert book is not None
        return book.best_bid(), book.best_ask()

    async def fault(self, kind: str, **params: object) -> None:
        async with aiohttp.ClientSession() as session:
            query = {k: str(v) for k, v in params.items()}
            async with session.post(f"{self.server.http_url}/_fault/{kind}", params=query) as r:
                assert r.status == 200, await r.text()

    def config(self, venue: str, **kw: object) -> BinanceClientConfig:
        urls = {"rest_url": self.server.http_url, "reconnect_delay_s": 0.05}
        if venue == "binance":
            urls["ws_api_url"] = f"{self.server.ws_url}/ws-api/v3"
        else:
            urls["stream_url"] = f"{self.server.ws_url}/ws"
        return msgspec.convert({"venue": venue, **urls, **kw}, BinanceClientConfig)


async def _serve(recording: Path, market: BinanceMarket, speed: float) -> AsyncIterator[Venue]:
    script = BinancePrivateScript(BinanceScript(recording, market), KEYS)
    server = FakeVenueServer(script, speed=speed)
    await server.start()
    session = aiohttp.ClientSession()
    # A public subscriber starts the replay (the venue's book and trades).
    ws = await session.ws_connect(f"{server.ws_url}/stream?streams=btcusdt@trade")
    book_ready = lambda: (b := script.public.book("BTCUSDT")) is not None and b.valid  # noqa: E731
    await wait_until(book_ready)
    try:
        yield Venue(server, script)
    finally:
        await ws.close()
        await session.close()
        await server.stop()


@pytest.fixture
async def spot_venue(shared_data: Path) -> AsyncIterator[Venue]:
    """Binance spot replaying BTCUSDT of 2024-08-08, with the private API."""
    async for venue in _serve(
        shared_data / "binance_ws/spot_btcusdt_20240808.gz", BINANCE_SPOT, 1.0
    ):
        yield venue


@pytest.fixture
async def usdm_venue(shared_data: Path) -> AsyncIterator[Venue]:
    """Binance USD-M replaying BTCUSDT of 2024-08-08, with the private API."""
    async for venue in _serve(
        shared_data / "binance_ws/usdm_btcusdt_20240808.gz", BINANCE_USDM, 1.0
    ):
        yield venue


HMAC = Credentials(HMAC_KEY, HMAC_SECRET)
ED25519 = Credentials(ED_KEY, ED25519_PRIVATE_PEM)


def order(
    cid: str,
    side: OrderSide,
    quantity: float,
    price: float | None = None,
    *,
    symbol: str = "BTC/USDT",
    venue: str = "binance",
    post_only: bool = False,
    tif: TimeInForce = TimeInForce.GTC,
) -> OrderSnapshot:
    """Return an order as the engine hands it to a live client."""
    return OrderSnapshot(
        client_order_id=cid, strategy_id="s", venue=venue, symbol=symbol, side=side,
        order_type=OrderType.LIMIT if price is not None else OrderType.MARKET,
        quantity=quantity, price=price, trigger_price=None, time_in_force=tif,
        post_only=post_only, reduce_only=False, status=OrderStatus.SUBMITTED,
        filled_quantity=0.0, avg_price=0.0, fees=0.0, tag="", ts_init=0, ts_last=0,
    )  # fmt: skip
