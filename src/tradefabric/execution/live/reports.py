"""What a live venue reports: order status, trades, balances, positions and a mass status.

Every live execution client (native per venue, or the generic ccxt one) turns its
venue's wire messages into these records, so the engine, the reconciler and the
state store never see a venue's own shapes. Quantities are positive; a position's
``quantity`` is signed (negative: short).
"""

from __future__ import annotations

import msgspec

from tradefabric.model.orders import LiquiditySide, OrderSide, OrderStatus, OrderType, TimeInForce


class OrderStatusReport(msgspec.Struct, frozen=True, kw_only=True):
    """What a venue says about one order: a stream event, a query answer, a mass status line.

    ``client_order_id`` is "" for an order the venue holds without one of ours (placed
    by hand or by another program): the reconciler adopts it as external.
    """

    venue: str
    symbol: str
    client_order_id: str
    venue_order_id: str
    side: OrderSide
    order_type: OrderType
    status: OrderStatus
    quantity: float
    price: float | None
    filled_quantity: float
    avg_price: float
    ts_event: int
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False
    reason: str = ""


class TradeReport(msgspec.Struct, frozen=True, kw_only=True):
    """One execution as the venue reports it; (venue, venue_order_id, trade_id) is unique."""

    venue: str
    symbol: str
    client_order_id: str
    venue_order_id: str
    trade_id: str
    side: OrderSide
    price: float
    quantity: float
    fee: float
    fee_currency: str
    liquidity: LiquiditySide
    ts_event: int


class BalanceReport(msgspec.Struct, frozen=True, kw_only=True):
    """One asset of the account: ``free`` to use, ``locked`` in open orders."""

    venue: str
    asset: str
    free: float
    locked: float
    ts_event: int

    @property
    def total(self) -> float:
        """Return free plus locked."""
        return self.free + self.locked


class PositionReport(msgspec.Struct, frozen=True, kw_only=True):
    """A derivatives position; ``quantity`` is signed (negative: short), 0 when flat."""

    venue: str
    symbol: str
    quantity: float
    entry_price: float
    ts_event: int


class MassStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the venue knows of the account at one moment, for reconciliation.

    ``orders`` are the open orders (and any order queried by id); ``trades`` the
    executions since the time asked for; spot venues report no positions.
    """

    venue: str
    ts_event: int
    orders: tuple[OrderStatusReport, ...]
    trades: tuple[TradeReport, ...]
    balances: tuple[BalanceReport, ...]
    positions: tuple[PositionReport, ...] = ()
