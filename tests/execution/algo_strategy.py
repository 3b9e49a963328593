"""A plugin strategy that sends one parent order to an execution algorithm (tests, bench)."""

from __future__ import annotations

import msgspec

from tradefabric.model.data import Candle
from tradefabric.model.orders import ExecParams, OrderRequest, OrderSide, OrderType, ParentSnapshot
from tradefabric.strategies.base import PluginStrategy


class ParentOnceParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    algorithm: str
    side: OrderSide = OrderSide.BUY
    quantity: float = 0.2
    after_candles: int = 20
    """Send the parent on this many-th candle of the spec's interval."""
    price_offset_bps: float | None = None
    """A limit parent at the candle close moved by this (positive: more aggressive)."""
    post_only: bool = False
    exec_params: ExecParams | None = None
    cancel_after_candles: int | None = None
    """Cancel the parent this many candles after it was sent."""
    parent_id: str = ""
    """The parent's client order id (sending it again after a restart is idempotent)."""


class ParentOnce(PluginStrategy):
    """Send one parent after ``after_candles`` candles; keep every parent event seen."""

    Params = ParentOnceParams

    def __init__(self, spec: object, params: ParentOnceParams) -> None:
        super().__init__(spec, params)  # type: ignore[arg-type]
        self.candles = 0
        self.parent_id = ""
        self.sent_at = 0
        self.events: list[ParentSnapshot] = []

    def on_candle(self, candle: Candle) -> None:
        if not self.is_mine(candle):
            return
        self.candles += 1
        p: ParentOnceParams = self.params
        if self.candles == p.after_candles:
            self._send(candle.close)
        cancel = p.cancel_after_candles
        if cancel is not None and self.parent_id and self.candles == self.sent_at + cancel:
            self.ctx.cancel_parent(self.parent_id)

    def _send(self, close: float) -> None:
        p: ParentOnceParams = self.params
        price = None
        if p.price_offset_bps is not None:
            price = close * (1.0 + p.side.sign * p.price_offset_bps / 1e4)
        spec = self.spec
        request = OrderRequest(
            strategy_id=self.strategy_id, venue=spec.venue, symbol=spec.symbol, side=p.side,
            quantity=p.quantity, order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
            price=price, post_only=p.post_only, exec_algorithm=p.algorithm,
            exec_params=p.exec_params, client_order_id=p.parent_id,
        )  # fmt: skip
        self.parent_id = self.ctx.submit_algo(request).parent_id
        self.sent_at = self.candles

    def on_parent_event(self, parent: ParentSnapshot) -> None:
        self.events.append(parent)
