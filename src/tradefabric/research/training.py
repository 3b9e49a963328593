"""Train a side model on one catalog window: purged CV, an out-of-sample tail, a record.

Example ``MODEL.yaml`` (paths relative to the file)::

    name: btc_side_5m
    catalog: ../catalog
    catalog_version: 1          # default: the newest, pinned when training starts
    venue: binance
    symbol: BTC/USDT
    interval: 5m                # resampled from base_interval (1m) candles
    start: 2024-07-27
    end: 2024-08-20
    test: 4d                    # the window's last 4 days are held out (out of sample)
    features:
      - {class: tradefabric.analytics.features.builtin.RsiFeature, params: {period: 14}}
    barrier: {up: 1.0, down: 1.0, horizon: 24, vol_window: 48}
    learner: {kind: lightgbm, seed: 0, params: {num_boost_round: 100}}
    cv: {folds: 5, embargo: 24}
    min_probability: 0.55       # the signal fires beyond this probability on either side

Rows are the candles whose label touched a barrier (+1 or -1); a candle whose
vertical barrier came first says nothing about the side and is left out. Sample
weights are each label's average uniqueness (López de Prado), computed over all
decided labels, scaled to mean 1. Training rows whose label reaches into the
test tail are purged.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal, Protocol

import msgspec
import numpy as np
from numpy.typing import NDArray

from tradefabric.analytics.config import PluginSpec
from tradefabric.analytics.features.base import Feature
from tradefabric.analytics.features.labels import BarrierParams
from tradefabric.analytics.frame import CandleFrame, FrameQuery, frame_from_catalog, resample
from tradefabric.analytics.plugins import build_feature
from tradefabric.core.errors import ConfigError, DataSourceError
from tradefabric.core.time import interval_to_ns, ns_to_iso, parse_utc
from tradefabric.research.calibration import Metrics, score
from tradefabric.research.config import read_yaml
from tradefabric.research.cv import purged_kfold, uniqueness_weights
from tradefabric.research.dataset import Dataset, build_dataset
from tradefabric.research.drift import DriftReference, DriftSettings, reference
from tradefabric.research.learners import Learner, LearnerSpec, make_learner
from tradefabric.store.catalog import Catalog, as_int, sql_string


class CvSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Purged k-fold on the training rows: folds and embargo (in rows)."""

    folds: int = 5
    embargo: int = 24


class RetrainSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How a retrained challenger must beat the promoted model out of sample."""

    metric: Literal["log_loss", "brier", "accuracy", "hit_rate"] = "log_loss"
    min_improvement: float = 0.0


class ModelConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What to train: data window, features, labels, learner, validation."""

    name: str
    catalog: str
    catalog_version: int | None = None
    venue: str
    symbol: str
    base_interval: str = "1m"
    interval: str = "5m"
    start: str = ""
    end: str = ""
    window: str = ""
    """Instead of start/end: this span up to the catalog's newest candle (retraining)."""
    test: str = "4d"
    features: tuple[PluginSpec, ...]
    barrier: BarrierParams = BarrierParams(up=1.0, down=1.0, horizon=24, vol_window=48)
    learner: LearnerSpec = LearnerSpec()
    cv: CvSettings = CvSettings()
    min_probability: float = 0.55
    drift: DriftSettings = DriftSettings()
    retrain: RetrainSettings = RetrainSettings()

    def __post_init__(self) -> None:
        if not self.name.replace("_", "").replace("-", "").isalnum():
            raise ConfigError(f"name {self.name!r}: use letters, digits, '_' and '-' only")
        if bool(self.window) == bool(self.start or self.end):
            raise ConfigError("give start and end, or window (up to the newest candle)")
        span = interval_to_ns(self.window) if self.window else _span(self.start, self.end)
        if interval_to_ns(self.test) >= span:
            raise ConfigError(f"test {self.test}: must be shorter than the window")
        if not 0.5 <= self.min_probability < 1.0:
            raise ConfigError("min_probability: must be in [0.5, 1)")
        if not self.features:
            raise ConfigError("features: name at least one feature")
        interval_to_ns(self.interval)


def _span(start: str, end: str) -> int:
    if not start or not end:
        raise ConfigError("give both start and end")
    span = parse_utc(end) - parse_utc(start)
    if span <= 0:
        raise ConfigError(f"start {start} / end {end}: empty or inverted")
    return span


class ModelRecord(msgspec.Struct, frozen=True, kw_only=True):
    """Everything known about one trained model; the registry stores it as JSON."""

    id: str
    name: str
    created: str
    content_hash: str
    """SHA-256 of the model bytes."""
    catalog_version: int
    catalog_fingerprint: str
    venue: str
    symbol: str
    base_interval: str
    interval: str
    train_start: str
    train_end: str
    test_start: str
    test_end: str
    features: tuple[PluginSpec, ...]
    columns: tuple[str, ...]
    barrier: BarrierParams
    learner: LearnerSpec
    cv: CvSettings
    min_probability: float
    train_rows: int
    purged_rows: int
    cv_metrics: Metrics
    oos_metrics: Metrics
    drift: DriftReference


class Trained(msgspec.Struct, frozen=True):
    """A trained model: its record and its bytes."""

    record: ModelRecord
    blob: bytes


def load_model_config(path: Path) -> ModelConfig:
    """Load ``MODEL.yaml``; the catalog path is resolved against the file's folder."""
    raw = read_yaml(path)
    try:
        config = msgspec.convert(raw, ModelConfig)
    except (msgspec.ValidationError, ConfigError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return msgspec.structs.replace(config, catalog=str(path.parent / config.catalog))


def features_of(specs: tuple[PluginSpec, ...]) -> list[Feature]:
    """Return fresh feature instances of ``specs``."""
    return [build_feature(s) for s in specs]


class Series(Protocol):
    """What names a candle series: a ``ModelConfig`` or a ``ModelRecord``."""

    @property
    def venue(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    @property
    def base_interval(self) -> str: ...
    @property
    def interval(self) -> str: ...


def read_frame(config: Series, catalog: Catalog, start_ns: int, end_ns: int) -> CandleFrame:
    """Read ``[start_ns, end_ns)`` of the config's series, resampled to its interval."""
    query = FrameQuery(venue=config.venue, symbol=config.symbol, interval=config.base_interval,
                       start_ns=start_ns, end_ns=end_ns)  # fmt: skip
    frame = frame_from_catalog(catalog, query)
    if len(frame.close) == 0:
        raise DataSourceError(
            f"catalog {catalog.root} v{catalog.version}: no {config.venue} {config.symbol} "
            f"{config.base_interval} candles in [{ns_to_iso(start_ns)}, {ns_to_iso(end_ns)})"
        )
    return frame if config.interval == config.base_interval else resample(frame, config.interval)


def newest_ns(catalog: Catalog, series: Series) -> int:
    """Return the newest candle close (``ts_event``) of ``series`` in ``catalog``."""
    sql = (
        "SELECT max(ts_event) FROM candles WHERE "
        f"venue = {sql_string(series.venue)} AND symbol = {sql_string(series.symbol)} "
        f"AND interval = {sql_string(series.base_interval)}"
    )
    value = catalog.query(sql).rows[0][0]
    if value is None:
        raise DataSourceError(f"catalog {catalog.root}: no {series.venue} {series.symbol} candles")
    return as_int(value)


def pinned(config: ModelConfig, catalog: Catalog) -> ModelConfig:
    """Return ``config`` with ``window`` turned into start/end at the newest candle."""
    if not config.window:
        return config
    end = newest_ns(catalog, config)
    start = end - interval_to_ns(config.window)
    return msgspec.structs.replace(config, start=ns_to_iso(start), end=ns_to_iso(end), window="")


def side_rows(data: Dataset) -> tuple[Dataset, NDArray[np.float64]]:
    """Keep the rows whose label touched a barrier; return them and their uniqueness weights."""
    weights = uniqueness_weights(data.start, data.end)
    keep = data.y != 0
    subset = Dataset(
        columns=data.columns,
        x=data.x[keep],
        y=data.y[keep],
        start=data.start[keep],
        end=data.end[keep],
        ts_event=data.ts_event[keep],
    )
    w = weights[keep]
    return subset, w / w.mean() if len(w) else w


def take(data: Dataset, rows: NDArray[np.int64]) -> Dataset:
    """Return the dataset's ``rows``."""
    return Dataset(columns=data.columns, x=data.x[rows], y=data.y[rows], start=data.start[rows],
                   end=data.end[rows], ts_event=data.ts_event[rows])  # fmt: skip


def _cv_probabilities(
    config: ModelConfig, train: Dataset, weights: NDArray[np.float64]
) -> NDArray[np.float64]:
    out = np.full(len(train.y), np.nan)
    for split in purged_kfold(train.start, train.end, config.cv.folds, config.cv.embargo):
        learner = make_learner(config.learner)
        learner.fit(take(train, split.train), weights[split.train])
        out[split.test] = learner.predict_proba(train.x[split.test])
    return out


def _split(config: ModelConfig, data: Dataset) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    test_start = parse_utc(config.end) - interval_to_ns(config.test)
    test = np.flatnonzero(data.ts_event > test_start).astype(np.int64)
    if len(test) == 0:
        raise DataSourceError(f"{config.name}: no labelled rows in the test tail ({config.test})")
    first = int(data.start[test[0]])
    # Purge: a training label decided at or after the first test candle leaks it.
    train = np.flatnonzero((data.ts_event <= test_start) & (data.end < first)).astype(np.int64)
    return train, test


def train_model(config: ModelConfig, created: str) -> Trained:
    """Train ``config``'s model: purged CV on the training rows, then score the test tail."""
    catalog = Catalog(Path(config.catalog), version=config.catalog_version)
    config = pinned(config, catalog)
    frame = read_frame(config, catalog, parse_utc(config.start), parse_utc(config.end))
    data, weights = side_rows(build_dataset(frame, features_of(config.features), config.barrier))
    train_rows, test_rows = _split(config, data)
    train, test = take(data, train_rows), take(data, test_rows)
    cv_p = _cv_probabilities(config, train, weights[train_rows])
    learner = make_learner(config.learner)
    learner.fit(train, weights[train_rows])
    blob = learner.to_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    test_start = parse_utc(config.end) - interval_to_ns(config.test)
    known = ~np.isnan(cv_p)
    record = ModelRecord(
        id=f"{config.name}-{digest[:12]}", name=config.name, created=created,
        content_hash=digest, catalog_version=catalog.version,
        catalog_fingerprint=catalog.fingerprint(), venue=config.venue, symbol=config.symbol,
        base_interval=config.base_interval, interval=config.interval,
        train_start=config.start, train_end=ns_to_iso(test_start),
        test_start=ns_to_iso(test_start), test_end=config.end, features=config.features,
        columns=data.columns, barrier=config.barrier, learner=config.learner, cv=config.cv,
        min_probability=config.min_probability, train_rows=len(train_rows),
        purged_rows=len(data.y) - len(train_rows) - len(test_rows),
        cv_metrics=score(cv_p[known], train.y[known], config.min_probability),
        oos_metrics=evaluate(learner, test, config.min_probability),
        drift=reference(train.x, data.columns, config.drift),
    )  # fmt: skip
    return Trained(record=record, blob=blob)


def evaluate(learner: Learner, data: Dataset, min_probability: float) -> Metrics:
    """Score ``learner`` on ``data``'s rows."""
    return score(learner.predict_proba(data.x), data.y, min_probability)
