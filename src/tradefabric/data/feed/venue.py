"""What the live feed runtime needs from a venue adapter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from tradefabric.data.feed.clock_offset import OffsetSample
from tradefabric.data.feed.rest import VenueRestClient, WeightLimiter
from tradefabric.model.data import Trade

DEFAULT_FEED_CHANNELS = ("trade", "bookTicker", "depth")
"""The live feed's generic default channels: trades, top of book, and the order book.
Each venue maps them to its own channel names."""

SendFrame = Callable[[str], Awaitable[None]]
"""Send a text frame on the venue connection (for resubscribing)."""


class FrameParser(Protocol):
    """A venue parser: raw frames in, domain events on the bus out."""

    def on_frame(self, raw: bytes, ts_recv: int) -> None:
        """Handle one raw frame received at ``ts_recv``."""
        ...


class MarketDataEndpoints(Protocol):
    """A venue's live endpoints: how to subscribe, resync books and read its clock."""

    venue: str
    rest_url: str
    limiter: WeightLimiter
    detects_trade_gaps: bool
    """True when the parser publishes a ``TradeGap`` for every missing trade (consecutive
    ids); otherwise the feed asks REST for recent trades after every reconnect."""
    trade_ids_count_per_symbol: bool
    """True when each symbol's trade ids count up by one, so a hole's size is known from
    the ids around it; otherwise a hole is reported by its time only."""

    def heartbeat(self) -> tuple[float, str] | None:
        """Return (interval in seconds, text frame) to send on the socket periodically, or None."""
        ...

    def on_connect(self, ts_recv: int) -> None:
        """Reset per-connection state (sequence numbers) before a new socket's first frame."""
        ...

    def unified_symbol(self, symbol: str) -> str:
        """Return the symbol as this venue's events name it (``BTC/USDT:USDT`` for perps)."""
        ...

    def stream_url(self, symbols: Sequence[str], channels: Sequence[str]) -> str:
        """Return the WebSocket URL to connect to."""
        ...

    def subscribe_frames(self, symbols: Sequence[str], channels: Sequence[str]) -> list[str]:
        """Return the frames to send right after connecting."""
        ...

    async def resync_book(self, symbol: str, rest: VenueRestClient, send: SendFrame) -> None:
        """Obtain a fresh book snapshot of ``symbol`` (REST, or resubscribing on the socket)."""
        ...

    async def poll(self, rest: VenueRestClient, symbols: Sequence[str]) -> None:
        """Fetch and publish what the venue offers only by REST (e.g. open interest)."""
        ...

    async def recent_trades(self, rest: VenueRestClient, symbol: str) -> list[Trade]:
        """Return the most recent trades the venue serves by REST (for gap backfill)."""
        ...

    async def trades_from(self, rest: VenueRestClient, symbol: str, from_id: int) -> list[Trade]:
        """Return one page of trades with id >= ``from_id``, oldest first (gap backfill);
        empty where the venue serves none from there."""
        ...

    async def trades_between(
        self, rest: VenueRestClient, symbol: str, start_ns: int, end_ns: int
    ) -> list[Trade]:
        """Return one page of trades with ``start_ns <= ts_event < end_ns`` (the newest of
        them), or the recent trades where the venue cannot select by time (catch-up)."""
        ...

    async def poll_trades(self, rest: VenueRestClient, symbol: str) -> int:
        """Publish REST trades the stream has not delivered (deduped by id); return how many."""
        ...

    def merge_trades(self, symbol: str, trades: Sequence[Trade]) -> int:
        """Publish those of ``trades`` (REST's, of ``symbol``) the stream has not delivered."""
        ...

    async def sample_server_time(self, rest: VenueRestClient) -> OffsetSample:
        """Measure the venue's clock against ours once."""
        ...
