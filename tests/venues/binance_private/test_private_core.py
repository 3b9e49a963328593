"""The venue-neutral private exchange: filters, taker walk, maker fills, balances, positions."""

from __future__ import annotations

import pytest

from tradefabric.data.order_book import OrderBook
from tradefabric.model.data import OrderBookSnapshot
from tradefabric.model.orders import OrderSide, OrderStatus, OrderType, TimeInForce
from tradefabric.venues.fakevenue.private.account import Account, AccountKind
from tradefabric.venues.fakevenue.private.exchange import OrderRefusedError, PrivateExchange
from tradefabric.venues.fakevenue.private.model import (
    AccountEvent,
    ExecKind,
    OrderEvent,
    OrderParams,
    RejectReason,
    UserEvent,
)
from tradefabric.venues.fakevenue.private.rules import SymbolRules

RULES = SymbolRules(
    symbol="BTCUSDT", base="BTC", quote="USDT", tick=0.01, lot=0.00001, min_qty=0.00001,
    min_notional=5.0,
)  # fmt: skip


def _book() -> OrderBook:
    book = OrderBook("binance", "BTC/USDT")
    bids, asks = ((100.0, 1.0), (99.0, 2.0)), ((101.0, 0.5), (102.0, 1.0))
    book.apply_snapshot(OrderBookSnapshot("binance", "BTC/USDT", bids, asks, 1, 0, 0))
    return book


def _exchange(kind: AccountKind = AccountKind.SPOT) -> tuple[PrivateExchange, list[UserEvent]]:
    book = _book()
    account = Account(kind, {"USDT": 10_000.0, "BTC": 1.0})
    exchange = PrivateExchange(account, {"BTCUSDT": RULES}, lambda _s: book)
    events: list[UserEvent] = []
    exchange.events.subscribe(events.append)
    return exchange, events


def _order(cid: str, side: OrderSide, qty: float, price: float | None, **kw: object) -> OrderParams:
    kind = OrderType.LIMIT if price is not None else OrderType.MARKET
    return OrderParams(
        symbol="BTCUSDT", client_order_id=cid, side=side, order_type=kind, quantity=qty,
        price=price, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_market_buy_walks_the_book_and_settles_the_balances() -> None:
    exchange, events = _exchange()
    view = exchange.place(_order("m1", OrderSide.BUY, 0.8, None))
    assert view.status is OrderStatus.FILLED
    assert [(f.price, f.quantity) for f in exchange.fills] == [(101.0, 0.5), (102.0, 0.3)]
    assert view.avg_price == pytest.approx((101 * 0.5 + 102 * 0.3) / 0.8)
    cost = 101 * 0.5 + 102 * 0.3
    assert exchange.account.balance("USDT").free == pytest.approx(10_000 - cost * 1.001)
    assert exchange.account.balance("BTC").free == pytest.approx(1.8)
    kinds = [e.kind for e in events if isinstance(e, OrderEvent)]
    assert kinds == [ExecKind.NEW, ExecKind.TRADE, ExecKind.TRADE]
    # What we took is not there for the next taker until the recorded level shrinks.
    exchange.place(_order("m2", OrderSide.BUY, 0.5, None))
    assert [(f.price, f.quantity) for f in exchange.fills[2:]] == [(102.0, 0.5)]


def test_a_resting_maker_fills_when_a_trade_crosses_its_price() -> None:
    exchange, events = _exchange()
    view = exchange.place(_order("l1", OrderSide.BUY, 0.4, 99.5))
    assert view.status is OrderStatus.ACCEPTED
    assert exchange.account.balance("USDT").locked == pytest.approx(0.4 * 99.5)
    exchange.on_trade("BTCUSDT", 99.6, 1.0)  # above our bid: not ours
    assert exchange.fills == []
    exchange.on_trade("BTCUSDT", 99.5, 0.1)
    exchange.on_trade("BTCUSDT", 99.0, 5.0)
    assert [(f.price, f.quantity, f.maker) for f in exchange.fills] == [
        (99.5, 0.1, True),
        (99.5, 0.3, True),
    ]
    assert exchange.order("BTCUSDT", "l1").status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert exchange.account.balance("USDT").locked == pytest.approx(0.0)
    assert isinstance(events[-1], AccountEvent)


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        (_order("a", OrderSide.BUY, 0.1, 100.005), RejectReason.PRICE_TICK),
        (_order("b", OrderSide.BUY, 0.000015, 100.0), RejectReason.LOT_SIZE),
        (_order("c", OrderSide.BUY, 0.01, 100.0), RejectReason.MIN_NOTIONAL),
        (_order("d", OrderSide.BUY, 0.1, 1000.0), RejectReason.PRICE_BAND),
        (_order("e", OrderSide.BUY, 0.1, 101.0, post_only=True), RejectReason.WOULD_TAKE),
        (_order("f", OrderSide.BUY, 500.0, 100.0), RejectReason.INSUFFICIENT_BALANCE),
    ],
)
def test_filters_refuse_with_a_neutral_reason(params: OrderParams, reason: RejectReason) -> None:
    exchange, _events = _exchange()
    with pytest.raises(OrderRefusedError) as refused:
        exchange.place(params)
    assert refused.value.reason is reason
    assert exchange.open_orders() == []


def test_a_fok_the_book_cannot_fill_expires_untouched() -> None:
    exchange, _events = _exchange()
    view = exchange.place(_order("g", OrderSide.BUY, 5.0, 102.0, time_in_force=TimeInForce.FOK))
    assert view.status is OrderStatus.EXPIRED
    assert exchange.fills == []
    assert exchange.account.balance("USDT").locked == 0.0


def test_a_duplicate_client_id_is_refused_and_cancel_all_releases_the_locks() -> None:
    exchange, _events = _exchange()
    exchange.place(_order("x", OrderSide.SELL, 0.2, 105.0))
    with pytest.raises(OrderRefusedError) as refused:
        exchange.place(_order("x", OrderSide.SELL, 0.2, 105.0))
    assert refused.value.reason is RejectReason.DUPLICATE_CLIENT_ID
    exchange.place(_order("y", OrderSide.BUY, 0.2, 98.0))
    assert exchange.account.balance("BTC").locked == pytest.approx(0.2)
    cancelled = exchange.cancel_all("BTCUSDT")
    assert sorted(v.client_order_id for v in cancelled) == ["x", "y"]
    assert exchange.account.balance("BTC").locked == 0.0
    assert exchange.account.balance("USDT").locked == pytest.approx(0.0)
    with pytest.raises(OrderRefusedError):
        exchange.cancel("BTCUSDT", "x")


def test_a_margin_account_keeps_a_signed_position_and_realizes_pnl() -> None:
    exchange, _events = _exchange(AccountKind.MARGIN)
    exchange.place(_order("s1", OrderSide.SELL, 0.5, None))  # sells 0.5 at 100
    assert exchange.account.position("BTCUSDT").quantity == pytest.approx(-0.5)
    exchange.place(_order("b1", OrderSide.BUY, 0.5, None))  # buys back 0.5 at 101
    position = exchange.account.position("BTCUSDT")
    assert position.quantity == 0.0
    assert position.realized_pnl == pytest.approx(-0.5)


def test_an_amend_moves_the_lock_and_a_crossing_amend_takes() -> None:
    exchange, events = _exchange()
    exchange.place(_order("a1", OrderSide.BUY, 0.1, 99.0))
    assert exchange.account.balance("USDT").locked == pytest.approx(9.9)
    exchange.amend("BTCUSDT", "a1", 0.2, 99.5)
    assert exchange.account.balance("USDT").locked == pytest.approx(19.9)
    assert [e.kind for e in events if isinstance(e, OrderEvent)][-1] is ExecKind.AMENDMENT
    view = exchange.amend("BTCUSDT", "a1", 0.2, 101.0)  # now through the 101.0 ask
    assert view.status is OrderStatus.FILLED
    assert [(f.price, f.quantity, f.maker) for f in exchange.fills] == [(101.0, 0.2, False)]
    assert exchange.account.balance("USDT").locked == pytest.approx(0.0)
    with pytest.raises(OrderRefusedError):
        exchange.amend("BTCUSDT", "a1", 0.3, 99.0)  # no longer open
