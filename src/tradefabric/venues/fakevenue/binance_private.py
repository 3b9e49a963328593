"""Binance's private API on the fake venue, served beside the replayed public traffic.

``BinancePrivateScript`` wraps the public ``BinanceScript``: the same server
streams the recording and answers the signed REST endpoints, the WebSocket API
(spot) or the listen-key user stream (USD-M), so the account's orders match
against the book and trades the public clients see. The ledger is the
venue-neutral ``private.PrivateExchange``; this module only picks the market's
protocol, rules and codes.

::

    keys = (ApiKey("k1", hmac_secret="s1"),)
    script = BinancePrivateScript(BinanceScript(recording, BINANCE_SPOT), keys)
    async with FakeVenueServer(script, speed=1.0) as server: ...
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from aiohttp import web

from tradefabric.data import topics
from tradefabric.data.order_book import OrderBook
from tradefabric.model.data import Trade
from tradefabric.model.enums import InstrumentKind
from tradefabric.venues.binance.live import raw_symbol
from tradefabric.venues.fakevenue.binance import BinanceScript
from tradefabric.venues.fakevenue.binance_private_api import SignedApi
from tradefabric.venues.fakevenue.binance_private_auth import ApiKey, BinanceKeys
from tradefabric.venues.fakevenue.binance_private_spot import SPOT_CODES, SpotApi
from tradefabric.venues.fakevenue.binance_private_usdm import USDM_CODES, UsdmApi
from tradefabric.venues.fakevenue.binance_private_ws import WsApi
from tradefabric.venues.fakevenue.instrument_listings import LISTINGS
from tradefabric.venues.fakevenue.private.account import Account, AccountKind
from tradefabric.venues.fakevenue.private.exchange import PrivateExchange
from tradefabric.venues.fakevenue.private.faults import PrivateFaults
from tradefabric.venues.fakevenue.private.ledger_view import ledger_routes
from tradefabric.venues.fakevenue.private.rules import SymbolRules
from tradefabric.venues.fakevenue.server import ClientConnection, VenueFrame

DEFAULT_BALANCES: Mapping[InstrumentKind, Mapping[str, float]] = {
    InstrumentKind.SPOT: {"USDT": 100_000.0, "BTC": 1.0, "ETH": 10.0},
    InstrumentKind.PERPETUAL: {"USDT": 100_000.0},
}
"""What the fake account starts with, per market."""


def symbol_rules(venue: str) -> dict[str, SymbolRules]:
    """Return the rules of every pair ``venue`` lists, keyed by Binance's symbol."""
    rules = {}
    for pair, listing in LISTINGS[venue].items():
        base, quote = pair.split("/")
        rules[base + quote] = SymbolRules(
            symbol=base + quote, base=base, quote=quote, tick=float(listing.tick),
            lot=float(listing.lot), min_qty=float(listing.min_qty),
            min_notional=float(listing.min_notional),
        )  # fmt: skip
    return rules


class BinancePrivateScript:
    """A Binance fake venue with its private API: the public script plus the account."""

    def __init__(
        self,
        public: BinanceScript,
        keys: tuple[ApiKey, ...],
        balances: Mapping[str, float] | None = None,
        time_offset_ms: int = 0,
    ) -> None:
        self.public = public
        self.name = public.name
        self.ws_paths = public.ws_paths
        market = public.market
        margin = market.kind is not InstrumentKind.SPOT
        start = dict(balances or DEFAULT_BALANCES[market.kind])
        account = Account(AccountKind.MARGIN if margin else AccountKind.SPOT, start)
        self.exchange = PrivateExchange(account, symbol_rules(market.venue), public.book)
        self.faults = PrivateFaults()
        self.keys = BinanceKeys(keys, time_offset_ms)
        self.api = SignedApi(self.keys, self.faults, USDM_CODES if margin else SPOT_CODES)
        self._routes: list[web.RouteDef]
        if margin:
            self._routes = UsdmApi(self.api, self.exchange).routes()
        else:
            spot = SpotApi(self.api, self.exchange)
            self._routes = spot.routes() + WsApi(spot).routes()
        public.bus.subscribe(topics.TRADES, self._on_trade)
        self._public: list[web.Request] = []
        self.faults.restart_hooks.append(self._drop_public)

    def _drop_public(self) -> None:
        # A restart drops the market data connections too (the ledger is kept).
        for request in self._public:
            if request.transport is not None:
                request.transport.abort()
        self._public.clear()

    @property
    def trades_streamed(self) -> int:
        """Return the trades the public stream sent so far."""
        return self.public.trades_streamed

    @trades_streamed.setter
    def trades_streamed(self, value: int) -> None:
        self.public.trades_streamed = value

    def _on_trade(self, trade: Trade) -> None:
        self.exchange.on_trade(raw_symbol(trade.symbol), trade.price, trade.size)

    def venue_book(self, symbol: str) -> OrderBook | None:
        """Return the venue's own book of a unified symbol."""
        return self.public.venue_book(symbol)

    def rest_routes(self) -> list[web.RouteDef]:
        """Return the public endpoints, the private ones, the private faults and ``/_ledger``."""
        ledger = ledger_routes(self.exchange, self.faults)
        return self.public.rest_routes() + self._routes + self.faults.routes() + ledger

    def initial_streams(self, request: web.Request) -> set[str]:
        """Return the public streams named in the URL (and note the connection)."""
        self._public = [r for r in self._public if r.transport and not r.transport.is_closing()]
        self._public.append(request)
        return self.public.initial_streams(request)

    def on_client_message(self, client: ClientConnection, text: str) -> list[str]:
        """Answer a public stream client."""
        return self.public.on_client_message(client, text)

    def frames(self) -> Iterator[VenueFrame]:
        """Yield the public timeline (the ledger matches its trades as they pass)."""
        return self.public.frames()
