"""Deflated Sharpe ratio and PBO on series with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from tradefabric.core.errors import ConfigError
from tradefabric.research.overfitting import (
    deflated_sharpe,
    expected_max_sharpe,
    probabilistic_sharpe,
    probability_of_overfitting,
    sharpe,
)


def test_expected_max_sharpe_matches_the_closed_form() -> None:
    # Bailey & López de Prado: with unit variance of trial Sharpes and N = 100,
    # E[max] = (1 - g) Z(1 - 1/N) + g Z(1 - 1/(N e)) ~= 2.5306.
    rng = np.random.default_rng(0)
    trials = rng.standard_normal(100)
    trials = (trials - trials.mean()) / trials.std(ddof=1)
    assert expected_max_sharpe(trials) == pytest.approx(2.5306, abs=1e-3)
    assert expected_max_sharpe(np.array([1.0])) == 0.0


def test_psr_of_normal_returns_matches_the_normal_formula() -> None:
    rng = np.random.default_rng(1)
    r = rng.normal(0.001, 0.01, 5000)
    sr = sharpe(r)
    # For near-normal returns PSR(0) ~ Phi(SR sqrt(n-1) / sqrt(1 + SR^2/2)).
    from statistics import NormalDist

    want = NormalDist().cdf(sr * np.sqrt(4999) / np.sqrt(1 + sr * sr / 2))
    assert probabilistic_sharpe(r, 0.0) == pytest.approx(want, abs=0.01)


def test_deflation_grows_with_the_trials() -> None:
    rng = np.random.default_rng(2)
    r = rng.normal(0.0005, 0.01, 1000)
    few = deflated_sharpe(r, list(rng.normal(0, 0.02, 5)))
    many = deflated_sharpe(r, list(rng.normal(0, 0.02, 500)))
    assert many.benchmark > few.benchmark and many.dsr < few.dsr


def test_pbo_of_pure_noise_is_about_a_half_and_of_real_skill_zero() -> None:
    # One matrix's 70 splits overlap (its PBO is noisy); over many matrices noise averages 1/2.
    pbos = [
        probability_of_overfitting(np.random.default_rng(s).normal(0, 0.01, (800, 40)), 8).pbo
        for s in range(40)
    ]
    assert 0.4 <= float(np.mean(pbos)) <= 0.6
    noise = np.random.default_rng(3).normal(0, 0.01, (800, 40))
    skilled = noise.copy()
    skilled[:, 7] += 0.01  # one trial with a true edge in every block
    result = probability_of_overfitting(skilled, 8)
    assert result.pbo == 0.0 and result.splits == 70
    with pytest.raises(ConfigError, match="even number of blocks"):
        probability_of_overfitting(noise, 7)
