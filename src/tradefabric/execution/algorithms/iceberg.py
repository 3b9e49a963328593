"""Iceberg: a limit order shown one randomized clip at a time."""

from __future__ import annotations

from typing import Any

from tradefabric.core.time import NS_PER_MS
from tradefabric.execution.algorithms.base import AlgoContext, AlgoError, ExecAlgorithm
from tradefabric.model.orders import IcebergParams, OrderSnapshot, OrderStatus, OrderType


class Iceberg(ExecAlgorithm):
    """Rest clips of about ``visible`` at the parent's price (``IcebergParams``).

    A filled clip is followed, after a random refresh delay, by the next one of a
    random size; a clip that ends otherwise (cancelled, expired, rejected) ends the
    parent with what it filled. Post-only when the parent asks and the venue has it.
    """

    name = "iceberg"
    Params = IcebergParams

    def __init__(self, ctx: AlgoContext, params: Any) -> None:
        super().__init__(ctx, params)
        p: IcebergParams = params
        if ctx.price is None or not ctx.price > 0:
            raise AlgoError("iceberg: the parent needs a positive limit price")
        if not p.visible > 0:
            raise AlgoError(f"iceberg: visible must be positive, got {p.visible}")
        if not 0 <= p.size_jitter < 1:
            raise AlgoError(f"iceberg: size_jitter must be in [0, 1), got {p.size_jitter}")
        self._price = ctx.price
        self._post_only = ctx.post_only and ctx.tactics.post_only

    def child_size(self) -> float:
        """Return the visible clip."""
        return float(self.params.visible)

    def start(self) -> None:
        """Show the first clip."""
        self._clip(0)

    def _clip(self, _due: int) -> None:
        if not self.active:
            return
        ctx, p = self.ctx, self.params
        size = p.visible * (1.0 + ctx.rng.uniform(-p.size_jitter, p.size_jitter))
        quantity = self.lot(min(size, self.remaining))
        if quantity <= 0:
            ctx.finish("iceberg done")
            return
        ctx.spawn(quantity, order_type=OrderType.LIMIT, price=self._price,
                  post_only=self._post_only, delay_ms=p.delay_ms)  # fmt: skip

    def on_child_done(self, child: OrderSnapshot) -> None:
        """Refresh after a filled clip; stop after any other end."""
        if child.status is not OrderStatus.FILLED:
            self.ctx.finish(f"clip {child.client_order_id} {child.status}")
            return
        if self.lot(self.remaining) <= 0:
            self.ctx.finish("iceberg done")
            return
        delay_ns = int(self.ctx.rng.uniform(0.0, self.params.refresh_ms) * NS_PER_MS)
        self.ctx.alarm(self.ctx.now_ns() + delay_ns, self._clip)
