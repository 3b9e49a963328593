"""What a live feed needs to talk to Bybit v5: stream URL, subscriptions, resync, REST, clock.

Bybit subscribes by message (``{"op":"subscribe","args":[...]}``) after the
socket opens, and answers every book subscription with an in-stream snapshot,
so a book is resynced on the socket itself (unsubscribe, then subscribe) rather
than by REST. REST serves recent trades (gap backfill, fallback) and the clock.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

import msgspec

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock, local_timestamp_ns
from tradefabric.core.errors import (
    MalformedMessageError,
    RequestRejectedError,
    VenueUnavailableError,
)
from tradefabric.data import topics
from tradefabric.data.feed.clock_offset import OffsetSample
from tradefabric.data.feed.rest import VenueRestClient, WeightLimiter
from tradefabric.data.feed.venue import SendFrame
from tradefabric.model.data import OrderBookSnapshot, Trade
from tradefabric.model.enums import AggressorSide
from tradefabric.venues.bybit import subscriptions
from tradefabric.venues.bybit.markets import BybitMarket
from tradefabric.venues.bybit.parser import BybitStreamParser
from tradefabric.venues.bybit.routes import TopicRoute, TradeRoute
from tradefabric.venues.bybit.symbols import raw_symbol, unified_symbol

ReplyT = TypeVar("ReplyT", "_TimeReply", "_TradesReply")
_MS = 1_000_000
_LIMIT = 1e15

REST_REQUESTS_PER_WINDOW = 600
"""Bybit's public REST limit per IP: 600 requests ..."""
REST_WINDOW_S = 5.0
"""... within any 5-second window."""
REST_BURST = 100
"""Requests sent at once before pacing starts (the rest of the window's budget is paced)."""
RECENT_TRADES_LIMIT: dict[str, int] = {"spot": 60, "linear": 1000}
"""Most trades ``/v5/market/recent-trade`` returns, by category."""
CHANNEL_ALIASES: dict[str, str] = {"bookTicker": "ticker"}
"""Channel names of venue-neutral configs -> Bybit's (best bid/ask live in linear tickers)."""
HEARTBEAT_INTERVAL_S = subscriptions.PING_INTERVAL_S
SNAPSHOT_TIMEOUT_S = 10.0
"""How long a resubscription may take to bring its snapshot before the resync retries."""
REMEMBERED_TRADE_IDS = 5000
"""Stream trade ids remembered per symbol to dedupe REST trades (Bybit ids are UUIDs)."""


def rest_limiter() -> WeightLimiter:
    """Return a limiter that never exceeds Bybit's limit in any 5-second window."""
    return WeightLimiter(REST_REQUESTS_PER_WINDOW, REST_WINDOW_S, burst=REST_BURST)


class _ServerTime(msgspec.Struct, frozen=True):
    """``result`` of ``/v5/market/time``: ``{"timeSecond":"1688639403","timeNano":"..."}``."""

    timeNano: int  # noqa: N815


class _RestTrade(msgspec.Struct, frozen=True):
    """One trade of ``/v5/market/recent-trade``; ``side`` is the taker's.

    ``{"execId":"2100000000007764263","symbol":"BTCUSDT","price":"16618.49","size":"0.00012",
    "side":"Buy","time":"1672052955758","isBlockTrade":false}``
    """

    execId: str  # noqa: N815
    symbol: str
    price: Annotated[float, msgspec.Meta(gt=0.0, lt=_LIMIT)]
    size: Annotated[float, msgspec.Meta(gt=0.0, lt=_LIMIT)]
    side: Literal["Buy", "Sell"]
    time: int


class _RecentTrades(msgspec.Struct, frozen=True):
    list: tuple[_RestTrade, ...]


class _Reply(msgspec.Struct, frozen=True):
    """The envelope of every v5 REST reply: ``{"retCode":0,"retMsg":"OK","result":{...}}``."""

    retCode: int  # noqa: N815  (Bybit's field names)
    retMsg: str  # noqa: N815


class _TimeReply(_Reply, frozen=True):
    result: _ServerTime | None = None


class _TradesReply(_Reply, frozen=True):
    result: _RecentTrades | None = None


_SIDES = {"Buy": AggressorSide.BUY, "Sell": AggressorSide.SELL}


def decode_reply(body: bytes, reply: type[ReplyT], what: str) -> ReplyT:
    """Decode a v5 REST reply; a non-zero ``retCode`` (its ``result`` is ``{}``) is a rejection."""
    try:
        envelope = msgspec.json.decode(body, type=_Reply)
        if envelope.retCode != 0:
            raise RequestRejectedError(
                f"{what}: Bybit retCode {envelope.retCode} {envelope.retMsg}"
            )
        decoded = msgspec.json.decode(body, type=reply, strict=False)
    except msgspec.DecodeError as exc:
        raise MalformedMessageError(f"{what} reply: {exc}") from exc
    if decoded.result is None:
        raise MalformedMessageError(f"{what} reply has no result")
    return decoded


class _SeenTrades:
    """The last trade ids of one symbol, and the time before which nothing is known."""

    __slots__ = ("horizon_ns", "ids", "order")

    def __init__(self, first_ts: int) -> None:
        self.ids: set[str] = set()
        self.order: deque[Trade] = deque()
        self.horizon_ns = first_ts

    def add(self, trade: Trade) -> None:
        if trade.trade_id in self.ids:
            return
        self.ids.add(trade.trade_id)
        self.order.append(trade)
        if len(self.order) > REMEMBERED_TRADE_IDS:
            forgotten = self.order.popleft()
            self.ids.discard(forgotten.trade_id)
            self.horizon_ns = max(self.horizon_ns, forgotten.ts_event)


class BybitFeedParser(BybitStreamParser):
    """The stream parser plus the trade ids it delivered, so REST trades merge without repeats.

    Bybit trade ids are UUIDs, not a sequence: a REST trade is new when its id
    was not delivered and it is not older than what is remembered.
    """

    def __init__(self, bus: MessageBus, market: BybitMarket) -> None:
        super().__init__(bus, market)
        self._trade_bus = bus
        self._seen: dict[str, _SeenTrades] = {}
        self._snapshot_waiters: dict[str, list[asyncio.Event]] = {}
        bus.subscribe(topics.TRADES, self._on_trade)
        # Trades a catch-up recovered are seen too: a later REST poll must not repeat them.
        bus.subscribe(topics.TRADES_BACKFILLED, self._on_trade)
        bus.subscribe(topics.BOOK_SNAPSHOTS, self._on_snapshot)

    def next_snapshot(self, symbol: str) -> asyncio.Event:
        """Return an event set when the next book snapshot of unified ``symbol`` is published."""
        event = asyncio.Event()
        self._snapshot_waiters.setdefault(symbol, []).append(event)
        return event

    def merge_rest_trades(self, trades: Sequence[Trade]) -> int:
        """Publish the REST trades the stream has not delivered; return how many."""
        published = 0
        for trade in sorted(trades, key=lambda t: t.ts_event):
            seen = self._seen.get(trade.symbol)
            if seen is not None and (
                trade.trade_id in seen.ids or trade.ts_event < seen.horizon_ns
            ):
                continue
            self._trade_bus.publish(topics.TRADES, trade)  # _on_trade remembers it
            published += 1
        return published

    def _add_route(self, topic: str) -> TopicRoute[Any]:
        route = super()._add_route(topic)
        if isinstance(route, TradeRoute):
            # The stream and REST share the seen ids both ways: a trade a poll merged
            # while the stream lagged is not published again when the stream brings it.
            route.already_published = self._published
        return route

    def _published(self, symbol: str, trade_id: str) -> bool:
        seen = self._seen.get(symbol)
        return seen is not None and trade_id in seen.ids

    def _on_snapshot(self, snapshot: OrderBookSnapshot) -> None:
        if snapshot.venue == self.market.venue:
            for event in self._snapshot_waiters.pop(snapshot.symbol, ()):
                event.set()

    def _on_trade(self, trade: Trade) -> None:
        if trade.venue != self.market.venue:
            return
        seen = self._seen.get(trade.symbol)
        if seen is None:
            seen = self._seen[trade.symbol] = _SeenTrades(trade.ts_event)
        seen.add(trade)


class BybitLive:
    """Bybit's live endpoints for one market, with URLs overridable (testnet, proxy, fake)."""

    # Spot trade ids are numbered across every symbol, linear ones are UUIDs: a gap
    # shows in neither, so REST catches up after each reconnect, and a hole it cannot
    # serve is reported by time.
    detects_trade_gaps = False
    trade_ids_count_per_symbol = False

    def __init__(
        self,
        market: BybitMarket,
        parser: BybitFeedParser,
        clock: Clock,
        ws_url: str | None = None,
        rest_url: str | None = None,
    ) -> None:
        self.market = market
        self.venue = market.venue
        self.parser = parser
        self._clock = clock
        self.ws_url = _with_default_path(ws_url, market.ws_url)
        self.rest_url = (rest_url or market.rest_url).rstrip("/")
        self.limiter = rest_limiter()
        self._book_channel = "depth"
        self.snapshot_timeout_s = SNAPSHOT_TIMEOUT_S

    def channels(self, channels: Sequence[str]) -> list[str]:
        """Return Bybit's names of ``channels`` (``bookTicker`` -> ``ticker``), each once."""
        return list(dict.fromkeys(CHANNEL_ALIASES.get(c, c) for c in channels))

    def on_connect(self, ts_recv: int) -> None:
        """Do nothing: every subscription on a new socket starts with a snapshot."""

    def unified_symbol(self, symbol: str) -> str:
        """Return ``symbol`` as this market names it (``BTC/USDT:USDT`` on linear)."""
        return unified_symbol(raw_symbol(symbol), self.market)

    def stream_url(self, symbols: Sequence[str], channels: Sequence[str]) -> str:
        """Return the public stream of the market's category; subscriptions go by message."""
        return self.ws_url

    def subscribe_frames(self, symbols: Sequence[str], channels: Sequence[str]) -> list[str]:
        """Return the ``subscribe`` frames for every symbol and channel, within Bybit's limits."""
        named = self.channels(channels)
        self.parser.subscribe_topics(subscriptions.topics_for(self.market, symbols, named))
        books = [c for c in named if self.market.channels[c].startswith("orderbook.")]
        if books:
            self._book_channel = books[0]
        return subscriptions.subscribe_frames(self.market, symbols, named)

    def heartbeat(self) -> tuple[float, str]:
        """Return how often to send which frame: Bybit wants ``{"op":"ping"}`` every 20 s."""
        return HEARTBEAT_INTERVAL_S, subscriptions.ping_frame()

    async def resync_book(self, symbol: str, rest: VenueRestClient, send: SendFrame) -> None:
        """Resubscribe to the book topic and wait for the fresh snapshot Bybit answers with.

        Raises ``VenueUnavailableError`` when none arrives in time (the caller retries).
        """
        channel = [self._book_channel]
        topic = subscriptions.topics_for(self.market, [symbol], channel)
        arrived = self.parser.next_snapshot(self.unified_symbol(symbol))
        for frame in subscriptions.unsubscribe_frames(self.market, topic, "resync-unsub"):
            await send(frame)
        for frame in subscriptions.subscribe_frames(self.market, [symbol], channel, "resync"):
            await send(frame)
        try:
            await asyncio.wait_for(arrived.wait(), timeout=self.snapshot_timeout_s)
        except TimeoutError:
            raise VenueUnavailableError(
                f"{self.venue}: no snapshot of {topic[0]} {self.snapshot_timeout_s:g}s "
                "after resubscribing"
            ) from None

    async def poll(self, rest: VenueRestClient, symbols: Sequence[str]) -> None:
        """Do nothing: linear open interest streams in ``tickers``; spot has none."""

    async def recent_trades(self, rest: VenueRestClient, symbol: str) -> list[Trade]:
        """Return the venue's most recent trades of ``symbol`` (what a backfill can reach)."""
        raw = raw_symbol(symbol)
        limit = RECENT_TRADES_LIMIT.get(self.market.category, 60)
        params = {"category": self.market.category, "symbol": raw, "limit": str(limit)}
        body = await rest.get(self.market.recent_trades_path, params, weight=1)
        ts_recv = self._clock.timestamp_ns()
        reply = decode_reply(body, _TradesReply, "recent trades").result
        assert reply is not None  # decode_reply checked it
        unified = self.unified_symbol(symbol)
        trades = []
        for wire in reply.list:
            if wire.symbol != raw:
                raise MalformedMessageError(f"recent trades of {raw}: got one of {wire.symbol}")
            side, ts_event = _SIDES[wire.side], wire.time * _MS
            trade = Trade(
                self.venue, unified, wire.price, wire.size, side, wire.execId, ts_event, ts_recv
            )
            trades.append(trade)
        trades.reverse()  # Bybit lists the newest first
        return trades

    async def trades_from(self, rest: VenueRestClient, symbol: str, from_id: int) -> list[Trade]:
        """Return the recent trades with a numeric id >= ``from_id`` (no lookup by id here)."""
        trades = await self.recent_trades(rest, symbol)
        return [t for t in trades if t.trade_id.isdigit() and int(t.trade_id) >= from_id]

    async def trades_between(
        self, rest: VenueRestClient, symbol: str, start_ns: int, end_ns: int
    ) -> list[Trade]:
        """Return the recent trades: ``recent-trade`` takes no time range, so the catch-up
        reaches what it serves and reports the rest."""
        return await self.recent_trades(rest, symbol)

    async def poll_trades(self, rest: VenueRestClient, symbol: str) -> int:
        """Fetch recent trades by REST and publish those the stream has not delivered."""
        return self.merge_trades(symbol, await self.recent_trades(rest, symbol))

    def merge_trades(self, symbol: str, trades: Sequence[Trade]) -> int:
        """Publish the REST trades of ``symbol`` the stream has not delivered; count them."""
        return self.parser.merge_rest_trades(trades)

    async def sample_server_time(self, rest: VenueRestClient) -> OffsetSample:
        """Measure the venue's clock against ours once (Bybit answers in nanoseconds)."""
        sent = local_timestamp_ns(self._clock)
        body = await rest.get(self.market.server_time_path, {}, weight=1)
        received = local_timestamp_ns(self._clock)
        server = decode_reply(body, _TimeReply, "server time").result
        assert server is not None  # decode_reply checked it
        return OffsetSample(sent, server.timeNano, received)


def _with_default_path(url: str | None, default: str) -> str:
    """Return ``url`` (a server root gets the market's path), or ``default`` when None."""
    if not url:
        return default
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        return url.rstrip("/") + urlsplit(default).path
    return url
