"""Plugins named in YAML: the example config and the example user plugin in examples/."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.analytics.conftest import assert_same_series
from tests.conftest import REPO_ROOT
from tradefabric.analytics.config import PluginSpec, config_from_data, load_config
from tradefabric.analytics.features.base import FeatureSet
from tradefabric.analytics.frame import CandleFrame
from tradefabric.analytics.pipeline import AnalyticsPipeline, BatchRun, replay_candles, run_batch
from tradefabric.analytics.plugins import build_feature, build_signal, load_class
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.errors import ConfigError

EXAMPLES = REPO_ROOT / "examples"


@pytest.fixture
def examples_on_path() -> Iterator[Path]:
    sys.path.insert(0, str(EXAMPLES))
    try:
        yield EXAMPLES
    finally:
        sys.path.remove(str(EXAMPLES))


def test_example_config_loads_builtin_and_user_plugins(
    examples_on_path: Path, btc_month: CandleFrame
) -> None:
    config = load_config(examples_on_path / "analytics.yaml")
    names = [s.name for s in config.signals]
    assert names == ["ema_volume_1m", "rsi_vwap_5m", "liquidation_hunt_1h", "bb_breakout_1m"]
    frame = btc_month.head(8000)
    batch = run_batch(config, BatchRun(frame=frame))
    bus, clock = MessageBus(), SimClock()
    streamed = replay_candles(AnalyticsPipeline(bus, clock, config), bus, BatchRun(frame=frame),
                              clock.advance_to)  # fmt: skip
    user = [s for s in batch.signals if s.source == "bb_breakout_1m"]
    assert len(user) > 50
    assert [(s.source, s.ts, s.direction) for s in batch.signals] == [
        (s.source, s.ts, s.direction) for s in streamed.signals
    ]


def test_user_feature_by_dotted_path_and_by_file(
    examples_on_path: Path, btc_month: CandleFrame
) -> None:
    by_path = build_feature(PluginSpec(class_path="my_plugins.RangeFeature", params={"window": 7}))
    by_file = build_feature(
        PluginSpec(class_path=f"{examples_on_path / 'my_plugins.py'}:RangeFeature")
    )
    assert by_path.columns == ("range_7",) and by_file.columns == ("range_14",)
    frame = btc_month.head(3000)
    streamed = np.array([by_path.update(c)[0] for c in frame.candles()])
    assert_same_series(streamed, FeatureSet([by_path]).batch(frame).column("range_7"))


def test_plugin_errors_name_what_is_wrong(examples_on_path: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot import nosuch"):
        load_class("nosuch.module.Thing")
    with pytest.raises(ConfigError, match="has no class 'Nope'"):
        load_class("my_plugins.Nope")
    with pytest.raises(ConfigError, match="not a SignalPlugin"):
        build_signal(PluginSpec(class_path="my_plugins.RangeFeature", name="x"))
    with pytest.raises(ConfigError, match=r"bb.*unknown field `period_s`"):
        build_signal(PluginSpec(class_path="my_plugins.BollingerBreakout", name="bb",
                                params={"period_s": 3}))  # fmt: skip
    bad = tmp_path / "bad.yaml"
    bad.write_text("analytics:\n  signals:\n    - class: x.Y\n      name: a\n      colour: red\n")
    with pytest.raises(ConfigError, match=r"bad.yaml.*colour.*signals\[0\]"):
        load_config(bad)
    with pytest.raises(ConfigError, match="not a multiple"):
        config_from_data({"resample": ["90s"]})
