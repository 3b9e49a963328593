"""The protocol of a live execution client, and where it reports.

A live client is async: it owns one venue's private connection (signed REST,
WebSocket order entry, the user data stream). It never decides what an order's
state is; it reports what the venue said (``LiveReports``) and the engine
applies it, tolerating what real venues do (a fill before the ack, an ack after
a cancel, duplicates, out-of-order reports).

Errors, by type (``core.errors``):

- ``OrderRejectedError``: the venue refused the request (its code attached).
- ``OrderStatusUnknownError``: the request may have acted (timeout, Binance
  -1006/-1007); settle it with ``query_order``, never by sending it again.
- ``RateLimitedError`` / ``VenueUnavailableError``: nothing reached the venue;
  the caller may retry after ``retry_after_s``.
- ``AuthenticationError``: keys or signature refused; retrying cannot help.
"""

from __future__ import annotations

from typing import Protocol

from tradefabric.execution.live.reports import (
    BalanceReport,
    MassStatus,
    OrderStatusReport,
    PositionReport,
    TradeReport,
)
from tradefabric.model.orders import OrderSnapshot


class LiveReports(Protocol):
    """Where a live client sends what its venue reports (the live execution engine)."""

    def on_order_status(self, report: OrderStatusReport) -> None:
        """Apply one order's status as the venue reported it."""
        ...

    def on_trade(self, report: TradeReport) -> None:
        """Apply one execution (idempotent on its trade id)."""
        ...

    def on_balance(self, report: BalanceReport) -> None:
        """Record one asset's balance."""
        ...

    def on_position(self, report: PositionReport) -> None:
        """Record one derivatives position."""
        ...

    def on_stream_reconnected(self, venue: str) -> None:
        """Note that the user stream was down: what happened meanwhile needs reconciling."""
        ...


class LiveExecutionClient(Protocol):
    """One venue's private API: order entry, queries and the user data stream."""

    name: str
    """The venue as the registry spells it (``binance``, ``binance-usdm``, ``bybit``...)."""

    supports_modify: bool
    """True when ``modify`` amends an order in place at the venue."""

    supports_cancel_after: bool
    """True when the venue has a dead man's switch ``heartbeat`` arms."""

    async def connect(self, reports: LiveReports) -> None:
        """Open the private connections and the user stream; report to ``reports``."""
        ...

    async def close(self) -> None:
        """Close every connection (orders stay at the venue)."""
        ...

    async def submit(self, order: OrderSnapshot) -> str:
        """Send a new order; return the venue order id once the venue acknowledged it."""
        ...

    async def cancel(self, symbol: str, client_order_id: str) -> None:
        """Ask the venue to cancel one order (its report arrives on the stream)."""
        ...

    async def cancel_all(self, symbol: str | None = None) -> None:
        """Cancel every open order of ``symbol``, or of the account when None."""
        ...

    async def modify(
        self, symbol: str, client_order_id: str, quantity: float, price: float | None
    ) -> None:
        """Amend quantity and price in place (only when ``supports_modify``)."""
        ...

    async def query_order(self, symbol: str, client_order_id: str) -> OrderStatusReport | None:
        """Return the venue's view of one order, None when it never had it."""
        ...

    async def mass_status(self, symbols: tuple[str, ...], trades_since_ns: int) -> MassStatus:
        """Return open orders, trades since ``trades_since_ns``, balances and positions."""
        ...

    async def heartbeat(self, timeout_s: float) -> None:
        """Arm (or re-arm) the venue's cancel-all-after ``timeout_s`` dead man's switch."""
        ...
