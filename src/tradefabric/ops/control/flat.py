"""FLAT ALL's closing orders and their slippage guard.

A position is closed with a reduce-only market order (a system order: a halt does
not stop it) only when the book can take it within ``bps`` of the mid; without a
valid book the order becomes a reduce-only IOC limit at the last price moved by
``bps``, so it can never fill beyond the guard. A position neither can close is
left open and named, with why.
"""

from __future__ import annotations

from tradefabric.data.order_book import OrderBook
from tradefabric.execution.oms import ExecutionEngine
from tradefabric.execution.portfolio import PositionSnapshot
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import OrderRequest, OrderSide, OrderSnapshot, OrderType, TimeInForce
from tradefabric.ops.control.ports import Cache
from tradefabric.ops.control.views import PositionLeft

FLAT_STRATEGY = "control"
"""The strategy id FLAT ALL's orders carry."""


def thin_book(book: OrderBook, side: OrderSide, quantity: float, bps: float) -> str:
    """Return why ``book`` cannot take ``quantity`` within ``bps`` of its mid ("" if it can)."""
    near = book.size_near_mid(bps)
    available = near.bid_size if side is OrderSide.SELL else near.ask_size
    if available < quantity:
        return (
            f"slippage guard: the book holds {available:g} within {bps:g} bps of the mid, "
            f"{quantity:g} to close"
        )
    return ""


def closing_request(
    position: PositionSnapshot, cache: Cache, bps: float
) -> OrderRequest | PositionLeft:
    """Return the order closing ``position`` within the guard, or why there is none."""
    side = OrderSide.SELL if position.quantity > 0 else OrderSide.BUY
    quantity = abs(position.quantity)
    instrument = InstrumentId(position.venue, position.symbol)
    book = cache.book(instrument)
    if book is not None and book.valid:
        problem = thin_book(book, side, quantity, bps)
        if problem:
            return _left(position, problem)
        return _request(position, side, OrderType.MARKET, None)
    last = cache.latest_price(instrument)
    if last is None:
        return _left(position, "slippage guard: no book and no price seen")
    # Buy no higher, sell no lower than the guard: a market order that cannot run away.
    guard = last * (1.0 + side.sign * bps / 10_000.0)
    return _request(position, side, OrderType.LIMIT, guard)


def _left(position: PositionSnapshot, reason: str) -> PositionLeft:
    return PositionLeft(
        venue=position.venue, symbol=position.symbol, quantity=position.quantity, reason=reason
    )


def _request(
    position: PositionSnapshot, side: OrderSide, kind: OrderType, price: float | None
) -> OrderRequest:
    return OrderRequest(
        strategy_id=FLAT_STRATEGY, venue=position.venue, symbol=position.symbol, side=side,
        quantity=abs(position.quantity), order_type=kind, price=price,
        time_in_force=TimeInForce.GTC if price is None else TimeInForce.IOC,
        reduce_only=True, tag="flat all",
    )  # fmt: skip


def close_positions(
    execution: ExecutionEngine, cache: Cache, bps: float
) -> tuple[list[OrderSnapshot], list[PositionLeft]]:
    """Send a guarded closing order per open position; return (orders sent, refused)."""
    sent: list[OrderSnapshot] = []
    refused: list[PositionLeft] = []
    for position in execution.portfolio.positions():
        if position.quantity == 0.0:
            continue
        request = closing_request(position, cache, bps)
        if isinstance(request, PositionLeft):
            refused.append(request)
        else:
            sent.append(execution.submit(request, system=True))
    return sent, refused
