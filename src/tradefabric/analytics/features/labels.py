"""Triple-barrier labels of candles, for supervised learning.

For each candle ``i``: an upper barrier at ``close * exp(up * vol)``, a lower one
at ``close * exp(-down * vol)`` (``vol``: the standard deviation of log returns
over the last ``vol_window`` candles, known at ``i``) and a vertical one
``horizon`` candles later. The label is +1 if a later close reaches the upper
barrier first, -1 for the lower, 0 if the vertical barrier comes first.

A label looks into the future by design; ``known_at`` says when it became
known (the ``ts_event`` of the deciding candle), so training code can keep
labels out of any feature computed before that time. Candles whose barriers
are still open at the end of the data get ``known_at`` -1 and label 0.
"""

from __future__ import annotations

import msgspec
import numpy as np
from numpy.typing import NDArray

from tradefabric.analytics.frame import CandleFrame
from tradefabric.core.errors import ConfigError


class BarrierParams(msgspec.Struct, frozen=True, kw_only=True):
    """Barrier widths in volatilities, the vertical barrier in candles, the volatility window."""

    up: float = 2.0
    down: float = 2.0
    horizon: int = 30
    vol_window: int = 60


class TripleBarrierLabels(msgspec.Struct, frozen=True):
    """Per candle: the label, the index of the deciding candle and its ``ts_event``."""

    label: NDArray[np.int8]
    touch: NDArray[np.int64]
    known_at: NDArray[np.int64]


def _volatility(close: NDArray[np.float64], window: int) -> NDArray[np.float64]:
    returns = np.diff(np.log(close), prepend=np.nan)
    vol = np.full(len(close), np.nan)
    if len(close) > window:
        view = np.lib.stride_tricks.sliding_window_view(returns[1:], window)
        vol[window:] = view.std(axis=1)
    return vol


def triple_barrier_labels(frame: CandleFrame, params: BarrierParams) -> TripleBarrierLabels:
    """Label every candle of ``frame`` with the first barrier its later closes touch."""
    if params.horizon < 1 or params.vol_window < 2 or params.up <= 0 or params.down <= 0:
        raise ConfigError(f"triple barrier: invalid parameters {params}")
    close = frame.close
    n = len(close)
    vol = _volatility(close, params.vol_window)
    label = np.zeros(n, dtype=np.int8)
    touch = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        if np.isnan(vol[i]) or i + params.horizon >= n:
            continue
        path = close[i + 1 : i + 1 + params.horizon]
        upper = close[i] * np.exp(params.up * vol[i])
        lower = close[i] * np.exp(-params.down * vol[i])
        hit_up = np.flatnonzero(path >= upper)
        hit_down = np.flatnonzero(path <= lower)
        first_up = hit_up[0] if len(hit_up) else params.horizon
        first_down = hit_down[0] if len(hit_down) else params.horizon
        if first_up < first_down:
            label[i], touch[i] = 1, i + 1 + first_up
        elif first_down < first_up:
            label[i], touch[i] = -1, i + 1 + first_down
        else:
            touch[i] = i + params.horizon
    known_at = np.where(touch >= 0, frame.ts_event[np.maximum(touch, 0)], -1)
    return TripleBarrierLabels(label=label, touch=touch, known_at=known_at.astype(np.int64))
