"""What a live feed needs to talk to Binance: stream URLs, REST snapshots, server time."""

from __future__ import annotations

import os
from collections.abc import Sequence

import msgspec

from tradefabric.core.clock import Clock, local_timestamp_ns
from tradefabric.core.errors import ConfigError, MalformedMessageError
from tradefabric.data.feed.clock_offset import OffsetSample
from tradefabric.data.feed.rest import VenueRestClient, WeightLimiter
from tradefabric.data.feed.venue import DEFAULT_FEED_CHANNELS, SendFrame
from tradefabric.model.data import Trade
from tradefabric.venues.binance.markets import BinanceMarket
from tradefabric.venues.binance.parser import BinanceStreamParser
from tradefabric.venues.binance.symbols import unified_symbol

DEFAULT_CHANNELS = DEFAULT_FEED_CHANNELS
API_KEY_ENV = "BINANCE_API_KEY"
"""Environment variable holding the API key sent to ``MARKET_DATA`` endpoints (USD-M
trade history); a read-only key is enough, nothing is signed."""
API_KEY_HEADER = "X-MBX-APIKEY"


class _ServerTime(msgspec.Struct, frozen=True):
    serverTime: int  # noqa: N815  (Binance's field name)


def raw_symbol(symbol: str) -> str:
    """Return Binance's spelling of a unified symbol: ``BTC/USDT:USDT`` -> ``BTCUSDT``."""
    pair = symbol.split(":", 1)[0]
    if "/" not in pair:
        raise ConfigError(f"symbol {symbol!r}: expected a unified symbol such as BTC/USDT")
    return pair.replace("/", "").upper()


class BinanceLive:
    """Binance's live endpoints for one market, with URLs overridable (testnet, proxy, fake)."""

    # Trade ids are consecutive per symbol: the parser publishes every gap.
    detects_trade_gaps = True
    trade_ids_count_per_symbol = True

    def __init__(
        self,
        market: BinanceMarket,
        parser: BinanceStreamParser,
        clock: Clock,
        ws_url: str | None = None,
        rest_url: str | None = None,
        *,
        api_key: str | None = None,
    ) -> None:
        self.market = market
        key = os.environ.get(API_KEY_ENV, "") if api_key is None else api_key
        self._key_headers = {API_KEY_HEADER: key} if key else None
        self.venue = market.venue
        self.parser = parser
        self._clock = clock
        base = ws_url or market.ws_url
        # Accept either a server root or a full ``.../stream`` endpoint.
        self.ws_base = base[: -len("/stream")] if base.endswith("/stream") else base.rstrip("/")
        self.rest_url = rest_url or market.rest_url
        self.limiter = WeightLimiter(market.rest_weight_per_minute)

    def streams(self, symbols: Sequence[str], channels: Sequence[str]) -> list[str]:
        """Return stream names such as ``btcusdt@depth@100ms`` for every symbol and channel."""
        available = self.market.channels
        unknown = sorted(set(channels) - set(available))
        if unknown:
            raise ConfigError(
                f"unknown Binance channels {unknown} on {self.venue}; available: {list(available)}"
            )
        return [
            f"{raw_symbol(symbol).lower()}@{available[channel]}"
            for symbol in symbols
            for channel in channels
        ]

    def heartbeat(self) -> None:
        """Return None: Binance needs no application-level ping (the library pongs its pings)."""
        return None

    def on_connect(self, ts_recv: int) -> None:
        """Do nothing: Binance ids are per book, not per connection."""

    def unified_symbol(self, symbol: str) -> str:
        """Return ``symbol`` as this market names it (``BTC/USDT:USDT`` on USD-M)."""
        return unified_symbol(raw_symbol(symbol), self.market)

    def stream_url(self, symbols: Sequence[str], channels: Sequence[str]) -> str:
        """Return the combined-stream URL subscribing to every stream at connect time."""
        return f"{self.ws_base}/stream?streams={'/'.join(self.streams(symbols, channels))}"

    def subscribe_frames(self, symbols: Sequence[str], channels: Sequence[str]) -> list[str]:
        """Return no frames: the combined-stream URL already subscribes."""
        return []

    async def resync_book(self, symbol: str, rest: VenueRestClient, send: SendFrame) -> None:
        """Fetch a REST depth snapshot: Binance never resends a book on the socket."""
        await self.fetch_snapshot(rest, symbol)

    async def fetch_snapshot(self, rest: VenueRestClient, symbol: str) -> None:
        """Fetch a 1000-level depth snapshot of ``symbol`` and hand it to the parser."""
        raw = raw_symbol(symbol)
        body = await rest.get(
            self.market.depth_snapshot_path,
            {"symbol": raw, "limit": "1000"},
            weight=self.market.depth_snapshot_weight,
        )
        self.parser.on_depth_snapshot(body, raw, self._clock.timestamp_ns())

    async def poll(self, rest: VenueRestClient, symbols: Sequence[str]) -> None:
        """Poll what the venue only offers by REST: open interest on USD-M."""
        path = self.market.open_interest_path
        if not path:
            return
        for symbol in symbols:
            body = await rest.get(path, {"symbol": raw_symbol(symbol)}, weight=1)
            self.parser.on_open_interest(body, self._clock.timestamp_ns())

    async def recent_trades(self, rest: VenueRestClient, symbol: str) -> list[Trade]:
        """Return the venue's last 1000 trades of ``symbol`` (what a backfill can reach)."""
        raw = raw_symbol(symbol)
        body = await rest.get(
            self.market.recent_trades_path, {"symbol": raw, "limit": "1000"}, weight=25
        )
        return self.parser.parse_recent_trades(body, raw, self._clock.timestamp_ns())

    async def trades_from(self, rest: VenueRestClient, symbol: str, from_id: int) -> list[Trade]:
        """Return one page of ``symbol``'s trades from id ``from_id`` on (old trade lookup).

        USD-M's lookup is ``MARKET_DATA``: without ``BINANCE_API_KEY`` set it answers
        401, and the gap is reported unrecoverable.
        """
        raw = raw_symbol(symbol)
        market = self.market
        params = {"symbol": raw, "fromId": str(from_id), "limit": str(market.history_trades_limit)}
        headers = self._key_headers if market.history_needs_api_key else None
        body = await rest.get(
            market.history_trades_path, params, market.history_trades_weight, headers
        )
        return self.parser.parse_recent_trades(body, raw, self._clock.timestamp_ns())

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
        return self.parser.merge_rest_trades(raw_symbol(symbol), list(trades))

    async def sample_server_time(self, rest: VenueRestClient) -> OffsetSample:
        """Measure the venue's clock against ours once."""
        sent = local_timestamp_ns(self._clock)
        body = await rest.get(self.market.server_time_path, {}, weight=1)
        received = local_timestamp_ns(self._clock)
        try:
            server_ms = msgspec.json.decode(body, type=_ServerTime).serverTime
        except msgspec.DecodeError as exc:
            raise MalformedMessageError(f"server time reply: {exc}") from exc
        return OffsetSample(sent, server_ms * 1_000_000, received)
