"""The backtest runner: the trading kernel on a ``SimClock``, fed from the catalog.

Candles are streamed from DuckDB in Arrow batches (memory stays flat however
long the run), published on the bus in time order; the simulated venue matches,
strategies decide, the risk engine checks. With ``data.recording`` set, a raw
recording is replayed through the market data node instead (books, trades and
candles built from them) and the venue matches against the L2 book.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import ns_to_iso, parse_utc
from tradefabric.data import topics
from tradefabric.node.kernel import DataConfig, TradingConfig
from tradefabric.node.run import BacktestResult, RunInfo
from tradefabric.node.trading_node import RunMode, TradingNode
from tradefabric.ops.equity import EquityCurve
from tradefabric.store.candle_reader import count_candles, read_candles
from tradefabric.store.catalog import Catalog, as_int, sql_string, time_range_sql

Progress = Callable[[int, int], None]
"""(candles done, candles in total) -> None."""

_BATCH_ROWS = 65_536


def _no_candles(catalog: Catalog, data: DataConfig, start: str | None, end: str | None) -> str:
    """Say why a backtest would replay nothing: which of venue, symbol, interval, range."""
    have = catalog.query(
        "SELECT venue, symbol, interval, min(ts_open), max(ts_open) FROM candles "
        "GROUP BY ALL ORDER BY ALL"
    ).rows
    wanted = f"{data.venue} {', '.join(data.symbols)} {data.interval}"
    first, last = start or data.start, end or data.end
    if first or last:
        wanted += f" from {first or 'the start'} to {last or 'the end'}"
    if not have:
        return f"data: the catalog {catalog.root} holds no candles (wanted {wanted})"
    listing = "; ".join(
        f"{v} {s} {i} {ns_to_iso(as_int(lo))[:16]}..{ns_to_iso(as_int(hi))[:16]}"
        for v, s, i, lo, hi in have[:12]
    )
    return f"data: no candles for {wanted} in {catalog.root} (it holds: {listing})"


def check_range(start: str | None, end: str | None) -> None:
    """Refuse an inverted or empty --from/--to range, naming both ends."""
    if start and end and parse_utc(start) >= parse_utc(end):
        raise ConfigError(f"--from {start} / --to {end}: the range is empty or inverted")


def candle_query(data: DataConfig, start: str | None, end: str | None) -> str:
    """Return the SQL condition selecting the backtest's candles."""
    first, last = start or data.start, end or data.end
    check_range(first, last)
    return " AND ".join(
        (
            f"venue = {sql_string(data.venue)}",
            f"interval = {sql_string(data.interval)}",
            "symbol IN (" + ", ".join(sql_string(s) for s in data.symbols) + ")",
            time_range_sql(
                "ts_open", parse_utc(first) if first else None, parse_utc(last) if last else None
            ),
        )
    )


class BacktestRunner:
    """Run one backtest from a ``TradingConfig`` on a backtest ``TradingNode``."""

    def __init__(
        self,
        config: TradingConfig,
        start: str | None = None,
        end: str | None = None,
    ) -> None:
        self.config = config
        self._start = start
        self._end = end
        self.equity: EquityCurve | None = None
        """The finished run's equity curve (research trials keep it without a run folder)."""

    def run(self, run_dir: Path | None, progress: Progress | None = None) -> BacktestResult:
        """Run, write the run folder (when ``run_dir`` is given) and return the result."""
        data = self.config.data
        if data.recording is not None:
            node = TradingNode(self.config, RunMode.BACKTEST, SimClock(), run_dir)
            seconds = node.replay_recording(data.recording)
            return node.finish(data.recording.name, seconds)
        if data.catalog is None:
            raise ConfigError("data: give catalog (candles) or recording (books)")
        catalog = Catalog(data.catalog, version=data.catalog_version)
        version = catalog.version
        catalog = Catalog(data.catalog, version=version)
        where = candle_query(data, self._start, self._end)
        total = count_candles(catalog, where)
        if total == 0:
            raise ConfigError(_no_candles(catalog, data, self._start, self._end))
        clock = SimClock()
        node = TradingNode(self.config, RunMode.BACKTEST, clock, run_dir)
        started = time.perf_counter()
        count, first, last = _replay_candles(catalog, where, clock, node.bus, (total, progress))
        seconds = time.perf_counter() - started
        self.equity = node.kernel.equity_curve
        info = RunInfo(
            config=self.config,
            catalog_version=version,
            catalog_fingerprint=catalog.fingerprint(),
            recording=None,
            candles=count,
            first_ts=first,
            last_ts=last,
        )
        return node.finish("", seconds, info)


def _replay_candles(
    catalog: Catalog,
    where: str,
    clock: SimClock,
    bus: MessageBus,
    progress: tuple[int, Progress | None],
) -> tuple[int, int, int]:
    # The hot loop: one clock move and one publish per candle, nothing else.
    advance = clock.advance_to
    publish = bus.publish
    topic = topics.CANDLES
    total, report = progress
    count = 0
    first = last = 0
    # Publishing order: by close time, then symbol.
    for batch in read_candles(catalog, where, "ts_event, symbol", _BATCH_ROWS):
        for candle in batch:
            advance(candle.ts_event)
            publish(topic, candle)
        if batch:
            first = first or batch[0].ts_event
            last = batch[-1].ts_event
        count += len(batch)
        if report is not None:
            report(count, total)
    return count, first, last
