"""A small real run folder: a backtest over a day and a half of real BTC/USDT candles."""

from __future__ import annotations

from pathlib import Path

from pyarrow import feather

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.time import NS_PER_DAY, NS_PER_MINUTE, parse_utc
from tradefabric.data import topics
from tradefabric.model.data import Candle
from tradefabric.node.kernel import TradingConfig
from tradefabric.node.run import KernelRun, RunInfo, build_sim_venues
from tradefabric.risk.config import RiskConfig
from tradefabric.strategies.ema_cross import EmaCrossConfig

FIRST_DAY = "2024-08-01"
CANDLES = "candles_1m/binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather"


def real_candles(shared_data: Path, first_day: str, days: float) -> list[Candle]:
    """Return the real 1m candles of ``days`` days from ``first_day`` (UTC)."""
    table = feather.read_table(shared_data / CANDLES)
    start = parse_utc(first_day)
    end = start + int(days * NS_PER_DAY)
    scale = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[table.schema.field("date").type.unit]
    ts = table.column("date").cast("int64").to_pylist()
    cols = [table.column(c).to_pylist() for c in ("open", "high", "low", "close", "volume")]
    out = []
    for date, o, h, lo, c, v in zip(ts, *cols, strict=True):
        t = date * scale
        if start <= t < end:
            close = t + NS_PER_MINUTE
            out.append(Candle("binance", "BTC/USDT", "1m", t, o, h, lo, c, v, 0, 0.0, c, close,
                              close))  # fmt: skip
    return out


def write_run(
    shared_data: Path, root: Path, days: float = 1.5, *, rotate_audit: bool = False
) -> Path:
    """Backtest EMA cross over ``days`` days; return the run folder (audit, fills, reports).

    ``rotate_audit``: the audit log as a live node with a state store writes it, one file
    per UTC day."""
    config = TradingConfig(
        seed=1,
        strategies=(EmaCrossConfig(id="ema", fast=12, slow=26, notional=1_000.0),),
        risk=RiskConfig(audit_rotate_daily=rotate_audit),
    )
    clock = SimClock()
    bus = MessageBus()
    venues = dict(build_sim_venues(config, bus, None))
    run = KernelRun(config, bus, clock, venues, root, durable_audit=rotate_audit)
    candles = real_candles(shared_data, FIRST_DAY, days)
    for candle in candles:
        clock.advance_to(candle.ts_event)
        bus.publish(topics.CANDLES, candle)
    info = RunInfo(config=config, catalog_version=None, catalog_fingerprint=None,
                   recording=None, candles=len(candles), first_ts=candles[0].ts_event,
                   last_ts=candles[-1].ts_event)  # fmt: skip
    run.finish(info, 1.0)
    return root
