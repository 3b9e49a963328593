"""Bybit v5 with its private API: the public replay plus signed REST and ``/v5/private``.

One category (``bybit`` spot or ``bybit-linear``) per script, as the public fake
serves one: the public ``BybitScript`` replays a real Binance recording as Bybit
v5 frames, and the private exchange (``fakevenue.private``) matches the account's
orders against that very book and those trades. Its orders, fills, balances and
positions are served at Bybit's private REST paths and pushed on the private
stream; faults are injected through ``PrivateFaults`` (``POST /_fault/<kind>``):
a lost answer, retCode 10016, a delayed answer, a rate limit (10006, or 403 for
418), a private stream drop, a venue restart.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
from aiohttp import web

from tradefabric.data.order_book import OrderBook
from tradefabric.venues.bybit.private.categories import PRIVATE_WS_PATH, private_category
from tradefabric.venues.bybit.symbols import unified_symbol
from tradefabric.venues.fakevenue.bybit import BybitScript
from tradefabric.venues.fakevenue.bybit_private_auth import KeyRing
from tradefabric.venues.fakevenue.bybit_private_exchange import BybitExchange
from tradefabric.venues.fakevenue.bybit_private_render import BybitRenderer
from tradefabric.venues.fakevenue.bybit_private_rest import BybitPrivateRest
from tradefabric.venues.fakevenue.bybit_private_ws import BybitPrivateStream
from tradefabric.venues.fakevenue.instrument_listings import listed
from tradefabric.venues.fakevenue.private.account import Account, AccountKind
from tradefabric.venues.fakevenue.private.faults import PrivateFaults
from tradefabric.venues.fakevenue.private.rules import SymbolRules
from tradefabric.venues.fakevenue.server import ClientConnection, VenueFrame

_ACCOUNT_KINDS = {"spot": AccountKind.SPOT, "linear": AccountKind.MARGIN}
_FEES = {"spot": (0.001, 0.001), "linear": (0.0002, 0.00055)}
"""Category -> (maker, taker) fee rate: Bybit's base tier."""


class _PublicTrade(msgspec.Struct, frozen=True):
    """One trade of a ``publicTrade`` frame: ``{"s":"BTCUSDT","p":"56800.01","v":"0.002"}``."""

    s: str
    p: str
    v: str


class _TradeFrame(msgspec.Struct, frozen=True):
    data: list[_PublicTrade]


def bybit_rules(
    venue: str, raw_symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
) -> dict[str, SymbolRules]:
    """Return the filters the fake Bybit enforces, from its instruments listing."""
    category = private_category(venue)
    maker, taker = _FEES[category.category]
    rules = {}
    for raw in raw_symbols:
        pair = unified_symbol(raw, category.market).split(":", 1)[0]
        listing = listed(venue, (pair,))[pair]
        base, quote = pair.split("/")
        rules[raw] = SymbolRules(
            symbol=raw, base=base, quote=quote, tick=float(listing.tick), lot=float(listing.lot),
            min_qty=float(listing.min_qty), min_notional=float(listing.min_notional),
            maker_fee=maker, taker_fee=taker,
        )  # fmt: skip
    return rules


class BybitPrivateScript:
    """Serve a recording as Bybit v5 ``venue``, with one account behind its private API."""

    def __init__(
        self,
        recording: Path,
        venue: str,
        keys: dict[str, str],
        balances: dict[str, float],
        server_time_offset_ms: int = 0,
    ) -> None:
        """Serve ``recording``; ``keys`` maps API key -> secret, ``balances`` funds the account."""
        category = private_category(venue)
        self.category = category
        self.public = BybitScript(recording, category.market, server_time_offset_ms)
        self.name = venue
        self.ws_paths: tuple[str, ...] = (*self.public.ws_paths, PRIVATE_WS_PATH)
        rules = bybit_rules(venue)
        account = Account(
            _ACCOUNT_KINDS[category.category], balances, category.scope_value or "USDT"
        )
        self.exchange = BybitExchange(account, rules, self._book_of)
        self.render = BybitRenderer(category.category, rules)
        self.keys = KeyRing(keys, server_time_offset_ms)
        self.faults = PrivateFaults()
        self.rest = BybitPrivateRest(
            category.category, self.exchange, self.render, self.keys, self.faults
        )
        self.stream = BybitPrivateStream(category, self.exchange, self.render, self.keys)
        self.rest.on_dcp_window = self.stream.set_window
        self.faults.drop_hooks.append(self.stream.drop)
        self.faults.restart_hooks.append(self.stream.drop)
        self._trade_decoder = msgspec.json.Decoder(_TradeFrame)

    @property
    def trades_streamed(self) -> int:
        """Return the public trades streamed so far."""
        return self.public.trades_streamed

    def venue_book(self, symbol: str) -> OrderBook | None:
        """Return the venue's own book of a unified symbol."""
        return self.public.venue_book(symbol)

    def _book_of(self, raw: str) -> OrderBook | None:
        return self.public.venue_book(unified_symbol(raw, self.category.market))

    def rest_routes(self) -> list[web.RouteDef]:
        """Return the public endpoints, the private ones and the private fault commands."""
        return [*self.public.rest_routes(), *self.rest.routes(), *self.faults.routes()]

    def initial_streams(self, request: web.Request) -> set[str]:
        """Return nothing: Bybit subscribes by message, public and private alike."""
        return set()

    def on_client_message(self, client: ClientConnection, text: str) -> list[str]:
        """Answer a private connection's ops here, a public one's as the public fake does."""
        if client.request.path == PRIVATE_WS_PATH:
            return self.stream.on_message(client, text)
        return self.public.on_client_message(client, text)

    def frames(self) -> Iterator[VenueFrame]:
        """Yield the public replay; each trade then fills the account's resting orders."""
        for frame in self.public.frames():
            yield frame
            if frame.stream.startswith("publicTrade."):
                for trade in self._trade_decoder.decode(frame.text).data:
                    self.exchange.on_trade(trade.s, float(trade.p), float(trade.v))
