"""Overfitting statistics: the deflated Sharpe ratio and the probability of backtest
overfitting (Bailey & López de Prado).

Sharpe ratios here are per period (not annualised): the deflated Sharpe ratio
compares a Sharpe ratio with the highest one expected among ``N`` trials of
zero skill, and corrects for skew, fat tails and the sample length. The PBO is
estimated by combinatorially symmetric cross-validation (CSCV): the returns
matrix is cut into ``S`` blocks, every half of them is an in-sample set and the
rest its out-of-sample set; PBO is the share of splits in which the in-sample
best trial ranks at or below the out-of-sample median.
"""

from __future__ import annotations

import itertools
import math
from statistics import NormalDist

import msgspec
import numpy as np
from numpy.typing import NDArray

from tradefabric.core.errors import ConfigError

_EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()


def returns_of(equity: NDArray[np.float64] | list[float]) -> NDArray[np.float64]:
    """Return the simple returns of an equity curve."""
    e = np.asarray(equity, dtype=np.float64)
    if len(e) < 2:
        return np.zeros(0)
    out: NDArray[np.float64] = np.diff(e) / e[:-1]
    return out


def sharpe(returns: NDArray[np.float64]) -> float:
    """Return the per-period Sharpe ratio (0 when flat or too short)."""
    if len(returns) < 2:
        return 0.0
    std = float(returns.std(ddof=1))
    return float(returns.mean()) / std if std > 0 else 0.0


def probabilistic_sharpe(returns: NDArray[np.float64], benchmark: float) -> float:
    """Return the probability that the true Sharpe ratio exceeds ``benchmark``."""
    n = len(returns)
    sr = sharpe(returns)
    if n < 3 or float(returns.std()) == 0.0:
        return 0.0
    centred = returns - returns.mean()
    std = float(returns.std())
    skew = float((centred**3).mean()) / std**3
    kurt = float((centred**4).mean()) / std**4
    denom = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
    if denom <= 0:
        return 0.0
    return _NORMAL.cdf((sr - benchmark) * math.sqrt(n - 1) / math.sqrt(denom))


def expected_max_sharpe(trial_sharpes: NDArray[np.float64]) -> float:
    """Return the Sharpe ratio the best of these trials would reach with no skill."""
    n = len(trial_sharpes)
    if n < 2:
        return 0.0
    sd = float(np.std(trial_sharpes, ddof=1))
    z1 = _NORMAL.inv_cdf(1.0 - 1.0 / n)
    z2 = _NORMAL.inv_cdf(1.0 - 1.0 / (n * math.e))
    return sd * ((1.0 - _EULER_GAMMA) * z1 + _EULER_GAMMA * z2)


class DeflatedSharpe(msgspec.Struct, frozen=True, kw_only=True):
    """A Sharpe ratio deflated for the number of trials it was chosen from."""

    sharpe: float
    """Per period."""
    benchmark: float
    """The expected maximum Sharpe ratio of the trials under no skill."""
    trials: int
    dsr: float
    """Probability that the true Sharpe ratio exceeds ``benchmark`` (0..1)."""


def deflated_sharpe(returns: NDArray[np.float64], trial_sharpes: list[float]) -> DeflatedSharpe:
    """Return the deflated Sharpe ratio of ``returns`` chosen among ``trial_sharpes``."""
    sr0 = expected_max_sharpe(np.asarray(trial_sharpes, dtype=np.float64))
    return DeflatedSharpe(
        sharpe=sharpe(returns),
        benchmark=sr0,
        trials=len(trial_sharpes),
        dsr=probabilistic_sharpe(returns, sr0),
    )


class Pbo(msgspec.Struct, frozen=True, kw_only=True):
    """The probability of backtest overfitting and the logits it was counted from."""

    pbo: float
    splits: int
    trials: int
    logits: list[float]


def _rank_logit(is_scores: NDArray[np.float64], oos_scores: NDArray[np.float64]) -> float:
    chosen = int(np.argmax(is_scores))
    # Relative rank of the chosen trial out of sample, in (0, 1).
    rank = float((oos_scores < oos_scores[chosen]).sum() + 1)
    omega = rank / (len(oos_scores) + 1)
    return math.log(omega / (1.0 - omega))


def _block_sharpes(blocks: list[NDArray[np.float64]]) -> NDArray[np.float64]:
    joined = np.concatenate(blocks, axis=0)
    mean = joined.mean(axis=0)
    std = joined.std(axis=0, ddof=1)
    safe = np.where(std > 0, std, 1.0)
    out: NDArray[np.float64] = np.where(std > 0, mean / safe, 0.0)
    return out


def probability_of_overfitting(matrix: NDArray[np.float64], blocks: int = 8) -> Pbo:
    """Estimate PBO by CSCV on ``matrix`` (periods x trials of returns)."""
    periods, trials = matrix.shape
    if blocks < 2 or blocks % 2 or periods < 2 * blocks or trials < 2:
        raise ConfigError(
            f"PBO: need an even number of blocks >= 2, >= 2 periods per block and >= 2 "
            f"trials; got {blocks} blocks, {periods} periods, {trials} trials"
        )
    parts = np.array_split(matrix, blocks, axis=0)
    logits: list[float] = []
    for chosen in itertools.combinations(range(blocks), blocks // 2):
        rest = [parts[i] for i in range(blocks) if i not in chosen]
        is_scores = _block_sharpes([parts[i] for i in chosen])
        logits.append(_rank_logit(is_scores, _block_sharpes(rest)))
    pbo = sum(1 for x in logits if x <= 0.0) / len(logits)
    return Pbo(pbo=pbo, splits=len(logits), trials=trials, logits=logits)
