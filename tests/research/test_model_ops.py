"""Operating models on the real month: PSI drift, the audited retrain that refuses a worse
challenger, and the ``research models`` commands as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest

from tests.conftest import report_figure
from tests.research.test_models import model_config
from tradefabric.core.errors import ConfigError
from tradefabric.research.drift import DriftSettings, drift, psi, reference
from tradefabric.research.learners import LearnerSpec
from tradefabric.research.monitor import drift_report
from tradefabric.research.registry import Registry
from tradefabric.research.retrain import retrain
from tradefabric.research.training import ModelConfig, Trained, train_model
from tradefabric.risk.audit import read_audit

NOW = 1_796_300_000_000_000_000


@pytest.fixture
def catalog(research_catalog: Path, tmp_path: Path) -> Path:
    """A private copy of the real-month catalog: its registry starts empty."""
    root = tmp_path / "catalog"
    shutil.copytree(research_catalog, root, ignore=shutil.ignore_patterns("models", "research"))
    return root


def test_psi_is_zero_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(0)
    train = rng.normal(size=(20_000, 2))
    ref = reference(train, ("a", "b"), DriftSettings())
    same = drift(ref, rng.normal(size=(20_000, 2)))
    assert all(f.psi < 0.01 and f.level == "stable" for f in same)
    shifted = np.column_stack([rng.normal(size=20_000), rng.normal(1.0, 1.0, 20_000)])
    a, b = drift(ref, shifted)
    assert a.level == "stable" and b.level == "alert" and b.psi > 0.5
    assert psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.0
    with pytest.raises(ConfigError, match="columns"):
        drift(ref, train[:, :1])


def test_drift_on_the_real_month_flags_price_level_features(catalog: Path) -> None:
    trained = train_model(model_config(catalog), "2026-12-04T00:00:00Z")
    registry = Registry(catalog)
    registry.save(trained)
    record, learner = registry.load(trained.record.id)
    report = drift_report(record, learner, catalog)
    psis = {f.column: f.psi for f in report.features}
    report_figure(
        f"drift of the BTC 5m model (trained to 2024-08-16) over {report.start[:16]}.."
        f"{report.end[:16]}: PSI {', '.join(f'{k} {v:.3f}' for k, v in psis.items())}; hit rate "
        f"recent {report.recent.hit_rate:.3f} ({report.recent.signals} signals) vs validation "
        f"{report.validation_hit_rate:.3f}"
    )
    assert report.end == "2024-08-25T14:24:00.000Z" and report.start == "2024-08-22T14:24:00.000Z"
    # Bounded oscillators keep their distribution; ATR and MACD are in dollars and move
    # with BTC's volatility, so three weeks later they have drifted.
    assert psis["stoch_k"] < 0.1 and psis["rsi_14"] < 0.1
    assert psis["atr_14"] > 0.25 and report.level == "alert"
    assert 500 < report.recent.rows < 900 and 0.3 < report.recent.hit_rate < 0.7
    assert report.validation_hit_rate == record.oos_metrics.hit_rate


def _overfit(config: ModelConfig) -> ModelConfig:
    params = {"num_leaves": 255, "min_data_in_leaf": 2, "learning_rate": 0.3,
              "num_boost_round": 300, "feature_fraction": 1.0, "bagging_fraction": 1.0}  # fmt: skip
    return msgspec.structs.replace(config, learner=LearnerSpec(kind="lightgbm", params=params))


@pytest.mark.slow
def test_retrain_promotes_only_a_better_challenger_and_audits_it(catalog: Path) -> None:
    config = model_config(catalog, start="", end="", window="14d")
    first = retrain(config, who="scheduler", now_ns=NOW, created="2026-12-04T01:00:00Z")
    assert first.comparison is None and first.decision.outcome == "promoted"
    assert first.challenger.test_end == "2024-08-25T14:24:00.000Z"  # the newest candle
    worse = retrain(_overfit(config), who="scheduler", now_ns=NOW + 1, created="2026-12-04T02:00")
    c = worse.comparison
    assert c is not None and worse.decision.outcome == "refused"
    assert c.window == (first.challenger.test_start, first.challenger.test_end)
    # Overfit trees are overconfident out of sample: a clearly higher log loss.
    assert c.challenger_metrics.log_loss > c.champion_metrics.log_loss + 0.05
    assert c.improvement < 0 and c.challenger_metrics.rows == c.champion_metrics.rows > 500
    registry = Registry(catalog)
    assert registry.promoted("btc_side_5m") == first.challenger.id
    again = retrain(config, who="scheduler", now_ns=NOW + 2, created="2026-12-04T03:00")
    assert again.challenger.id == first.challenger.id  # same window, seed: same bytes
    assert again.decision.outcome == "refused" and "already" in again.decision.why
    kinds = [r.kind for r in read_audit(registry.audit_path)]
    assert kinds == ["model_promoted", "model_promotion_refused", "model_promotion_refused"]
    report_figure(
        f"retrain on the newest 14d: promoted {first.challenger.id}; overfit challenger refused, "
        f"OOS log loss {c.challenger_metrics.log_loss:.4f} vs promoted "
        f"{c.champion_metrics.log_loss:.4f} on {c.champion_metrics.rows} rows"
    )


def _cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "tradefabric", "research", "models", *args],
                            capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    if check and result.returncode != 0:
        pytest.fail(f"exit {result.returncode}: {result.stderr}")
    return result


def _json(*args: str) -> Any:
    return json.loads(_cli(*args, "--json").stdout)


@pytest.fixture
def stored(catalog: Path) -> Trained:
    trained = train_model(model_config(catalog), "2026-12-04T00:00:00Z")
    Registry(catalog).save(trained)
    return trained


@pytest.mark.slow
def test_models_commands(catalog: Path, stored: Trained, tmp_path: Path) -> None:
    for sub in ("", "train", "list", "show", "compare", "promote", "drift", "retrain"):
        assert "Usage" in _cli(*filter(None, [sub]), "--help").stdout
    root = str(catalog)
    listed = _json("list", "--catalog", root)
    assert [(m["record"]["id"], m["promoted"]) for m in listed] == [(stored.record.id, False)]
    shown = _json("show", stored.record.id[:16], "--catalog", root)
    assert shown["content_hash"] == stored.record.content_hash
    assert shown["oos_metrics"]["brier"] == pytest.approx(stored.record.oos_metrics.brier)
    refused = _cli("promote", stored.record.id, "--catalog", root, check=False)
    assert refused.returncode == 2 and "--why" in refused.stderr
    entry = _json("promote", "btc_side_5m-", "--catalog", root, "--why", "test", "--who", "t")
    assert (entry["model"], entry["who"], entry["previous"]) == (stored.record.id, "t", None)
    assert _json("list", "--catalog", root)[0]["promoted"] is True
    missing = _cli("show", "nope", "--catalog", root, check=False)
    assert missing.returncode == 2 and "names no model" in missing.stderr
    text = _cli("show", "btc_side_5m", "--catalog", root).stdout
    assert "calibration (out of sample)" in text and stored.record.content_hash in text
    report = _json("drift", "btc_side_5m", "--catalog", root, "--recent", "2d")
    assert report["model"] == stored.record.id and len(report["features"]) == 8
    config = tmp_path / "model.yaml"
    config.write_text(
        f"name: btc_side_5m\ncatalog: {root}\nvenue: binance\nsymbol: BTC/USDT\n"
        "interval: 5m\nstart: 2024-07-27\nend: 2024-08-18\ntest: 3d\n"
        "features:\n  - {class: tradefabric.analytics.features.builtin.RsiFeature}\n"
        "learner: {kind: logistic}\n"
    )
    trained = _json("train", "-c", str(config))
    assert trained["learner"]["kind"] == "logistic" and trained["columns"] == ["rsi_14"]
    compared = _json("compare", trained["id"], "btc_side_5m", "--catalog", root)
    assert compared["champion"] == stored.record.id
    assert compared["window"] == [trained["test_start"], trained["test_end"]]
    config.write_text(config.read_text() + "bogus: 1\n")
    bad = _cli("train", "-c", str(config), check=False)
    assert bad.returncode == 2 and "bogus" in bad.stderr
