"""The private fake venue's vocabulary: orders, fills, balances, positions, events."""

from __future__ import annotations

import enum

import msgspec

from tradefabric.model.orders import OrderSide, OrderStatus, OrderType, TimeInForce


class RejectReason(enum.StrEnum):
    """Why the venue refused an order; each protocol maps these to its own codes."""

    PRICE_TICK = "price_tick"
    PRICE_BAND = "price_band"
    LOT_SIZE = "lot_size"
    MIN_NOTIONAL = "min_notional"
    WOULD_TAKE = "would_take"
    """A post-only order would have matched at arrival."""
    INSUFFICIENT_BALANCE = "insufficient_balance"
    DUPLICATE_CLIENT_ID = "duplicate_client_id"
    UNKNOWN_SYMBOL = "unknown_symbol"
    UNKNOWN_ORDER = "unknown_order"


class ExecKind(enum.StrEnum):
    """What happened to an order in one event (Binance's ``x``)."""

    NEW = "NEW"
    TRADE = "TRADE"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    AMENDMENT = "AMENDMENT"
    """Quantity or price changed in place."""


class OrderParams(msgspec.Struct, frozen=True, kw_only=True):
    """A new order as a protocol decoded it from the wire."""

    symbol: str
    client_order_id: str
    side: OrderSide
    order_type: OrderType
    quantity: float
    price: float | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False


class VenueFill(msgspec.Struct, frozen=True, kw_only=True):
    """One execution of one of the account's orders."""

    trade_id: int
    venue_order_id: int
    client_order_id: str
    symbol: str
    side: OrderSide
    price: float
    quantity: float
    fee: float
    fee_asset: str
    maker: bool
    ts_ms: int
    realized_pnl: float = 0.0


class OrderView(msgspec.Struct, frozen=True, kw_only=True):
    """An order's state at one moment (what a protocol renders)."""

    venue_order_id: int
    client_order_id: str
    symbol: str
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    post_only: bool
    reduce_only: bool
    price: float | None
    quantity: float
    filled: float
    quote_filled: float
    status: OrderStatus
    created_ms: int
    updated_ms: int

    @property
    def avg_price(self) -> float:
        """Return the average fill price (0 before any fill)."""
        return self.quote_filled / self.filled if self.filled > 0 else 0.0

    @property
    def is_open(self) -> bool:
        """Return True while the order rests at the venue."""
        return self.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)


class Balance(msgspec.Struct, frozen=True):
    """One asset: ``free`` to use, ``locked`` in open orders."""

    asset: str
    free: float
    locked: float


class Position(msgspec.Struct, frozen=True):
    """A derivatives position, ``quantity`` signed (negative: short)."""

    symbol: str
    quantity: float
    entry_price: float
    realized_pnl: float


class OrderEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An order changed: ``fill`` is set when ``kind`` is TRADE."""

    order: OrderView
    kind: ExecKind
    fill: VenueFill | None
    ts_ms: int


class AccountEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Balances (and positions) changed, listing only what changed."""

    balances: tuple[Balance, ...]
    positions: tuple[Position, ...]
    ts_ms: int


class StreamExpired(msgspec.Struct, frozen=True, kw_only=True):
    """The venue ended a user stream session (a listen key expired)."""

    ts_ms: int


UserEvent = OrderEvent | AccountEvent | StreamExpired
