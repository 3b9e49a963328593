"""Parameter spaces and their samplers: grid, random (seeded), and Optuna's TPE.

A space is written in YAML as ``<strategy id>.<field>: {low, high[, step][, log]}``
or ``{values: [...]}``; integer bounds make an integer parameter.
"""

from __future__ import annotations

import enum
import itertools
import math

import msgspec
import numpy as np

from tradefabric.core.errors import ConfigError
from tradefabric.research.trial import ParamSet, ParamValue


class Sampler(enum.StrEnum):
    """How a sweep picks its trials."""

    GRID = "grid"
    RANDOM = "random"
    TPE = "tpe"
    """Optuna's tree-structured Parzen estimator (sequential, in batches)."""


class ParamSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One parameter: a range (``low``..``high`` inclusive) or a list of ``values``."""

    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    values: tuple[ParamValue, ...] = ()

    def check(self, name: str) -> None:
        """Refuse an empty or inverted range, naming the parameter."""
        if self.values:
            if self.low is not None or self.high is not None:
                raise ConfigError(f"params.{name}: give values or low/high, not both")
            return
        if self.low is None or self.high is None or not self.low <= self.high:
            raise ConfigError(f"params.{name}: need low <= high (or values), got {self}")
        if self.step is not None and self.step <= 0:
            raise ConfigError(f"params.{name}.step: must be > 0")
        if self.log and self.low <= 0:
            raise ConfigError(f"params.{name}.log: needs low > 0")

    @property
    def is_int(self) -> bool:
        """Return whether the range holds integers (integer bounds and step)."""
        parts = (self.low, self.high, self.step if self.step is not None else 1)
        return not self.values and all(
            isinstance(p, int) or (p is not None and float(p).is_integer()) for p in parts
        )

    def grid(self, name: str) -> tuple[ParamValue, ...]:
        """Return every grid value (a float range needs a ``step``)."""
        if self.values:
            return self.values
        assert self.low is not None and self.high is not None
        if self.is_int:
            step = int(self.step or 1)
            return tuple(range(int(self.low), int(self.high) + 1, step))
        if self.step is None:
            raise ConfigError(f"params.{name}: a float range needs step for a grid")
        count = math.floor((self.high - self.low) / self.step + 1e-9) + 1
        return tuple(round(self.low + i * self.step, 12) for i in range(count))

    def draw(self, rng: np.random.Generator) -> ParamValue:
        """Return one value drawn uniformly (log-uniformly with ``log``)."""
        if self.values:
            return self.values[int(rng.integers(len(self.values)))]
        assert self.low is not None and self.high is not None
        if self.step is not None or self.is_int:
            grid = self.grid("")
            return grid[int(rng.integers(len(grid)))]
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))


def check_space(params: dict[str, ParamSpec]) -> None:
    """Check every parameter of a space."""
    if not params:
        raise ConfigError("params: give at least one parameter")
    for name, spec in params.items():
        spec.check(name)


def grid_points(params: dict[str, ParamSpec]) -> list[ParamSet]:
    """Return the cartesian product of every parameter's grid, in order."""
    names = tuple(params)
    grids = [params[n].grid(n) for n in names]
    return [ParamSet(names=names, values=tuple(v)) for v in itertools.product(*grids)]


def random_points(params: dict[str, ParamSpec], count: int, seed: int) -> list[ParamSet]:
    """Return ``count`` points drawn with a generator seeded by ``seed``."""
    rng = np.random.default_rng(seed)
    names = tuple(params)
    return [
        ParamSet(names=names, values=tuple(params[n].draw(rng) for n in names))
        for _ in range(count)
    ]
