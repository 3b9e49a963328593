"""A plugin strategy for the kill -9 test: it keeps a few limit buys resting and cancels some.

Every ``every_ms`` it sends a limit buy of 3 lots when fewer than ``resting`` of its
orders are open, and every fifth tick cancels its oldest open order: orders rest,
get partly filled by the venue's matcher, are cancelled, all while the node may be
killed at any moment.
"""

from __future__ import annotations

import msgspec

from tradefabric.model.orders import OrderSide, OrderType
from tradefabric.strategies.base import PluginStrategy, StrategyContext


class Params(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    every_ms: int = 100
    resting: int = 6
    price: float = 50_000.0
    step: float = 1.0
    """Each new order is priced ``price - step * (tick % 50)``."""
    quantity: float = 0.003


class RestingBuyer(PluginStrategy):
    """See the module docstring."""

    Params = Params
    wants_candles = False

    def start(self, ctx: StrategyContext) -> None:
        super().start(ctx)
        self.ticks = 0
        ctx.set_timer(self.params.every_ms * 1_000_000, self._tick)

    def _tick(self, _due_ns: int) -> None:
        self.ticks += 1
        mine = [o for o in self.ctx.open_orders() if o.strategy_id == self.strategy_id]
        if len(mine) < self.params.resting:
            price = round(self.params.price - self.params.step * (self.ticks % 5), 2)
            self.order(OrderSide.BUY, self.params.quantity, order_type=OrderType.LIMIT, price=price)
        if self.ticks % 5 == 0 and mine:
            self.ctx.cancel(mine[0].client_order_id)
