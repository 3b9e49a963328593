"""The state store, the same tests on SQLite and PostgreSQL."""

from __future__ import annotations

import msgspec

from tests.state.conftest import StoreFactory
from tradefabric.execution.portfolio import BalanceSnapshot, PortfolioTotals, PositionSnapshot
from tradefabric.model.orders import (
    Fill,
    LiquiditySide,
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from tradefabric.risk.engine import RiskSnapshot
from tradefabric.state.records import ResetRequest, StateBatch, StrategyState
from tradefabric.state.store import StateStore


def order(client_id: str, status: OrderStatus, ts: int, filled: float = 0.0) -> OrderSnapshot:
    """Return an order snapshot of 0.5 BTC/USDT."""
    return OrderSnapshot(
        client_order_id=client_id, strategy_id="ema", venue="binance", symbol="BTC/USDT",
        side=OrderSide.BUY, order_type=OrderType.LIMIT, quantity=0.5, price=60_000.5,
        trigger_price=None, time_in_force=TimeInForce.GTC, post_only=False, reduce_only=False,
        status=status, filled_quantity=filled, avg_price=60_000.5 if filled else 0.0,
        fees=0.0, tag="t", ts_init=ts, ts_last=ts,
    )  # fmt: skip


def fill(client_id: str, fill_id: str, qty: float) -> Fill:
    """Return a fill of ``qty`` BTC at 60 000.5."""
    return Fill(
        fill_id=fill_id, client_order_id=client_id, strategy_id="ema", venue="binance",
        symbol="BTC/USDT", side=OrderSide.BUY, price=60_000.5, quantity=qty, fee=1.25,
        fee_currency="USDT", liquidity=LiquiditySide.MAKER, slippage_bps=0.0, ts_event=5,
        ts_init=6,
    )  # fmt: skip


def test_orders_keep_their_latest_state_and_creation_order(store: StateStore) -> None:
    store.write(StateBatch(orders=(order("b", OrderStatus.NEW, 2), order("a", OrderStatus.NEW, 1))))
    store.write(
        StateBatch(
            orders=(
                order("b", OrderStatus.ACCEPTED, 2),
                order("a", OrderStatus.SUBMITTED, 1),
                order("a", OrderStatus.FILLED, 1, filled=0.5),
            )
        )
    )
    assert [(o.client_order_id, o.status) for o in store.orders()] == [
        ("a", OrderStatus.FILLED),
        ("b", OrderStatus.ACCEPTED),
    ]
    assert store.orders()[0] == order("a", OrderStatus.FILLED, 1, filled=0.5)
    assert [o.client_order_id for o in store.orders(open_only=True)] == ["b"]


def test_a_fill_is_stored_once_however_often_it_is_written(store: StateStore) -> None:
    store.write(StateBatch(fills=(fill("a", "F1", 0.2), fill("a", "F2", 0.3))))
    store.write(StateBatch(fills=(fill("a", "F1", 0.2), fill("b", "F1", 0.1))))
    assert store.fills() == [fill("a", "F1", 0.2), fill("a", "F2", 0.3), fill("b", "F1", 0.1)]


def test_positions_balances_totals_and_risk_round_trip(store: StateStore) -> None:
    assert store.positions() == [] and store.balances() == []
    assert store.totals() is None and store.risk() is None
    position = PositionSnapshot(
        venue="binance", symbol="BTC/USDT", quantity=0.5, avg_price=60_000.5, realized_pnl=-3.5,
        unrealized_pnl=0.0, fees=1.25, mark=60_100.0, traded_notional=30_000.25,
    )  # fmt: skip
    balances = (
        BalanceSnapshot(venue="binance", currency="USDT", amount=69_998.5),
        BalanceSnapshot(venue="binance", currency="BTC", amount=0.5),
    )
    totals = PortfolioTotals(realized_pnl=-3.5, fees=1.25, fill_count=2, closing_fills=1)
    risk = RiskSnapshot(halted=True, reason="daily drawdown 5.1% > 5%", day=20_000,
                        day_high=101_000.0, ts=9)  # fmt: skip
    store.write(StateBatch(positions=(position,), balances=balances, totals=totals, risk=risk))
    assert store.positions() == [position]
    assert store.balances() == sorted(balances, key=lambda b: b.currency)
    assert store.totals() == totals
    assert store.risk() == risk
    moved = msgspec.structs.replace(position, quantity=0.0)
    store.write(StateBatch(positions=(moved,)))
    assert store.positions() == [moved]


def test_strategy_state_is_bytes_per_strategy(store: StateStore) -> None:
    assert store.strategy_state("ema") is None
    raw = b'{"fast": 12.5, "held": 0.001}\x00\xff'
    store.write(StateBatch(strategies=(StrategyState(strategy_id="ema", data=raw, ts=1),)))
    store.write(StateBatch(strategies=(StrategyState(strategy_id="rsi", data=b"x", ts=2),)))
    assert store.strategy_state("ema") == StrategyState(strategy_id="ema", data=raw, ts=1)
    assert store.strategy_state("rsi") == StrategyState(strategy_id="rsi", data=b"x", ts=2)


def test_counters_hand_out_blocks_never_twice(store_factory: StoreFactory) -> None:
    first, second = store_factory(), store_factory()
    assert first.counter("ids") == 0
    assert first.reserve("ids", 100) == 1
    assert second.reserve("ids", 10) == 101
    assert first.reserve("ids", 1) == 111
    assert second.counter("ids") == 111
    assert first.reserve("other", 5) == 1


def test_a_reset_request_is_pending_until_applied(store: StateStore) -> None:
    store.request_reset(ResetRequest(operator="ana", reason="checked the feed", ts=10))
    store.request_reset(ResetRequest(operator="bo", reason="again", ts=20))
    assert [r.operator for r in store.pending_resets()] == ["ana", "bo"]
    store.mark_resets_applied(up_to_ts=10, applied_ts=30)
    assert store.pending_resets() == [ResetRequest(operator="bo", reason="again", ts=20)]


def test_the_state_survives_reopening(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.write(StateBatch(orders=(order("a", OrderStatus.ACCEPTED, 1),),
                           fills=(fill("a", "F1", 0.2),)))  # fmt: skip
    store.close()
    again = store_factory()
    assert again.orders() == [order("a", OrderStatus.ACCEPTED, 1)]
    assert again.fills() == [fill("a", "F1", 0.2)]
