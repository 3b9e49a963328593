"""The fake Bybit with its private API over real sockets, and a client trading on it."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.feed_waits import until
from tradefabric.execution.live.bybit.client import BybitLiveClient
from tradefabric.execution.live.reports import (
    BalanceReport,
    OrderStatusReport,
    PositionReport,
    TradeReport,
)
from tradefabric.model.enums import InstrumentKind
from tradefabric.model.instrument import Instrument
from tradefabric.venues.bybit.private.categories import private_category
from tradefabric.venues.bybit.private.signing import Credentials
from tradefabric.venues.fakevenue.bybit_private import BybitPrivateScript
from tradefabric.venues.fakevenue.instrument_listings import listed
from tradefabric.venues.fakevenue.server import FakeVenueServer

RECORDINGS = {
    "bybit": "binance_ws/spot_btcusdt_20240808.gz",
    "bybit-linear": "binance_ws/usdm_btcusdt_20240808.gz",
}
SYMBOLS = {"bybit": "BTC/USDT", "bybit-linear": "BTC/USDT:USDT"}
BALANCES = {"bybit": {"USDT": 100_000.0, "BTC": 1.0}, "bybit-linear": {"USDT": 100_000.0}}


class Reports:
    """Everything a client reported, in order (a ``LiveReports``)."""

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

    def of(self, client_order_id: str) -> list[OrderStatusReport]:
        """Return the status reports of one order."""
        return [r for r in self.orders if r.client_order_id == client_order_id]


def instrument(venue: str) -> Instrument:
    """Return the instrument the fake venue lists for ``venue``'s BTC/USDT."""
    category = private_category(venue)
    listing = listed(venue, ("BTC/USDT",))["BTC/USDT"]
    return Instrument(
        venue=venue, symbol=SYMBOLS[venue], raw_symbol="BTCUSDT", base="BTC", quote="USDT",
        kind=InstrumentKind.SPOT if category.category == "spot" else InstrumentKind.PERPETUAL,
        price_increment=listing.tick, size_increment=listing.lot, min_size=listing.min_qty,
        min_notional=listing.min_notional,
    )  # fmt: skip


class Venue:
    """A running fake Bybit with one throwaway key."""

    def __init__(self, server: FakeVenueServer, script: BybitPrivateScript, key: str, secret: str):
        self.server = server
        self.script = script
        self.key = key
        self.secret = secret

    @property
    def venue(self) -> str:
        return self.script.name

    def client(self, secret: str | None = None, **kwargs: object) -> BybitLiveClient:
        """Return a client of this venue (not connected)."""
        return BybitLiveClient(
            self.script.category, Credentials(self.key, secret or self.secret),
            {SYMBOLS[self.venue]: instrument(self.venue)},
            rest_url=self.server.http_url, ws_url=self.server.ws_url, **kwargs,  # type: ignore[arg-type]
        )  # fmt: skip

    async def inject(self, fault: str) -> None:
        """Inject a fault over HTTP, as an operator would (``POST /_fault/<fault>``)."""
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.server.http_url}/_fault/{fault}") as answer,
        ):
            assert answer.status == 200, await answer.text()

    def book_ready(self) -> bool:
        book = self.script.venue_book(SYMBOLS[self.venue])
        return book is not None and book.valid

    def touch(self) -> tuple[float, float]:
        """Return the venue's best bid and ask now."""
        book = self.script.venue_book(SYMBOLS[self.venue])
        assert book is not None and book.valid
        return book.best_bid(), book.best_ask()


async def _venue(shared_data: Path, name: str) -> AsyncIterator[Venue]:
    key, secret = "tf-" + secrets.token_hex(8), secrets.token_hex(24)
    script = BybitPrivateScript(
        shared_data / RECORDINGS[name], name, {key: secret}, dict(BALANCES[name])
    )
    async with FakeVenueServer(script, speed=1.0) as server:
        yield Venue(server, script, key, secret)


@pytest.fixture
async def spot(shared_data: Path) -> AsyncIterator[Venue]:
    """Return a fake Bybit spot venue replaying real BTCUSDT traffic."""
    async for venue in _venue(shared_data, "bybit"):
        yield venue


@pytest.fixture
async def linear(shared_data: Path) -> AsyncIterator[Venue]:
    """Return a fake Bybit linear venue replaying real BTCUSDT USD-M traffic."""
    async for venue in _venue(shared_data, "bybit-linear"):
        yield venue


@pytest.fixture
async def trading(spot: Venue) -> AsyncIterator[tuple[Venue, BybitLiveClient, Reports]]:
    """Return the spot venue, a connected client and what it reported, the book valid."""
    reports = Reports()
    client = spot.client()
    await client.connect(reports)
    try:
        await until(spot.book_ready)
        yield spot, client, reports
    finally:
        await client.close()
