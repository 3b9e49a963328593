"""One backtest as a pure function of (config, catalog version, window): a trial.

A trial writes no run folder and depends on nothing but its arguments (the
catalog is pinned to ``version``), so the same arguments give the same bytes on
any worker. Parameters are applied by dotted path: ``<strategy id>.<field>``
(``ema.fast``) or ``<strategy id>.params.<name>`` for a plugin strategy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.node.backtest import BacktestRunner
from tradefabric.node.kernel import StrategyConfig, TradingConfig
from tradefabric.ops.run_record import Metrics
from tradefabric.strategies.plugin import tag_plugin_entries

ParamValue = int | float | str | bool


class ParamSet(msgspec.Struct, frozen=True):
    """Named parameter values in a fixed order (the order of the space)."""

    names: tuple[str, ...]
    values: tuple[ParamValue, ...]

    def get(self, name: str) -> ParamValue:
        """Return the value of ``name``."""
        try:
            return self.values[self.names.index(name)]
        except ValueError:
            raise ConfigError(f"no parameter {name!r}; have {list(self.names)}") from None

    def label(self) -> str:
        """Return ``a=1, b=2`` for tables and charts."""
        return ", ".join(f"{n}={v}" for n, v in zip(self.names, self.values, strict=True))


class TrialResult(msgspec.Struct, frozen=True, kw_only=True):
    """A finished trial: its inputs, metrics and equity curve."""

    params: ParamSet
    catalog_version: int
    start: str
    end: str
    metrics: Metrics
    orders: int
    fills: int
    candles: int
    equity_ts: list[int]
    equity: list[float]


def _set_path(entry: dict[str, Any], keys: list[str], value: ParamValue, full: str) -> None:
    target = entry
    for key in keys[:-1]:
        child = target.get(key)
        if not isinstance(child, dict):
            child = {}
            target[key] = child
        target = child
    if len(keys) == 1 and keys[0] not in entry:
        raise ConfigError(f"param {full}: the strategy has no field {keys[0]!r}")
    target[keys[-1]] = value


def apply_params(config: TradingConfig, params: ParamSet) -> TradingConfig:
    """Return ``config`` with each ``<strategy id>.<field>`` set (validated again)."""
    strategies: list[dict[str, Any]] = msgspec.to_builtins(config.strategies)
    by_id = {str(s.get("id")): s for s in strategies}
    for name, value in zip(params.names, params.values, strict=True):
        sid, _, rest = name.partition(".")
        if sid not in by_id or not rest:
            raise ConfigError(
                f"param {name}: name a strategy id and a field (<id>.<field>); "
                f"strategies: {sorted(by_id)}"
            )
        _set_path(by_id[sid], rest.split("."), value, name)
    try:
        raw = tag_plugin_entries({"strategies": strategies})["strategies"]
        built = msgspec.convert(raw, tuple[StrategyConfig, ...])
    except (msgspec.ValidationError, ConfigError) as exc:
        raise ConfigError(f"params {params.label()}: {exc}") from exc
    return msgspec.structs.replace(config, strategies=built)


def pin(config: TradingConfig, catalog: Path, version: int) -> TradingConfig:
    """Return ``config`` reading ``catalog`` at ``version``, with no daily reports."""
    data = msgspec.structs.replace(config.data, catalog=catalog, catalog_version=version)
    reports = msgspec.structs.replace(config.reports, daily=False)
    return msgspec.structs.replace(config, data=data, reports=reports)


def run_trial(
    config: TradingConfig,
    catalog: Path,
    version: int,
    start: str,
    end: str,
    *,
    params: ParamSet | None = None,
) -> TrialResult:
    """Backtest ``config`` (with ``params`` applied) on ``catalog`` at ``version`` over
    ``[start, end)``; write nothing, return the metrics and the equity curve."""
    params = params or ParamSet(names=(), values=())
    cfg = pin(apply_params(config, params) if params.names else config, catalog, version)
    runner = BacktestRunner(cfg, start, end)
    result = runner.run(None)
    curve = runner.equity
    return TrialResult(
        params=params,
        catalog_version=version,
        start=start,
        end=end,
        metrics=result.metrics,
        orders=result.orders,
        fills=result.fills,
        candles=result.info.candles,
        equity_ts=list(curve.ts) if curve is not None else [],
        equity=list(curve.equity) if curve is not None else [],
    )
