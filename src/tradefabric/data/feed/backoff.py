"""Exponential backoff with jitter, for reconnects and retried requests."""

from __future__ import annotations

import random


class Backoff:
    """Delays growing by ``factor`` up to ``maximum``, each with random jitter.

    Jitter spreads reconnects of many clients after a venue outage so they do not
    all hit the venue in the same instant ("thundering herd").
    """

    def __init__(
        self,
        initial_s: float = 0.25,
        maximum_s: float = 30.0,
        factor: float = 2.0,
        jitter: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        self._initial = initial_s
        self._maximum = maximum_s
        self._factor = factor
        self._jitter = jitter
        self._rng = rng or random.Random()
        self._attempt = 0

    @property
    def attempt(self) -> int:
        """Return how many delays were handed out since the last reset."""
        return self._attempt

    def next_delay(self) -> float:
        """Return the next delay in seconds: base * factor**attempt, +/- jitter, capped."""
        base = min(self._maximum, self._initial * self._factor**self._attempt)
        self._attempt += 1
        spread = base * self._jitter
        return max(0.0, min(self._maximum, base + self._rng.uniform(-spread, spread)))

    def reset(self) -> None:
        """Start again from the initial delay (after a healthy connection)."""
        self._attempt = 0
