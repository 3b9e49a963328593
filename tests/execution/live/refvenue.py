"""A scripted reference venue speaking ``LiveExecutionClient``: a test double of a venue.

``RefVenue`` is the venue: it holds orders (its own ids), trades, an account ledger
(spot balances moved by every trade, fee in the quote) and counts every submission
by client id, so a test can tell that no order was ever sent twice. Tests script it:
``fill``, ``cancel_at_venue``, ``expire``, ``place_external``, and faults on the next
request (``fault_next``: ``lost`` = accepted but the answer lost, ``reject:CODE``,
``ratelimit:SECONDS``, ``unavailable``, ``auth``).

``RefClient`` is its client. Its user stream is a list the test controls: with
``hold_stream`` set, reports queue in ``pending`` until ``release`` delivers them
(in any order, with repeats); otherwise each is delivered on the next loop turn.
Nothing here knows the engine: it reports what the venue did, as a venue would.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter, deque
from collections.abc import Sequence

import msgspec

from tradefabric.core.errors import (
    AuthenticationError,
    OrderRejectedError,
    OrderStatusUnknownError,
    RateLimitedError,
    VenueUnavailableError,
)
from tradefabric.execution.live.protocol import LiveReports
from tradefabric.execution.live.reports import (
    BalanceReport,
    MassStatus,
    OrderStatusReport,
    PositionReport,
    TradeReport,
)
from tradefabric.execution.portfolio import split_symbol
from tradefabric.model.orders import (
    LiquiditySide,
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    OrderType,
    TimeInForce,
)

S = OrderStatus
OPEN = frozenset({S.ACCEPTED, S.PARTIALLY_FILLED})


class VenueOrder(msgspec.Struct, kw_only=True):
    """One order as the venue holds it."""

    venue_order_id: str
    client_order_id: str
    symbol: str
    side: OrderSide
    order_type: OrderType
    quantity: float
    price: float | None
    status: OrderStatus = S.ACCEPTED
    filled: float = 0.0
    notional: float = 0.0
    ts: int = 0

    @property
    def avg_price(self) -> float:
        return self.notional / self.filled if self.filled else 0.0


class RefVenue:
    """The venue's side: orders, trades, ledger, and a script of faults."""

    def __init__(
        self,
        name: str = "refvenue",
        balances: dict[str, float] | None = None,
        fee_rate: float = 0.001,
    ) -> None:
        self.name = name
        self.fee_rate = fee_rate
        self.balances: dict[str, float] = dict(balances or {"USDT": 100_000.0, "BTC": 0.0})
        self.orders: dict[str, VenueOrder] = {}
        self.by_client: dict[str, str] = {}
        self.trades: list[TradeReport] = []
        self.positions: dict[str, PositionReport] = {}
        self.submissions: Counter[str] = Counter()
        self.faults: deque[str] = deque()
        self.cancel_all_calls: list[str | None] = []
        self.heartbeats: list[float] = []
        self._ids = itertools.count(1)
        self._trade_ids = itertools.count(1)
        self.clients: list[RefClient] = []
        self.ts = 1_722_470_400_000_000_000

    def now(self) -> int:
        self.ts += 1_000_000
        return self.ts

    def fault_next(self, *faults: str) -> None:
        """Make the next requests fail as scripted (one fault per request)."""
        self.faults.extend(faults)

    # Venue actions -----------------------------------------------------------------------

    def place(self, order: OrderSnapshot) -> VenueOrder:
        vid = f"V{next(self._ids)}"
        placed = VenueOrder(
            venue_order_id=vid, client_order_id=order.client_order_id, symbol=order.symbol,
            side=order.side, order_type=order.order_type, quantity=order.quantity,
            price=order.price, ts=self.now(),
        )  # fmt: skip
        self.orders[vid] = placed
        self.by_client[order.client_order_id] = vid
        self.submissions[order.client_order_id] += 1
        return placed

    def place_external(self, side: OrderSide, quantity: float, price: float) -> VenueOrder:
        """An order placed by hand on the venue (no client id of ours)."""
        vid = f"V{next(self._ids)}"
        placed = VenueOrder(
            venue_order_id=vid, client_order_id="", symbol="BTC/USDT", side=side,
            order_type=OrderType.LIMIT, quantity=quantity, price=price, ts=self.now(),
        )  # fmt: skip
        self.orders[vid] = placed
        self._publish_status(placed)
        return placed

    def order_of(self, ref: str) -> VenueOrder:
        return self.orders[self.by_client.get(ref, ref)]

    def fill(
        self, ref: str, quantity: float, price: float, *, stream: bool = True, status: bool = True
    ) -> TradeReport:
        """Match ``quantity`` of an order at ``price``; report the trade (and the status)."""
        order = self.order_of(ref)
        assert order.status in OPEN, order
        assert quantity <= order.quantity - order.filled + 1e-12
        order.filled += quantity
        order.notional += quantity * price
        full = order.filled >= order.quantity - 1e-12
        order.status = S.FILLED if full else S.PARTIALLY_FILLED
        fee = quantity * price * self.fee_rate
        base, quote = split_symbol(order.symbol)
        sign = order.side.sign
        self.balances[base] = self.balances.get(base, 0.0) + sign * quantity
        self.balances[quote] = self.balances.get(quote, 0.0) - sign * quantity * price - fee
        trade = TradeReport(
            venue=self.name, symbol=order.symbol, client_order_id=order.client_order_id,
            venue_order_id=order.venue_order_id, trade_id=f"T{next(self._trade_ids)}",
            side=order.side, price=price, quantity=quantity, fee=fee, fee_currency=quote,
            liquidity=LiquiditySide.MAKER, ts_event=self.now(),
        )  # fmt: skip
        self.trades.append(trade)
        if stream:
            self._publish(trade)
        if stream and status:
            self._publish_status(order)
        return trade

    def cancel_at_venue(self, ref: str, status: OrderStatus = S.CANCELLED) -> None:
        order = self.order_of(ref)
        if order.status in OPEN:
            order.status = status
            self._publish_status(order)

    def report(self, order: VenueOrder) -> OrderStatusReport:
        return OrderStatusReport(
            venue=self.name, symbol=order.symbol, client_order_id=order.client_order_id,
            venue_order_id=order.venue_order_id, side=order.side, order_type=order.order_type,
            status=order.status, quantity=order.quantity, price=order.price,
            filled_quantity=order.filled, avg_price=order.avg_price, ts_event=self.now(),
            time_in_force=TimeInForce.GTC,
        )  # fmt: skip

    def mass_status(self, symbols: Sequence[str], since_ns: int) -> MassStatus:
        return MassStatus(
            venue=self.name, ts_event=self.now(),
            orders=tuple(self.report(o) for o in self.orders.values() if o.status in OPEN),
            trades=tuple(t for t in self.trades if t.ts_event >= since_ns),
            balances=tuple(
                BalanceReport(venue=self.name, asset=a, free=v, locked=0.0, ts_event=self.ts)
                for a, v in sorted(self.balances.items())
            ),
            positions=tuple(self.positions.values()),
        )  # fmt: skip

    def open_orders(self) -> list[VenueOrder]:
        return [o for o in self.orders.values() if o.status in OPEN]

    def _publish(self, report: OrderStatusReport | TradeReport) -> None:
        for client in self.clients:
            client.push(report)

    def _publish_status(self, order: VenueOrder) -> None:
        self._publish(self.report(order))


class RefClient:
    """The reference venue's ``LiveExecutionClient``; its stream is scripted (module doc)."""

    supports_modify = False

    def __init__(self, venue: RefVenue, *, cancel_after: bool = False) -> None:
        self.venue = venue
        self.name = venue.name
        self.supports_cancel_after = cancel_after
        self.hold_stream = False
        self.pending: list[OrderStatusReport | TradeReport] = []
        self.reports: LiveReports | None = None
        self.queries = 0
        venue.clients.append(self)

    def push(self, report: OrderStatusReport | TradeReport) -> None:
        if self.hold_stream or self.reports is None:
            self.pending.append(report)
            return
        asyncio.get_running_loop().call_soon(self._deliver, report)

    def release(self, order: Sequence[int] | None = None) -> None:
        """Deliver held reports now, in ``order`` (indexes into ``pending``, repeats allowed)."""
        pending, self.pending = self.pending, []
        for i in order if order is not None else range(len(pending)):
            self._deliver(pending[i])

    def _deliver(self, report: OrderStatusReport | TradeReport) -> None:
        assert self.reports is not None
        if isinstance(report, TradeReport):
            self.reports.on_trade(report)
        else:
            self.reports.on_order_status(report)

    def reconnect(self) -> None:
        """The stream dropped and came back: whatever was pending is lost."""
        self.pending.clear()
        assert self.reports is not None
        self.reports.on_stream_reconnected(self.name)

    def _fault(self) -> str:
        return self.venue.faults.popleft() if self.venue.faults else ""

    # LiveExecutionClient -----------------------------------------------------------------

    async def connect(self, reports: LiveReports) -> None:
        self.reports = reports

    async def close(self) -> None:
        self.reports = None

    async def submit(self, order: OrderSnapshot) -> str:
        await asyncio.sleep(0)
        fault = self._fault()
        kind, _, arg = fault.partition(":")
        if kind == "reject":
            raise OrderRejectedError("order refused", code=arg)
        if kind == "ratelimit":
            raise RateLimitedError("429", retry_after_s=float(arg))
        if kind == "unavailable":
            raise VenueUnavailableError("connection refused")
        if kind == "auth":
            raise AuthenticationError("bad signature")
        placed = self.venue.place(order)
        self.push(self.venue.report(placed))
        if kind == "lost":
            raise OrderStatusUnknownError("-1007 timeout waiting for the response")
        return placed.venue_order_id

    async def cancel(self, symbol: str, client_order_id: str) -> None:
        await asyncio.sleep(0)
        vid = self.venue.by_client.get(client_order_id)
        order = self.venue.orders.get(vid or "")
        if order is None or order.status not in OPEN:
            raise OrderRejectedError("unknown order", code="-2011")
        self.venue.cancel_at_venue(client_order_id)

    async def cancel_all(self, symbol: str | None = None) -> None:
        self.venue.cancel_all_calls.append(symbol)
        for order in self.venue.open_orders():
            self.venue.cancel_at_venue(order.venue_order_id)

    async def modify(
        self, symbol: str, client_order_id: str, quantity: float, price: float | None
    ) -> None:
        raise OrderRejectedError("modify not supported")

    async def query_order(self, symbol: str, client_order_id: str) -> OrderStatusReport | None:
        await asyncio.sleep(0)
        self.queries += 1
        vid = self.venue.by_client.get(client_order_id)
        return None if vid is None else self.venue.report(self.venue.orders[vid])

    async def mass_status(self, symbols: tuple[str, ...], trades_since_ns: int) -> MassStatus:
        await asyncio.sleep(0)
        return self.venue.mass_status(symbols, trades_since_ns)

    async def heartbeat(self, timeout_s: float) -> None:
        self.venue.heartbeats.append(timeout_s)


VENUES: dict[str, RefVenue] = {}
"""Venues built by ``build_client`` in this process, by name: they outlive a node, so a
restarted node in the same process finds the venue as it left it."""


def build_client(
    venue: str,
    credentials: object,
    instruments: object,
    *,
    testnet: bool,
    rest_url: str,
    ws_url: str,
) -> RefClient:
    """The registry factory of the reference venue (``live: {factory: ...}`` in a config)."""
    assert getattr(credentials, "api_key", "") and getattr(credentials, "api_secret", "")
    ref = VENUES.get(venue)
    if ref is None:
        ref = VENUES[venue] = RefVenue(venue)
        # Something for the start-up reconciliation to find: an order placed by hand.
        ref.place_external(OrderSide.SELL, 0.01, 70_000.0)
    return RefClient(ref)
