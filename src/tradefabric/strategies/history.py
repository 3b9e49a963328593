"""Candle history of one instrument and interval: a bounded ring, newest last."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from tradefabric.model.data import Candle


class CandleHistory:
    """The last ``size`` closed candles of (venue, symbol, interval); memory stays flat."""

    __slots__ = ("_candles", "interval", "symbol", "venue")

    def __init__(self, venue: str, symbol: str, interval: str, size: int) -> None:
        self.venue = venue
        self.symbol = symbol
        self.interval = interval
        self._candles: deque[Candle] = deque(maxlen=size)

    @property
    def size(self) -> int:
        """Return how many candles the ring keeps at most."""
        maxlen = self._candles.maxlen
        assert maxlen is not None  # always bounded
        return maxlen

    def append(self, candle: Candle) -> None:
        """Add the newest candle, dropping the oldest when full."""
        self._candles.append(candle)

    def __len__(self) -> int:
        return len(self._candles)

    def __getitem__(self, index: int) -> Candle:
        """Return a candle by position: ``[-1]`` is the newest."""
        return self._candles[index]

    def __iter__(self) -> Iterator[Candle]:
        return iter(self._candles)

    def last(self) -> Candle | None:
        """Return the newest candle, or None before the first."""
        return self._candles[-1] if self._candles else None

    def closes(self) -> npt.NDArray[np.float64]:
        """Return the closes, oldest first (for batch indicators over the window)."""
        return np.fromiter((c.close for c in self._candles), np.float64, len(self._candles))
