"""The order state machine: every legal transition works, every other one raises."""

from __future__ import annotations

import itertools

import pytest

from tradefabric.execution.orders import (
    LEGAL_TRANSITIONS,
    IllegalTransitionError,
    Order,
    OrderError,
)
from tradefabric.model.orders import (
    Fill,
    LiquiditySide,
    OrderRequest,
    OrderSide,
    OrderStatus,
)

S = OrderStatus
REQUEST = OrderRequest(
    strategy_id="s", venue="binance", symbol="BTC/USDT", side=OrderSide.BUY, quantity=2.0
)
PATH_TO = {
    S.NEW: [],
    S.SUBMITTED: [S.SUBMITTED],
    S.ACCEPTED: [S.SUBMITTED, S.ACCEPTED],
    S.PARTIALLY_FILLED: [S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED],
    S.FILLED: [S.SUBMITTED, S.ACCEPTED, S.FILLED],
    S.CANCEL_PENDING: [S.SUBMITTED, S.ACCEPTED, S.CANCEL_PENDING],
    S.CANCELLED: [S.SUBMITTED, S.ACCEPTED, S.CANCELLED],
    S.REJECTED: [S.REJECTED],
    S.EXPIRED: [S.SUBMITTED, S.ACCEPTED, S.EXPIRED],
}


def _fill(fill_id: str, quantity: float) -> Fill:
    return Fill(
        fill_id=fill_id, client_order_id="c1", strategy_id="s", venue="binance",
        symbol="BTC/USDT", side=OrderSide.BUY, price=100.0, quantity=quantity, fee=0.01,
        fee_currency="USDT", liquidity=LiquiditySide.TAKER, slippage_bps=0.0, ts_event=5,
        ts_init=5,
    )  # fmt: skip


def _move(order: Order, status: OrderStatus, n: int) -> None:
    if status is S.PARTIALLY_FILLED:
        order.apply_fill(_fill(f"f{n}", 0.5), n)
    elif status is S.FILLED:
        order.apply_fill(_fill(f"f{n}", order.leaves_quantity), n)
    else:
        order.transition(status, n, n)


def _order_in(status: OrderStatus) -> Order:
    order = Order(REQUEST, "c1", 0)
    for n, step in enumerate(PATH_TO[status], start=1):
        _move(order, step, n)
    assert order.status is status
    return order


@pytest.mark.parametrize(("source", "target"), list(itertools.product(S, S)))
def test_every_transition_is_legal_or_raises(source: OrderStatus, target: OrderStatus) -> None:
    order = _order_in(source)
    if (source, target) == (S.CANCEL_PENDING, S.PARTIALLY_FILLED):
        _move(order, target, 99)  # a fill racing the cancel: the cancel stays pending
        assert order.status is S.CANCEL_PENDING and order.filled_quantity == 0.5
        return
    if target in LEGAL_TRANSITIONS[source]:
        _move(order, target, 99)
        assert order.status is target
    else:
        with pytest.raises((IllegalTransitionError, OrderError)):
            _move(order, target, 99)
        assert order.status is source


def test_transition_events_carry_from_and_to() -> None:
    order = Order(REQUEST, "c1", 0)
    event = order.transition(S.SUBMITTED, 10, 11, "sent")
    assert (event.previous, event.status, event.ts_event, event.ts_init) == (
        S.NEW, S.SUBMITTED, 10, 11,
    )  # fmt: skip


def test_fills_are_idempotent_and_average() -> None:
    order = _order_in(S.ACCEPTED)
    first = order.apply_fill(_fill("a", 0.5), 1)
    assert first is not None and first.status is S.PARTIALLY_FILLED
    assert order.apply_fill(_fill("a", 0.5), 2) is None  # the same fill twice
    assert order.filled_quantity == 0.5
    done = order.apply_fill(_fill("b", 1.5), 3)
    assert done is not None and done.status is S.FILLED and done.filled_quantity == 2.0
    with pytest.raises(OrderError):
        _order_in(S.ACCEPTED).apply_fill(_fill("c", 3.0), 4)  # more than ordered


def test_partial_fill_while_cancel_pending_stays_pending() -> None:
    order = _order_in(S.CANCEL_PENDING)
    event = order.apply_fill(_fill("p", 0.5), 1)
    assert event is not None and event.status is S.CANCEL_PENDING
    order.transition(S.CANCELLED, 2, 2)
    assert order.is_terminal
