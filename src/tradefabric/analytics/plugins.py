"""Load plugins named in YAML: a class by dotted path (``pkg.mod.Class`` or
``pkg.mod:Class``) or by file (``path/to/file.py:Class``). No edit to tradefabric
is needed to add a signal, feature or indicator: write the class, name it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import cast

import msgspec

from tradefabric.analytics.coingecko import CoinGeckoClient
from tradefabric.analytics.config import MacroConfig, PluginSpec, VolatilityConfig
from tradefabric.analytics.deribit_dvol import DeribitDvol
from tradefabric.analytics.features.base import Feature
from tradefabric.analytics.macro import MacroSource, NoMacroSource, StoredMacro, backfill
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


def build_macro(config: MacroConfig, catalog: Path | None = None) -> MacroSource:
    """Return the configured macro source (``NoMacroSource`` when none is configured).

    ``catalog`` and ``coingecko`` read the readings stored in ``catalog``; fill it
    first with ``fill_macro`` (``coingecko``) or a live ``ScheduledMacro``.
    """
    if config.source in ("catalog", "coingecko"):
        if catalog is None:
            raise ConfigError(f"macro source {config.source!r} needs a catalog")
        return StoredMacro(catalog)
    if config.source == "class":
        source = load_class(config.class_path)()
        if not callable(getattr(source, "readings", None)):
            raise ConfigError(f"{config.class_path} has no readings(before_ns) method")
        return cast("MacroSource", source)
    return NoMacroSource()


def fill_volatility(
    source: VolatilitySource | None, symbol: str, start_ns: int, end_ns: int
) -> int:
    """Fetch the published index of ``symbol``'s currency for the span, when it is Deribit's."""
    if not isinstance(source, DeribitDvol):
        return 0
    currency = symbol.partition("/")[0]
    return asyncio.run(source.backfill(currency, start_ns, end_ns))


def fill_macro(config: MacroConfig, catalog: Path, start_ns: int, end_ns: int) -> int:
    """Store CoinGecko's readings for ``[start_ns, end_ns)`` when the source is ``coingecko``.

    Returns the rows added (0 for other sources): the network is used here, once,
    before a run, never while scoring.
    """
    if config.source != "coingecko":
        return 0

    async def fetch() -> int:
        async with CoinGeckoClient(config.coingecko) as client:
            return await backfill(client, catalog, start_ns, end_ns, time.time_ns())

    return asyncio.run(fetch())


def build_volatility(config: VolatilityConfig) -> VolatilitySource | None:
    """Return the configured published volatility index; None uses realized volatility."""
    if config.source == "deribit":
        return DeribitDvol(config.deribit)
    if config.source != "class":
        return None
    source = load_class(config.class_path)(**config.params)
    if not callable(getattr(source, "value", None)):
        raise ConfigError(f"{config.class_path} has no value(asset, ts_ns) method")
    return source  # type: ignore[no-any-return]
