"""A fake venue's public script plus a spot account behind its private API.

Kraken's and Coinbase's private fakes are the same wrapper around their public
script: the public side (recording, books, market data endpoints) is delegated as
it is, the public trades feed the ledger's matcher, and the routes are the public
ones, the venue's private ones, the private faults and ``/_ledger``. A venue adds
only its keys, its API and its private stream (``private_routes``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

from aiohttp import web

from tradefabric.core.bus import MessageBus
from tradefabric.data import topics
from tradefabric.data.order_book import OrderBook
from tradefabric.model.data import Trade
from tradefabric.venues.fakevenue.instrument_listings import LISTINGS
from tradefabric.venues.fakevenue.private.account import Account, AccountKind
from tradefabric.venues.fakevenue.private.exchange import PrivateExchange
from tradefabric.venues.fakevenue.private.faults import PrivateFaults
from tradefabric.venues.fakevenue.private.ledger_view import ledger_routes
from tradefabric.venues.fakevenue.private.rules import SymbolRules
from tradefabric.venues.fakevenue.server import ClientConnection, FakeVenueScript, VenueFrame

DEFAULT_SPOT_BALANCES: Mapping[str, float] = {"USDT": 100_000.0, "BTC": 1.0, "ETH": 10.0}
"""What a fake spot account starts with."""


class PublicScript(FakeVenueScript, Protocol):
    """A public fake venue script whose trades are published on its own bus."""

    @property
    def bus(self) -> MessageBus:
        """Return the bus the script publishes its replayed trades on."""
        ...


def listed_rules(venue: str, maker_fee: float, taker_fee: float) -> dict[str, SymbolRules]:
    """Return the rules of every pair ``venue`` lists, keyed by unified symbol (``BTC/USDT``)."""
    rules = {}
    for pair, listing in LISTINGS[venue].items():
        base, quote = pair.split("/")
        rules[pair] = SymbolRules(
            symbol=pair, base=base, quote=quote, tick=float(listing.tick),
            lot=float(listing.lot), min_qty=float(listing.min_qty),
            min_notional=float(listing.min_notional), maker_fee=maker_fee, taker_fee=taker_fee,
        )  # fmt: skip
    return rules


class SpotPrivateScript:
    """The public script, delegated, plus a spot account matched against its trades."""

    def __init__(
        self,
        public: PublicScript,
        rules: dict[str, SymbolRules],
        balances: Mapping[str, float] | None = None,
    ) -> None:
        self.public = public
        self.name = public.name
        self.ws_paths = public.ws_paths
        account = Account(AccountKind.SPOT, dict(balances or DEFAULT_SPOT_BALANCES))
        self.exchange = PrivateExchange(account, rules, public.venue_book)
        self.faults = PrivateFaults()
        public.bus.subscribe(topics.TRADES, self._on_trade)

    def private_routes(self) -> list[web.RouteDef]:
        """Return the venue's private REST and stream endpoints (each venue gives its own)."""
        raise NotImplementedError

    @property
    def trades_streamed(self) -> int:
        """Return the trades the public stream sent so far."""
        return self.public.trades_streamed

    @trades_streamed.setter
    def trades_streamed(self, value: int) -> None:
        self.public.trades_streamed = value

    def _on_trade(self, trade: Trade) -> None:
        self.exchange.on_trade(trade.symbol, trade.price, trade.size)

    def venue_book(self, symbol: str) -> OrderBook | None:
        """Return the venue's own book of a unified symbol."""
        return self.public.venue_book(symbol)

    def rest_routes(self) -> list[web.RouteDef]:
        """Return the public endpoints, the private ones, the private faults, ``/_ledger``."""
        ledger = ledger_routes(self.exchange, self.faults)
        return self.public.rest_routes() + self.private_routes() + self.faults.routes() + ledger

    def initial_streams(self, request: web.Request) -> set[str]:
        """Return the public streams named in the URL."""
        return self.public.initial_streams(request)

    def on_client_message(self, client: ClientConnection, text: str) -> list[str]:
        """Answer a public stream client."""
        return self.public.on_client_message(client, text)

    def frames(self) -> Iterator[VenueFrame]:
        """Yield the public timeline (the ledger matches its trades as they pass)."""
        return self.public.frames()
