"""What a live feed needs to talk to Coinbase Advanced Trade: subscribe frames, resyncs, REST.

Coinbase subscribes by frames (one channel per frame) on one URL, and sends
level2 snapshots only on the socket: a book is resynced by unsubscribing and
subscribing ``level2`` again on the live connection, never by REST. Heartbeats
are always subscribed so quiet connections stay open. REST serves recent
trades (``market/products/{id}/ticker``, public) and the server time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock, local_timestamp_ns
from tradefabric.core.errors import MalformedMessageError
from tradefabric.data.feed.clock_offset import OffsetSample
from tradefabric.data.feed.rest import VenueRestClient, WeightLimiter
from tradefabric.data.feed.snapshot_requests import BookWatch, SnapshotRequests
from tradefabric.data.feed.venue import DEFAULT_FEED_CHANNELS, SendFrame
from tradefabric.model.data import Trade
from tradefabric.model.enums import AggressorSide
from tradefabric.venues.coinbase.markets import CoinbaseMarket, product_id, unified_symbol
from tradefabric.venues.coinbase.parser import CoinbaseStreamParser
from tradefabric.venues.coinbase.subscriptions import (
    channel_name,
    resync_book_frames,
    subscribe_frames,
)
from tradefabric.venues.coinbase.timestamps import parse_rfc3339_ns
from tradefabric.venues.coinbase.wire import PositiveSize, Price

DEFAULT_CHANNELS = DEFAULT_FEED_CHANNELS

FEED_CHANNELS = {"trade": "trades", "bookTicker": "quotes", "depth": "book", "kline": "candles"}
"""The live feed's generic channel names -> ours (``markets.COINBASE.channels`` keys)."""

PUBLIC_REQUESTS_PER_SECOND = 10
"""Coinbase's REST limit for public endpoints, per IP (Advanced Trade rate-limit docs)."""
MARKET_TRADES_PATH = "/api/v3/brokerage/market/products/{product_id}/ticker"
SERVER_TIME_PATH = "/api/v3/brokerage/time"
RECENT_TRADES_LIMIT = 1000
"""How many recent trades to ask for (the endpoint's maximum)."""
SNAPSHOT_WAIT_S = 5.0
_NS = 1_000_000_000
"""How long a resync waits for the level2 snapshot it asked for before asking again."""


class RestMarketTrade(msgspec.Struct, frozen=True, gc=False):
    """One trade of the public market trades reply (``side`` as on ``market_trades``).

    ``{"trade_id":"995098700","product_id":"BTC-USD","price":"68900.50","size":"0.0015",
    "time":"2026-04-07T14:30:02.789012Z","side":"BUY","exchange":"CBE"}``
    """

    trade_id: str
    product_id: str
    price: Price
    size: PositiveSize
    time: str
    side: Literal["BUY", "SELL"]


class RestMarketTrades(msgspec.Struct, frozen=True):
    """``GET /api/v3/brokerage/market/products/{product_id}/ticker``: newest trade first."""

    trades: tuple[RestMarketTrade, ...]
    best_bid: str = ""
    best_ask: str = ""


class RestServerTime(msgspec.Struct, frozen=True):
    """``GET /api/v3/brokerage/time``.

    ``{"iso":"2026-04-07T14:30:00.123Z","epochSeconds":"1775572200","epochMillis":"1775572200123"}``
    """

    iso: str = ""
    epochMillis: str = ""  # noqa: N815  (Coinbase's field name)

    def ns(self) -> int:
        """Return the server time in ns since the epoch (``epochMillis``, else ``iso``)."""
        if self.epochMillis.isascii() and self.epochMillis.isdigit():
            return int(self.epochMillis) * 1_000_000
        return parse_rfc3339_ns(self.iso)


class CoinbaseFeedParser(CoinbaseStreamParser):
    """A stream parser that also tracks, per symbol, book validity and level2 snapshots.

    The live side needs both to resync a book on the socket: ask for a snapshot
    only when the book is invalid and none is on its way, then wait for it.
    """

    def __init__(self, bus: MessageBus, market: CoinbaseMarket) -> None:
        super().__init__(bus, market)
        self.watch = BookWatch(bus, market.venue)

    def book_valid(self, symbol: str) -> bool:
        """Return True when the local book of ``symbol`` last reported itself valid."""
        return self.watch.book_valid(symbol)

    def last_snapshot_ns(self, symbol: str) -> int:
        """Return when the last book snapshot of ``symbol`` was received (0: never)."""
        return self.watch.last_snapshot_ns(symbol)

    def merge_rest_trades(self, trades: Sequence[Trade]) -> int:
        """Publish REST trades the stream has not delivered (deduped by id); return how many."""
        before = self.stats().trades
        for trade in sorted(trades, key=_trade_order):
            self._publish_trade(trade)
        return self.stats().trades - before


def venue_channels(market: CoinbaseMarket, channels: Sequence[str]) -> list[str]:
    """Return the venue channels for ``channels``, ``heartbeats`` first, each once.

    A channel is one of the live feed's names (``trade``, ``bookTicker``,
    ``depth``, ``kline``), one of ours (``trades``, ``quotes``, ``book``,
    ``candles``) or a venue name (``market_trades``).
    """
    names = [channel_name(market, "heartbeats")]
    for channel in channels:
        name = channel_name(market, FEED_CHANNELS.get(channel, channel))
        if name not in names:
            names.append(name)
    return names


class CoinbaseLive:
    """Coinbase Advanced Trade's live endpoints, with URLs overridable (proxy, fake venue)."""

    # No gap detection on trades: REST catches up after each reconnect.
    detects_trade_gaps = False
    # Each product's trade ids count up by one: a hole's trades can be counted.
    trade_ids_count_per_symbol = True

    def __init__(
        self,
        market: CoinbaseMarket,
        parser: CoinbaseFeedParser,
        clock: Clock,
        ws_url: str | None = None,
        rest_url: str | None = None,
    ) -> None:
        self.market = market
        self.venue = market.venue
        self.parser = parser
        self._clock = clock
        self.ws_url = ws_url or market.ws_url
        self.rest_url = rest_url or market.rest_url
        self.limiter = WeightLimiter(PUBLIC_REQUESTS_PER_SECOND, window_s=1.0, burst=2)
        self._snapshots = SnapshotRequests(clock, SNAPSHOT_WAIT_S)
        self._time_decoder = msgspec.json.Decoder(RestServerTime)
        self._trades_decoder = msgspec.json.Decoder(RestMarketTrades, strict=False)
        taker = market.trade_side_is_taker
        buy, sell = AggressorSide.BUY, AggressorSide.SELL
        self._sides = {"BUY": buy if taker else sell, "SELL": sell if taker else buy}

    def heartbeat(self) -> None:
        """Return None: the socket library's pings keep the connection alive."""
        return None

    def on_connect(self, ts_recv: int) -> None:
        """Start a new connection in the parser: numbering restarts, books are invalidated."""
        self.parser.on_connect(ts_recv)

    def unified_symbol(self, symbol: str) -> str:
        """Return ``symbol`` as Coinbase events name it (``BTC/USD``); reject non-spot names."""
        return unified_symbol(product_id(symbol))

    def stream_url(self, symbols: Sequence[str], channels: Sequence[str]) -> str:
        """Return the WebSocket URL: the same for every subscription (frames subscribe)."""
        return self.ws_url

    def subscribe_frames(self, symbols: Sequence[str], channels: Sequence[str]) -> list[str]:
        """Return one subscribe frame per channel, heartbeats first.

        A ``level2`` subscribe makes the venue send snapshots; they are noted as
        asked for, so a resync right after connecting waits for them instead of
        asking again.
        """
        names = venue_channels(self.market, channels)
        if channel_name(self.market, "book") in names:
            self._snapshots.asked_now(self.unified_symbol(symbol) for symbol in symbols)
        return [frame.decode() for frame in subscribe_frames(self.market, names, symbols)]

    async def resync_book(self, symbol: str, rest: VenueRestClient, send: SendFrame) -> None:
        """Resubscribe ``level2`` for ``symbol`` on the socket and wait for its snapshot.

        At most one request per ``SNAPSHOT_WAIT_S``: Coinbase rate-limits client
        messages, and a full level2 snapshot is large.
        """
        unified = self.unified_symbol(symbol)
        await self._snapshots.resync(
            unified,
            watch=self.parser.watch,
            resubscribe_frames=lambda: [
                f.decode() for f in resync_book_frames(self.market, [unified])
            ],
            send=send,
        )

    async def poll(self, rest: VenueRestClient, symbols: Sequence[str]) -> None:
        """Do nothing: every public Coinbase market data channel is on the socket."""

    async def recent_trades(self, rest: VenueRestClient, symbol: str) -> list[Trade]:
        """Return the venue's last ``RECENT_TRADES_LIMIT`` trades of ``symbol``, oldest first."""
        product = product_id(symbol)
        body = await rest.get(
            MARKET_TRADES_PATH.format(product_id=product),
            {"limit": str(RECENT_TRADES_LIMIT)},
            weight=1,
        )
        return self.parse_recent_trades(body, symbol, self._clock.timestamp_ns())

    def parse_recent_trades(self, body: bytes, symbol: str, ts_recv: int) -> list[Trade]:
        """Return the trades of a market trades reply as domain events (not published)."""
        try:
            reply = self._trades_decoder.decode(body)
        except msgspec.DecodeError as exc:
            raise MalformedMessageError(f"market trades of {symbol}: {exc}") from exc
        unified = self.unified_symbol(symbol)
        expected = product_id(unified)
        trades = []
        for w in reply.trades:
            if w.product_id != expected:
                raise MalformedMessageError(
                    f"market trades of {expected}: a trade of {w.product_id!r}"
                )
            trades.append(
                Trade(self.venue, unified, w.price, w.size, self._sides[w.side], w.trade_id,
                      parse_rfc3339_ns(w.time), ts_recv)
            )  # fmt: skip
        trades.sort(key=_trade_order)
        return trades

    async def trades_from(self, rest: VenueRestClient, symbol: str, from_id: int) -> list[Trade]:
        """Return the recent trades with a numeric id >= ``from_id`` (no lookup by id here)."""
        trades = await self.recent_trades(rest, symbol)
        return [t for t in trades if t.trade_id.isdigit() and int(t.trade_id) >= from_id]

    async def trades_between(
        self, rest: VenueRestClient, symbol: str, start_ns: int, end_ns: int
    ) -> list[Trade]:
        """Return the newest page of trades with ``start_ns <= ts_event < end_ns``.

        ``start`` and ``end`` are UNIX seconds: the window asked for is widened to
        whole seconds and the reply cut back to it.
        """
        params = {
            "limit": str(RECENT_TRADES_LIMIT),
            "start": str(start_ns // _NS),
            "end": str(-(-end_ns // _NS)),
        }
        path = MARKET_TRADES_PATH.format(product_id=product_id(symbol))
        body = await rest.get(path, params, weight=1)
        trades = self.parse_recent_trades(body, symbol, self._clock.timestamp_ns())
        return [t for t in trades if start_ns <= t.ts_event < end_ns]

    async def poll_trades(self, rest: VenueRestClient, symbol: str) -> int:
        """Fetch recent trades by REST and publish those the stream has not delivered."""
        return self.merge_trades(symbol, await self.recent_trades(rest, symbol))

    def merge_trades(self, symbol: str, trades: Sequence[Trade]) -> int:
        """Publish the REST trades of ``symbol`` the stream has not delivered; count them."""
        return self.parser.merge_rest_trades(trades)

    async def sample_server_time(self, rest: VenueRestClient) -> OffsetSample:
        """Measure the venue's clock against ours once."""
        sent = local_timestamp_ns(self._clock)
        body = await rest.get(SERVER_TIME_PATH, {}, weight=1)
        received = local_timestamp_ns(self._clock)
        try:
            server_ns = self._time_decoder.decode(body).ns()
        except msgspec.DecodeError as exc:
            raise MalformedMessageError(f"server time reply: {exc}") from exc
        return OffsetSample(sent, server_ns, received)


def _trade_number(trade_id: str) -> int:
    return int(trade_id) if trade_id.isascii() and trade_id.isdigit() else -1


def _trade_order(trade: Trade) -> tuple[int, int]:
    return trade.ts_event, _trade_number(trade.trade_id)
