"""Kraken spot's private API on the fake venue, served beside the replayed public traffic.

``KrakenPrivateScript`` wraps the public ``KrakenScript``: the same server streams
the recording as WS v2 and answers the signed REST endpoints (``/0/private/*``)
and the authenticated WebSocket (``/ws-auth/v2``), so the account's orders match
against the very book and trades public clients see. The ledger is the
venue-neutral ``private.PrivateExchange``; faults on command at
``POST /_fault/<kind>`` (``private.faults``).

::

    keys = (KrakenKey("k1", base64_secret),)
    script = KrakenPrivateScript(KrakenScript(recording), keys)
    async with FakeVenueServer(script, speed=20.0) as server: ...
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from aiohttp import web

from tradefabric.data import topics
from tradefabric.data.order_book import OrderBook
from tradefabric.model.data import Trade
from tradefabric.venues.fakevenue.instrument_listings import LISTINGS
from tradefabric.venues.fakevenue.kraken import SOURCE_PRECISIONS, KrakenScript
from tradefabric.venues.fakevenue.kraken_private_api import KrakenKey, KrakenKeys, KrakenPrivateApi
from tradefabric.venues.fakevenue.kraken_private_ws import KrakenPrivateWs
from tradefabric.venues.fakevenue.private.account import Account, AccountKind
from tradefabric.venues.fakevenue.private.exchange import PrivateExchange
from tradefabric.venues.fakevenue.private.faults import PrivateFaults
from tradefabric.venues.fakevenue.private.ledger_view import ledger_routes
from tradefabric.venues.fakevenue.private.rules import SymbolRules
from tradefabric.venues.fakevenue.server import ClientConnection, VenueFrame

DEFAULT_BALANCES: Mapping[str, float] = {"USDT": 100_000.0, "BTC": 1.0, "ETH": 10.0}


def symbol_rules() -> dict[str, SymbolRules]:
    """Return the rules of every pair Kraken lists, keyed by the WS v2 symbol (``BTC/USDT``)."""
    rules = {}
    for pair, listing in LISTINGS["kraken"].items():
        base, quote = pair.split("/")
        rules[pair] = SymbolRules(
            symbol=pair, base=base, quote=quote, tick=float(listing.tick),
            lot=float(listing.lot), min_qty=float(listing.min_qty),
            min_notional=float(listing.min_notional), maker_fee=0.0025, taker_fee=0.004,
        )  # fmt: skip
    return rules


class KrakenPrivateScript:
    """A Kraken fake venue with its private API: the public script plus the account."""

    def __init__(
        self,
        public: KrakenScript,
        keys: tuple[KrakenKey, ...],
        balances: Mapping[str, float] | None = None,
    ) -> None:
        self.public = public
        self.name = public.name
        self.ws_paths = public.ws_paths
        account = Account(AccountKind.SPOT, dict(balances or DEFAULT_BALANCES))
        self.exchange = PrivateExchange(account, symbol_rules(), public.venue_book)
        self.faults = PrivateFaults()
        self.keys = KrakenKeys(keys)
        self.api = KrakenPrivateApi(self.keys, self.exchange, self.faults, _price_decimals)
        self.ws = KrakenPrivateWs(self.api)
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
        """Return the public endpoints, the private ones, the private WS, faults, ``/_ledger``."""
        ledger = ledger_routes(self.exchange, self.faults)
        return (
            self.public.rest_routes()
            + self.api.routes()
            + self.ws.routes()
            + self.faults.routes()
            + ledger
        )

    def initial_streams(self, request: web.Request) -> set[str]:
        """Return the public streams named in the URL (none: Kraken subscribes by frames)."""
        return self.public.initial_streams(request)

    def on_client_message(self, client: ClientConnection, text: str) -> list[str]:
        """Answer a public stream client."""
        return self.public.on_client_message(client, text)

    def frames(self) -> Iterator[VenueFrame]:
        """Yield the public timeline (the ledger matches its trades as they pass)."""
        return self.public.frames()


def _price_decimals(symbol: str) -> int:
    precision = SOURCE_PRECISIONS.get(symbol)
    return precision.price if precision is not None else 8
