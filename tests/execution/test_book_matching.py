"""L2 matching on the real recorded BTC/USDT spot book: takers walk the recorded levels,
resting orders fill from the recorded trades behind their queue, and no liquidity is
ever used twice by our own orders."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from tradefabric.data import topics
from tradefabric.data.order_book import OrderBook
from tradefabric.execution.sim.matching_book import BookMatch, LiquidityLedger
from tradefabric.execution.sim.state import ReportKind, SimOrder, SimReport
from tradefabric.model.data import OrderBookDeltas, OrderBookSnapshot, Trade
from tradefabric.model.enums import AggressorSide
from tradefabric.model.orders import (
    LiquiditySide,
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.market_data import MarketDataNode


class Frozen(msgspec.Struct, frozen=True):
    snapshot: OrderBookSnapshot
    trades: list[Trade]
    """The recorded trades after the moment the book was taken."""


@pytest.fixture(scope="module")
def frozen(shared_data: Path) -> Frozen:
    """Take the real book 2,000 updates after it synced, and the 4,000 trades after that."""
    node = MarketDataNode(MarketDataConfig(venue="binance"))
    taken: list[OrderBookSnapshot] = []
    trades: list[Trade] = []
    seen = [0]

    def on_deltas(deltas: OrderBookDeltas) -> None:
        book = node.books.book(deltas.venue, deltas.symbol)
        if book is None or not book.valid or taken:
            return
        seen[0] += 1
        if seen[0] == 2_000:
            depth = book.depth(400)
            taken.append(OrderBookSnapshot(book.venue, book.symbol, tuple(depth.bids),
                                           tuple(depth.asks), book.sequence, deltas.ts_event,
                                           deltas.ts_recv))  # fmt: skip

    def on_trade(trade: Trade) -> None:
        if taken and len(trades) < 4_000 and trade.ts_event >= taken[0].ts_event:
            trades.append(trade)

    node.bus.subscribe(topics.BOOK_DELTAS, on_deltas)
    node.bus.subscribe(topics.TRADES, on_trade)
    node.replay(shared_data / "binance_ws" / "spot_btcusdt_20240808.gz")
    assert taken and len(trades) == 4_000
    return Frozen(taken[0], trades)


def _book(frozen: Frozen) -> OrderBook:
    book = OrderBook("binance", "BTC/USDT")
    book.apply_snapshot(frozen.snapshot)
    return book


_SEQ = [0]


def _order(side: OrderSide, quantity: float, price: float | None = None, **kw: object) -> SimOrder:
    _SEQ[0] += 1
    snapshot = OrderSnapshot(
        client_order_id=f"o{_SEQ[0]}", strategy_id="t", venue="binance", symbol="BTC/USDT",
        side=side, order_type=OrderType.LIMIT if price else OrderType.MARKET, quantity=quantity,
        price=price, trigger_price=None, time_in_force=kw.get("tif", TimeInForce.GTC),  # type: ignore[arg-type]
        post_only=bool(kw.get("post_only", False)), reduce_only=False,
        status=OrderStatus.SUBMITTED, filled_quantity=0.0, avg_price=0.0, fees=0.0, tag="",
        ts_init=0, ts_last=0,
    )  # fmt: skip
    return SimOrder(snapshot, 0, _SEQ[0])


def _fills(reports: list[SimReport], o: SimOrder | None = None) -> list[SimReport]:
    return [r for r in reports if r.kind is ReportKind.FILL and (o is None or r.order is o)]


def test_market_order_walks_the_recorded_levels(frozen: Frozen) -> None:
    book = _book(frozen)
    asks = book.depth(5).asks
    assert asks[0][0] < asks[1][0] < asks[2][0]
    quantity = asks[0][1] + asks[1][1] + asks[2][1] / 2
    o = _order(OrderSide.BUY, quantity)
    match = BookMatch(book, LiquidityLedger(), {}, frozen.snapshot.ts_event)
    match.arrive(o)
    (fill,) = _fills(match.reports, o)
    notional = asks[0][0] * asks[0][1] + asks[1][0] * asks[1][1] + asks[2][0] * asks[2][1] / 2
    assert fill.quantity == pytest.approx(quantity)
    assert fill.price == pytest.approx(notional / quantity, rel=1e-12)
    assert fill.liquidity is LiquiditySide.TAKER
    assert fill.slippage_bps == pytest.approx((fill.price - asks[0][0]) / asks[0][0] * 1e4)
    assert o.leaves == 0.0
    # A limit stops the walk at its price: the IOC rest is cancelled.
    ioc = _order(OrderSide.SELL, 1_000.0, book.best_bid(), tif=TimeInForce.IOC)
    match = BookMatch(book, LiquidityLedger(), {}, frozen.snapshot.ts_event)
    match.arrive(ioc)
    (fill,) = _fills(match.reports, ioc)
    assert fill.price == book.best_bid() and fill.quantity == book.best_bid_size()
    assert match.reports[-1].kind is ReportKind.CANCELLED


def test_two_orders_never_take_the_same_liquidity(frozen: Frozen) -> None:
    book = _book(frozen)
    (p1, s1), (p2, s2) = book.depth(2).asks
    ledger = LiquidityLedger()
    first, second = _order(OrderSide.BUY, s1), _order(OrderSide.BUY, min(s1, s2))
    match = BookMatch(book, ledger, {}, frozen.snapshot.ts_event)
    match.arrive(first)
    match.arrive(second)
    assert _fills(match.reports, first)[0].price == p1
    # The best level is used up by the first order: the second starts one level deeper.
    assert _fills(match.reports, second)[0].price == pytest.approx(p2, rel=1e-15)
    # Still taken on a later match against the same (unchanged) recorded book...
    third = _order(OrderSide.BUY, s1)
    later = BookMatch(book, ledger, {}, frozen.snapshot.ts_event + 1)
    later.arrive(third)
    assert _fills(later.reports, third)[0].price > p1
    # ...and given back only once the recorded level has shrunk by what we took (the
    # recording does not know us: its shrinking is others taking that same size).
    half = BookMatch(book, fresh := LiquidityLedger(), {}, frozen.snapshot.ts_event)
    half.arrive(_order(OrderSide.BUY, s1 / 2))
    assert fresh.available("BTC/USDT", False, p1, s1) == pytest.approx(s1 / 2)
    assert fresh.available("BTC/USDT", False, p1, s1 * 0.75) == pytest.approx(s1 / 2)
    assert fresh.available("BTC/USDT", False, p1, s1 / 2) == pytest.approx(s1 / 2)


def _expected_fill(trades: list[Trade], price: float, queue: float, quantity: float) -> float:
    """Quantity a resting buy at ``price`` behind ``queue`` gets from sell-aggressor trades."""
    filled = 0.0
    for t in trades:
        if t.side is not AggressorSide.SELL or t.price > price:
            continue
        reach = t.size - queue if t.price == price else t.size
        queue = max(0.0, queue - t.size) if t.price == price else 0.0
        filled += max(0.0, min(quantity - filled, reach))
    return filled


def test_resting_buy_fills_only_behind_its_queue(frozen: Frozen) -> None:
    book = _book(frozen)
    price, queue = book.best_bid(), book.best_bid_size()
    o = _order(OrderSide.BUY, 0.05, price)
    match = BookMatch(book, LiquidityLedger(), {}, frozen.snapshot.ts_event)
    match.arrive(o)
    assert o.queue_ahead == queue > 0.0
    at_price = [t for t in frozen.trades if t.side is AggressorSide.SELL and t.price == price]
    assert at_price, "the recording trades at the bid we joined"
    filled, first_fill_trade = 0.0, None
    for k, trade in enumerate(frozen.trades):
        step = BookMatch(book, match._ledger, {}, trade.ts_event)
        step.on_trade(trade, [o])
        got = sum(f.quantity for f in _fills(step.reports))
        if got and first_fill_trade is None:
            first_fill_trade = k
        filled += got
        assert all(f.price == price and f.liquidity is LiquiditySide.MAKER
                   for f in _fills(step.reports))  # fmt: skip
    assert filled == pytest.approx(_expected_fill(frozen.trades, price, queue, 0.05))
    assert filled > 0.0 and first_fill_trade is not None
    # Nothing filled while the queue ahead was still being traded through at our price.
    before = frozen.trades[:first_fill_trade]
    volume_at_price = sum(t.size for t in before if t.side is AggressorSide.SELL
                          and t.price == price)  # fmt: skip
    through = any(t.side is AggressorSide.SELL and t.price < price for t in before)
    assert volume_at_price <= queue or through


def test_one_trade_is_shared_once_among_our_resting_orders(frozen: Frozen) -> None:
    book = _book(frozen)
    price = book.best_bid()
    # A sell trading through our price: the queue ahead at our level is gone, all reach us.
    trade = next(t for t in frozen.trades if t.side is AggressorSide.SELL and t.price < price)
    a, b = _order(OrderSide.BUY, 0.75 * trade.size, price), _order(OrderSide.BUY, trade.size, price)
    match = BookMatch(book, LiquidityLedger(), {}, frozen.snapshot.ts_event)
    match.arrive(a)
    match.arrive(b)
    assert a.queue_ahead == b.queue_ahead == book.best_bid_size()
    step = BookMatch(book, LiquidityLedger(), {}, trade.ts_event)
    step.on_trade(trade, [b, a])  # priority is by price then arrival, not list order
    fill_a, fill_b = _fills(step.reports, a), _fills(step.reports, b)
    assert fill_a[0].quantity == pytest.approx(0.75 * trade.size)
    assert fill_b[0].quantity == pytest.approx(0.25 * trade.size)
    assert sum(f.quantity for f in fill_a + fill_b) == pytest.approx(trade.size)


def test_post_only_that_would_take_is_rejected_and_fok_needs_everything(frozen: Frozen) -> None:
    book = _book(frozen)
    match = BookMatch(book, LiquidityLedger(), {}, frozen.snapshot.ts_event)
    post = _order(OrderSide.BUY, 0.001, book.best_ask(), post_only=True)
    match.arrive(post)
    assert match.reports[-1].kind is ReportKind.REJECTED
    match = BookMatch(book, LiquidityLedger(), {}, frozen.snapshot.ts_event)
    fok = _order(OrderSide.BUY, book.best_ask_size() * 2, book.best_ask(), tif=TimeInForce.FOK)
    match.arrive(fok)
    assert match.reports[-1].kind is ReportKind.CANCELLED and not _fills(match.reports, fok)
