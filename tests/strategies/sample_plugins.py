"""Plugin strategies the tests name by dotted path (``tests.strategies.sample_plugins.X``)."""

from __future__ import annotations

import msgspec

from tradefabric.model.data import Candle
from tradefabric.model.orders import OrderSide
from tradefabric.strategies.base import PluginStrategy
from tradefabric.strategies.plugin import PluginStrategyConfig


class BuyOnceParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Parameters of ``BuyOnce``."""

    quantity: float = 0.01
    after: int = 1
    """Candles to wait before buying."""


class BuyOnce(PluginStrategy):
    """Buy ``quantity`` market once, on the ``after``-th candle of its instrument."""

    Params = BuyOnceParams
    params: BuyOnceParams

    def __init__(self, spec: PluginStrategyConfig, params: BuyOnceParams) -> None:
        super().__init__(spec, params)
        self.seen = 0

    def on_candle(self, candle: Candle) -> None:
        """Count candles; buy once."""
        if not self.is_mine(candle):
            return
        self.seen += 1
        if self.seen == self.params.after:
            self.order(OrderSide.BUY, self.params.quantity, tag="buy once")


class NotAStrategy:
    """A class that is no PluginStrategy."""
