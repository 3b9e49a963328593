"""Optuna's TPE sampler behind ask/tell of ``ParamSet``s (seeded: same seed, same trials)."""

from __future__ import annotations

import msgspec
import optuna

from tradefabric.research.space import ParamSpec
from tradefabric.research.study import StudyConfig, storage_url
from tradefabric.research.trial import ParamSet, ParamValue


class Asked(msgspec.Struct, frozen=True):
    """A point Optuna proposed, with its trial number to tell the score back."""

    number: int
    params: ParamSet


class TpeStudy:
    """An Optuna study over a space, maximising the score: in memory, or in a database
    (``study``) that other sweeps may be adding trials to."""

    def __init__(
        self, params: dict[str, ParamSpec], seed: int, study: StudyConfig | None = None
    ) -> None:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._space = params
        sampler = optuna.samplers.TPESampler(seed=seed)
        if study is None:
            self._study = optuna.create_study(direction="maximize", sampler=sampler)
        else:
            self._study = optuna.create_study(
                direction="maximize",
                sampler=sampler,
                storage=storage_url(study.storage),
                study_name=study.name,
                load_if_exists=True,
            )
        self._trials: dict[int, optuna.trial.Trial] = {}

    def _suggest(self, trial: optuna.trial.Trial, name: str, spec: ParamSpec) -> ParamValue:
        if spec.values:
            choice = trial.suggest_categorical(name, list(spec.values))
            assert choice is not None  # the space holds no None
            return choice
        assert spec.low is not None and spec.high is not None
        if spec.is_int:
            step = int(spec.step or 1)
            return trial.suggest_int(name, int(spec.low), int(spec.high), step=step, log=spec.log)
        return trial.suggest_float(name, spec.low, spec.high, step=spec.step, log=spec.log)

    def ask(self, count: int) -> list[Asked]:
        """Return ``count`` new points."""
        out: list[Asked] = []
        names = tuple(self._space)
        for _ in range(count):
            trial = self._study.ask()
            values = tuple(self._suggest(trial, n, self._space[n]) for n in names)
            self._trials[trial.number] = trial
            out.append(Asked(trial.number, ParamSet(names=names, values=values)))
        return out

    def tell(self, asked: Asked, score: float | None) -> None:
        """Report a point's score; None (failed or infeasible) marks the trial pruned."""
        trial = self._trials.pop(asked.number)
        if score is None:
            self._study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            self._study.tell(trial, score)
