"""Episodes: a condition that starts, peaks and ends, reported once, not once per tick.

An ``EpisodeTracker`` is fed one magnitude per bucket. The condition starts a
candidate episode when the magnitude reaches ``start_level``; the candidate is
confirmed (``opened``) once it has lasted ``min_duration_ns``; it ends once the
magnitude has stayed under ``end_level`` for ``end_after_ns`` (a dip shorter
than that does not split the episode). A candidate that fades before its
confirmation is dropped silently.
"""

from __future__ import annotations

import enum

import msgspec


class Phase(enum.StrEnum):
    """What an update did to the episode."""

    NONE = "none"
    OPENED = "opened"
    CLOSED = "closed"


class EpisodeState(msgspec.Struct):
    """The running figures of one episode (mutable: owned by its tracker)."""

    ts_start: int
    ts_last: int
    """The last bucket at or above the start level."""
    ts_peak: int
    peak: float
    peak_value: float
    """The signed value at the peak (the magnitude's source, e.g. a rate or a net spread)."""
    total: float = 0.0
    count: int = 0
    confirmed: bool = False
    ts_below: int = -1
    """First bucket of the current run under the end level, -1 when none."""


class EpisodeTracker:
    """Track one condition's episodes over buckets of ``interval_ns``."""

    __slots__ = ("_end_after", "_end_level", "_interval", "_min_duration", "_start_level", "state")

    def __init__(
        self,
        *,
        start_level: float,
        end_level: float,
        min_duration_ns: int,
        end_after_ns: int,
        interval_ns: int,
    ) -> None:
        self._start_level = start_level
        self._end_level = end_level
        self._min_duration = min_duration_ns
        self._end_after = end_after_ns
        self._interval = interval_ns
        self.state: EpisodeState | None = None

    def update(self, ts: int, magnitude: float | None, value: float = 0.0) -> Phase:
        """Feed the bucket at ``ts``; ``magnitude`` None means no observation (counts as below)."""
        state = self.state
        level = -1.0 if magnitude is None else magnitude
        if state is None:
            if level >= self._start_level:
                self.state = EpisodeState(ts, ts, ts, level, value, level, 1)
            return Phase.NONE
        if level >= self._end_level:
            return self._extend(state, ts, level, value)
        return self._below(state, ts)

    def _extend(self, state: EpisodeState, ts: int, level: float, value: float) -> Phase:
        state.ts_below = -1
        if level >= self._start_level or state.confirmed:
            state.ts_last = ts
        state.total += level
        state.count += 1
        if level > state.peak:
            state.peak, state.peak_value, state.ts_peak = level, value, ts
        duration = state.ts_last + self._interval - state.ts_start
        if not state.confirmed and duration >= self._min_duration:
            state.confirmed = True
            return Phase.OPENED
        return Phase.NONE

    def _below(self, state: EpisodeState, ts: int) -> Phase:
        if not state.confirmed:
            # A candidate that fades before confirmation is noise: forget it.
            self.state = None
            return Phase.NONE
        if state.ts_below < 0:
            state.ts_below = ts
        if ts + self._interval - state.ts_below > self._end_after:
            return Phase.CLOSED
        return Phase.NONE

    def end_ts(self) -> int:
        """Return the end of the current episode: the close of its last bucket at level."""
        if self.state is None:
            return 0
        return self.state.ts_last + self._interval

    def reset(self) -> None:
        """Forget the current episode (after its CLOSED phase was reported)."""
        self.state = None
