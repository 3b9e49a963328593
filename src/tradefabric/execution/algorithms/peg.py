"""Post-only pegging: rest at our side's best price, follow it when the book moves."""

from __future__ import annotations

import math
from typing import Any

from tradefabric.core.time import NS_PER_MS
from tradefabric.data.order_book import OrderBook
from tradefabric.execution.algorithms.base import (
    POST_ONLY_REJECTED,
    AlgoContext,
    AlgoError,
    ExecAlgorithm,
)
from tradefabric.model.orders import OrderSide, OrderSnapshot, OrderStatus, OrderType, PegParams

MAX_BACKOFF = 10
"""Post-only rejections in a row after which the peg gives up (the book keeps crossing us)."""


class Peg(ExecAlgorithm):
    """Join the best bid (buy) or ask (sell) post-only and re-peg as it moves (``PegParams``).

    The child rests ``offset_ticks`` behind the touch. When the touch moves by
    ``repeg_ticks`` ticks from the child's price (and ``min_repeg_ms`` passed since the
    last peg), the child is cancelled and the rest sent again at the new touch. A
    post-only rejection sends it again one more tick behind (up to ``MAX_BACKOFF``);
    a fill resets the back-off.
    """

    name = "peg"
    Params = PegParams

    def __init__(self, ctx: AlgoContext, params: Any) -> None:
        super().__init__(ctx, params)
        p: PegParams = params
        if ctx.precision is None:
            raise AlgoError("peg: the instrument's tick is unknown")
        if p.offset_ticks < 0 or p.repeg_ticks < 1:
            raise AlgoError("peg: need offset_ticks >= 0 and repeg_ticks >= 1")
        self._tick = ctx.precision.tick.to_float(1)
        self._price = math.nan
        self._last_peg = 0
        self._backoff = 0
        self._repegging = False
        self._waiting = False
        self.repegs = 0
        self.post_only_rejections = 0

    def start(self) -> None:
        """Place at the touch (at the first valid book when there is none yet)."""
        self._place()

    def _target(self, book: OrderBook) -> float:
        behind = float(self.params.offset_ticks + self._backoff) * self._tick
        if self.ctx.side is OrderSide.BUY:
            return float(book.best_bid()) - behind
        return float(book.best_ask()) + behind

    def _place(self) -> None:
        quantity = self.lot(self.remaining)
        if not self.active or quantity <= 0:
            return
        book = self.ctx.book()
        target = math.nan if book is None else self._target(book)
        if math.isnan(target):
            self._waiting = True
            return
        self._waiting = False
        self._price = target
        self._last_peg = self.ctx.now_ns()
        self.ctx.spawn(quantity, order_type=OrderType.LIMIT, price=target,
                       post_only=self.ctx.tactics.post_only,
                       delay_ms=self.params.delay_ms)  # fmt: skip

    def on_book(self, book: OrderBook) -> None:
        """Place when waiting for a book; re-peg when the touch moved far enough."""
        if self._waiting:
            self._place()
            return
        if self._repegging or not self.ctx.open_children():
            return
        moved = abs(self._target(book) - self._price) / self._tick
        waited = self.ctx.now_ns() - self._last_peg >= self.params.min_repeg_ms * NS_PER_MS
        if moved >= self.params.repeg_ticks - 1e-9 and waited:
            self._repegging = True
            self.ctx.cancel_children()

    def on_child_done(self, child: OrderSnapshot) -> None:
        """Re-peg after our cancel or a post-only rejection; go on after a fill."""
        if child.tag == POST_ONLY_REJECTED:
            self.post_only_rejections += 1
            self._backoff += 1
            if self._backoff > MAX_BACKOFF:
                self.ctx.finish(f"peg: {MAX_BACKOFF} post-only rejections in a row")
                return
        elif child.status is OrderStatus.FILLED:
            self._backoff = 0
        elif child.status is OrderStatus.CANCELLED and self._repegging:
            self.repegs += 1
        else:
            self.ctx.finish(f"peg child {child.client_order_id} {child.status}")
            return
        self._repegging = False
        if self.lot(self.remaining) <= 0:
            self.ctx.finish("peg done")
            return
        self._place()
