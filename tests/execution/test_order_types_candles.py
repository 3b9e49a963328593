"""Candle matching of stop-limit, take-profit, trailing stop, OCO and bracket orders,
on hand-checkable candle sequences (open, high, low, close)."""

from __future__ import annotations

from pathlib import Path

from tests.execution.helpers import Harness
from tradefabric.execution import topics
from tradefabric.execution.sim.exchange import SimExchangeConfig
from tradefabric.execution.sim.fees import FeeConfig
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import (
    Fill,
    OrderEvent,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
)
from tradefabric.strategies.base import Strategy

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def _h(tmp: Path, slippage_bps: float = 0.0) -> tuple[Harness, list[Fill]]:
    cfg = SimExchangeConfig(fees=FeeConfig(maker_bps=0.0, taker_bps=0.0), slippage_bps=slippage_bps)
    h = Harness(tmp, venue=cfg)
    fills: list[Fill] = []
    h.bus.subscribe(topics.FILLS, fills.append)
    h.candle(100.0, 101.0, 99.0, 100.0)
    return h, fills


def _send(h: Harness, side: OrderSide, qty: float = 1.0, **kw: object) -> str:
    request = OrderRequest(strategy_id="t", venue="binance", symbol="BTC/USDT", side=side,
                           quantity=qty, **kw)  # type: ignore[arg-type]  # fmt: skip
    return h.execution.submit(request).client_order_id


def _status(h: Harness, oid: str) -> OrderStatus:
    order = h.execution.order(oid)
    assert order is not None
    return order.status


def test_stop_limit_triggers_and_takes_within_its_limit(tmp_path: Path) -> None:
    h, fills = _h(tmp_path)
    _send(h, SELL, order_type=OrderType.STOP_LIMIT, trigger_price=98.0, price=97.5)
    h.candle(100.0, 100.5, 98.1, 99.0)  # not reached
    assert fills == []
    h.candle(99.0, 99.5, 97.0, 98.0)  # reaches 98: takes at the trigger, within 97.5
    assert [(f.price, f.liquidity) for f in fills] == [(98.0, "taker")]


def test_stop_limit_slippage_never_goes_past_the_limit(tmp_path: Path) -> None:
    h, fills = _h(tmp_path, slippage_bps=100.0)  # 98 * 0.99 = 97.02 < limit 97.5
    _send(h, SELL, order_type=OrderType.STOP_LIMIT, trigger_price=98.0, price=97.5)
    h.candle(99.0, 99.5, 97.0, 98.0)
    assert [f.price for f in fills] == [97.5]


def test_stop_limit_gapped_through_rests_as_a_limit(tmp_path: Path) -> None:
    h, fills = _h(tmp_path)
    oid = _send(h, SELL, order_type=OrderType.STOP_LIMIT, trigger_price=98.0, price=97.5)
    h.candle(100.0, 100.5, 99.0, 99.0)
    h.candle(96.0, 97.4, 95.0, 96.0)  # opens below the limit: triggered, never back above 97.5
    assert fills == [] and _status(h, oid) is OrderStatus.ACCEPTED
    h.candle(96.0, 97.5, 95.0, 96.0)  # touches the limit only: not through it
    assert fills == []
    h.candle(96.0, 97.6, 95.0, 96.0)  # trades through 97.5: fills there as a maker
    assert [(f.price, f.liquidity) for f in fills] == [(97.5, "maker")]


def test_stop_limit_gap_fills_in_the_same_candle_when_it_comes_back(tmp_path: Path) -> None:
    h, fills = _h(tmp_path)
    _send(h, SELL, order_type=OrderType.STOP_LIMIT, trigger_price=98.0, price=97.5)
    h.candle(100.0, 100.5, 99.0, 99.0)
    h.candle(96.0, 98.0, 95.0, 97.0)  # gapped at the open, then traded through 97.5
    assert [(f.price, f.liquidity) for f in fills] == [(97.5, "maker")]


def test_stop_market_gapping_through_fills_at_the_open(tmp_path: Path) -> None:
    h, fills = _h(tmp_path)
    _send(h, SELL, order_type=OrderType.STOP_MARKET, trigger_price=98.0)
    h.candle(100.0, 100.5, 99.0, 99.0)
    h.candle(95.0, 96.0, 94.0, 95.5)
    assert [f.price for f in fills] == [95.0]


def test_take_profit_fills_at_the_trigger_or_a_better_open(tmp_path: Path) -> None:
    h, fills = _h(tmp_path)
    _send(h, SELL, order_type=OrderType.TAKE_PROFIT, trigger_price=103.0)
    _send(h, SELL, order_type=OrderType.TAKE_PROFIT, trigger_price=104.0)
    _send(h, BUY, order_type=OrderType.TAKE_PROFIT, trigger_price=97.0)
    h.candle(100.0, 102.9, 98.0, 101.0)  # reaches none
    assert fills == []
    h.candle(101.0, 103.5, 100.0, 103.0)  # touches 103 (not 104)
    assert [f.price for f in fills] == [103.0]
    h.candle(105.0, 106.0, 104.5, 105.0)  # opens above 104: fills at the open
    assert [f.price for f in fills] == [103.0, 105.0]
    h.candle(98.0, 99.0, 96.0, 97.0)  # buy take-profit: low reaches 97
    assert [(f.side, f.price) for f in fills][-1] == (BUY, 97.0)


def test_trailing_sell_follows_the_highs_and_never_moves_back(tmp_path: Path) -> None:
    h, fills = _h(tmp_path)
    _send(h, SELL, order_type=OrderType.TRAILING_STOP, trailing_offset=2.0)
    h.candle(100.0, 104.0, 99.0, 103.0)  # anchored at 100 (trigger 98), then high 104 -> 102
    assert fills == []
    h.candle(103.0, 103.0, 102.5, 102.8)  # high 103 would give 101: the trigger stays 102
    assert fills == []
    h.candle(102.8, 103.5, 101.5, 102.0)  # low 101.5 <= 102: fills at the trigger
    assert [f.price for f in fills] == [102.0]


def test_trailing_buy_follows_the_lows(tmp_path: Path) -> None:
    h, fills = _h(tmp_path)
    _send(h, BUY, order_type=OrderType.TRAILING_STOP, trailing_offset=1.0)
    h.candle(100.0, 100.5, 97.0, 97.5)  # anchored 100 (trigger 101), low 97 -> 98
    h.candle(97.5, 97.9, 97.2, 97.8)  # not reached; low 97.2 would give 98.2: stays 98
    assert fills == []
    h.candle(99.0, 99.5, 98.5, 99.0)  # opens above 98: fills at the open (worse)
    assert [f.price for f in fills] == [99.0]


def test_oco_stop_wins_when_one_candle_reaches_both(tmp_path: Path) -> None:
    h, fills = _h(tmp_path)
    _send(h, BUY)
    h.candle(100.0, 100.0, 100.0, 100.0)
    stop = _send(h, SELL, order_type=OrderType.STOP_MARKET, trigger_price=97.0, oco_group="g")
    target = _send(h, SELL, order_type=OrderType.LIMIT, price=105.0, oco_group="g")
    h.candle(100.0, 106.0, 96.0, 100.0)  # both reached: the worse (the stop) fills
    assert [(f.client_order_id, f.price) for f in fills[1:]] == [(stop, 97.0)]
    assert _status(h, target) is OrderStatus.EXPIRED
    h.candle(100.0, 110.0, 90.0, 100.0)
    assert len(fills) == 2


def test_oco_target_fill_cancels_the_stop(tmp_path: Path) -> None:
    h, fills = _h(tmp_path)
    _send(h, BUY)
    h.candle(100.0, 100.0, 100.0, 100.0)
    stop = _send(h, SELL, order_type=OrderType.STOP_MARKET, trigger_price=97.0, oco_group="g")
    target = _send(h, SELL, order_type=OrderType.TAKE_PROFIT, trigger_price=105.0, oco_group="g")
    h.candle(100.0, 106.0, 98.0, 104.0)
    assert [(f.client_order_id, f.price) for f in fills[1:]] == [(target, 105.0)]
    assert _status(h, stop) is OrderStatus.EXPIRED
    assert h.execution.position_quantity(InstrumentId("binance", "BTC/USDT")) == 0.0


def test_bracket_sends_the_oco_pair_on_the_entry_fill(tmp_path: Path) -> None:
    h, fills = _h(tmp_path)
    strategy = Strategy("br")
    h.kernel.strategies.append(strategy)
    h.kernel._start(strategy)
    entry = OrderRequest(strategy_id="br", venue="binance", symbol="BTC/USDT", side=BUY,
                         quantity=2.0)  # fmt: skip
    strategy.ctx.bracket(entry, stop_loss=95.0, take_profit=110.0)
    h.candle(100.0, 101.0, 99.0, 100.0)  # the entry fills at the open; the legs are sent
    legs = strategy.ctx.open_orders()
    assert [(o.order_type, o.quantity, o.reduce_only) for o in legs] == [
        (OrderType.STOP_MARKET, 2.0, True),
        (OrderType.LIMIT, 2.0, True),
    ]
    assert legs[0].oco_group == legs[1].oco_group != ""
    h.candle(100.0, 111.0, 99.0, 110.0)  # through the target only
    assert [(f.price, f.quantity) for f in fills] == [(100.0, 2.0), (110.0, 2.0)]
    assert strategy.ctx.open_orders() == []
    assert _status(h, legs[0].client_order_id) is OrderStatus.EXPIRED


def test_new_order_types_are_validated(tmp_path: Path) -> None:
    h, _ = _h(tmp_path)
    cases = (
        ({"order_type": OrderType.STOP_LIMIT, "trigger_price": 98.0}, "needs a positive price"),
        ({"order_type": OrderType.TAKE_PROFIT}, "needs a positive trigger price"),
        ({"order_type": OrderType.TRAILING_STOP}, "trailing_offset"),
        ({"trailing_offset": 1.0}, "trailing_offset"),
    )
    events: list[OrderEvent] = []
    h.bus.subscribe(topics.ORDER_EVENTS, events.append)
    for fields, reason in cases:
        oid = _send(h, SELL, **fields)
        assert _status(h, oid) is OrderStatus.REJECTED
        assert reason in events[-1].reason
