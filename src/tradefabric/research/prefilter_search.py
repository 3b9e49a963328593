"""A sweep's prefilter: rank grid/random points with the vectorized path, run the best.

With ``prefilter: {top: 50}`` in a sweep whose params all belong to one
``ema_cross`` strategy (``<id>.fast``, ``<id>.slow``, ``<id>.notional``), every
point is first scored by ``prefilter.ema_cross_prefilter`` over the window's
candles (the vectorized trades, equal to the kernel's while no risk limit
binds) and only the ``top`` by return go to event-driven trials, in their
original order. Points the strategy would refuse (``fast >= slow``) are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec

from tradefabric.analytics.frame import FrameQuery, frame_from_catalog
from tradefabric.core.errors import ConfigError, DataSourceError
from tradefabric.core.time import parse_utc
from tradefabric.node.kernel import TradingConfig
from tradefabric.research.prefilter import ema_cross_prefilter
from tradefabric.research.trial import ParamSet
from tradefabric.store.catalog import Catalog
from tradefabric.strategies.ema_cross import EmaCrossConfig

FIELDS = frozenset({"fast", "slow", "notional"})


class PrefilterSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How many points survive the prefilter; the costs its ranking assumes."""

    top: int = 50
    slippage_bps: float = 0.0
    fee_bps: float = 0.0

    def __post_init__(self) -> None:
        if self.top < 1:
            raise ConfigError("prefilter.top: must be >= 1")


def _strategy(names: Sequence[str], config: TradingConfig) -> EmaCrossConfig:
    ids = {n.partition(".")[0] for n in names}
    fields = {n.partition(".")[2] for n in names}
    found = [s for s in config.strategies if s.id in ids]
    if len(ids) != 1 or len(found) != 1 or not isinstance(found[0], EmaCrossConfig):
        raise ConfigError(
            f"prefilter: the params ({', '.join(names)}) must all be of one ema_cross strategy "
            "(the only one with a vectorized path)"
        )
    if not fields <= FIELDS:
        raise ConfigError(f"prefilter: ema_cross params must be among {sorted(FIELDS)}")
    return found[0]


def prefilter_points(
    points: Sequence[ParamSet],
    config: TradingConfig,
    window: tuple[Path, int, str, str],
    settings: PrefilterSettings,
) -> list[ParamSet]:
    """Return the ``top`` points by vectorized return over ``window``, in their order."""
    if not points:
        return []
    strategy = _strategy(points[0].names, config)
    root, version, start, end = window
    query = FrameQuery(venue=strategy.venue, symbol=strategy.symbol, interval=strategy.interval,
                       start_ns=parse_utc(start), end_ns=parse_utc(end))  # fmt: skip
    frame = frame_from_catalog(Catalog(root, version=version), query)
    if len(frame.close) < 3:
        raise DataSourceError(f"prefilter: no {strategy.symbol} candles in [{start}, {end})")
    ranked: list[tuple[float, int]] = []
    for i, p in enumerate(points):
        values = {n.partition(".")[2]: v for n, v in zip(p.names, p.values, strict=True)}
        fast, slow = int(values.get("fast", strategy.fast)), int(values.get("slow", strategy.slow))
        notional = float(values.get("notional", strategy.notional))
        if not 2 <= fast < slow or notional <= 0:
            continue
        score = ema_cross_prefilter(
            frame.open, frame.close, [(fast, slow)], notional=notional,
            lot_increment=_lot(config, strategy), slippage_bps=settings.slippage_bps,
            fee_bps=settings.fee_bps,
        )[0]  # fmt: skip
        ranked.append((-score.ret, i))
    keep = sorted(i for _, i in sorted(ranked)[: settings.top])
    return [points[i] for i in keep]


def _lot(config: TradingConfig, strategy: EmaCrossConfig) -> str:
    for instrument in config.instruments:
        if (instrument.venue, instrument.symbol) == (strategy.venue, strategy.symbol):
            return instrument.size_increment
    raise ConfigError(f"prefilter: no instrument lot for {strategy.venue}:{strategy.symbol}")
