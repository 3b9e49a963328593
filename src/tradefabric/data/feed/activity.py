"""Per-channel activity: how often each channel of each symbol normally speaks, and if it stalled.

A quiet symbol's trade channel may be silent for minutes while its book
updates every 100 ms; each channel is judged against its own normal rate
(an exponentially weighted mean of its gaps), so quiet channels raise no alarm
and the connection is restarted only when everything is silent.
"""

from __future__ import annotations

import msgspec

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock
from tradefabric.data import topics

_ALPHA = 0.05
"""Weight of the newest gap in the mean: about the last 20 gaps count."""


class ChannelState(msgspec.Struct, frozen=True):
    """One channel of one symbol: its normal rhythm and whether it is overdue."""

    channel: str
    symbol: str
    events: int
    mean_gap_s: float
    silent_for_s: float
    stale: bool


class _Rhythm:
    __slots__ = ("events", "last_ns", "mean_gap_ns")

    def __init__(self, now: int) -> None:
        self.events = 0
        self.last_ns = now
        self.mean_gap_ns = 0.0


class ChannelActivity:
    """Track trades, quotes and book deltas per symbol on the bus."""

    def __init__(
        self, bus: MessageBus, clock: Clock, stale_factor: float = 20.0, floor_s: float = 5.0
    ) -> None:
        self._clock = clock
        self._stale_factor = stale_factor
        self._floor_ns = int(floor_s * 1e9)
        self._rhythms: dict[tuple[str, str], _Rhythm] = {}
        bus.subscribe(topics.TRADES, lambda m: self._seen("trades", m.symbol))
        bus.subscribe(topics.QUOTES, lambda m: self._seen("quotes", m.symbol))
        bus.subscribe(topics.BOOK_DELTAS, lambda m: self._seen("book", m.symbol))

    def states(self) -> list[ChannelState]:
        """Return every channel's state, stale ones flagged."""
        now = self._clock.timestamp_ns()
        out = []
        for (channel, symbol), rhythm in sorted(self._rhythms.items()):
            silent = now - rhythm.last_ns
            allowed = max(self._floor_ns, self._stale_factor * rhythm.mean_gap_ns)
            out.append(
                ChannelState(
                    channel, symbol, rhythm.events, rhythm.mean_gap_ns / 1e9, silent / 1e9,
                    rhythm.events > 1 and silent > allowed,
                )
            )  # fmt: skip
        return out

    def _seen(self, channel: str, symbol: str) -> None:
        now = self._clock.timestamp_ns()
        rhythm = self._rhythms.get((channel, symbol))
        if rhythm is None:
            rhythm = self._rhythms[(channel, symbol)] = _Rhythm(now)
        elif rhythm.events == 1:
            rhythm.mean_gap_ns = now - rhythm.last_ns
        else:
            rhythm.mean_gap_ns += _ALPHA * ((now - rhythm.last_ns) - rhythm.mean_gap_ns)
        rhythm.events += 1
        rhythm.last_ns = now
