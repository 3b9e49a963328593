"""A freqtrade-style strategy as a tradefabric plugin: indicator entry/exit, stop-loss, ROI table.

Load it from its file in a backtest config (no edit to tradefabric, no install):

    strategies:
      - class: examples/freqtrade_style.py:FreqtradeStyle
        id: ft
        symbol: BTC/USDT
        interval: 1m
        params:
          stake: 1000                          # quote currency per trade
          stoploss: -0.01                      # -1%: a resting stop-market below the entry
          minimal_roi: {"0": 0.015, "60": 0.008, "180": 0.003, "360": 0.0}

The rules, as in freqtrade's ``populate_entry_trend``/``populate_exit_trend``:

- **Entry** (flat): the fast EMA crosses above the slow EMA and RSI is below
  ``rsi_entry_max``: a market buy of ``stake / close``.
- **Stop-loss**: once the entry fills, a reduce-only stop-market sell rests at
  ``entry * (1 + stoploss)``; the simulated venue fills it like any stop (at the
  worse of trigger and open when the market gaps through it).
- **ROI table**: ``minimal_roi`` maps minutes since the entry to the return that
  is enough to take profit; on each candle the entry with the largest key not
  above the elapsed minutes applies, and a close at or above it exits (market).
- **Exit signal**: the fast EMA crosses below the slow one, or RSI rises above
  ``rsi_exit_min``: exit at market.

Every exit order is tagged with its reason (``roi``, ``stop_loss``,
``exit_signal``) so the run folder's ``orders.jsonl`` tells them apart; the
stop is cancelled when another exit is sent (the strategy cancels only its own
orders, as the Strategy API enforces).
"""

from __future__ import annotations

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.core.time import NS_PER_MINUTE
from tradefabric.model.data import Candle
from tradefabric.model.orders import Fill, OrderEvent, OrderSide, OrderStatus, OrderType
from tradefabric.strategies import indicators
from tradefabric.strategies.base import PluginStrategy, StrategyContext
from tradefabric.strategies.plugin import PluginStrategyConfig

_UNFILLED = frozenset({OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.EXPIRED})


class FreqtradeStyleParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Parameters of ``FreqtradeStyle`` (checked against the YAML)."""

    fast: int = 9
    slow: int = 21
    rsi_period: int = 14
    rsi_entry_max: float = 70.0
    rsi_exit_min: float = 80.0
    stake: float = 1_000.0
    stoploss: float = -0.01
    minimal_roi: dict[str, float] = msgspec.field(
        default_factory=lambda: {"0": 0.015, "60": 0.008, "180": 0.003, "360": 0.0}
    )

    def __post_init__(self) -> None:
        if not 2 <= self.fast < self.slow:
            raise ConfigError("freqtrade_style: need 2 <= fast < slow")
        if not -1.0 < self.stoploss < 0.0:
            raise ConfigError("freqtrade_style: stoploss must be in (-1, 0), e.g. -0.01")
        if not self.minimal_roi or any(not k.isdigit() for k in self.minimal_roi):
            raise ConfigError("freqtrade_style: minimal_roi keys are minutes, e.g. '0', '30'")

    def roi_table(self) -> list[tuple[int, float]]:
        """Return (minutes, return) pairs, latest first."""
        return sorted(((int(k), v) for k, v in self.minimal_roi.items()), reverse=True)


class FreqtradeStyle(PluginStrategy):
    """Long-only EMA/RSI entries with a resting stop-loss and a time-decaying ROI target."""

    Params = FreqtradeStyleParams

    def __init__(self, spec: PluginStrategyConfig, params: FreqtradeStyleParams) -> None:
        super().__init__(spec, params)
        self.p = params
        self._roi = params.roi_table()
        self.held = 0.0
        self.entry_price = 0.0
        self.entry_ns = 0
        self._stop_id = ""
        self._exiting = False
        self._entering = False
        self.exits: dict[str, int] = {"roi": 0, "stop_loss": 0, "exit_signal": 0}

    def start(self, ctx: StrategyContext) -> None:
        """Register the indicators on the strategy's candles."""
        super().start(ctx)
        key = (self.spec.venue, self.spec.symbol, self.spec.interval)
        self.fast = ctx.indicator(*key, indicators.Ema(self.p.fast))
        self.slow = ctx.indicator(*key, indicators.Ema(self.p.slow))
        self.rsi = ctx.indicator(*key, indicators.Rsi(self.p.rsi_period))
        self._precision = ctx.precision(self.spec.venue, self.spec.symbol)

    def on_candle(self, candle: Candle) -> None:
        """Enter on a cross up with RSI room, exit on ROI or the exit signal."""
        if not self.is_mine(candle) or not self.slow.ready or self._entering or self._exiting:
            return
        diff, prev = self.fast.value - self.slow.value, self.fast.previous - self.slow.previous
        if self.held == 0.0:
            if diff > 0.0 >= prev and self.rsi.value < self.p.rsi_entry_max:
                quantity = self._precision.quantity(self.p.stake / candle.close)
                self._entering = True
                self.order(OrderSide.BUY, quantity, tag="entry")
            return
        if candle.close / self.entry_price - 1.0 >= self.roi_now(candle.ts_event):
            self._exit("roi")
        elif (diff < 0.0 <= prev) or self.rsi.value > self.p.rsi_exit_min:
            self._exit("exit_signal")

    def roi_now(self, now_ns: int) -> float:
        """Return the return that is enough to exit, ``now_ns`` after the entry."""
        minutes = (now_ns - self.entry_ns) // NS_PER_MINUTE
        for after, target in self._roi:
            if minutes >= after:
                return target
        return float("inf")  # before the table's first key: never

    def _exit(self, reason: str) -> None:
        self._exiting = True
        if self._stop_id:
            self.ctx.cancel(self._stop_id)
        self.order(OrderSide.SELL, self.held, reduce_only=True, tag=reason)

    def on_fill(self, fill: Fill) -> None:
        """Track the position; send the stop once in, count the exit reason once out."""
        self.held += fill.quantity * fill.side.sign
        if abs(self.held) < 1e-12:
            self.held = 0.0
        order = self.ctx.order(fill.client_order_id)
        tag = order.tag if order is not None else ""
        if fill.side is OrderSide.BUY:
            self.entry_price, self.entry_ns = fill.price, fill.ts_event
            if order is not None and order.filled_quantity >= order.quantity:
                self._entering = False
                self._send_stop()
        elif self.held == 0.0:
            self.exits[tag] = self.exits.get(tag, 0) + 1
            self._stop_id = ""
            self._exiting = False

    def on_order_event(self, event: OrderEvent) -> None:
        """Free the entry/exit guard when an order ends without filling (e.g. risk said no)."""
        if event.status in _UNFILLED and event.filled_quantity == 0.0:
            if event.client_order_id == self._stop_id:
                self._stop_id = ""
            elif self.held == 0.0:
                self._entering = False
            else:
                self._exiting = False

    def _send_stop(self) -> None:
        trigger = self.entry_price * (1.0 + self.p.stoploss)
        stop = self.order(OrderSide.SELL, self.held, order_type=OrderType.STOP_MARKET,
                          trigger_price=trigger, reduce_only=True, tag="stop_loss")  # fmt: skip
        self._stop_id = stop.client_order_id
