"""Keep trades flowing by REST while the WebSocket is down or lagging.

Every ``check_s`` the fallback compares the stream's freshness (time since its
last frame) with ``lag_threshold_s``; while the stream is stale or disconnected
it polls the venue's recent trades, and it stops as soon as the stream is fresh
again. Both sources share the parser's last trade id, so overlap is deduped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

import msgspec
import structlog

from tradefabric.core.clock import Clock
from tradefabric.core.errors import TradefabricError
from tradefabric.data.feed.connection import VenueConnection

log = structlog.get_logger(__name__)

PollTrades = Callable[[str], Awaitable[int]]


class FallbackStats(msgspec.Struct, frozen=True):
    """Which source is serving trades, and what REST has contributed."""

    source: str
    """``websocket`` or ``rest``."""
    switches_to_rest: int
    polls: int
    trades_from_rest: int


class RestFallback:
    """Poll REST for trades whenever the stream is not the fresher source."""

    def __init__(
        self,
        connection: VenueConnection,
        clock: Clock,
        symbols: Sequence[str],
        poll: PollTrades,
        *,
        lag_threshold_s: float = 2.0,
        check_s: float = 0.25,
    ) -> None:
        self._connection = connection
        self._clock = clock
        self._symbols = tuple(symbols)
        self._poll = poll
        self._lag_ns = int(lag_threshold_s * 1e9)
        self._check_s = check_s
        self._on_rest = False
        self.switches_to_rest = 0
        self.polls = 0
        self.trades_from_rest = 0

    def stats(self) -> FallbackStats:
        """Return the current source and counters."""
        source = "rest" if self._on_rest else "websocket"
        return FallbackStats(source, self.switches_to_rest, self.polls, self.trades_from_rest)

    def stream_is_stale(self) -> bool:
        """Return True when the stream is down or silent for longer than the threshold."""
        conn = self._connection
        if not conn.stats().connected:
            return True
        return self._clock.timestamp_ns() - conn.last_frame_ns > self._lag_ns

    async def run(self, stop: asyncio.Event) -> None:
        """Watch the stream and poll REST while it is stale, until ``stop``."""
        while not stop.is_set():
            stale = self.stream_is_stale() and self._connection.last_frame_ns > 0
            if stale != self._on_rest:
                self._on_rest = stale
                self.switches_to_rest += stale
                log.info("trade_source", source="rest" if stale else "websocket")
            if stale:
                await self._poll_all()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._check_s)

    async def _poll_all(self) -> None:
        for symbol in self._symbols:
            try:
                self.trades_from_rest += await self._poll(symbol)
            except TradefabricError as exc:
                log.info("rest_poll_failed", symbol=symbol, error=str(exc))
            self.polls += 1
