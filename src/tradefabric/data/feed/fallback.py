"""Serve trades from whichever source is fresher, the WebSocket or REST, measured continuously.

The stream is the default source. Two things move trades to REST polling:

- the stream is down or silent for longer than ``lag_threshold_s`` (every
  ``check_s``), or
- the stream is *behind*: every ``probe_s`` REST's recent trades race the stream.
  How much newer (in venue time) REST's newest trade is than the stream's newest
  is how far behind the stream is; past ``lag_threshold_s`` REST is the fresher
  source. A stream that is busy but seconds late (a congested socket, a lagging
  venue gateway) is caught this way; silence alone would never show it. The
  probe only looks: nothing it sees is merged, so the stream's own progress
  stays measurable.

While on REST every ``check_s`` poll keeps racing: when ``settle_polls``
polls in a row find nothing new (the stream delivered it first) and the
stream is fresh, trades go back to the stream. Both sources share the
parser's seen trade ids, so the overlap is dropped, never counted twice.

A connected stream that goes silent (a stall the watchdog has not cut yet) is
reported once to ``on_silent``: what it skips while REST stands in is an
outage like a drop's, and where the venue serves only its latest trades REST
cannot cover it all.
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
"""Poll one symbol's recent trades; return how many were new (not seen from the stream)."""
TradeAge = Callable[[str], Awaitable[int]]
"""Return how much newer (ns of venue time) REST's newest trade of a symbol is than the
stream's newest; 0 or less when the stream is not behind."""


class FallbackStats(msgspec.Struct, frozen=True):
    """Which source is serving trades, why, and what REST has contributed."""

    source: str
    """``websocket`` or ``rest``."""
    switches_to_rest: int
    polls: int
    trades_from_rest: int
    stream_behind_s: float
    """The last race's estimate of how far the stream trails REST (0: not behind)."""
    reason: str
    """Why trades are on the current source."""


class RestFallback:
    """Poll REST for trades whenever the stream is not the fresher source."""

    def __init__(
        self,
        connection: VenueConnection,
        clock: Clock,
        symbols: Sequence[str],
        poll: PollTrades,
        *,
        rest_lead: TradeAge | None = None,
        lag_threshold_s: float = 2.0,
        check_s: float = 0.25,
        probe_s: float = 5.0,
        settle_polls: int = 3,
        on_silent: Callable[[], None] | None = None,
    ) -> None:
        self._connection = connection
        self._clock = clock
        self._symbols = tuple(symbols)
        self._poll = poll
        self._rest_lead = rest_lead
        self._lag_ns = int(lag_threshold_s * 1e9)
        self._lag_s = lag_threshold_s
        self._check_s = check_s
        self._probe_ns = int(probe_s * 1e9)
        self._settle_polls = settle_polls
        self._on_silent = on_silent
        self._silence_reported = False
        self._on_rest = False
        self._quiet_polls = 0
        self._last_probe_ns = 0
        self._reason = "stream fresh"
        self.stream_behind_s = 0.0
        self.switches_to_rest = 0
        self.polls = 0
        self.trades_from_rest = 0

    def stats(self) -> FallbackStats:
        """Return the current source and counters."""
        source = "rest" if self._on_rest else "websocket"
        return FallbackStats(
            source, self.switches_to_rest, self.polls, self.trades_from_rest,
            self.stream_behind_s, self._reason,
        )  # fmt: skip

    def stream_is_stale(self) -> bool:
        """Return True when the stream is down or silent for longer than the threshold."""
        conn = self._connection
        if not conn.stats().connected:
            return True
        return self._clock.timestamp_ns() - conn.last_frame_ns > self._lag_ns

    async def run(self, stop: asyncio.Event) -> None:
        """Keep choosing the fresher source until ``stop``."""
        while not stop.is_set():
            if self._connection.last_frame_ns > 0:
                await self._step()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._check_s)

    async def _step(self) -> None:
        if self.stream_is_stale():
            self._report_silence()
            self._use_rest("stream silent or down")
            await self._poll_all()
            return
        self._silence_reported = False
        if self._on_rest:
            new = await self._poll_all()
            self._quiet_polls = 0 if new else self._quiet_polls + 1
            if self._quiet_polls >= self._settle_polls:
                self._use_stream()
        elif self._clock.timestamp_ns() - self._last_probe_ns >= self._probe_ns:
            await self._race()

    def _report_silence(self) -> None:
        # Once per silence, before REST's first poll; a dropped socket is its own outage.
        if self._silence_reported or self._on_silent is None:
            return
        if self._connection.stats().connected:
            self._silence_reported = True
            self._on_silent()

    async def _race(self) -> None:
        self._last_probe_ns = self._clock.timestamp_ns()
        if self._rest_lead is None:
            return
        lead_ns = 0
        for symbol in self._symbols:
            try:
                lead_ns = max(lead_ns, await self._rest_lead(symbol))
            except TradefabricError as exc:
                log.info("rest_probe_failed", symbol=symbol, error=str(exc))
        self.stream_behind_s = lead_ns / 1e9
        if self.stream_behind_s > self._lag_s:
            self._use_rest(f"stream {self.stream_behind_s:.1f}s behind REST")

    def _use_rest(self, reason: str) -> None:
        self._quiet_polls = 0
        if self._on_rest:
            return
        self._on_rest = True
        self._reason = reason
        self.switches_to_rest += 1
        log.info("trade_source", source="rest", reason=reason)

    def _use_stream(self) -> None:
        self._on_rest = False
        self._reason = "stream caught up"
        self.stream_behind_s = 0.0
        log.info("trade_source", source="websocket", reason=self._reason)

    async def _poll_all(self) -> int:
        new = 0
        for symbol in self._symbols:
            try:
                new += await self._poll(symbol)
            except TradefabricError as exc:
                log.info("rest_poll_failed", symbol=symbol, error=str(exc))
            self.polls += 1
        self.trades_from_rest += new
        return new
