"""EMA crossover: long when the fast EMA crosses above the slow one, flat when below.

The signal is defined once, here and in ``ema_cross_trades`` (the vectorized
research path): with ``diff = EMA_fast(close) - EMA_slow(close)`` (TA-Lib's EMA,
seeded with an SMA), a cross up at candle ``i`` is ``diff[i] > 0 >= diff[i-1]``
and a cross down ``diff[i] < 0 <= diff[i-1]``. A cross up while flat buys
``lot_floor(notional / close[i])``; a cross down while long sells everything
held. Orders are market orders sent on the candle's close, so (candle matching)
they fill at the next candle's open.
"""

from __future__ import annotations

import msgspec

from tradefabric.analytics.indicators.streaming import Ema
from tradefabric.core.errors import ConfigError
from tradefabric.execution.precision import Precision
from tradefabric.model.data import Candle
from tradefabric.model.orders import Fill, OrderRequest, OrderSide
from tradefabric.strategies.base import Strategy


class EmaCrossConfig(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    tag_field="kind",
    tag="ema_cross",
):
    """Parameters of one EMA-cross strategy instance."""

    id: str = "ema_cross"
    venue: str = "binance"
    symbol: str = "BTC/USDT"
    interval: str = "1m"
    fast: int = 12
    slow: int = 26
    notional: float = 1_000.0
    """Quote currency spent on each entry."""

    def __post_init__(self) -> None:
        if not 2 <= self.fast < self.slow:
            raise ConfigError(f"ema_cross {self.id}: need 2 <= fast < slow")
        if self.notional <= 0:
            raise ConfigError(f"ema_cross {self.id}: notional must be positive")


class EmaCross(Strategy):
    """Long-only EMA crossover on one symbol's candles of one interval."""

    def __init__(self, config: EmaCrossConfig, precision: Precision) -> None:
        super().__init__(config.id)
        self.config = config
        self._precision = precision
        self._fast = Ema(config.fast)
        self._slow = Ema(config.slow)
        self._prev = float("nan")
        self.held = 0.0
        self.signals = 0

    def on_candle(self, candle: Candle) -> None:
        """Update both EMAs and act on a cross (the hot path: keep it lean)."""
        config = self.config
        if (
            candle.symbol != config.symbol
            or candle.interval != config.interval
            or candle.venue != config.venue
        ):
            return  # another instrument's (or venue's) candles: with several feeds, many
        close = candle.close
        diff = self._fast.update(close) - self._slow.update(close)
        prev = self._prev
        self._prev = diff
        if diff > 0.0:
            if prev <= 0.0 and self.held == 0.0:
                self._enter(close)
        elif diff < 0.0 and prev >= 0.0 and self.held > 0.0:
            self._exit()

    def on_restore(self, saved: bytes | None) -> None:
        """Hold what the portfolio holds (the EMAs warm up again from the next candles)."""
        position = self.ctx.position(self.config.venue, self.config.symbol)
        self.held = position if position > 0.0 else 0.0

    def _enter(self, close: float) -> None:
        self.signals += 1
        quantity = self._precision.quantity(self.config.notional / close)
        self._send(OrderSide.BUY, quantity, "ema cross up")

    def _exit(self) -> None:
        self.signals += 1
        self._send(OrderSide.SELL, self.held, "ema cross down")

    def _send(self, side: OrderSide, quantity: float, tag: str) -> None:
        config = self.config
        request = OrderRequest(
            strategy_id=self.strategy_id,
            venue=config.venue,
            symbol=config.symbol,
            side=side,
            quantity=quantity,
            tag=tag,
        )
        self.ctx.submit(request)

    def on_fill(self, fill: Fill) -> None:
        """Track what this strategy holds."""
        self.held += fill.quantity * fill.side.sign
        if abs(self.held) < 1e-12:
            self.held = 0.0
