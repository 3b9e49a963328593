"""TWAP: a parent sliced evenly over a horizon, each slice time jittered (seeded)."""

from __future__ import annotations

from typing import Any

from tradefabric.core.time import NS_PER_SECOND
from tradefabric.execution.algorithms.base import AlgoContext, AlgoError, ExecAlgorithm
from tradefabric.model.orders import OrderType, TimeInForce, TwapParams


class Twap(ExecAlgorithm):
    """Send ``quantity / slices`` every ``interval_s`` until ``horizon_s`` (``TwapParams``).

    Each slice tops the parent up to its schedule (``quantity * k / slices`` filled or
    working after slice k), so a slice that did not fill is caught up by the next
    one. With a limit price the children are IOC limits where the venue has IOC, else
    GTC limits that the next slice cancels.
    """

    name = "twap"
    Params = TwapParams

    def __init__(self, ctx: AlgoContext, params: Any) -> None:
        super().__init__(ctx, params)
        p: TwapParams = params
        if not 0 < p.interval_s <= p.horizon_s:
            raise AlgoError(
                f"twap: need 0 < interval_s <= horizon_s, got {p.interval_s} and {p.horizon_s}"
            )
        if not 0 <= p.jitter < 1:
            raise AlgoError(f"twap: jitter must be in [0, 1), got {p.jitter}")
        self.slices = max(1, round(p.horizon_s / p.interval_s))
        self._interval_ns = int(p.interval_s * NS_PER_SECOND)
        self._k = 0
        self._start_ns = 0
        self._limit = p.limit_price if p.limit_price is not None else ctx.price
        self._ioc = ctx.tactics.supports(TimeInForce.IOC)

    def child_size(self) -> float:
        """Return one slice's quantity."""
        return self.ctx.quantity / self.slices

    def start(self) -> None:
        """Send the first slice now and schedule the others."""
        self._start_ns = self.ctx.now_ns()
        self._slice(self._start_ns)

    def resume(self) -> None:
        """Go on with the schedule after a restart: top up to the slices due by now at once
        (what the crash missed is caught up), then keep the original grid to the horizon."""
        self._start_ns = self.ctx.ts_init
        elapsed = self.ctx.now_ns() - self._start_ns
        due = elapsed // self._interval_ns + 1 if elapsed >= 0 else 1
        self._k = min(self.slices, due) - 1
        self._slice(self.ctx.now_ns())

    def _slice(self, _due: int) -> None:
        if not self.active or not self.ctx.active:
            return
        ctx, p = self.ctx, self.params
        self._k += 1
        if self._limit is not None and not self._ioc:
            ctx.cancel_children()  # GTC limits of the last slice: their rest is caught up now
        target = ctx.quantity * self._k / self.slices
        quantity = self.lot(min(target - ctx.filled - ctx.working, self.remaining))
        if quantity > 0:
            if self._limit is None:
                ctx.spawn(quantity, delay_ms=p.delay_ms)
            else:
                tif = TimeInForce.IOC if self._ioc else TimeInForce.GTC
                ctx.spawn(quantity, order_type=OrderType.LIMIT, price=self._limit,
                          time_in_force=tif, delay_ms=p.delay_ms)  # fmt: skip
        if self._k >= self.slices:
            ctx.finish("twap horizon reached")
            return
        jitter = ctx.rng.uniform(-p.jitter / 2, p.jitter / 2) * self._interval_ns
        ctx.alarm(self._start_ns + self._k * self._interval_ns + int(jitter), self._slice)
