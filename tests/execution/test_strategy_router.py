"""The strategy router on real BTC/USDT minutes: signals go to the HFT or the swing book by
their horizon and their source's measured rate, sized at 0.1% / 2% of equity, and every
skipped signal is published with its reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyarrow import feather

from tradefabric.analytics.signals.base import Direction, Signal
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.time import NS_PER_MINUTE, NS_PER_SECOND, parse_utc
from tradefabric.data import topics
from tradefabric.execution import topics as exec_topics
from tradefabric.execution.precision import Precision
from tradefabric.execution.sim.venue import SimulatedVenue
from tradefabric.model.data import Candle
from tradefabric.model.orders import Fill, OrderSnapshot
from tradefabric.node.kernel import ExecutionConfig, TradingConfig, TradingKernel
from tradefabric.risk.audit import AuditLog
from tradefabric.risk.config import RiskConfig
from tradefabric.strategies.router import ROUTED, SIGNALS, RoutedSignal, RouterConfig

LOT = Precision("0.01", "0.00001")
START = "2024-08-05T00:00"  # a volatile real day
MINUTES = 180


class Run:
    def __init__(self, shared_data: Path, risk: RiskConfig | None = None) -> None:
        path = shared_data / "candles_1m" / "binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather"
        table = feather.read_table(path)
        unit = table.schema.field("date").type.unit
        scale = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]
        start = parse_utc(START)
        dates = table.column("date").cast("int64").to_pylist()
        columns = [table.column(c).to_pylist() for c in ("open", "high", "low", "close", "volume")]
        rows = zip(dates, *columns, strict=True)
        self.candles = []
        for date, o, h, lo, c, v in rows:
            t = date * scale
            if start <= t < start + MINUTES * NS_PER_MINUTE:
                end = t + NS_PER_MINUTE
                self.candles.append(
                    Candle("binance", "BTC/USDT", "1m", t, o, h, lo, c, v, 0, 0.0, c, end, end)
                )
        config = TradingConfig(
            execution={"binance": ExecutionConfig()},
            risk=risk or RiskConfig(),
            strategies=(RouterConfig(id="router"),),
        )
        self.clock = SimClock()
        self.bus = MessageBus()
        venue = SimulatedVenue("binance", self.bus, config.execution["binance"].sim, seed=1)
        self.kernel = TradingKernel(config, self.bus, self.clock, {"binance": venue},
                                    audit=AuditLog(None))  # fmt: skip
        self.routed: list[RoutedSignal] = []
        self.orders: list[OrderSnapshot] = []
        self.fills: list[Fill] = []
        self.equity_at: dict[tuple[str, int], tuple[float, float]] = {}
        """(source, signal ts) -> (equity the router saw, signal price)."""
        self.bus.subscribe(ROUTED, self.routed.append)
        self.bus.subscribe(exec_topics.ORDERS_CLOSED, self.orders.append)
        self.bus.subscribe(exec_topics.FILLS, self.fills.append)

    def signal(self, source: str, candle: Candle, direction: Direction, horizon: str,
               offset_s: int = 0) -> None:  # fmt: skip
        ts = candle.ts_event - 50 * NS_PER_SECOND + offset_s * NS_PER_SECOND
        self.equity_at[(source, ts)] = (self.kernel.portfolio.equity(), candle.close)
        self.bus.publish(SIGNALS, Signal(
            source=source, venue="binance", asset="BTC/USDT", interval="1m",
            direction=direction, horizon=horizon, strength=1.0, evidence=(),
            price=candle.close, data_ts=candle.ts_event,
            ts=ts,
        ))  # fmt: skip

    def play(self) -> None:
        for i, candle in enumerate(self.candles):
            self.clock.advance_to(candle.ts_event)
            self.bus.publish(topics.CANDLES, candle)
            # "fast": 6 signals a minute, horizon 30m (no book by horizon): HFT by rate.
            direction = Direction.LONG if (i // 3) % 2 == 0 else Direction.SHORT
            for k in range(6):
                self.signal("fast", candle, direction, "30m", k * 8)
            # "slow": one signal every 90 minutes, horizon 1h: swing by rate after an hour.
            if i % 90 == 0:
                self.signal("slow", candle, Direction.LONG if i < 170 else Direction.FLAT, "1h")
            # "medium": every 10 minutes, horizon 1h: 6 an hour fits neither book.
            if i % 10 == 5:
                self.signal("medium", candle, Direction.LONG, "1h")
            # "daily": horizon 1d decides swing at once; "scalp": rate HFT, horizon 1d: conflict.
            if i == 30:
                self.signal("daily", candle, Direction.LONG, "1d")
            if i == 40:
                for k in range(7):
                    self.signal("scalp", candle, Direction.LONG, "1d", k * 5)


@pytest.fixture(scope="module")
def run(shared_data: Path) -> Run:
    r = Run(shared_data)
    r.play()
    return r


def _by(run: Run, source: str) -> list[RoutedSignal]:
    return [s for s in run.routed if s.source == source]


def test_fast_source_goes_to_the_hft_book_sized_at_a_tenth_of_a_percent(run: Run) -> None:
    fast = _by(run, "fast")
    assert len(fast) == 6 * MINUTES
    # The first minute's first 5 signals: not enough rate yet, horizon 30m decides nothing.
    assert [s.taken for s in fast[:5]] == [False] * 5
    assert all("rate not measured yet" in s.reason for s in fast[:5])
    assert fast[5].book == "hft" and fast[5].taken and fast[5].rate_per_minute == 6.0
    hft = [o for o in run.orders if o.strategy_id == "router.hft"]
    assert len(hft) > 50
    taken = [s for s in fast if s.taken]
    assert len(taken) == len(hft)
    for signal, order in zip(taken, hft, strict=True):
        if order.side == "buy":
            equity, price = run.equity_at[("fast", signal.ts)]
            assert order.quantity == LOT.quantity(equity * 0.001 / price)
            assert 90.0 < order.quantity * price <= 100.01
    # One order at a time per book: the other signals of a minute wait for it.
    assert any(s.reason.startswith("order router.hft-") for s in fast)
    buys = [o for o in hft if o.side == "buy"]
    sells = [o for o in hft if o.side == "sell"]
    assert abs(len(buys) - len(sells)) <= 1
    assert all(o.status == "filled" for o in hft)


def test_slow_and_long_horizon_sources_go_to_the_swing_book_at_two_percent(run: Run) -> None:
    slow = _by(run, "slow")
    assert [s.taken for s in slow] == [False, False]
    assert "rate not measured yet" in slow[0].reason
    # Routed to swing by its rate (one in the last hour, watched for 90 minutes), where
    # "daily" already holds the position.
    assert slow[1].book == "swing" and slow[1].reason == "already positioned"
    daily = _by(run, "daily")
    assert daily[0].book == "swing" and daily[0].taken  # the horizon decides at once
    swing = [o for o in run.orders if o.strategy_id == "router.swing"]
    # "daily" bought; "slow"'s LONG then found the book long; its FLAT at minute 180
    # is past the data. One order, sized at 2% of the equity the router saw.
    assert len(swing) == 1 and swing[0].status == "filled"
    equity, price = run.equity_at[("daily", daily[0].ts)]
    assert swing[0].quantity == LOT.quantity(equity * 0.02 / price)
    assert 1_990.0 < swing[0].quantity * price <= 2_000.0


def test_conflicting_and_unfitting_sources_are_skipped_with_reasons(run: Run) -> None:
    scalp = _by(run, "scalp")
    assert [s.taken for s in scalp][-1] is False
    assert scalp[-1].reason == "rate says hft, horizon 1d says swing"
    medium = _by(run, "medium")
    assert not any(s.taken for s in medium)
    assert medium[-1].reason == "6 signals/hour, horizon 1h: fits neither book"
    skipped = [s for s in run.routed if not s.taken]
    assert all(s.reason for s in skipped)
    assert not any(o.strategy_id == "router" for o in run.orders)
