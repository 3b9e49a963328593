"""Sweep and walk-forward config files (YAML): the base trading config, data, search.

Example ``SWEEP.yaml`` (paths relative to the file)::

    base: trading.yaml            # a TradingConfig file, or the config inline
    catalog: ../catalog           # default: the base config's data.catalog
    catalog_version: 2            # default: the newest, pinned when the sweep starts
    start: 2024-07-27
    end: 2024-08-10
    sampler: grid                 # grid | random | tpe
    params:
      ema.fast: {low: 5, high: 25, step: 5}
      ema.slow: {values: [40, 60, 80]}
    objective: {metric: sharpe}
    constraints: {min_trades: 10, max_drawdown: 0.05}
    report: {top: 5, heatmap: [ema.fast, ema.slow]}
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import yaml

from tradefabric.core.errors import ConfigError
from tradefabric.core.time import interval_to_ns, parse_utc
from tradefabric.node.kernel import TradingConfig, load_config
from tradefabric.research.search import SearchConfig
from tradefabric.store.catalog import Catalog
from tradefabric.strategies.plugin import tag_plugin_entries


class ReportSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the sweep report shows: the best ``top`` equity curves, a two-param heatmap."""

    top: int = 5
    heatmap: tuple[str, ...] = ()
    """Two parameter names (default: the first two of the space)."""


class DataSettings(SearchConfig, frozen=True, kw_only=True):
    """The search, the base config and the catalog the trials read."""

    base: str | dict[str, Any]
    catalog: str | None = None
    catalog_version: int | None = None
    out: str | None = None
    """Output folder (default: ``<catalog>/research/<config file stem>``)."""


class SweepConfig(DataSettings, frozen=True, kw_only=True):
    """A sweep: the search over one window ``[start, end)``."""

    start: str
    end: str
    report: ReportSettings = ReportSettings()

    def __post_init__(self) -> None:
        super().__post_init__()
        if parse_utc(self.start) >= parse_utc(self.end):
            raise ConfigError(f"start {self.start} / end {self.end}: empty or inverted")


class WalkForwardConfig(DataSettings, frozen=True, kw_only=True):
    """Walk-forward: windows of ``in_sample`` then ``out_of_sample``, moved by ``step``."""

    start: str
    end: str
    in_sample: str
    out_of_sample: str
    step: str | None = None
    """Default: ``out_of_sample`` (the out-of-sample windows tile the range)."""
    anchored: bool = False
    """Every in-sample window starts at ``start`` (it grows) instead of rolling."""
    pbo_blocks: int = 8
    """CSCV blocks of the probability of backtest overfitting (even)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("in_sample", "out_of_sample", "step"):
            value = getattr(self, name)
            if value is not None:
                interval_to_ns(value)
        if self.pbo_blocks < 2 or self.pbo_blocks % 2:
            raise ConfigError("pbo_blocks: must be an even number >= 2")


C = TypeVar("C", bound=DataSettings)


class Resolved(msgspec.Struct, frozen=True, kw_only=True):
    """A config file's base trading config, catalog, pinned version and output folder."""

    config: TradingConfig
    catalog: Path
    version: int
    out: Path


def read_yaml(path: Path) -> Any:
    """Read a YAML mapping, naming the file on any error."""
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings")
    # YAML reads `start: 2024-07-27` as a date; the config keeps UTC strings.
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in raw.items()}


def load(path: Path, kind: type[C]) -> C:
    """Load a sweep or walk-forward config file, naming the file and the key on errors."""
    raw = read_yaml(path)
    try:
        return msgspec.convert(raw, kind)
    except (msgspec.ValidationError, ConfigError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def resolve(path: Path, settings: DataSettings) -> Resolved:
    """Load the base config, find the catalog and pin its version (newest by default)."""
    here = path.parent
    if isinstance(settings.base, str):
        config = load_config(here / settings.base)
    else:
        try:
            config = msgspec.convert(
                tag_plugin_entries(settings.base), TradingConfig, dec_hook=_dec_hook
            )
        except (msgspec.ValidationError, ConfigError) as exc:
            raise ConfigError(f"{path}: base: {exc}") from exc
    if settings.catalog is not None:
        catalog = here / settings.catalog
    elif config.data.catalog is not None:
        catalog = config.data.catalog
    else:
        raise ConfigError(f"{path}: give catalog (or data.catalog in the base config)")
    if not catalog.is_dir():
        raise ConfigError(f"{path}: catalog {catalog}: no such folder")
    version = settings.catalog_version or config.data.catalog_version
    version = Catalog(catalog, version=version).version
    out = here / settings.out if settings.out else catalog / "research" / path.stem
    return Resolved(config=config, catalog=catalog, version=version, out=out)


def _dec_hook(kind: type, value: Any) -> Any:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError
