"""The analytics configuration: typed and frozen; YAML only serializes it.

An unknown or invalid key fails at load time with the file, the key's path and
what was expected (``ConfigError``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import msgspec
import yaml

from tradefabric.analytics.coingecko import CoinGeckoConfig
from tradefabric.analytics.confidence import ConfidenceParams
from tradefabric.analytics.deribit_dvol import DvolConfig
from tradefabric.analytics.ensemble import EnsembleParams
from tradefabric.analytics.regime import RegimeParams
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import interval_to_ns


class PluginSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A plugin named in YAML: its class (dotted path, or ``file.py:Class``) and settings."""

    class_path: str = msgspec.field(name="class")
    name: str = ""
    interval: str = "1m"
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class MacroConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where BTC dominance comes from.

    ``none``: neutral factor. ``catalog``: the readings stored in the catalog.
    ``coingecko``: CoinGecko's history for the span scored is stored in the
    catalog first (a live run then refreshes every ``refresh_s``). ``class``: your own
    ``MacroSource``.
    """

    source: Literal["none", "catalog", "coingecko", "class"] = "none"
    coingecko: CoinGeckoConfig = CoinGeckoConfig()
    refresh_s: float = 300.0
    """Live: seconds between two ``/global`` readings."""
    class_path: str = msgspec.field(default="", name="class")


class VolatilityConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The regime's volatility index: ``realized`` (from the candles) or a published one.

    ``deribit`` is Deribit's DVOL (``analytics.deribit_dvol``); ``class`` names any
    ``regime.VolatilitySource``, built with ``params`` as keyword arguments.
    """

    source: Literal["realized", "deribit", "class"] = "realized"
    deribit: DvolConfig = DvolConfig()
    """``deribit``: DVOL history for the span scored is fetched before a run."""
    class_path: str = msgspec.field(default="", name="class")
    params: dict[str, Any] = msgspec.field(default_factory=dict)


def _default_signals() -> tuple[PluginSpec, ...]:
    base = "tradefabric.analytics.signals"
    return (
        PluginSpec(class_path=f"{base}.ema_volume.EmaVolumeCrossover", name="ema_volume_1m"),
        PluginSpec(
            class_path=f"{base}.rsi_vwap.RsiDivergenceVwap", name="rsi_vwap_5m", interval="5m"
        ),
        PluginSpec(
            class_path=f"{base}.liquidation_hunt.LiquidationHunt",
            name="liquidation_hunt_1h",
            interval="1h",
        ),
    )


class TradingViewConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where the TradingView webhook listens and what it accepts.

    The shared secret comes from ``secret_env`` (the name of an environment variable:
    keep secrets out of config files) or, for tests and the CLI, ``secret`` itself.
    """

    secret: str = ""
    secret_env: str = ""
    host: str = "127.0.0.1"
    port: int = 0
    path: str = "/webhook/tradingview"
    max_age_s: float = 300.0
    """An alert whose ``time`` is further from our clock than this is refused."""
    max_body_bytes: int = 16_384
    remembered_ids: int = 100_000

    def __post_init__(self) -> None:
        if bool(self.secret) == bool(self.secret_env):
            raise ConfigError("tradingview: give exactly one of secret_env (preferred) or secret")
        if self.secret and len(self.secret) < 16:
            raise ConfigError("tradingview: secret must be at least 16 characters")

    def shared_secret(self) -> str:
        """Return the secret; a missing or short ``secret_env`` variable is a ``ConfigError``."""
        if self.secret:
            return self.secret
        value = os.environ.get(self.secret_env, "")
        if len(value) < 16:
            state = "is not set" if not value else "holds fewer than 16 characters"
            raise ConfigError(f"tradingview.secret_env: ${self.secret_env} {state}")
        return value


class AnalyticsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything the analytics pipeline runs."""

    base_interval: str = "1m"
    resample: tuple[str, ...] = ("5m", "1h")
    """Intervals built from ``base_interval`` candles (leave empty when the feed has them)."""
    features: tuple[PluginSpec, ...] = ()
    signals: tuple[PluginSpec, ...] = msgspec.field(default_factory=_default_signals)
    regime: RegimeParams = RegimeParams()
    confidence: ConfidenceParams = ConfidenceParams()
    ensemble: EnsembleParams = EnsembleParams()
    macro: MacroConfig = MacroConfig()
    volatility: VolatilityConfig = VolatilityConfig()
    tradingview: TradingViewConfig | None = None
    """TradingView alerts as a signal source (paper and live nodes serve the webhook);
    their signals are scored like the plugins' and reach ``kind: router``."""

    def __post_init__(self) -> None:
        base = interval_to_ns(self.base_interval)
        for interval in self.resample:
            if interval_to_ns(interval) % base or interval_to_ns(interval) <= base:
                raise ConfigError(
                    f"resample: {interval} is not a multiple of base_interval {self.base_interval}"
                )
        names = [s.name for s in self.signals]
        if len(set(names)) != len(names) or "" in names:
            raise ConfigError(f"signals need unique, non-empty names, got {names}")

    @property
    def intervals(self) -> tuple[str, ...]:
        """Return the base interval then the resampled ones."""
        return (self.base_interval, *self.resample)


def load_config(path: Path) -> AnalyticsConfig:
    """Load an ``AnalyticsConfig`` from a YAML file (the ``analytics`` key, or the whole file)."""
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if isinstance(document, dict) and "analytics" in document:
        document = document["analytics"]
    return config_from_data(document if document is not None else {}, str(path))


def config_from_data(data: object, origin: str = "<config>") -> AnalyticsConfig:
    """Convert parsed YAML/JSON data into an ``AnalyticsConfig``."""
    try:
        return msgspec.convert(data, AnalyticsConfig)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{origin}: {exc}") from exc
