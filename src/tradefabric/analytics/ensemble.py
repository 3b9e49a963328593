"""One decision per asset from 1s (HFT), 1m (momentum) and 1h (trend) signals.

Each signal interval belongs to a group (``groups``). The newest signal of each
group votes while its horizon lasts: direction x confidence x the group's
weight in the asset's current regime. The decision is long when the sum of votes
reaches ``threshold``, short at ``-threshold``, flat between.
"""

from __future__ import annotations

import math

import msgspec

from tradefabric.analytics.regime import Regime
from tradefabric.analytics.signals.base import Direction, Signal
from tradefabric.core.errors import ConfigError


class GroupWeights(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Vote weight of each group in one regime."""

    hft: float
    momentum: float
    trend: float

    def weight(self, group: str) -> float:
        """Return the weight of ``group``."""
        value: float = getattr(self, group)
        return value


class EnsembleParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Groups of signal intervals, weights per regime, and the decision threshold."""

    groups: dict[str, str] = msgspec.field(
        default_factory=lambda: {"1s": "hft", "1m": "momentum", "5m": "momentum", "1h": "trend"}
    )
    bull: GroupWeights = GroupWeights(hft=0.2, momentum=0.3, trend=0.5)
    bear: GroupWeights = GroupWeights(hft=0.2, momentum=0.3, trend=0.5)
    range: GroupWeights = GroupWeights(hft=0.4, momentum=0.4, trend=0.2)
    volatile: GroupWeights = GroupWeights(hft=0.5, momentum=0.3, trend=0.2)
    threshold: float = 0.15

    def __post_init__(self) -> None:
        unknown = set(self.groups.values()) - {"hft", "momentum", "trend"}
        if unknown:
            raise ConfigError(f"ensemble groups must be hft, momentum or trend, got {unknown}")

    def weights(self, regime: Regime) -> GroupWeights:
        """Return the group weights of ``regime``."""
        weights: GroupWeights = getattr(self, regime.value)
        return weights


class Vote(msgspec.Struct, frozen=True):
    """One group's vote in a decision."""

    group: str
    source: str
    direction: Direction
    confidence: float
    weight: float
    contribution: float


class Decision(msgspec.Struct, frozen=True):
    """The ensemble's decision for one asset at ``ts``."""

    asset: str
    ts: int
    regime: Regime
    direction: Direction
    score: float
    votes: tuple[Vote, ...]


class Ensemble:
    """Weighted voting of the newest live signal per group, per asset."""

    def __init__(self, params: EnsembleParams) -> None:
        self.params = params
        self._live: dict[str, dict[str, Signal]] = {}

    def on_signal(self, signal: Signal, regime: Regime) -> Decision | None:
        """Record ``signal`` and return the asset's decision; None if its interval has no group."""
        group = self.params.groups.get(signal.interval)
        if group is None:
            return None
        live = self._live.setdefault(signal.asset, {})
        live[group] = signal
        return self.decide(signal.asset, regime, signal.ts)

    def decide(self, asset: str, regime: Regime, now_ns: int) -> Decision:
        """Return the decision for ``asset`` at ``now_ns`` from the signals still live."""
        weights = self.params.weights(regime)
        live = self._live.get(asset, {})
        votes: list[Vote] = []
        score = 0.0
        for group in sorted(live):
            sig = live[group]
            if now_ns >= sig.ts + sig.horizon_ns:
                continue  # its horizon is over: it no longer votes
            confidence = sig.strength if math.isnan(sig.confidence) else sig.confidence
            weight = weights.weight(group)
            contribution = weight * int(sig.direction) * confidence
            score += contribution
            votes.append(Vote(group, sig.source, sig.direction, confidence, weight, contribution))
        if score >= self.params.threshold:
            direction = Direction.LONG
        elif score <= -self.params.threshold:
            direction = Direction.SHORT
        else:
            direction = Direction.FLAT
        return Decision(asset, now_ns, regime, direction, score, tuple(votes))
