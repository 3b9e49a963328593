"""Candle matching: each order type under the documented conservative rules."""

from __future__ import annotations

from pathlib import Path

from tests.execution.helpers import Harness
from tradefabric.execution import topics
from tradefabric.execution.sim.exchange import SimExchangeConfig
from tradefabric.execution.sim.fees import FeeConfig
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import (
    Fill,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def _h(tmp: Path, **venue: object) -> tuple[Harness, list[Fill]]:
    cfg = SimExchangeConfig(fees=FeeConfig(maker_bps=1.0, taker_bps=5.0), **venue)  # type: ignore[arg-type]
    h = Harness(tmp, venue=cfg)
    fills: list[Fill] = []
    h.bus.subscribe(topics.FILLS, fills.append)
    h.candle(100.0, 101.0, 99.0, 100.0)
    return h, fills


def _send(h: Harness, side: OrderSide, qty: float = 1.0, **kw: object) -> str:
    request = OrderRequest(strategy_id="t", venue="binance", symbol="BTC/USDT", side=side,
                           quantity=qty, **kw)  # type: ignore[arg-type]  # fmt: skip
    return h.execution.submit(request).client_order_id


def test_market_fills_at_next_open_with_slippage_and_taker_fee(tmp_path: Path) -> None:
    h, fills = _h(tmp_path, slippage_bps=10.0)
    _send(h, BUY)
    h.candle(102.0, 103.0, 101.0, 102.5)
    (fill,) = fills
    assert fill.price == 102.0 * 1.001 and fill.quantity == 1.0
    assert fill.fee == fill.price * 1.0 * (5.0 / 10_000.0) and fill.liquidity == "taker"


def test_limit_fills_only_when_traded_through(tmp_path: Path) -> None:
    h, fills = _h(tmp_path)
    oid = _send(h, BUY, order_type=OrderType.LIMIT, price=99.0)
    h.candle(100.0, 100.5, 99.0, 100.0)  # touches 99, does not trade through
    assert fills == [] and h.execution.order(oid).status is OrderStatus.ACCEPTED
    h.candle(100.0, 100.5, 98.99, 100.0)
    (fill,) = fills
    assert (fill.price, fill.liquidity) == (99.0, "maker")


def test_marketable_limit_takes_at_the_open(tmp_path: Path) -> None:
    h, fills = _h(tmp_path)
    _send(h, BUY, order_type=OrderType.LIMIT, price=105.0)
    h.candle(102.0, 103.0, 101.0, 102.0)
    assert (fills[0].price, fills[0].liquidity) == (102.0, "taker")


def test_post_only_is_rejected_if_it_would_take(tmp_path: Path) -> None:
    h, fills = _h(tmp_path)
    oid = _send(h, BUY, order_type=OrderType.LIMIT, price=105.0, post_only=True)
    h.candle(102.0, 103.0, 101.0, 102.0)
    assert fills == [] and h.execution.order(oid).status is OrderStatus.REJECTED


def test_ioc_and_fok_against_the_volume_cap(tmp_path: Path) -> None:
    h, fills = _h(tmp_path, max_participation=0.1)
    ioc = _send(h, BUY, 3.0, order_type=OrderType.LIMIT, price=105.0,
                time_in_force=TimeInForce.IOC)  # fmt: skip
    fok = _send(h, BUY, 3.0, order_type=OrderType.LIMIT, price=105.0,
                time_in_force=TimeInForce.FOK)  # fmt: skip
    h.candle(102.0, 103.0, 101.0, 102.0, volume=20.0)  # cap: 2.0 in total
    assert [f.quantity for f in fills] == [2.0]
    assert h.execution.order(ioc).status is OrderStatus.EXPIRED
    assert h.execution.order(ioc).filled_quantity == 2.0
    assert h.execution.order(fok).status is OrderStatus.EXPIRED
    assert h.execution.order(fok).filled_quantity == 0.0


def test_two_orders_never_fill_from_the_same_volume(tmp_path: Path) -> None:
    h, fills = _h(tmp_path, max_participation=0.5)
    _send(h, BUY, 4.0)
    _send(h, BUY, 4.0)
    h.candle(100.0, 100.0, 100.0, 100.0, volume=10.0)  # 5.0 available to us in total
    assert sum(f.quantity for f in fills) == 5.0
    h.candle(100.0, 100.0, 100.0, 100.0, volume=10.0)
    assert sum(f.quantity for f in fills) == 8.0


def test_stop_market_triggers_and_fills_at_worse_of_trigger_and_open(tmp_path: Path) -> None:
    h, fills = _h(tmp_path)
    _send(h, SELL, 1.0, order_type=OrderType.STOP_MARKET, trigger_price=98.0)
    h.candle(100.0, 100.0, 98.5, 99.0)
    assert fills == []
    h.candle(97.0, 99.0, 96.0, 98.0)  # gaps through the trigger: fills at the open
    assert fills[0].price == 97.0


def test_reduce_only_never_increases_the_position(tmp_path: Path) -> None:
    h, fills = _h(tmp_path)
    _send(h, BUY, 1.0)
    h.candle(100.0, 100.0, 100.0, 100.0)
    oid = _send(h, SELL, 3.0, reduce_only=True)
    h.candle(100.0, 100.0, 100.0, 100.0)
    assert fills[-1].quantity == 1.0
    assert h.execution.position_quantity(InstrumentId("binance", "BTC/USDT")) == 0.0
    assert h.execution.order(oid).status is OrderStatus.PARTIALLY_FILLED
    h.candle(100.0, 100.0, 100.0, 100.0)
    assert h.execution.order(oid).status is OrderStatus.EXPIRED


def test_cancel_before_fill(tmp_path: Path) -> None:
    h, fills = _h(tmp_path)
    oid = _send(h, BUY, order_type=OrderType.LIMIT, price=90.0)
    h.candle(100.0, 101.0, 99.0, 100.0)
    h.execution.cancel(oid)
    assert h.execution.order(oid).status is OrderStatus.CANCEL_PENDING
    h.candle(100.0, 101.0, 80.0, 100.0)
    assert fills == [] and h.execution.order(oid).status is OrderStatus.CANCELLED
