"""Load plugins named in YAML: a class by dotted path (``pkg.mod.Class`` or
``pkg.mod:Class``) or by file (``path/to/file.py:Class``). No edit to tradefabric
is needed to add a signal, feature or indicator: write the class, name it.
"""

from __future__ import annotations

import msgspec

from tradefabric.analytics.config import MacroConfig, PluginSpec, VolatilityConfig
from tradefabric.analytics.features.base import Feature
from tradefabric.analytics.macro import CoinGeckoGlobal, MacroSource, NoMacroSource
from tradefabric.analytics.regime import VolatilitySource
from tradefabric.analytics.signals.base import SignalPlugin
from tradefabric.core.errors import ConfigError
from tradefabric.core.plugins import load_class

__all__ = ["build_feature", "build_macro", "build_signal", "build_volatility", "load_class"]


def build_signal(spec: PluginSpec) -> SignalPlugin:
    """Instantiate the signal plugin of ``spec`` with its typed ``Params``."""
    cls = load_class(spec.class_path)
    if not issubclass(cls, SignalPlugin):
        raise ConfigError(f"{spec.class_path} is not a SignalPlugin subclass")
    try:
        params = msgspec.convert(spec.params, cls.Params)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"signal {spec.name!r} ({spec.class_path}) params: {exc}") from exc
    plugin: SignalPlugin = cls(
        name=spec.name or cls.__name__, interval=spec.interval, params=params
    )
    return plugin


def build_feature(spec: PluginSpec) -> Feature:
    """Instantiate a fresh feature of ``spec`` (keyword params)."""
    cls = load_class(spec.class_path)
    try:
        feature = cls(**spec.params)
    except TypeError as exc:
        raise ConfigError(f"feature {spec.class_path} params {spec.params}: {exc}") from exc
    if not isinstance(feature, Feature):
        raise ConfigError(f"{spec.class_path} lacks columns/update/batch of a Feature")
    return feature


def build_macro(config: MacroConfig) -> MacroSource:
    """Return the configured macro source (``NoMacroSource`` when none is configured)."""
    if config.source == "coingecko":
        return CoinGeckoGlobal(config.url, config.timeout_s)
    if config.source == "class":
        source = load_class(config.class_path)()
        if not callable(getattr(source, "readings", None)):
            raise ConfigError(f"{config.class_path} has no readings(before_ns) method")
        return source  # type: ignore[no-any-return]
    return NoMacroSource()


def build_volatility(config: VolatilityConfig) -> VolatilitySource | None:
    """Return the configured published volatility index; None uses realized volatility."""
    if config.source != "class":
        return None
    source = load_class(config.class_path)(**config.params)
    if not callable(getattr(source, "value", None)):
        raise ConfigError(f"{config.class_path} has no value(asset, ts_ns) method")
    return source  # type: ignore[no-any-return]
