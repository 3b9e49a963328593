"""What a live feed needs to talk to Kraken spot (WebSocket v2): subscribe frames, resyncs, REST.

Kraken subscribes by frames (one channel per frame) on one URL. The ``instrument``
channel is subscribed first, so pair precisions (which the book checksum is
printed with) are known before any book arrives. Books have no sequence ids and
no REST snapshot: a book whose checksum failed is resynced by unsubscribing and
subscribing ``book`` again on the live connection, which makes Kraken send a
fresh snapshot. REST serves recent trades (``/0/public/Trades``) and the server
time (``/0/public/Time``, whole seconds).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock, local_timestamp_ns
from tradefabric.core.errors import ConfigError, MalformedMessageError, RequestRejectedError
from tradefabric.data import topics
from tradefabric.data.feed.clock_offset import OffsetSample
from tradefabric.data.feed.rest import VenueRestClient, WeightLimiter
from tradefabric.data.feed.snapshot_requests import BookWatch, SnapshotRequests
from tradefabric.data.feed.venue import DEFAULT_FEED_CHANNELS, SendFrame
from tradefabric.model.data import Trade
from tradefabric.venues.kraken.book import KrakenPairs
from tradefabric.venues.kraken.markets import KrakenMarket
from tradefabric.venues.kraken.parser import KrakenStreamParser
from tradefabric.venues.kraken.rest import parse_rest_trades, parse_rest_trades_page
from tradefabric.venues.kraken.subscriptions import (
    Subscription,
    subscribe_frame,
    unsubscribe_frame,
)
from tradefabric.venues.kraken.symbols import check_symbol, symbol_to_rest_pair

DEFAULT_CHANNELS = DEFAULT_FEED_CHANNELS

FEED_CHANNELS = {"trade": "trade", "bookTicker": "ticker", "depth": "book", "kline": "ohlc"}
"""The live feed's generic channel names -> Kraken v2 channel names."""

BOOK_DEPTH = 100
"""Levels per side subscribed (Kraken accepts 10, 25, 100, 500, 1000; the checksum covers 10)."""
BOOK_REFRESH_S = 300.0
"""Rebuild the book from a fresh snapshot this often: a lost update below the top 10
levels is invisible to Kraken's checksum, so this bounds how long it can stay wrong."""
OHLC_INTERVAL_MIN = 1
PUBLIC_REQUESTS_PER_MINUTE = 60
"""Kraken's public REST limit: about one request per second per IP."""
SERVER_TIME_PATH = "/0/public/Time"
TRADES_PAGE = 1000
"""Most trades one ``Trades`` reply holds (``count``, Kraken's maximum)."""
SNAPSHOT_WAIT_S = 5.0
"""How long a resync waits for the book snapshot it asked for before asking again."""
_NS = 1_000_000_000


class _Time(msgspec.Struct, frozen=True):
    unixtime: int


class _TimeReply(msgspec.Struct, frozen=True):
    error: tuple[str, ...] = ()
    result: _Time | None = None


class KrakenFeedParser(KrakenStreamParser):
    """A stream parser that also tracks book validity and snapshots, and merges REST trades.

    The live side needs both to resync a book on the socket: ask for a snapshot
    only when the book is invalid and none is on its way, then wait for it.
    """

    def __init__(
        self, bus: MessageBus, market: KrakenMarket, pairs: KrakenPairs | None = None
    ) -> None:
        super().__init__(bus, market, pairs)
        self.watch = BookWatch(bus, market.venue)

    def book_valid(self, symbol: str) -> bool:
        """Return True when the local book of ``symbol`` last reported itself valid."""
        return self.watch.book_valid(symbol)

    def last_snapshot_ns(self, symbol: str) -> int:
        """Return when the last book snapshot of ``symbol`` was received (0: never)."""
        return self.watch.last_snapshot_ns(symbol)

    def merge_rest_trades(self, trades: Sequence[Trade]) -> int:
        """Publish REST trades newer than the last one seen (by Kraken's trade id); count them.

        Ids skipped between the last trade and REST's oldest are a gap, published as such.
        """
        published = 0
        for trade in sorted(trades, key=_trade_number):
            number = _trade_number(trade)
            if number < 0 or not self._take_trade(
                trade.symbol, number, trade.ts_event, trade.ts_recv
            ):
                continue
            self._bus.publish(topics.TRADES, trade)
            published += 1
        return published


def _trade_number(trade: Trade) -> int:
    tid = trade.trade_id
    return int(tid) if tid.isascii() and tid.isdigit() else -1


def venue_channels(market: KrakenMarket, channels: Sequence[str]) -> list[str]:
    """Return the Kraken channels for ``channels``, ``instrument`` first, each once.

    A channel is one of the live feed's names (``trade``, ``bookTicker``,
    ``depth``, ``kline``) or a Kraken v2 name (``ticker``, ``book``, ``ohlc``).
    """
    names = ["instrument"]
    for channel in channels:
        name = FEED_CHANNELS.get(channel, channel)
        if name not in market.channels:
            known = sorted(set(FEED_CHANNELS) | set(market.channels))
            raise ConfigError(f"unknown Kraken channel {channel!r}; expected one of {known}")
        if name not in names:
            names.append(name)
    return names


class KrakenLive:
    """Kraken spot's live endpoints, with URLs overridable (proxy, the local fake venue)."""

    # Trade ids are consecutive per pair: the parser publishes every gap.
    detects_trade_gaps = True
    trade_ids_count_per_symbol = True

    def __init__(
        self,
        market: KrakenMarket,
        parser: KrakenFeedParser,
        clock: Clock,
        ws_url: str | None = None,
        rest_url: str | None = None,
        *,
        book_depth: int = BOOK_DEPTH,
    ) -> None:
        if book_depth not in market.book_depths:
            raise ConfigError(f"Kraken book depth {book_depth} not in {market.book_depths}")
        self.market = market
        self.venue = market.venue
        self.parser = parser
        self.book_depth = book_depth
        self._clock = clock
        self.ws_url = ws_url or market.ws_url
        self.rest_url = rest_url or market.rest_url
        self.limiter = WeightLimiter(PUBLIC_REQUESTS_PER_MINUTE, burst=5)
        self._snapshots = SnapshotRequests(clock, SNAPSHOT_WAIT_S)
        self._req_id = 0
        self._time_decoder = msgspec.json.Decoder(_TimeReply)
        self._cursors: dict[tuple[str, int], str] = {}
        """(symbol, next trade id) -> the ``last`` cursor of the page before it."""

    def heartbeat(self) -> None:
        """Return None: the socket library's pings keep the connection alive."""
        return None

    def on_connect(self, ts_recv: int) -> None:
        """Do nothing: Kraken numbers nothing per connection (books restart from a snapshot)."""

    def unified_symbol(self, symbol: str) -> str:
        """Return ``symbol`` as Kraken v2 names it (``BTC/USD``); reject non-spot names."""
        if ":" in symbol:
            raise ConfigError(f"Kraken spot has no derivative symbol {symbol!r}")
        try:
            return check_symbol(symbol.upper())
        except MalformedMessageError as exc:
            raise ConfigError(str(exc)) from exc

    def stream_url(self, symbols: Sequence[str], channels: Sequence[str]) -> str:
        """Return the WebSocket URL: the same for every subscription (frames subscribe)."""
        return self.ws_url

    def subscribe_frames(self, symbols: Sequence[str], channels: Sequence[str]) -> list[str]:
        """Return one subscribe frame per channel, ``instrument`` first.

        Trades are subscribed without a snapshot (a reconnect's gap is backfilled by
        REST, deduped by id). A ``book`` subscribe makes the venue send snapshots:
        they are noted as asked for, so a resync right after connecting waits for them.
        """
        unified = tuple(self.unified_symbol(s) for s in symbols)
        names = venue_channels(self.market, channels)
        frames = []
        for name in names:
            sub = Subscription(
                channel=name,
                symbols=() if name == "instrument" else unified,
                depth=self.book_depth if name == "book" else 0,
                interval=OHLC_INTERVAL_MIN if name == "ohlc" else 0,
                snapshot=name != "trade",
            )
            frames.append(subscribe_frame(self.market, sub, self._next_req_id()).decode())
        if "book" in names:
            self._snapshots.asked_now(unified)
        return frames

    async def resync_book(self, symbol: str, rest: VenueRestClient, send: SendFrame) -> None:
        """Resubscribe ``book`` for ``symbol`` on the socket and wait for its snapshot."""
        unified = self.unified_symbol(symbol)
        sub = Subscription(channel="book", symbols=(unified,), depth=self.book_depth)

        def frames() -> list[str]:
            return [
                unsubscribe_frame(self.market, sub, self._next_req_id()).decode(),
                subscribe_frame(self.market, sub, self._next_req_id()).decode(),
            ]

        await self._snapshots.resync(
            unified,
            watch=self.parser.watch,
            resubscribe_frames=frames,
            send=send,
        )

    async def poll(self, rest: VenueRestClient, symbols: Sequence[str]) -> None:
        """Publish the OHLC bars whose interval has ended (Kraken announces no close)."""
        self.parser.flush_candles(self._clock.timestamp_ns())

    async def recent_trades(self, rest: VenueRestClient, symbol: str) -> list[Trade]:
        """Return the venue's last 1000 trades of ``symbol`` (what a backfill can reach)."""
        unified = self.unified_symbol(symbol)
        body = await rest.get(
            self.market.recent_trades_path, {"pair": symbol_to_rest_pair(unified)}, weight=1
        )
        trades = parse_rest_trades(body, self.venue, self._clock.timestamp_ns())
        return [t for t in trades if t.symbol == unified]

    async def trades_from(self, rest: VenueRestClient, symbol: str, from_id: int) -> list[Trade]:
        """Return one page of trades with id >= ``from_id``: ``Trades?since=`` a ns cursor.

        The first page of a gap starts 1 ns before the last trade received ahead of
        it (trades of that same instant may be missing too); each next page 1 ns
        before the ``last`` cursor Kraken returned. Without a known cursor, the
        recent trades.
        """
        unified = self.unified_symbol(symbol)
        since = self._cursors.pop((unified, from_id), None)
        if since is None:
            before = self.parser.gap_since(unified, from_id)
            since = str(before - 1) if before else None
        params = {"pair": symbol_to_rest_pair(unified), "count": str(TRADES_PAGE)}
        if since is not None:
            params["since"] = since
        body = await rest.get(self.market.recent_trades_path, params, weight=1)
        trades, last = parse_rest_trades_page(body, self.venue, self._clock.timestamp_ns())
        page = [t for t in trades if t.symbol == unified and _trade_number(t) >= from_id]
        if page and last.isdigit():
            # 1 ns back: trades of the page's last instant may continue on the next page
            # (deduplicated by id), where an exclusive cursor would skip them.
            self._cursors[(unified, max(map(_trade_number, page)) + 1)] = str(int(last) - 1)
        return page

    async def trades_between(
        self, rest: VenueRestClient, symbol: str, start_ns: int, end_ns: int
    ) -> list[Trade]:
        """Return the recent trades: gaps are found by id here, the catch-up by time is not used."""
        return await self.recent_trades(rest, symbol)

    async def poll_trades(self, rest: VenueRestClient, symbol: str) -> int:
        """Fetch recent trades by REST and publish those the stream has not delivered."""
        return self.merge_trades(symbol, await self.recent_trades(rest, symbol))

    def merge_trades(self, symbol: str, trades: Sequence[Trade]) -> int:
        """Publish the REST trades of ``symbol`` the stream has not delivered; count them."""
        return self.parser.merge_rest_trades(trades)

    async def sample_server_time(self, rest: VenueRestClient) -> OffsetSample:
        """Measure the venue's clock against ours once (Kraken tells whole seconds)."""
        sent = local_timestamp_ns(self._clock)
        body = await rest.get(SERVER_TIME_PATH, {}, weight=1)
        received = local_timestamp_ns(self._clock)
        try:
            reply = self._time_decoder.decode(body)
        except msgspec.DecodeError as exc:
            raise MalformedMessageError(f"Kraken server time reply: {exc}") from exc
        if reply.error or reply.result is None:
            raise RequestRejectedError(f"Kraken server time: {'; '.join(reply.error)}")
        # The venue truncates to the second: the middle of that second is the best estimate.
        return OffsetSample(sent, reply.result.unixtime * _NS + _NS // 2, received, _NS)

    def _next_req_id(self) -> int:
        self._req_id += 1
        return self._req_id
