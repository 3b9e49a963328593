"""The Strategy API: history, indicators (streaming == batch), market, timers, portfolio,
and cancel limited to a strategy's own orders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.execution.helpers import T0, Harness
from tests.strategies.real_candles import real_candles
from tradefabric.analytics.indicators import batch
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.time import NS_PER_MINUTE
from tradefabric.data import topics
from tradefabric.data.order_book import OrderBook
from tradefabric.execution.sim.venue import SimulatedVenue, SimVenueConfig
from tradefabric.model.data import Candle, OrderBookSnapshot, Quote
from tradefabric.model.orders import OrderRequest, OrderSide, OrderType
from tradefabric.node.kernel import TradingConfig, TradingKernel
from tradefabric.risk.audit import AuditLog
from tradefabric.strategies import indicators as ind
from tradefabric.strategies.base import Strategy, StrategyContext, StrategyError


class Recorder(Strategy):
    """Registers history and indicators at start and records what it sees per candle."""

    def __init__(self, strategy_id: str = "rec") -> None:
        super().__init__(strategy_id)
        self.rows: list[tuple[float, ...]] = []
        self.lengths: list[int] = []
        self.newest: list[int] = []

    def start(self, ctx: StrategyContext) -> None:
        """Register one ring and the indicators."""
        super().start(ctx)
        key = ("binance", "BTC/USDT", "1m")
        self.ring = ctx.history(*key, size=5)
        self.ema = ctx.indicator(*key, ind.Ema(12))
        self.sma = ctx.indicator(*key, ind.Sma(20))
        self.rsi = ctx.indicator(*key, ind.Rsi(14))
        self.atr = ctx.indicator(*key, ind.Atr(14))
        self.bands = ctx.indicator(*key, ind.Bollinger(20, 2.0, 2.0))
        self.macd = ctx.indicator(*key, ind.Macd(12, 26, 9))

    def on_candle(self, candle: Candle) -> None:
        """Record the indicators as they stand when the strategy sees ``candle``."""
        self.lengths.append(len(self.ring))
        last = self.ring.last()
        self.newest.append(last.ts_open if last else -1)
        self.rows.append(
            (self.ema.value, self.sma.value, self.rsi.value, self.atr.value, self.bands.upper,
             self.bands.lower, self.macd.macd, self.macd.signal, self.macd.hist)
        )  # fmt: skip


class _Bare(Harness):
    """A harness whose kernel runs ``strategy`` (and reads ``book`` when given)."""

    def __init__(self, tmp: Path, strategy: Strategy, book: OrderBook | None) -> None:
        self.config = TradingConfig()
        self.clock = SimClock(T0)
        self.bus = MessageBus()
        self.venue = SimulatedVenue("binance", self.bus, SimVenueConfig(), seed=1)
        self.kernel = TradingKernel(
            self.config, self.bus, self.clock, {"binance": self.venue}, audit=AuditLog(None),
            books=_Books(book) if book is not None else None,
        )  # fmt: skip
        self.kernel.strategies.append(strategy)
        self.kernel._start(strategy)  # a strategy object built by the test
        self.execution = self.kernel.execution
        self.minute = 0


class _Books:
    def __init__(self, book: OrderBook) -> None:
        self._book = book

    def book(self, venue: str, symbol: str) -> OrderBook | None:
        return self._book if (venue, symbol) == (self._book.venue, self._book.symbol) else None


def test_indicators_streaming_equal_batch_on_real_candles(
    shared_data: Path, tmp_path: Path
) -> None:
    candles = real_candles(shared_data, 3_000, skip=7_000)
    rec = Recorder()
    h = _Bare(tmp_path, rec, None)
    for c in candles:
        h.clock.advance_to(c.ts_event)
        h.bus.publish(topics.CANDLES, c)
    close = np.array([c.close for c in candles])
    high = np.array([c.high for c in candles])
    low = np.array([c.low for c in candles])
    bands = batch.bbands(close, 20, 2.0, 2.0)
    macd = batch.macd(close, 12, 26, 9)
    expected = np.column_stack(
        [batch.ema(close, 12), batch.sma(close, 20), batch.rsi(close, 14),
         batch.atr(high, low, close, 14), bands.upper, bands.lower, macd.macd, macd.signal,
         macd.hist]
    )  # fmt: skip
    got = np.array(rec.rows)
    assert got.shape == expected.shape
    assert np.array_equal(np.isnan(got), np.isnan(expected))  # same warm-up
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9, equal_nan=True)
    # The ring is bounded at 5 and already holds the candle being handled.
    assert rec.lengths[:6] == [1, 2, 3, 4, 5, 5] and max(rec.lengths) == 5
    assert rec.newest == [c.ts_open for c in candles]


class Timed(Strategy):
    """Sets a 5-minute timer and an alarm at start; records when they fire."""

    def __init__(self) -> None:
        super().__init__("timed")
        self.ticks: list[int] = []
        self.alarms: list[int] = []

    def start(self, ctx: StrategyContext) -> None:
        """Set the timer and the alarm on the node clock."""
        super().start(ctx)
        self.timer = ctx.set_timer(5 * NS_PER_MINUTE, self.ticks.append)
        ctx.set_alarm(T0 + 7 * NS_PER_MINUTE + 30, self.alarms.append)


def test_timers_run_on_the_node_clock(tmp_path: Path) -> None:
    strategy = Timed()
    h = _Bare(tmp_path, strategy, None)
    for _ in range(12):
        h.candle(100.0, 101.0, 99.0, 100.0)
    assert strategy.ticks == [T0 + 5 * NS_PER_MINUTE, T0 + 10 * NS_PER_MINUTE]
    assert strategy.alarms == [T0 + 7 * NS_PER_MINUTE + 30]
    strategy.timer.cancel()
    for _ in range(10):
        h.candle(100.0, 101.0, 99.0, 100.0)
    assert len(strategy.ticks) == 2 and len(strategy.alarms) == 1
    with pytest.raises(StrategyError, match="not ahead"):
        strategy.ctx.set_alarm(T0, strategy.alarms.append)


def test_book_quote_and_portfolio(tmp_path: Path) -> None:
    book = OrderBook("binance", "BTC/USDT")
    book.apply_snapshot(
        OrderBookSnapshot("binance", "BTC/USDT", ((99.5, 2.0),), ((100.5, 1.0),), 1, T0, T0)
    )
    strategy = Strategy("p")
    h = _Bare(tmp_path, strategy, book)
    ctx = strategy.ctx
    assert ctx.book("binance", "BTC/USDT") is book and ctx.book("binance", "ETH/USDT") is None
    h.candle(100.0, 101.0, 99.0, 100.0)
    ctx.submit(OrderRequest(strategy_id="p", venue="binance", symbol="BTC/USDT",
                            side=OrderSide.BUY, quantity=0.5))  # fmt: skip
    h.candle(102.0, 103.0, 101.0, 104.0)
    assert ctx.position("binance", "BTC/USDT") == 0.5
    assert ctx.last_price("binance", "BTC/USDT") == 104.0
    fee = 102.0 * 0.5 * 0.001  # vip0 taker: 10 bps
    assert ctx.balance("binance", "USDT") == pytest.approx(100_000.0 - 51.0 - fee)
    assert ctx.balance("binance", "BTC") == 0.5
    h.kernel.mark_to_market()
    assert ctx.equity() == pytest.approx(100_000.0 - 51.0 - fee + 0.5 * 104.0)
    ts = h.clock.timestamp_ns()
    quote = Quote("binance", "BTC/USDT", 103.5, 2.0, 104.5, 1.0, 7, ts, ts)
    h.bus.publish(topics.QUOTES, quote)
    assert ctx.quote("binance", "BTC/USDT") == quote and ctx.quote("bybit", "BTC/USDT") is None


def test_cancel_and_submit_limited_to_own_orders(tmp_path: Path) -> None:
    a, b = Strategy("a"), Strategy("b")
    h = _Bare(tmp_path, a, None)
    h.kernel.strategies.append(b)
    h.kernel._start(b)
    h.candle(100.0, 101.0, 99.0, 100.0)
    mine = a.ctx.submit(OrderRequest(strategy_id="a", venue="binance", symbol="BTC/USDT",
                                     side=OrderSide.BUY, quantity=0.1,
                                     order_type=OrderType.LIMIT, price=90.0))  # fmt: skip
    with pytest.raises(
        StrategyError, match=f"b may not cancel {mine.client_order_id}: it belongs to a"
    ):
        b.ctx.cancel(mine.client_order_id)
    with pytest.raises(StrategyError, match="b may not send orders as 'a'"):
        b.ctx.submit(OrderRequest(strategy_id="a", venue="binance", symbol="BTC/USDT",
                                  side=OrderSide.SELL, quantity=0.1))  # fmt: skip
    with pytest.raises(StrategyError, match="no order 'nope'"):
        b.ctx.cancel("nope")
    assert [o.client_order_id for o in a.ctx.open_orders()] == [mine.client_order_id]
    assert b.ctx.open_orders() == []
    a.ctx.cancel(mine.client_order_id)
    h.candle(100.0, 101.0, 99.0, 100.0)
    assert a.ctx.open_orders() == []
    assert h.execution.order(mine.client_order_id).status == "cancelled"  # type: ignore[union-attr]


class Ticking(Strategy):
    """A 1-minute timer that raises on its ``fail_at``-th tick (0: never)."""

    def __init__(self, strategy_id: str, fail_at: int = 0) -> None:
        super().__init__(strategy_id)
        self.ticks: list[int] = []
        self.fail_at = fail_at

    def start(self, ctx: StrategyContext) -> None:
        """Set the timer."""
        super().start(ctx)
        ctx.set_timer(NS_PER_MINUTE, self._tick)

    def _tick(self, due_ns: int) -> None:
        self.ticks.append(due_ns)
        if len(self.ticks) == self.fail_at:
            raise RuntimeError("tick failed")


def test_a_raising_timer_is_the_strategys_fault_and_stopped_strategies_tick_no_more(
    tmp_path: Path,
) -> None:
    from tradefabric.core.bus import HandlerFault

    boom, ok = Ticking("boom", fail_at=2), Ticking("ok")
    h = _Bare(tmp_path, boom, None)
    faults: list[HandlerFault] = []
    h.bus.on_fault = faults.append
    h.kernel.strategies.append(ok)
    h.kernel._start(ok)
    for _ in range(4):
        h.candle(100.0, 101.0, 99.0, 100.0)
    assert [(f.owner, f.topic, str(f.error)) for f in faults] == [
        ("strategy:boom", "strategies.timer", "tick failed")
    ]
    assert len(boom.ticks) == 2 and len(ok.ticks) == 4  # the clock and the others went on
    h.kernel.stop_strategy("ok", "test")
    h.candle(100.0, 101.0, 99.0, 100.0)
    assert len(ok.ticks) == 4
