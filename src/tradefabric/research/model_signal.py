"""A registered model as a signal plugin: P(up) becomes the signal's strength.

In the analytics YAML::

    signals:
      - class: tradefabric.research.model_signal.ModelSignal
        name: btc_model_5m
        interval: 5m                 # must be the model's interval
        params: {model: btc_side_5m, catalog: /data/catalog}

``model`` is a model id, a unique id prefix, a model name (its promoted model)
or the path of a model's JSON file (then ``catalog`` may be left out). The
model's own features are rebuilt from its record; each candle's feature row
gives ``p = P(label +1)``. The signal fires when ``max(p, 1 - p)`` reaches
``min_probability`` (default: the record's): LONG above 0.5, SHORT below, with
strength the probability of the side taken. Its horizon is the label's
vertical barrier.

Streaming updates the features candle by candle; batch computes them over the
whole frame and predicts all rows at once; both go through ``_decide`` so they
give the same signals, and the pipeline (backtest, paper, live) runs either.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np

from tradefabric.analytics.features.base import FeatureSet
from tradefabric.analytics.signals.base import (
    BatchInputs,
    Direction,
    Evidence,
    Signal,
    SignalPlugin,
    SignalStream,
    stamp,
)
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import interval_to_ns
from tradefabric.model.data import Candle
from tradefabric.research.learners import Learner
from tradefabric.research.registry import Registry
from tradefabric.research.training import ModelRecord, features_of


class ModelSignalParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which model (id, prefix, name or JSON path), the catalog holding it, the firing level."""

    model: str
    catalog: str = ""
    min_probability: float | None = None


def horizon_of(record: ModelRecord) -> str:
    """Return the label's vertical barrier as an interval string (minutes)."""
    minutes = interval_to_ns(record.interval) * record.barrier.horizon // 60_000_000_000
    return f"{max(minutes, 1)}m"


class ModelSignal(SignalPlugin):
    """Signals from a registered side model."""

    Params = ModelSignalParams

    def __init__(self, *, name: str, interval: str, params: ModelSignalParams) -> None:
        super().__init__(name=name, interval=interval, params=params)
        if not params.catalog and not params.model.endswith(".json"):
            raise ConfigError(f"{name}: give params.catalog, or params.model as a JSON path")
        root = Path(params.catalog) if params.catalog else Path(params.model).parent.parent
        self.record, self.learner = Registry(root).load(params.model)
        if self.record.interval != interval:
            raise ConfigError(
                f"{name}: model {self.record.id} was trained on {self.record.interval} candles, "
                f"the plugin runs on {interval}"
            )
        self.min_probability = params.min_probability or self.record.min_probability
        self.horizon = horizon_of(self.record)

    def features(self) -> FeatureSet:
        """Return a fresh set of the model's features."""
        return FeatureSet(features_of(self.record.features))

    def decide(self, candle: Candle, p: float, now_ns: int) -> Signal | None:
        """Return the signal of probability ``p`` on ``candle``, or None below the level."""
        side = max(p, 1.0 - p)
        if not side >= self.min_probability:  # NaN never fires
            return None
        return Signal(
            source=self.name, venue=candle.venue, asset=candle.symbol, interval=self.interval,
            direction=Direction.LONG if p > 0.5 else Direction.SHORT, horizon=self.horizon,
            strength=float(side),
            evidence=(Evidence("p_up", float(p), self.min_probability, candle.ts_event),),
            price=candle.close, data_ts=candle.ts_event, ts=stamp(now_ns, candle.ts_event),
        )  # fmt: skip

    def stream(self) -> SignalStream:
        """Return a fresh live state for one asset."""
        return _ModelStream(self, self.learner, self.features())

    def batch(self, inputs: BatchInputs) -> list[Signal]:
        """Compute the features over the frame, predict every complete row at once."""
        table = self.features().batch(inputs.frame)
        n = len(inputs.frame.close)
        x = np.column_stack(table.values) if table.values else np.zeros((n, 0))
        complete = np.all(np.isfinite(x), axis=1)
        p = np.full(n, np.nan)
        if complete.any():
            p[complete] = self.learner.predict_proba(x[complete])
        out: list[Signal] = []
        for i, candle in enumerate(inputs.frame.candles()):
            signal = self.decide(candle, float(p[i]), candle.ts_event)
            if signal is not None:
                out.append(signal)
        return out


class _ModelStream(SignalStream):
    def __init__(self, plugin: ModelSignal, learner: Learner, features: FeatureSet) -> None:
        self.plugin = plugin
        self.learner = learner
        self.features_set = features

    def on_candle(self, candle: Candle, now_ns: int) -> Signal | None:
        """Update the model's features; predict once they are all warm."""
        row = np.asarray(self.features_set.update(candle), dtype=np.float64)
        if not np.all(np.isfinite(row)):
            return None
        p = float(self.learner.predict_proba(row.reshape(1, -1))[0])
        return self.plugin.decide(candle, p, now_ns)
