"""A test per risk rule: the order is rejected, with that rule and reason, and audited.
After a drawdown halt, no order reaches the venue until a person resets."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.execution.helpers import Harness
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import OrderRequest, OrderSide, OrderStatus, OrderType
from tradefabric.risk.audit import read_audit
from tradefabric.risk.blacklist import LiquidityMeasure
from tradefabric.risk.config import RiskConfig
from tradefabric.risk.engine import FixedConsensus


def _req(side: OrderSide = OrderSide.BUY, qty: float = 0.01, **kw: object) -> OrderRequest:
    return OrderRequest(
        strategy_id="t", venue="binance", symbol="BTC/USDT", side=side, quantity=qty, **kw
    )  # type: ignore[arg-type]


def _limit(side: OrderSide, price: float, qty: float = 0.01) -> OrderRequest:
    return _req(side, qty, order_type=OrderType.LIMIT, price=price)


def _rejected_by(h: Harness, request: OrderRequest, rule: str) -> str:
    before = h.venue.orders_received
    order = h.execution.submit(request)
    assert order.status is OrderStatus.REJECTED
    assert h.venue.orders_received == before  # never reached the venue
    decisions = [r for r in read_audit(h.audit_path) if r.kind == "risk_decision"]
    last = decisions[-1].data
    assert f'"rule":"{rule}"'.encode() in bytes(last), bytes(last)
    return str(bytes(last))


def _harness(tmp_path: Path, **limits: object) -> Harness:
    h = Harness(
        tmp_path, risk=RiskConfig(**limits), consensus=FixedConsensus({"BTC/USDT": 60000.0})
    )  # type: ignore[arg-type]
    h.candle(60000.0, 60010.0, 59990.0, 60000.0)
    return h


def test_max_order_notional(tmp_path: Path) -> None:
    h = _harness(tmp_path, max_order_notional=1000.0)
    assert "order notional 1200.00 > max 1000.00" in _rejected_by(
        h, _req(qty=0.02), "max_order_notional"
    )
    assert h.execution.submit(_req(qty=0.01)).status is OrderStatus.SUBMITTED


def test_max_position_per_symbol(tmp_path: Path) -> None:
    h = _harness(tmp_path, max_position_notional=1000.0, max_order_notional=1e6)
    h.execution.submit(_req(qty=0.015))
    h.candle(60000.0, 60010.0, 59990.0, 60000.0)  # fills 0.015 at the open
    assert h.execution.position_quantity(InstrumentId("binance", "BTC/USDT")) == 0.015
    _rejected_by(h, _req(qty=0.002), "max_position")
    # Reducing is always allowed.
    assert h.execution.submit(_req(OrderSide.SELL, 0.015)).status is OrderStatus.SUBMITTED


def test_max_total_position(tmp_path: Path) -> None:
    h = _harness(tmp_path, max_total_notional=500.0)
    _rejected_by(h, _req(qty=0.01), "max_total_position")


def test_max_open_orders(tmp_path: Path) -> None:
    h = _harness(tmp_path, max_open_orders=2)
    h.execution.submit(_limit(OrderSide.BUY, 59000.0))
    h.execution.submit(_limit(OrderSide.BUY, 59100.0))
    _rejected_by(h, _limit(OrderSide.BUY, 59200.0), "max_open_orders")


def test_price_band_vs_consensus(tmp_path: Path) -> None:
    h = _harness(tmp_path, price_band_bps=100.0)
    reason = _rejected_by(h, _limit(OrderSide.BUY, 59000.0), "price_band")
    assert "166.7 bps from consensus 60000.0" in reason
    assert h.execution.submit(_limit(OrderSide.BUY, 59500.0)).status is OrderStatus.SUBMITTED


def test_rate_limit_per_venue(tmp_path: Path) -> None:
    h = _harness(tmp_path, max_orders_per_window=3, rate_window_s=10.0)
    for _ in range(3):
        assert h.execution.submit(_req()).status is OrderStatus.SUBMITTED
    _rejected_by(h, _req(), "rate_limit")
    h.clock.advance_to(h.clock.timestamp_ns() + 11_000_000_000)  # the window has passed
    assert h.execution.submit(_req()).status is OrderStatus.SUBMITTED


def test_blacklist_static_and_measured(tmp_path: Path) -> None:
    h = _harness(tmp_path, max_spread_bps=20.0, min_depth_notional=50_000.0)
    h.kernel.risk.blacklist.update(
        LiquidityMeasure(venue="binance", symbol="BTC/USDT", spread_bps=35.0,
                         depth_notional=1e6, ts_event=0)
    )  # fmt: skip
    assert "spread 35.0 bps > 20.0" in _rejected_by(h, _req(), "blacklist")
    h.kernel.risk.blacklist.update(
        LiquidityMeasure(venue="binance", symbol="BTC/USDT", spread_bps=1.0,
                         depth_notional=10_000.0, ts_event=1)
    )  # fmt: skip
    assert "depth 10000" in _rejected_by(h, _req(), "blacklist")
    h.kernel.risk.blacklist.update(
        LiquidityMeasure(venue="binance", symbol="BTC/USDT", spread_bps=1.0,
                         depth_notional=1e6, ts_event=2)
    )  # fmt: skip
    assert h.execution.submit(_req()).status is OrderStatus.SUBMITTED
    h2 = _harness(tmp_path / "b", blacklist=("binance:BTC/USDT",))
    assert "configured blacklist" in _rejected_by(h2, _req(), "blacklist")


def test_self_trade_prevention(tmp_path: Path) -> None:
    h = _harness(tmp_path)
    h.execution.submit(_limit(OrderSide.SELL, 60100.0))
    h.candle(60000.0, 60050.0, 59990.0, 60000.0)  # the sell now rests at the venue
    _rejected_by(h, _limit(OrderSide.BUY, 60100.0), "self_trade")
    _rejected_by(h, _req(OrderSide.BUY), "self_trade")  # a market buy would hit it too
    assert h.execution.submit(_limit(OrderSide.BUY, 60050.0)).status is OrderStatus.SUBMITTED


def test_drawdown_halt_blocks_every_order_until_reset(tmp_path: Path) -> None:
    h = _harness(tmp_path, daily_drawdown_pct=5.0, max_order_notional=1e9,
                 max_position_notional=1e9, max_total_notional=1e9,
                 flatten_on_halt=True)  # fmt: skip
    h.execution.submit(_req(qty=1.5))  # 90k of BTC on 100k equity
    h.candle(60000.0, 60000.0, 60000.0, 60000.0)
    resting = h.execution.submit(_limit(OrderSide.SELL, 60500.0, 0.01))
    h.candle(60000.0, 60000.0, 59600.0, 59800.0)
    assert not h.kernel.risk.halted
    received = h.venue.orders_received
    h.candle(59800.0, 59800.0, 55000.0, 55000.0)  # -7.5k: 7.5% below the day's high
    # The per-minute check runs at the next minute's tick, before that minute's candle.
    assert not h.kernel.risk.halted
    h.clock.advance_to(h.clock.timestamp_ns() + 60_000_000_000)
    assert h.kernel.risk.halted
    assert "daily drawdown" in h.kernel.risk.halt_reason
    # The resting order was cancelled, a reduce-only flattening order was sent, nothing else.
    assert h.execution.order(resting.client_order_id).status is OrderStatus.CANCEL_PENDING
    flatten = [o for o in h.execution.orders() if o.strategy_id == "risk"]
    assert len(flatten) == 1 and flatten[0].reduce_only and flatten[0].quantity == 1.5
    assert h.venue.orders_received == received + 1
    for request in (_req(), _req(OrderSide.SELL), _limit(OrderSide.BUY, 55000.0)):
        _rejected_by(h, request, "halt")
    h.minute += 1
    h.candle(55000.0, 55100.0, 54900.0, 55000.0)
    assert h.execution.position_quantity(InstrumentId("binance", "BTC/USDT")) == 0.0
    assert h.venue.orders_received == received + 1
    kinds = [r.kind for r in read_audit(h.audit_path)]
    assert "halt" in kinds
    h.kernel.risk.reset(operator="alice", reason="reviewed")
    assert h.execution.submit(_req()).status is OrderStatus.SUBMITTED
    assert read_audit(h.audit_path)[-1].kind != "halt"
    assert "reset" in [r.kind for r in read_audit(h.audit_path)]


def test_a_paused_strategy_is_rejected_until_resumed(tmp_path: Path) -> None:
    h = _harness(tmp_path)
    h.kernel.risk.pause("t", "operator pause")
    assert "strategy paused by an operator" in _rejected_by(h, _req(), "strategy_paused")
    h.kernel.risk.resume("t")
    assert h.execution.submit(_req()).status is OrderStatus.SUBMITTED


@pytest.mark.parametrize("rule", ["halt", "strategy_paused", "venue_tripped", "blacklist",
                                  "rate_limit",
                                  "max_open_orders", "max_order_notional", "max_position",
                                  "max_total_position", "price_band", "self_trade"])  # fmt: skip
def test_every_rule_has_a_test(rule: str) -> None:
    from tradefabric.risk.checks import RULES

    assert rule in {name for name, _ in RULES}
    assert len(RULES) == 11  # venue_tripped: tests/risk/test_venue_breaker.py
