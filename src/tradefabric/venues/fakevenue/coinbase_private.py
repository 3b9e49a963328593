"""Coinbase Advanced Trade's private API on the fake venue, beside the replayed public traffic.

``CoinbasePrivateScript`` wraps the public ``CoinbaseScript``: the same server
streams the recording and answers the JWT-authenticated REST endpoints
(``/api/v3/brokerage/orders``...) and the ``user`` channel (``/ws-user``), so the
account's orders match against the book and trades public clients see. The ledger
is the venue-neutral ``private.PrivateExchange``; faults at ``POST /_fault/<kind>``.

::

    keys = (CdpKey("organizations/o/apiKeys/k", public_pem),)
    script = CoinbasePrivateScript(CoinbaseScript(recording, COINBASE), keys)
    async with FakeVenueServer(script) as server: ...
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from aiohttp import web

from tradefabric.data import topics
from tradefabric.data.order_book import OrderBook
from tradefabric.model.data import Trade
from tradefabric.venues.fakevenue.coinbase import CoinbaseScript
from tradefabric.venues.fakevenue.coinbase_private_api import CoinbasePrivateApi
from tradefabric.venues.fakevenue.coinbase_private_auth import CdpKey, CdpKeys
from tradefabric.venues.fakevenue.coinbase_private_ws import CoinbaseUserWs
from tradefabric.venues.fakevenue.instrument_listings import LISTINGS
from tradefabric.venues.fakevenue.private.account import Account, AccountKind
from tradefabric.venues.fakevenue.private.exchange import PrivateExchange
from tradefabric.venues.fakevenue.private.faults import PrivateFaults
from tradefabric.venues.fakevenue.private.ledger_view import ledger_routes
from tradefabric.venues.fakevenue.private.rules import SymbolRules
from tradefabric.venues.fakevenue.server import ClientConnection, VenueFrame

DEFAULT_BALANCES: Mapping[str, float] = {"USDT": 100_000.0, "BTC": 1.0, "ETH": 10.0}


def symbol_rules() -> dict[str, SymbolRules]:
    """Return the rules of every pair Coinbase lists, keyed by unified symbol."""
    rules = {}
    for pair, listing in LISTINGS["coinbase"].items():
        base, quote = pair.split("/")
        rules[pair] = SymbolRules(
            symbol=pair, base=base, quote=quote, tick=float(listing.tick),
            lot=float(listing.lot), min_qty=float(listing.min_qty),
            min_notional=float(listing.min_notional), maker_fee=0.004, taker_fee=0.006,
        )  # fmt: skip
    return rules


class CoinbasePrivateScript:
    """A Coinbase fake venue with its private API: the public script plus the account."""

    def __init__(
        self,
        public: CoinbaseScript,
        keys: tuple[CdpKey, ...],
        balances: Mapping[str, float] | None = None,
    ) -> None:
        self.public = public
        self.name = public.name
        self.ws_paths = public.ws_paths
        account = Account(AccountKind.SPOT, dict(balances or DEFAULT_BALANCES))
        self.exchange = PrivateExchange(account, symbol_rules(), public.venue_book)
        self.faults = PrivateFaults()
        self.keys = CdpKeys(keys)
        self.api = CoinbasePrivateApi(self.keys, self.exchange, self.faults)
        self.ws = CoinbaseUserWs(self.api)
        public.bus.subscribe(topics.TRADES, self._on_trade)

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
        """Return the public endpoints, the private ones, the user channel, faults, ``/_ledger``."""
        ledger = ledger_routes(self.exchange, self.faults)
        return (
            self.public.rest_routes()
            + self.api.routes()
            + self.ws.routes()
            + self.faults.routes()
            + ledger
        )

    def initial_streams(self, request: web.Request) -> set[str]:
        """Return the public streams named in the URL (none: Coinbase subscribes by frames)."""
        return self.public.initial_streams(request)

    def on_client_message(self, client: ClientConnection, text: str) -> list[str]:
        """Answer a public stream client."""
        return self.public.on_client_message(client, text)

    def frames(self) -> Iterator[VenueFrame]:
        """Yield the public timeline (the ledger matches its trades as they pass)."""
        return self.public.frames()
