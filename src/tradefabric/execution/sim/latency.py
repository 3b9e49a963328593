"""Order latency: how long after it is sent an order (or cancel) reaches the venue.

Draws come from a seeded generator, so a backtest with the same seed sees the
same latencies.
"""

from __future__ import annotations

import enum
import math
import random

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.core.time import NS_PER_MS


class LatencyKind(enum.StrEnum):
    """The shape of the latency distribution."""

    FIXED = "fixed"
    UNIFORM = "uniform"
    LOGNORMAL = "lognormal"


class LatencyConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``fixed``: ``ms``; ``uniform``: between ``min_ms`` and ``max_ms``; ``lognormal``:
    median ``ms`` with log-space spread ``sigma``, capped at ``max_ms``."""

    kind: LatencyKind = LatencyKind.FIXED
    ms: float = 0.0
    min_ms: float = 0.0
    max_ms: float = 1_000.0
    sigma: float = 0.5

    def __post_init__(self) -> None:
        if self.ms < 0 or self.min_ms < 0 or self.max_ms < self.min_ms or self.sigma < 0:
            raise ConfigError("latency: need 0 <= min_ms <= max_ms, ms >= 0, sigma >= 0")


class LatencyModel:
    """Draw latencies (ns) from a ``LatencyConfig`` with a seeded generator."""

    def __init__(self, config: LatencyConfig, seed: int) -> None:
        self._config = config
        self._rng = random.Random(seed)

    def sample_ns(self) -> int:
        """Return the next latency in ns."""
        c = self._config
        if c.kind is LatencyKind.FIXED:
            ms = c.ms
        elif c.kind is LatencyKind.UNIFORM:
            ms = self._rng.uniform(c.min_ms, c.max_ms)
        else:
            ms = min(c.max_ms, c.ms * math.exp(self._rng.gauss(0.0, c.sigma)))
        return round(ms * NS_PER_MS)
