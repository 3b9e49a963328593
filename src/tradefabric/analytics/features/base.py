"""The feature protocol, and ``FeatureSet``: many features updated together per candle."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import msgspec
import numpy as np
from numpy.typing import NDArray

from tradefabric.analytics.frame import CandleFrame
from tradefabric.core.errors import ConfigError
from tradefabric.model.data import Candle

Array = NDArray[np.float64]


@runtime_checkable
class Feature(Protocol):
    """A per-candle feature with a streaming and a batch form that give the same values."""

    @property
    def columns(self) -> tuple[str, ...]:
        """Return the names of the values this feature produces, in order."""
        ...

    def update(self, candle: Candle) -> tuple[float, ...]:
        """Add one candle (O(1)); return one value per column, NaN while warming up."""
        ...

    def batch(self, frame: CandleFrame) -> tuple[Array, ...]:
        """Return one array per column over a whole series."""
        ...


class FeatureTable(msgspec.Struct, frozen=True):
    """Feature columns over a series: ``values[i]`` is the array of ``columns[i]``."""

    columns: tuple[str, ...]
    values: tuple[Array, ...]

    def column(self, name: str) -> Array:
        """Return the array of column ``name``."""
        try:
            return self.values[self.columns.index(name)]
        except ValueError:
            raise ConfigError(f"no feature column {name!r}; have {list(self.columns)}") from None


class FeatureRow(msgspec.Struct, frozen=True):
    """The feature values of one candle, as published on ``analytics.topics.FEATURES``."""

    venue: str
    symbol: str
    interval: str
    ts_event: int
    columns: tuple[str, ...]
    values: tuple[float, ...]

    def value(self, name: str) -> float:
        """Return the value of column ``name``."""
        return self.values[self.columns.index(name)]


class FeatureSet:
    """Several features of one candle series, updated together."""

    def __init__(self, features: Sequence[Feature]) -> None:
        self.features = tuple(features)
        columns = [name for f in self.features for name in f.columns]
        if len(set(columns)) != len(columns):
            raise ConfigError(f"feature columns repeat: {columns}")
        self.columns = tuple(columns)

    def update(self, candle: Candle) -> tuple[float, ...]:
        """Update every feature with ``candle``; return all values in column order."""
        out: list[float] = []
        for feature in self.features:
            out.extend(feature.update(candle))
        return tuple(out)

    def batch(self, frame: CandleFrame) -> FeatureTable:
        """Compute every feature over ``frame``."""
        values: list[Array] = []
        for feature in self.features:
            values.extend(feature.batch(frame))
        return FeatureTable(columns=self.columns, values=tuple(values))
