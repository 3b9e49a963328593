"""What the execution engine asks of a venue client, and what a venue reports back.

Backtest and paper use the simulated venue; a live venue client implements the
same protocol over a real connection. The engine hands a venue only orders the
risk engine accepted: the venue client is never reachable from a strategy.
"""

from __future__ import annotations

from typing import Protocol

from tradefabric.model.orders import Fill, OrderSnapshot


class ExecutionReports(Protocol):
    """Where a venue client reports what happened to orders (the execution engine)."""

    def on_accepted(self, client_order_id: str, ts_event: int) -> None:
        """Report that the venue accepted an order."""
        ...

    def on_rejected(self, client_order_id: str, reason: str, ts_event: int) -> None:
        """Report that the venue rejected an order."""
        ...

    def on_fill(self, fill: Fill) -> None:
        """Report one execution."""
        ...

    def on_cancelled(self, client_order_id: str, reason: str, ts_event: int) -> None:
        """Report that an order was cancelled (on request, or its IOC/FOK rest)."""
        ...


class ExecutionClient(Protocol):
    """A venue that takes orders: simulated (backtest, paper) or real (live)."""

    name: str

    def connect(self, reports: ExecutionReports) -> None:
        """Send every later report to ``reports``."""
        ...

    def submit(self, order: OrderSnapshot) -> None:
        """Send a new order."""
        ...

    def cancel(self, client_order_id: str) -> None:
        """Ask for an order to be cancelled."""
        ...
