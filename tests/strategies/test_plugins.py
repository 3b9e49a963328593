"""User strategies loaded from YAML by class path or file, with typed params."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.execution.helpers import Harness
from tradefabric.core.errors import ConfigError
from tradefabric.execution import topics
from tradefabric.model.orders import Fill
from tradefabric.node.kernel import TradingConfig, TradingKernel, load_config
from tradefabric.risk.audit import AuditLog
from tradefabric.strategies.plugin import PluginStrategyConfig

FILE_PLUGIN = """
import msgspec
from tradefabric.model.orders import OrderSide
from tradefabric.strategies.base import PluginStrategy


class SellParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    size: float


class FromFile(PluginStrategy):
    Params = SellParams

    def on_candle(self, candle):
        if self.is_mine(candle) and not self.ctx.open_orders() and self.ctx.position(
            self.spec.venue, self.spec.symbol) == 0.0:
            self.order(OrderSide.BUY, self.params.size, tag="from file")
"""


def _yaml(tmp: Path, strategies: str) -> Path:
    path = tmp / "c.yaml"
    path.write_text("strategies:\n" + textwrap.indent(textwrap.dedent(strategies), "  "))
    return path


def _kernel_with(h: Harness, config: TradingConfig) -> TradingKernel:
    return TradingKernel(config, h.bus, h.clock, {"binance": h.venue}, audit=AuditLog(None))


def test_dotted_class_with_params_trades(tmp_path: Path) -> None:
    config = load_config(
        _yaml(
            tmp_path,
            """\
            - class: tests.strategies.sample_plugins.BuyOnce
              params: {quantity: 0.5, after: 2}
            """,
        )
    )
    (spec,) = config.strategies
    assert isinstance(spec, PluginStrategyConfig) and spec.id == "BuyOnce"
    h = Harness(tmp_path)
    kernel = _kernel_with(h, config)
    fills: list[Fill] = []
    h.bus.subscribe(topics.FILLS, fills.append)
    for _ in range(4):
        h.candle(100.0, 101.0, 99.0, 100.0)
    (fill,) = fills
    assert (fill.strategy_id, fill.quantity, fill.price) == ("BuyOnce", 0.5, 100.0)
    assert kernel.strategies[0].seen == 4  # type: ignore[attr-defined]


def test_file_class_trades(tmp_path: Path) -> None:
    plugin = tmp_path / "user_strategy.py"
    plugin.write_text(FILE_PLUGIN)
    config = load_config(
        _yaml(tmp_path, f"- class: {plugin}:FromFile\n  id: mine\n  params: {{size: 0.25}}\n")
    )
    h = Harness(tmp_path)
    _kernel_with(h, config)
    fills: list[Fill] = []
    h.bus.subscribe(topics.FILLS, fills.append)
    for _ in range(3):
        h.candle(100.0, 101.0, 99.0, 100.0)
    assert [(f.strategy_id, f.quantity) for f in fills] == [("mine", 0.25)]


def test_bad_param_key_is_named(tmp_path: Path) -> None:
    config = load_config(
        _yaml(tmp_path, "- class: tests.strategies.sample_plugins.BuyOnce\n  params: {qty: 1}\n")
    )
    with pytest.raises(ConfigError, match=r"strategy 'BuyOnce' .*params: .*unknown field `qty`"):
        _kernel_with(Harness(tmp_path), config)


def test_bad_param_type_is_named(tmp_path: Path) -> None:
    config = load_config(
        _yaml(
            tmp_path,
            "- class: tests.strategies.sample_plugins.BuyOnce\n  params: {after: soon}\n",
        )
    )
    with pytest.raises(ConfigError, match=r"\$\.after"):
        _kernel_with(Harness(tmp_path), config)


def test_missing_class_and_wrong_base_are_named(tmp_path: Path) -> None:
    for path, message in (
        ("tests.strategies.sample_plugins.Nope", "has no class 'Nope'"),
        ("tests.strategies.sample_plugins.NotAStrategy", "is not a .*PluginStrategy subclass"),
        ("no_such_module_xyz.Strategy", "cannot import no_such_module_xyz"),
    ):
        config = load_config(_yaml(tmp_path, f"- class: {path}\n"))
        with pytest.raises(ConfigError, match=message):
            _kernel_with(Harness(tmp_path), config)


def test_unknown_strategy_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="symbl"):
        load_config(_yaml(tmp_path, "- class: a.B\n  symbl: BTC/USDT\n"))


def test_builtin_kinds_still_load(tmp_path: Path) -> None:
    config = load_config(_yaml(tmp_path, "- kind: ema_cross\n  id: e\n- kind: router\n  id: r\n"))
    assert [type(s).__name__ for s in config.strategies] == ["EmaCrossConfig", "RouterConfig"]
