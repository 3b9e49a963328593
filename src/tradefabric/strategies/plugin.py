"""User strategies named in YAML, loaded like the analytics plugins.

::

    strategies:
      - class: my_module.MyStrategy          # or examples/freqtrade_style.py:FreqtradeStyle
        id: mine
        venue: binance
        symbol: BTC/USDT
        interval: 1m
        params: {fast: 9, slow: 21}

The class subclasses ``PluginStrategy`` and declares its ``Params`` (a frozen
msgspec struct); ``params`` is validated against it, and a bad key or value
fails naming the strategy, the class and the key. It is built as
``cls(spec, params)`` and then runs exactly like a built-in strategy.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.core.plugins import load_class
from tradefabric.core.time import interval_to_ns
from tradefabric.strategies.base import PluginStrategy


class PluginStrategyConfig(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    tag_field="kind",
    tag="plugin",
):
    """One user strategy: its class, the instrument and interval it trades, its params."""

    class_path: str = msgspec.field(name="class")
    id: str = ""
    """Defaults to the class name."""
    venue: str = "binance"
    symbol: str = "BTC/USDT"
    interval: str = "1m"
    params: dict[str, Any] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            name = self.class_path.rpartition(":")[2].rpartition(".")[2]
            msgspec.structs.force_setattr(self, "id", name or self.class_path)
        interval_to_ns(self.interval)


def tag_plugin_entries(raw: Any) -> Any:
    """Return the raw YAML with ``kind: plugin`` added to strategy entries naming a ``class``.

    YAML may name a user strategy by ``class`` alone; the strategies list is a union
    tagged by ``kind``, so the tag is filled in before validation.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("strategies"), list):
        return raw
    entries = [
        {"kind": "plugin", **e} if isinstance(e, dict) and "class" in e and "kind" not in e else e
        for e in raw["strategies"]
    ]
    return {**raw, "strategies": entries}


def build_plugin_strategy(spec: PluginStrategyConfig) -> PluginStrategy:
    """Load ``spec``'s class, validate its params against ``Params`` and build it."""
    cls = load_class(spec.class_path)
    if not issubclass(cls, PluginStrategy):
        raise ConfigError(
            f"strategy {spec.id!r}: {spec.class_path} is not a "
            "tradefabric.strategies.base.PluginStrategy subclass"
        )
    try:
        params = msgspec.convert(spec.params, cls.Params)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"strategy {spec.id!r} ({spec.class_path}) params: {exc}") from exc
    strategy: PluginStrategy = cls(spec, params)
    return strategy
