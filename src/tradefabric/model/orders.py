"""Orders, fills and order events: the vocabulary of execution (msgspec, frozen).

An ``OrderRequest`` is what a strategy asks for; the execution engine turns it
into an ``Order`` (``tradefabric.execution.orders``) whose every state change is
an ``OrderEvent``. A ``Fill`` is one execution against the venue's liquidity.
Times are int ns UTC: ``ts_event`` on the venue's (market data) clock, ``ts_init``
on the kernel's clock.
"""

from __future__ import annotations

import enum

import msgspec


class OrderSide(enum.StrEnum):
    """Buy or sell."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """Return +1 for a buy, -1 for a sell."""
        return 1 if self is OrderSide.BUY else -1

    @property
    def opposite(self) -> OrderSide:
        """Return the other side."""
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class OrderType(enum.StrEnum):
    """How an order's price is decided."""

    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    """A market order sent when the price trades at or through ``trigger_price``
    against the position (a buy stop above the market, a sell stop below)."""
    STOP_LIMIT = "stop_limit"
    """A limit order at ``price`` sent when the price reaches ``trigger_price`` (as a stop)."""
    TAKE_PROFIT = "take_profit"
    """A market order sent when the price reaches ``trigger_price`` in our favour (a sell
    above the market, a buy below): market-if-touched."""
    TRAILING_STOP = "trailing_stop"
    """A stop-market whose trigger follows the best price since arrival at
    ``trailing_offset``: a sell trails the highs from below, a buy the lows from above;
    it never moves back. ``trigger_price``, when given, is the starting trigger."""


class TimeInForce(enum.StrEnum):
    """How long an order may rest."""

    GTC = "gtc"
    IOC = "ioc"
    """Fill what is available at arrival, cancel the rest."""
    FOK = "fok"
    """Fill everything at arrival or nothing."""


class OrderStatus(enum.StrEnum):
    """The states of the order state machine (``tradefabric.execution.orders``)."""

    NEW = "new"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCEL_PENDING = "cancel_pending"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"


class LiquiditySide(enum.StrEnum):
    """Whether a fill added liquidity (maker) or took it (taker)."""

    MAKER = "maker"
    TAKER = "taker"


class TwapParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="twap"):
    """Slice evenly over ``horizon_s``: one child every ``interval_s``, jittered.

    A child is sent at each slice time moved by up to ``jitter`` of the interval
    (seeded); a slice left unfilled (a limit child that expired) is added to the
    next one (catch-up), and the last slice sends whatever remains. With
    ``limit_price`` the children are IOC limits at that price, else market orders.
    """

    horizon_s: float = 60.0
    interval_s: float = 5.0
    jitter: float = 0.2
    limit_price: float | None = None
    delay_ms: float = 0.0
    """Randomized submit delay: each child waits uniform(0, delay_ms) before it is sent."""


class IcebergParams(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="iceberg"
):
    """Show only a clip of a limit order at ``price``: a new clip after each one fills.

    Each clip is ``visible`` times a random factor in ``[1 - size_jitter, 1 + size_jitter]``
    and is sent after a random refresh delay of up to ``refresh_ms``.
    """

    visible: float
    size_jitter: float = 0.2
    refresh_ms: float = 500.0
    delay_ms: float = 0.0


class PegParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="peg"):
    """Rest post-only at our side's best price; re-peg when the touch moves away.

    A buy joins the best bid (``offset_ticks`` behind it), a sell the best ask. When
    the touch moves by ``repeg_ticks`` or more the child is cancelled and sent again at
    the new touch, at most once per ``min_repeg_ms``. A post-only rejection (the book
    moved through our price) re-pegs one tick further back.
    """

    offset_ticks: int = 0
    repeg_ticks: int = 1
    min_repeg_ms: float = 100.0
    delay_ms: float = 0.0


ExecParams = TwapParams | IcebergParams | PegParams
"""Every built-in algorithm's parameters (tagged: ``{"type": "twap", ...}`` in JSON/YAML)."""


class OrderRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What a strategy asks the execution engine to do.

    ``client_order_id`` may be given to make a resubmission idempotent; left
    empty, the engine assigns the next id of the strategy. ``quantity`` and
    ``price`` are rounded to the instrument's lot and tick before they leave.
    """

    strategy_id: str
    venue: str
    symbol: str
    side: OrderSide
    quantity: float
    order_type: OrderType = OrderType.MARKET
    price: float | None = None
    trigger_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False
    client_order_id: str = ""
    tag: str = ""
    """Free text carried to the order, e.g. the signal that caused it."""
    trailing_offset: float | None = None
    """Distance (in price) of a trailing stop's trigger from the best price seen."""
    oco_group: str = ""
    """Orders of one strategy sharing a group are one-cancels-the-other at the venue:
    the first fill of one cancels the others (``StrategyContext.oco``/``bracket``)."""
    exec_algorithm: str = ""
    """The execution algorithm (``execution.algorithms``) that works this order as a
    parent, e.g. ``twap``; empty: the order goes to the venue as it is."""
    exec_params: ExecParams | None = None
    """The algorithm's parameters; None: its defaults."""


class OrderEvent(msgspec.Struct, frozen=True, kw_only=True, gc=False, omit_defaults=True):
    """One transition of an order: from ``previous`` to ``status``, with why.

    ``venue_order_id`` is set on the events of live orders once the venue named the
    order (left out of the encoded form when empty, so simulated runs encode as before).
    """

    client_order_id: str
    strategy_id: str
    venue: str
    symbol: str
    previous: OrderStatus
    status: OrderStatus
    filled_quantity: float
    reason: str
    ts_event: int
    ts_init: int
    venue_order_id: str = ""


class Fill(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One execution of an order; ``fee`` is in ``fee_currency`` (the quote here)."""

    fill_id: str
    client_order_id: str
    strategy_id: str
    venue: str
    symbol: str
    side: OrderSide
    price: float
    quantity: float
    fee: float
    fee_currency: str
    liquidity: LiquiditySide
    slippage_bps: float
    """Fill price against the reference price (candle open, or the book's touch) in bps,
    positive when it cost us."""
    ts_event: int
    ts_init: int


class OrderSnapshot(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An order's state at one moment (what run folders and reports store).

    The fields with defaults are left out of the encoded form when unset, so the
    run folders of orders without them read as before.
    """

    client_order_id: str
    strategy_id: str
    venue: str
    symbol: str
    side: OrderSide
    order_type: OrderType
    quantity: float
    price: float | None
    trigger_price: float | None
    time_in_force: TimeInForce
    post_only: bool
    reduce_only: bool
    status: OrderStatus
    filled_quantity: float
    avg_price: float
    fees: float
    tag: str
    ts_init: int
    ts_last: int
    trailing_offset: float | None = None
    oco_group: str = ""
    venue_order_id: str = ""
    """The venue's own id of the order ("" until a live venue acknowledged it)."""


class ChildMark(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """A child's pre-trade marks: the mid and spread when it was decided and its slippage
    forecast (bps against the mid, half the spread included; None when nothing could forecast)."""

    client_order_id: str
    mid: float | None
    forecast_bps: float | None
    spread: float | None = None


class ParentSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A parent order worked by an execution algorithm, at one moment.

    ``children`` are the client order ids it spawned, in order; ``filled_quantity``,
    ``avg_price``, ``fees`` and ``maker_quantity`` add up their fills. ``arrival_price``
    is the mid when the parent arrived and ``forecast_bps`` the pre-trade forecast of
    one child's slippage against the mid (transaction cost analysis compares both with
    what the fills paid). Published on ``execution.topics.PARENT_EVENTS`` at every change.
    """

    parent_id: str
    strategy_id: str
    venue: str
    symbol: str
    side: OrderSide
    quantity: float
    exec_algorithm: str
    exec_params: ExecParams | None
    price: float | None
    status: OrderStatus
    filled_quantity: float
    avg_price: float
    fees: float
    maker_quantity: float
    children: tuple[str, ...]
    arrival_price: float | None
    """None when no book or price was known at arrival."""
    forecast_bps: float | None
    """None when nothing could forecast (no book, no forecaster)."""
    reason: str
    ts_init: int
    ts_last: int
    marks: tuple[ChildMark, ...] = ()
    """Per child, in ``children`` order: the mid and forecast when it was sent."""
    market_volume: float = 0.0
    """Quantity the market traded on the parent's instrument while it worked (its trades
    stamped after ``ts_init``, until the parent closed)."""
    market_notional: float = 0.0
    """Price times quantity of those trades: their VWAP is the parent's market VWAP."""
    post_only: bool = False
    reduce_only: bool = False
    """The request's flags, kept so a restart rebuilds the same parent."""
