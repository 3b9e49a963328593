"""The node's cache: one read-only place to ask what the node knows right now.

Instruments, books, latest prices, orders, positions and balances live in the
components that keep them current (order books, execution engine, portfolio);
the cache answers by ``InstrumentId`` without copying them, so operations
(status, dashboard, Telegram) and strategies read one interface.
"""

from __future__ import annotations

import math

from tradefabric.data.book_sync import OrderBooks
from tradefabric.data.order_book import OrderBook
from tradefabric.execution.oms import ExecutionEngine
from tradefabric.execution.portfolio import BalanceSnapshot, Portfolio, PositionSnapshot
from tradefabric.execution.precision import Precision
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import OrderSnapshot


class NodeCache:
    """Read the node's current state by instrument; see the module docstring."""

    def __init__(
        self,
        instruments: dict[InstrumentId, Precision],
        books: OrderBooks | None,
        execution: ExecutionEngine,
        portfolio: Portfolio,
    ) -> None:
        self._instruments = instruments
        self._books = books
        self._execution = execution
        self._portfolio = portfolio

    def instruments(self) -> list[InstrumentId]:
        """Return every instrument the node trades, sorted."""
        return sorted(self._instruments)

    def precision(self, instrument: InstrumentId) -> Precision | None:
        """Return the tick and lot of ``instrument``, or None when it is not traded."""
        return self._instruments.get(instrument)

    def book(self, instrument: InstrumentId) -> OrderBook | None:
        """Return the live L2 book of ``instrument`` (None: no book data in this run)."""
        if self._books is None:
            return None
        return self._books.book(instrument.venue, instrument.symbol)

    def latest_price(self, instrument: InstrumentId) -> float | None:
        """Return the last trade or candle close seen for ``instrument``, or None."""
        price = self._execution.last_price(instrument)
        return None if math.isnan(price) else price

    def orders(self) -> list[OrderSnapshot]:
        """Return the orders held (open and recently finished), by creation."""
        return self._execution.orders()

    def open_orders(self) -> list[OrderSnapshot]:
        """Return the open orders."""
        return self._execution.open_order_snapshots()

    def positions(self) -> list[PositionSnapshot]:
        """Return every position."""
        return self._portfolio.positions()

    def balances(self) -> list[BalanceSnapshot]:
        """Return every balance."""
        return self._portfolio.balances()

    def equity(self) -> float:
        """Return the portfolio's equity at its last marks."""
        return self._portfolio.equity()
