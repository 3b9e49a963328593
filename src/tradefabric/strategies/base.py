"""The Strategy API: what a strategy may do, and the context it does it through.

A strategy never sees a venue client, a clock implementation or the mode it
runs in. It receives market data and its own order events and fills, and acts
only through ``StrategyContext``: every order it sends goes through the risk
engine. The same strategy object runs in backtest, paper and live.
"""

from __future__ import annotations

from typing import ClassVar

from tradefabric.core.clock import Clock
from tradefabric.core.errors import FatalError
from tradefabric.execution.oms import ExecutionEngine
from tradefabric.model.data import Candle, Trade
from tradefabric.model.orders import Fill, OrderEvent, OrderRequest, OrderSnapshot


class StrategyError(FatalError):
    """A strategy was built or used wrongly."""


class StrategyContext:
    """A strategy's handle on the system: submit/cancel orders, read its positions."""

    __slots__ = ("_clock", "_execution", "strategy_id")

    def __init__(self, strategy_id: str, execution: ExecutionEngine, clock: Clock) -> None:
        self.strategy_id = strategy_id
        self._execution = execution
        self._clock = clock

    def now_ns(self) -> int:
        """Return the kernel's time."""
        return self._clock.timestamp_ns()

    def submit(self, request: OrderRequest) -> OrderSnapshot:
        """Send an order through the risk engine; return its state after the risk decision."""
        return self._execution.submit(request)

    def cancel(self, client_order_id: str) -> None:
        """Ask for one of this strategy's orders to be cancelled."""
        self._execution.cancel(client_order_id)

    def position(self, venue: str, symbol: str) -> float:
        """Return the signed quantity held on (venue, symbol)."""
        return self._execution.position_quantity(venue, symbol)

    def equity(self) -> float:
        """Return the account equity at the latest prices."""
        return self._execution.portfolio.equity()


class Strategy:
    """Base class: override the handlers you need; the kernel subscribes them.

    ``wants_candles``/``wants_trades`` tell the kernel which market data to deliver.
    """

    wants_candles: ClassVar[bool] = True
    wants_trades: ClassVar[bool] = False

    def __init__(self, strategy_id: str) -> None:
        self.strategy_id = strategy_id
        self._ctx: StrategyContext | None = None

    @property
    def ctx(self) -> StrategyContext:
        """Return the context given at start."""
        if self._ctx is None:
            raise StrategyError(f"strategy {self.strategy_id} used before start")
        return self._ctx

    def strategy_ids(self) -> tuple[str, ...]:
        """Return every strategy id this strategy sends orders under (fills route back)."""
        return (self.strategy_id,)

    def start(self, ctx: StrategyContext) -> None:
        """Receive the context; called once by the kernel before any data."""
        self._ctx = ctx

    def on_candle(self, candle: Candle) -> None:
        """Handle a closed candle."""

    def on_trade(self, trade: Trade) -> None:
        """Handle a trade."""

    def on_order_event(self, event: OrderEvent) -> None:
        """Handle a transition of one of this strategy's orders."""

    def on_fill(self, fill: Fill) -> None:
        """Handle a fill of one of this strategy's orders."""

    def stop(self) -> None:
        """Clean up at the end of a run."""
