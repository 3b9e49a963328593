"""Classifiers behind one interface: LightGBM, logistic regression, random forest.

A learner predicts the side of a triple-barrier label: ``predict_proba`` is the
probability that the upper barrier is touched first (label +1) rather than the
lower one. Every learner is single-threaded and seeded, so the same data and
seed give the same bytes (``to_bytes``), which the registry hashes.

The scikit-learn learners are stored as pickles: load only bytes whose hash the
registry has checked (a pickle runs code when loaded; never load foreign files).
"""

from __future__ import annotations

import pickle
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal

import msgspec
import numpy as np
from numpy.typing import NDArray

from tradefabric.core.errors import ConfigError
from tradefabric.research.dataset import Dataset

Kind = Literal["lightgbm", "logistic", "random_forest"]
Floats = NDArray[np.float64]


class LearnerSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which learner, its hyperparameters (the library's own names) and its seed."""

    kind: Kind = "lightgbm"
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    seed: int = 0


class Learner(ABC):
    """A binary classifier of label sides, fitted with sample weights."""

    kind: ClassVar[Kind]

    def __init__(self, spec: LearnerSpec) -> None:
        self.spec = spec

    def fit(self, data: Dataset, weights: Floats | None = None) -> None:
        """Fit on ``data`` (target: ``y > 0``) with optional per-row ``weights``."""
        if len(data.y) == 0:
            raise ConfigError(f"{self.kind}: nothing to fit (no rows)")
        target = (data.y > 0).astype(np.int64)
        if len(np.unique(target)) < 2:
            raise ConfigError(f"{self.kind}: the training rows hold a single class")
        self._fit(data.x, target, weights)

    @abstractmethod
    def _fit(self, x: Floats, y: NDArray[np.int64], weights: Floats | None) -> None: ...

    @abstractmethod
    def predict_proba(self, x: Floats) -> Floats:
        """Return P(label +1) for each row of ``x``."""

    @abstractmethod
    def to_bytes(self) -> bytes:
        """Return the fitted model as bytes (deterministic for the same fit)."""

    @classmethod
    @abstractmethod
    def from_bytes(cls, spec: LearnerSpec, blob: bytes) -> Learner:
        """Rebuild a fitted learner from ``to_bytes`` output."""


class LightGbmLearner(Learner):
    """Gradient-boosted trees (LightGBM), deterministic and single-threaded."""

    kind = "lightgbm"
    DEFAULTS: ClassVar[dict[str, Any]] = {
        "num_leaves": 15,
        "learning_rate": 0.05,
        "num_boost_round": 200,
        "min_data_in_leaf": 50,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
    }

    def __init__(self, spec: LearnerSpec) -> None:
        super().__init__(spec)
        self._booster: Any = None

    def _params(self) -> tuple[dict[str, Any], int]:
        params = {**self.DEFAULTS, **self.spec.params}
        rounds = int(params.pop("num_boost_round"))
        fixed = {"objective": "binary", "seed": self.spec.seed, "deterministic": True,
                 "num_threads": 1, "verbosity": -1, "force_row_wise": True}  # fmt: skip
        return {**params, **fixed}, rounds

    def _fit(self, x: Floats, y: NDArray[np.int64], weights: Floats | None) -> None:
        import lightgbm as lgb  # noqa: PLC0415 - heavy, loaded only when a model is used

        params, rounds = self._params()
        train = lgb.Dataset(x, label=y, weight=weights, params={"verbosity": -1})
        self._booster = lgb.train(params, train, num_boost_round=rounds)

    def predict_proba(self, x: Floats) -> Floats:
        """Return P(label +1) for each row."""
        out: Floats = np.asarray(self._booster.predict(x, num_threads=1), dtype=np.float64)
        return out

    def to_bytes(self) -> bytes:
        """Return LightGBM's text model."""
        text: str = self._booster.model_to_string()
        return text.encode()

    @classmethod
    def from_bytes(cls, spec: LearnerSpec, blob: bytes) -> Learner:
        """Parse LightGBM's text model."""
        import lightgbm as lgb  # noqa: PLC0415

        learner = cls(spec)
        learner._booster = lgb.Booster(model_str=blob.decode())
        return learner


class _SklearnLearner(Learner):
    """A scikit-learn classifier with ``predict_proba``; stored as a pickle."""

    def __init__(self, spec: LearnerSpec) -> None:
        super().__init__(spec)
        self._model: Any = None
        self._blob: bytes | None = None

    @abstractmethod
    def _make(self) -> Any: ...

    def _fit(self, x: Floats, y: NDArray[np.int64], weights: Floats | None) -> None:
        model = self._make()
        step = model.steps[-1][0] if hasattr(model, "steps") else None
        key = f"{step}__sample_weight" if step else "sample_weight"
        model.fit(x, y, **{key: weights})
        self._model, self._blob = model, None

    def predict_proba(self, x: Floats) -> Floats:
        """Return P(label +1) for each row."""
        out: Floats = np.asarray(self._model.predict_proba(x)[:, 1], dtype=np.float64)
        return out

    def to_bytes(self) -> bytes:
        """Return the fitted estimator pickled (protocol 5), or the bytes it was loaded from.

        An unpickled estimator pickles to other bytes (memo order), so a loaded
        model keeps its original bytes: the registry hash stays its identity.
        """
        return self._blob if self._blob is not None else pickle.dumps(self._model, protocol=5)

    @classmethod
    def from_bytes(cls, spec: LearnerSpec, blob: bytes) -> Learner:
        """Unpickle a fitted estimator (only bytes the registry's hash vouches for)."""
        learner = cls(spec)
        learner._model = pickle.loads(blob)
        learner._blob = blob
        return learner


class LogisticLearner(_SklearnLearner):
    """Standardized features into an L2 logistic regression."""

    kind = "logistic"

    def _make(self) -> Any:
        from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
        from sklearn.pipeline import Pipeline  # noqa: PLC0415
        from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

        params = {"C": 1.0, "max_iter": 1000, **self.spec.params}
        return Pipeline(
            [
                ("scale", StandardScaler()),
                ("logit", LogisticRegression(random_state=self.spec.seed, **params)),
            ]
        )


class RandomForestLearner(_SklearnLearner):
    """A random forest, single-threaded."""

    kind = "random_forest"

    def _make(self) -> Any:
        from sklearn.ensemble import RandomForestClassifier  # noqa: PLC0415

        params = {"n_estimators": 100, "min_samples_leaf": 20, "max_depth": 8, **self.spec.params}
        return RandomForestClassifier(random_state=self.spec.seed, n_jobs=1, **params)


LEARNERS: dict[str, type[Learner]] = {
    c.kind: c for c in (LightGbmLearner, LogisticLearner, RandomForestLearner)
}


def make_learner(spec: LearnerSpec) -> Learner:
    """Return an unfitted learner of ``spec.kind``."""
    return LEARNERS[spec.kind](spec)


def load_learner(spec: LearnerSpec, blob: bytes) -> Learner:
    """Return the fitted learner stored in ``blob``."""
    return LEARNERS[spec.kind].from_bytes(spec, blob)
