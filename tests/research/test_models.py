"""Side models on the real month: deterministic learners, honest purged/out-of-sample
scores and calibration, the registry round trip, and a model as a signal plugin that
gives the same signals in batch and streaming."""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgspec
import numpy as np
import pytest

from tests.conftest import report_figure
from tradefabric.analytics.config import PluginSpec, config_from_data
from tradefabric.analytics.frame import FrameQuery, frame_from_catalog
from tradefabric.analytics.pipeline import AnalyticsPipeline, BatchRun, replay_candles, run_batch
from tradefabric.analytics.signals.base import Direction
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.errors import ConfigError, DataSourceError
from tradefabric.research.calibration import score
from tradefabric.research.dataset import build_dataset
from tradefabric.research.learners import LearnerSpec, load_learner, make_learner
from tradefabric.research.registry import Registry
from tradefabric.research.training import (
    ModelConfig,
    Trained,
    features_of,
    read_frame,
    side_rows,
    train_model,
)
from tradefabric.store.catalog import Catalog

BUILTIN = "tradefabric.analytics.features.builtin"
FEATURES = (
    PluginSpec(class_path=f"{BUILTIN}.RsiFeature", params={"period": 14}),
    PluginSpec(class_path=f"{BUILTIN}.RsiFeature", params={"period": 50}),
    PluginSpec(class_path=f"{BUILTIN}.MacdFeature"),
    PluginSpec(class_path=f"{BUILTIN}.StochFeature"),
    PluginSpec(class_path=f"{BUILTIN}.AtrFeature"),
)


def model_config(catalog: Path, **changes: object) -> ModelConfig:
    """Return the test model: BTC 5m, 2024-07-27..08-20, the last 4 days out of sample."""
    base = ModelConfig(
        name="btc_side_5m", catalog=str(catalog), catalog_version=1, venue="binance",
        symbol="BTC/USDT", interval="5m", start="2024-07-27", end="2024-08-20", test="4d",
        features=FEATURES, learner=LearnerSpec(kind="lightgbm", params={"num_boost_round": 60}),
    )  # fmt: skip
    return msgspec.structs.replace(base, **changes)


@pytest.fixture(scope="module")
def trained(research_catalog: Path) -> Trained:
    return train_model(model_config(research_catalog), "2026-12-04T00:00:00Z")


@pytest.mark.parametrize("kind", ["lightgbm", "logistic", "random_forest"])
def test_learners_are_deterministic_and_survive_bytes(research_catalog: Path, kind: str) -> None:
    config = model_config(research_catalog, end="2024-08-03", test="1d")
    catalog = Catalog(research_catalog, version=1)
    frame = read_frame(config, catalog, 1722038400_000000000, 1722643200_000000000)
    data, weights = side_rows(build_dataset(frame, features_of(FEATURES), config.barrier))
    spec = LearnerSpec(kind=kind, seed=7, params={"n_estimators": 30} if kind == "random_forest"
                       else {"num_boost_round": 30} if kind == "lightgbm" else {})  # fmt: skip
    first, second = make_learner(spec), make_learner(spec)
    first.fit(data, weights)
    second.fit(data, weights)
    assert first.to_bytes() == second.to_bytes()
    loaded = load_learner(spec, first.to_bytes())
    p = first.predict_proba(data.x)
    assert np.array_equal(loaded.predict_proba(data.x), p)
    assert loaded.to_bytes() == first.to_bytes()
    assert 0.0 < float(p.min()) < float(p.max()) < 1.0
    # Weights matter: all weight on the first half is another model.
    skewed = np.where(np.arange(len(weights)) < len(weights) // 2, 1.0, 1e-6)
    other = make_learner(spec)
    other.fit(data, skewed)
    assert not np.array_equal(other.predict_proba(data.x), p)


def test_training_scores_out_of_sample_honestly(trained: Trained) -> None:
    r = trained.record
    cv, oos = r.cv_metrics, r.oos_metrics
    report_figure(
        f"side model lightgbm BTC 5m ({r.train_rows} train rows, {r.purged_rows} purged, "
        f"{oos.rows} OOS): purged-CV acc {cv.accuracy:.3f} brier {cv.brier:.4f} logloss "
        f"{cv.log_loss:.4f}; OOS acc {oos.accuracy:.3f} brier {oos.brier:.4f} (base rate "
        f"{oos.base_rate:.3f}, constant-forecast brier {oos.base_rate * (1 - oos.base_rate):.4f}),"
        f" hit rate {oos.hit_rate:.3f} on {oos.signals} signals, calibration error "
        f"{oos.calibration_error:.4f}"
    )
    assert r.train_rows > 4000 and oos.rows > 800 and r.purged_rows > 0
    assert cv.rows == r.train_rows  # every training row predicted out of fold once
    # 5m side labels on one month: no real edge, and the scores say so.
    assert 0.4 < cv.accuracy < 0.6 and 0.4 < oos.accuracy < 0.6
    assert 0.23 < oos.brier < 0.30 and oos.log_loss > 0.6
    assert 0.4 < oos.base_rate < 0.6
    # The reliability table covers every OOS row; predictions stay near 0.5.
    assert sum(b.rows for b in oos.calibration) == oos.rows
    weighted = sum(b.rows * b.predicted for b in oos.calibration) / oos.rows
    assert 0.35 < weighted < 0.65
    # Near-coin-flip predictions, and calibrated to within a few points per bin on average.
    assert oos.calibration_error < 0.1 and cv.calibration_error < 0.1
    assert oos.calibration_error == pytest.approx(
        sum(b.rows * abs(b.predicted - b.observed) for b in oos.calibration) / oos.rows
    )
    assert r.test_start == "2024-08-16T00:00:00.000Z" and r.catalog_version == 1
    assert r.content_hash == hashlib.sha256(trained.blob).hexdigest()


def test_score_on_known_values() -> None:
    p = np.array([0.9, 0.8, 0.3, 0.55, 0.5])
    y = np.array([1, -1, -1, 1, 1], dtype=np.int8)
    m = score(p, y, 0.6)
    assert m.brier == pytest.approx((0.01 + 0.64 + 0.09 + 0.2025 + 0.25) / 5)
    assert m.accuracy == pytest.approx(3 / 5)  # 0.5 is not > 0.5: counted as a down call
    assert (m.signals, m.hit_rate) == (3, pytest.approx(2 / 3))
    assert sum(b.rows for b in m.calibration) == 5
    middle = next(b for b in m.calibration if b.low == 0.5)
    assert (middle.rows, middle.predicted, middle.observed) == (2, pytest.approx(0.525), 1.0)


def test_registry_round_trip_and_tamper(trained: Trained, tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    path = registry.save(trained)
    assert registry.save(trained) == path  # idempotent
    record, learner = registry.load(trained.record.id)
    assert record == trained.record
    assert hashlib.sha256(learner.to_bytes()).hexdigest() == record.content_hash
    assert registry.record(record.id[:15]).id == record.id
    assert registry.load(str(path))[0].id == record.id
    with pytest.raises(ConfigError, match="names no model"):
        registry.record("nope")
    assert registry.promoted("btc_side_5m") is None
    entry = registry.promote(
        record.id, who="tester", why="first model", now_ns=1_733_270_400_000_000_000
    )
    assert (entry.previous, entry.outcome) == (None, "promoted")
    assert registry.record("btc_side_5m").id == record.id  # a name is its promoted model
    blob = tmp_path / "models" / f"{record.id}.model"
    blob.write_bytes(blob.read_bytes()[:-10] + b"tampered!!")
    with pytest.raises(DataSourceError, match="does not match its content hash"):
        registry.load(record.id)


@pytest.mark.slow
def test_model_signal_batch_equals_streaming_on_the_real_month(
    trained: Trained, research_catalog: Path, tmp_path: Path
) -> None:
    Registry(tmp_path).save(trained)
    spec = {
        "class": "tradefabric.research.model_signal.ModelSignal",
        "name": "model_5m",
        "interval": "5m",
        "params": {"model": trained.record.id, "catalog": str(tmp_path)},
    }
    config = config_from_data({"signals": [spec]})
    frame = frame_from_catalog(
        Catalog(research_catalog, version=1), FrameQuery(venue="binance", symbol="BTC/USDT")
    )
    run = BatchRun(frame=frame)
    batch = run_batch(config, run)
    bus, clock = MessageBus(), SimClock()
    streamed = replay_candles(AnalyticsPipeline(bus, clock, config), bus, run, clock.advance_to)
    assert len(batch.signals) == len(streamed.signals) > 1000
    for a, b in zip(batch.signals, streamed.signals, strict=True):
        assert (a.ts, a.direction, a.horizon, a.data_ts) == (
            b.ts,
            b.direction,
            b.horizon,
            b.data_ts,
        )
        assert a.strength == pytest.approx(b.strength, rel=1e-9)
        assert a.confidence == pytest.approx(b.confidence, rel=1e-9, nan_ok=True)
        assert a.strength >= trained.record.min_probability
    assert [(d.ts, d.direction) for d in batch.decisions] == [
        (d.ts, d.direction) for d in streamed.decisions
    ]
    longs = sum(s.direction == Direction.LONG for s in batch.signals)
    report_figure(
        f"model signal (lightgbm BTC 5m) on the real month: {len(batch.signals)} signals "
        f"({longs} long), {len(batch.decisions)} decisions, batch == streaming through the bus"
    )
    assert batch.signals[0].horizon == "120m"
    with pytest.raises(ConfigError, match="trained on 5m candles"):
        run_batch(config_from_data({"signals": [{**spec, "interval": "1m"}]}), run)
