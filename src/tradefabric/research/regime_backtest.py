"""Auto-backtest on regime change: which strategies still hold after the market moved.

Example ``REGIME.yaml`` (paths relative to the file)::

    base: trading.yaml          # a TradingConfig file: its strategies are checked
    catalog: ../catalog
    catalog_version: 1          # default: the newest, pinned at start
    venue: binance
    symbol: BTC/USDT
    start: 2024-07-27           # regime changes in [start, end) are checked
    end: 2024-08-25
    regime: {interval: 1h}      # the analytics RegimeParams
    recent: 3d                  # each check backtests [change - recent, change)
    hold: {min_sharpe: 0.0, max_drawdown: 0.05}

The regime detector (``analytics.regime``, the one the analytics pipeline runs)
walks the series' candles; at each change every strategy of the base config is
backtested alone on the recent window up to the change (data known then), and
holds when its metrics meet ``hold`` (the sweep's constraints). ``check_change``
is also what a paper/live node runs on each ``analytics.topics.REGIME_CHANGES``
event, in a scheduler worker (``research.jobs.regime_backtest_job``, the schedule
entry ``{job: regime_backtest, event: regime_change}``).
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from tradefabric.analytics.frame import FrameQuery, frame_from_catalog, resample
from tradefabric.analytics.regime import RegimeChange, RegimeDetector, RegimeParams
from tradefabric.core.errors import ConfigError, DataSourceError
from tradefabric.core.time import interval_to_ns, ns_to_iso, parse_utc
from tradefabric.node.kernel import TradingConfig, load_config
from tradefabric.research.config import read_yaml
from tradefabric.research.objective import Constraints
from tradefabric.research.trial import run_trial
from tradefabric.store.catalog import Catalog


class RegimeBacktestConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which series' regime changes to check, and what a holding strategy must show."""

    base: str
    catalog: str
    catalog_version: int | None = None
    venue: str = "binance"
    symbol: str
    start: str
    end: str
    regime: RegimeParams = RegimeParams()
    recent: str = "3d"
    hold: Constraints = Constraints(min_sharpe=0.0)
    out: str | None = None
    """Folder of ``regime_backtest.json`` (default: ``<catalog>/research/<file stem>``)."""

    def __post_init__(self) -> None:
        if parse_utc(self.start) >= parse_utc(self.end):
            raise ConfigError(f"start {self.start} / end {self.end}: empty or inverted")
        interval_to_ns(self.recent)


class StrategyCheck(msgspec.Struct, frozen=True, kw_only=True):
    """One strategy backtested on the recent window: key metrics and whether it holds."""

    strategy: str
    total_return: float
    sharpe: float
    max_drawdown: float
    closing_trades: int
    holds: bool
    violations: tuple[str, ...]


class RegimeCheck(msgspec.Struct, frozen=True, kw_only=True):
    """A regime change and every strategy's check on the window up to it."""

    at: str
    previous: str
    regime: str
    window: tuple[str, str]
    strategies: tuple[StrategyCheck, ...]


class RegimeBacktestReport(msgspec.Struct, frozen=True, kw_only=True):
    """All checks of a run, and where the JSON was written."""

    catalog_version: int
    changes: int
    checks: tuple[RegimeCheck, ...]
    json: str


class Backtester:
    """Backtest a config's strategies, one at a time, on a pinned catalog."""

    def __init__(self, config: TradingConfig, catalog: Path, version: int, hold: Constraints):
        if not config.strategies:
            raise ConfigError("regime backtest: the base config has no strategies")
        self.config, self.catalog, self.version, self.hold = config, catalog, version, hold

    def check_change(self, change: RegimeChange, recent: str) -> RegimeCheck:
        """Backtest each strategy on ``[change - recent, change)``; say which hold."""
        end = ns_to_iso(change.ts_event)
        start = ns_to_iso(change.ts_event - interval_to_ns(recent))
        checks: list[StrategyCheck] = []
        for strategy in self.config.strategies:
            alone = msgspec.structs.replace(self.config, strategies=(strategy,))
            m = run_trial(alone, self.catalog, self.version, start, end).metrics
            violations = tuple(self.hold.violations(m))
            checks.append(StrategyCheck(
                strategy=strategy.id, total_return=m.total_return, sharpe=m.sharpe,
                max_drawdown=m.max_drawdown, closing_trades=m.closing_trades,
                holds=not violations, violations=violations,
            ))  # fmt: skip
        return RegimeCheck(at=end, previous=str(change.previous), regime=str(change.regime),
                           window=(start, end), strategies=tuple(checks))  # fmt: skip


def regime_changes(settings: RegimeBacktestConfig, catalog: Catalog) -> list[RegimeChange]:
    """Return the detector's changes on the series whose candles close in ``[start, end)``."""
    query = FrameQuery(venue=settings.venue, symbol=settings.symbol, interval="1m",
                       end_ns=parse_utc(settings.end))  # fmt: skip
    frame = frame_from_catalog(catalog, query)
    if len(frame.close) == 0:
        raise DataSourceError(f"catalog {catalog.root}: no {settings.symbol} 1m candles")
    bars = resample(frame, settings.regime.interval)
    detector = RegimeDetector(settings.regime)
    start = parse_utc(settings.start)
    changes = [c for c in map(detector.update, bars.candles()) if c is not None]
    return [c for c in changes if c.ts_event >= start]


def run_regime_backtest(path: Path) -> RegimeBacktestReport:
    """Load ``REGIME.yaml``, check every regime change in its span, write the JSON."""
    try:
        settings = msgspec.convert(read_yaml(path), RegimeBacktestConfig)
    except (msgspec.ValidationError, ConfigError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    root = path.parent / settings.catalog
    if not root.is_dir():
        raise ConfigError(f"{path}: catalog {root}: no such folder")
    catalog = Catalog(root, version=settings.catalog_version)
    tester = Backtester(load_config(path.parent / settings.base), root, catalog.version,
                        settings.hold)  # fmt: skip
    checks = tuple(
        tester.check_change(c, settings.recent) for c in regime_changes(settings, catalog)
    )
    out = path.parent / settings.out if settings.out else root / "research" / path.stem
    out.mkdir(parents=True, exist_ok=True)
    target = out / "regime_backtest.json"
    report = RegimeBacktestReport(catalog_version=catalog.version, changes=len(checks),
                                  checks=checks, json=str(target))  # fmt: skip
    target.write_bytes(msgspec.json.format(msgspec.json.encode(report)) + b"\n")
    return report
