"""A trial is a pure function of (config, catalog version, window): same inputs, same bytes."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest

from tradefabric.core.errors import ConfigError
from tradefabric.node.kernel import DataConfig, TradingConfig
from tradefabric.research.trial import ParamSet, apply_params, run_trial
from tradefabric.strategies.ema_cross import EmaCrossConfig

WEEK = ("2024-07-27", "2024-08-03")


def _config(symbol: str = "BTC/USDT") -> TradingConfig:
    return TradingConfig(
        seed=3,
        data=DataConfig(symbols=(symbol,)),
        strategies=(EmaCrossConfig(id="ema", symbol=symbol),),
    )


def test_same_inputs_give_the_same_bytes_and_no_files(
    research_catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    params = ParamSet(names=("ema.fast", "ema.slow"), values=(8, 40))
    a = run_trial(_config(), research_catalog, 1, *WEEK, params=params)
    b = run_trial(_config(), research_catalog, 1, *WEEK, params=params)
    assert msgspec.json.encode(a) == msgspec.json.encode(b)
    assert a.fills > 50 and a.metrics.closing_trades > 20
    assert a.candles == 7 * 1440
    # Hourly equity samples over the week, both ends included.
    assert len(a.equity) == 7 * 24 + 1 and len(a.equity_ts) == len(a.equity)
    assert os.listdir(tmp_path) == []  # no run folder anywhere
    other = run_trial(_config(), research_catalog, 1, *WEEK, params=ParamSet(("ema.fast",), (20,)))
    assert other.metrics != a.metrics


def test_the_version_pins_the_data(research_catalog: Path) -> None:
    # Version 1 holds only BTC: a later import (ETH, version 2) changes nothing for BTC.
    v1 = run_trial(_config(), research_catalog, 1, *WEEK)
    v2 = run_trial(_config(), research_catalog, 2, *WEEK)
    assert v1.metrics == v2.metrics and v1.catalog_version == 1
    eth = run_trial(_config("ETH/USDT"), research_catalog, 2, *WEEK)
    assert eth.fills > 0
    with pytest.raises(ConfigError, match=r"no candles for binance ETH/USDT"):
        run_trial(_config("ETH/USDT"), research_catalog, 1, *WEEK)


def test_bad_param_paths_name_what_was_wrong() -> None:
    with pytest.raises(ConfigError, match=r"param nope.fast: .*strategies: \['ema'\]"):
        apply_params(_config(), ParamSet(("nope.fast",), (3,)))
    with pytest.raises(ConfigError, match=r"param ema.fats: the strategy has no field 'fats'"):
        apply_params(_config(), ParamSet(("ema.fats",), (3,)))
    with pytest.raises(ConfigError, match=r"ema.fast=30, ema.slow=20: .*fast < slow"):
        apply_params(_config(), ParamSet(("ema.fast", "ema.slow"), (30, 20)))
    done = apply_params(_config(), ParamSet(("ema.fast",), (5,)))
    assert isinstance(done.strategies[0], EmaCrossConfig) and done.strategies[0].fast == 5
