"""Apply what a live venue reports to the engine's orders, tolerating what venues really do.

Real venues report a fill before the ack, an expiry before the ack, an ack after
a cancel, the same report twice, reports out of order, and (Coinbase) a
cumulative filled quantity whose trade comes later or never. The state machine
(``execution.orders``) stays strict; this module bridges the gap:

- a report past SUBMITTED (a fill, a cancel, an expiry) implies the ack: the
  ack is applied first (reason ``inferred ack``), then the report;
- a report behind the order (an ack after a cancel, a partial fill status after
  FILLED, a repeat) changes nothing and is counted as stale;
- a trade for a cancelled or expired order is a late fill (it happened before the
  cancel): applied, the status stays;
- a cumulative filled quantity ahead of the trades seen is held: the trades are
  expected. Reconciliation derives a fill for what is still missing once the
  venue's own trade list lacks it (``derive``); a real trade arriving after that
  is absorbed by the derived quantity rather than counted twice;
- trades are deduplicated on (venue, venue_order_id, trade_id) (the fill id is the
  trade id, so a restored order's fill ids keep deduplicating across restarts);
- a report that cannot be true (wrong side or symbol, more filled than ordered, a
  fill on a filled order) is logged, counted, audited (``report_rejected``) and
  published on ``LIVE_EVENTS``. Nothing raises out of ``on_status``/``on_trade``
  except ``AuditWriteError`` (a node that cannot record must stop).
"""

from __future__ import annotations

import msgspec
import structlog

from tradefabric.core.errors import AuditWriteError
from tradefabric.execution.live.events import LIVE_EVENTS, LiveEvent, ReportRejected
from tradefabric.execution.live.reports import OrderStatusReport, TradeReport
from tradefabric.execution.oms import ExecutionEngine
from tradefabric.execution.orders import Order
from tradefabric.model.orders import Fill, LiquiditySide, OrderStatus

log = structlog.get_logger(__name__)

S = OrderStatus
EXTERNAL_STRATEGY = "external"
"""The strategy id of orders reconciliation adopted from the venue (not sent by this node)."""
EXTERNAL_PREFIX = "ext:"
"""Client id given to an adopted order that has none of ours: ``ext:<venue order id>``.
A client asked to cancel such an id cancels the venue order id after the prefix."""
INFERRED_ACK = "inferred ack"
_EPS = 1e-9
_PENDING = frozenset({S.NEW, S.SUBMITTED})
_VENUE_ENDED = frozenset({S.CANCELLED, S.EXPIRED})


class ApplyCounts(msgspec.Struct, kw_only=True):
    """What the applier did with the reports it was given."""

    statuses: int = 0
    trades: int = 0
    fills: int = 0
    late_fills: int = 0
    inferred_acks: int = 0
    duplicates: int = 0
    stale: int = 0
    held: int = 0
    derived: int = 0
    absorbed: int = 0
    orphans: int = 0
    rejected: int = 0


class ReportApplier:
    """Apply one venue's order status and trade reports to the execution engine."""

    def __init__(self, engine: ExecutionEngine, venue: str) -> None:
        self._engine = engine
        self.venue = venue
        self._by_venue_id: dict[str, str] = {}
        self._seen: set[tuple[str, str]] = set()
        self.held: dict[str, tuple[float, float]] = {}
        """client id -> (cumulative filled, average price) reported ahead of its trades."""
        self.derived: dict[str, float] = {}
        """client id -> quantity derived without trades (absorbs the real trades later)."""
        self.orphans: dict[str, list[TradeReport]] = {}
        """venue order id -> trades of an order not known (yet): applied once it is adopted."""
        self.counts = ApplyCounts()
        self.last_trade_ns = 0

    # Lookups -------------------------------------------------------------------------------

    def client_id(self, client_order_id: str, venue_order_id: str) -> str:
        """Return the engine's client id of a reported order ("" when not held)."""
        engine = self._engine
        if client_order_id and engine.held_order(client_order_id) is not None:
            return client_order_id
        known = self._by_venue_id.get(venue_order_id, "") if venue_order_id else ""
        if known:
            return known
        if venue_order_id and engine.held_order(EXTERNAL_PREFIX + venue_order_id) is not None:
            return EXTERNAL_PREFIX + venue_order_id
        return ""

    def index(self, client_order_id: str, venue_order_id: str) -> None:
        """Remember which client id a venue order id is."""
        if venue_order_id:
            self._by_venue_id[venue_order_id] = client_order_id
            self._engine.set_venue_order_id(client_order_id, venue_order_id)

    # Order status --------------------------------------------------------------------------

    def on_status(self, report: OrderStatusReport) -> None:
        """Apply one order status report; never raise (an impossible one is rejected)."""
        self.counts.statuses += 1
        try:
            cid = self.client_id(report.client_order_id, report.venue_order_id)
            order = self._engine.held_order(cid) if cid else None
            if order is None:
                self.counts.stale += 1  # unknown here: reconciliation adopts what is open
                return
            self._apply_status(order, report)
        except AuditWriteError:
            raise
        except Exception as exc:  # a bug of ours or the venue's: recorded, never raised
            self.reject(report, report.client_order_id, f"{type(exc).__name__}: {exc}")

    def _apply_status(self, order: Order, report: OrderStatusReport) -> None:
        problem = _impossible_status(order, report)
        if problem:
            self.reject(report, order.client_order_id, problem)
            return
        self.index(order.client_order_id, report.venue_order_id)
        status = report.status
        if status is S.REJECTED:
            self._apply_rejected(order, report)
            return
        if status in _PENDING:
            self.counts.stale += 1
            return
        if order.status in _PENDING:
            if status is S.ACCEPTED:
                self._engine.on_accepted(order.client_order_id, report.ts_event)
                return
            self._infer_ack(order, report.ts_event)
        self._note_cumulative(order, report)
        if status in _VENUE_ENDED:
            if order.is_terminal:
                self.counts.stale += 1
                return
            reason = report.reason or f"{status} at the venue"
            self._engine.on_cancelled(order.client_order_id, reason, report.ts_event)
        elif status is S.ACCEPTED and order.status is not S.ACCEPTED:
            self.counts.stale += 1  # an ack after a cancel or a fill

    def _apply_rejected(self, order: Order, report: OrderStatusReport) -> None:
        reason = report.reason or "rejected by the venue"
        if order.status in _PENDING:
            self._engine.on_rejected(order.client_order_id, reason, report.ts_event)
        elif order.is_terminal:
            self.counts.stale += 1
        else:
            # Acked, then refused (a post-only that would take, cancelled after its ack).
            self._engine.on_cancelled(order.client_order_id, reason, report.ts_event)

    def _infer_ack(self, order: Order, ts_event: int) -> None:
        self.counts.inferred_acks += 1
        self._engine.on_accepted(order.client_order_id, ts_event, order.venue_order_id)

    def _note_cumulative(self, order: Order, report: OrderStatusReport) -> None:
        if report.filled_quantity > order.filled_quantity + _EPS:
            self.held[order.client_order_id] = (report.filled_quantity, report.avg_price)
            self.counts.held += 1

    # Trades --------------------------------------------------------------------------------

    def on_trade(self, report: TradeReport) -> bool:
        """Apply one trade; return True when it moved an order (False: repeat, held, refused)."""
        self.counts.trades += 1
        try:
            return self._apply_trade(report)
        except AuditWriteError:
            raise
        except Exception as exc:
            self.reject(report, report.client_order_id, f"{type(exc).__name__}: {exc}")
            return False

    def _apply_trade(self, report: TradeReport) -> bool:
        key = (report.venue_order_id, report.trade_id)
        if key in self._seen:
            self.counts.duplicates += 1
            return False
        cid = self.client_id(report.client_order_id, report.venue_order_id)
        order = self._engine.held_order(cid) if cid else None
        if order is None:
            self.orphans.setdefault(report.venue_order_id, []).append(report)
            self.counts.orphans += 1
            return False
        if report.trade_id in order.fill_ids:
            self._seen.add(key)
            self.counts.duplicates += 1
            return False
        problem = _impossible_trade(order, report)
        if problem:
            self.reject(report, cid, problem)
            return False
        if self._absorbed(cid, report.quantity):
            self._seen.add(key)
            return False
        if report.quantity > order.leaves_quantity + _EPS:
            self.reject(report, cid, f"trade of {report.quantity} exceeds the "
                        f"{order.leaves_quantity} left")  # fmt: skip
            return False
        self._seen.add(key)
        self.index(cid, report.venue_order_id)
        if order.status in _PENDING:
            self._infer_ack(order, report.ts_event)
        return self._fill(order, report)

    def _absorbed(self, cid: str, quantity: float) -> bool:
        credit = self.derived.get(cid, 0.0)
        if credit <= _EPS:
            return False
        if quantity > credit + _EPS:
            # More than was derived: the rest is new. Rare; recorded as it is.
            self.derived.pop(cid)
            return False
        self.derived[cid] = credit - quantity
        self.counts.absorbed += 1
        return True

    def _fill(self, order: Order, report: TradeReport) -> bool:
        fill = self.fill_of(order, report)
        engine = self._engine
        if order.status in _VENUE_ENDED:
            applied = engine.on_late_fill(fill)
            self.counts.late_fills += applied
        else:
            engine.on_fill(fill)
            applied = True
        self.counts.fills += applied
        self.last_trade_ns = max(self.last_trade_ns, report.ts_event)
        held = self.held.get(order.client_order_id)
        if held is not None and order.filled_quantity >= held[0] - _EPS:
            del self.held[order.client_order_id]
        return applied

    def fill_of(self, order: Order, report: TradeReport) -> Fill:
        """Return the engine's fill for a venue trade of ``order``."""
        return Fill(
            fill_id=report.trade_id,
            client_order_id=order.client_order_id,
            strategy_id=order.strategy_id,
            venue=self.venue,
            symbol=order.symbol,
            side=report.side,
            price=report.price,
            quantity=report.quantity,
            fee=report.fee,
            fee_currency=report.fee_currency,
            liquidity=report.liquidity,
            slippage_bps=0.0,
            ts_event=report.ts_event,
            ts_init=self._engine.clock.timestamp_ns(),
        )

    def adopt_orphans(self, client_order_id: str, venue_order_id: str) -> int:
        """Apply the trades held for a venue order now known as ``client_order_id``."""
        applied = 0
        for trade in self.orphans.pop(venue_order_id, []):
            self.counts.orphans -= 1
            self.index(client_order_id, venue_order_id)
            applied += self.on_trade(trade)
        return applied

    # Derived fills -------------------------------------------------------------------------

    def derive(
        self, order: Order, cumulative: float, avg_price: float, ts_event: int
    ) -> Fill | None:
        """Apply a fill for venue quantity no trade report brought; return it (None: nothing).

        Its price makes the order's average equal the venue's; its fee is unknown (0).
        Real trades arriving later are absorbed by it (``derived``).
        """
        missing = min(cumulative, order.quantity) - order.filled_quantity
        if missing <= _EPS or order.status is S.FILLED:
            return None
        paid = avg_price * cumulative - order.avg_price * order.filled_quantity
        price = paid / missing if paid > 0 else avg_price or (order.price or 0.0)
        if order.status in _PENDING:
            self._infer_ack(order, ts_event)
        side = order.side
        fill = Fill(
            fill_id=f"derived:{order.venue_order_id or order.client_order_id}:{cumulative:.12g}",
            client_order_id=order.client_order_id, strategy_id=order.strategy_id,
            venue=self.venue, symbol=order.symbol, side=side, price=price, quantity=missing,
            fee=0.0, fee_currency="", liquidity=LiquiditySide.TAKER, slippage_bps=0.0,
            ts_event=ts_event, ts_init=self._engine.clock.timestamp_ns(),
        )  # fmt: skip
        if order.status in _VENUE_ENDED:
            self._engine.on_late_fill(fill)
        else:
            self._engine.on_fill(fill)
        self.derived[order.client_order_id] = self.derived.get(order.client_order_id, 0.0) + missing
        self.held.pop(order.client_order_id, None)
        self.counts.derived += 1
        return fill

    # Refusals ------------------------------------------------------------------------------

    def reject(self, report: msgspec.Struct, client_order_id: str, reason: str) -> None:
        """Log, count, audit (``report_rejected``) and publish a report that cannot apply."""
        engine = self._engine
        now = engine.clock.timestamp_ns()
        self.counts.rejected += 1
        venue_order_id = str(getattr(report, "venue_order_id", ""))
        log.warning(
            "report_rejected", venue=self.venue, client_order_id=client_order_id,
            venue_order_id=venue_order_id, reason=reason,
        )  # fmt: skip
        record = ReportRejected(
            venue=self.venue, client_order_id=client_order_id, venue_order_id=venue_order_id,
            report=msgspec.json.encode(report).decode(), reason=reason, ts=now,
        )  # fmt: skip
        engine.audit.write("report_rejected", now, record)
        message = f"{type(report).__name__} for {client_order_id or venue_order_id}: {reason}"
        engine.bus.publish(
            LIVE_EVENTS,
            LiveEvent(kind="report_rejected", level="warning", venue=self.venue,
                      message=message, ts=now),
        )  # fmt: skip


def _impossible_status(order: Order, report: OrderStatusReport) -> str:
    if report.symbol != order.symbol:
        return f"symbol {report.symbol} is not the order's {order.symbol}"
    if report.side is not order.side:
        return f"side {report.side} is not the order's {order.side}"
    if report.filled_quantity < 0 or report.filled_quantity > report.quantity + _EPS:
        return f"filled {report.filled_quantity} of {report.quantity} ordered"
    if report.filled_quantity > order.quantity + _EPS:
        return f"filled {report.filled_quantity} exceeds the {order.quantity} we ordered"
    ended = report.status in (S.REJECTED, *_VENUE_ENDED)
    if order.status is S.FILLED and ended and report.filled_quantity < order.quantity - _EPS:
        return f"{report.status} with {report.filled_quantity} filled, but the order is filled"
    return ""


def _impossible_trade(order: Order, report: TradeReport) -> str:
    if report.symbol != order.symbol:
        return f"symbol {report.symbol} is not the order's {order.symbol}"
    if report.side is not order.side:
        return f"side {report.side} is not the order's {order.side}"
    if not (report.quantity > 0 and report.price > 0):
        return f"quantity {report.quantity} at {report.price} is not a trade"
    if order.status is S.REJECTED:
        return "a trade on an order the venue rejected"
    return ""
