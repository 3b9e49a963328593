"""Which node events become which Telegram notices, and what the node's handlers queue:
published on a real bus, read back from the inbox, formatted as the bot does."""

from __future__ import annotations

from tradefabric.core.bus import MessageBus
from tradefabric.data import topics as data_topics
from tradefabric.execution import topics as exec_topics
from tradefabric.integrity import topics as integrity_topics
from tradefabric.integrity.events import Anomaly, AnomalyKind, StablecoinEvent
from tradefabric.model.data import OrderBookStatus
from tradefabric.model.orders import Fill, LiquiditySide, OrderEvent, OrderSide, OrderStatus
from tradefabric.ops.alerts import ALERTS, Alert, AlertLevel
from tradefabric.ops.telegram.notices import OWNER, Inbox, notice_of, subscribe
from tradefabric.risk.engine import RISK_EVENTS, RiskStateEvent


def _order(status: OrderStatus, reason: str = "") -> OrderEvent:
    return OrderEvent(client_order_id="c1", strategy_id="ema", venue="binance",
                      symbol="BTC/USDT", previous=OrderStatus.NEW, status=status,
                      filled_quantity=0.0, reason=reason, ts_event=1, ts_init=1)  # fmt: skip


def _book(valid: bool, ts: int, reason: str = "") -> OrderBookStatus:
    return OrderBookStatus(venue="binance", symbol="BTC/USDT", valid=valid, reason=reason,
                           ts_event=ts, ts_recv=ts)  # fmt: skip


def test_the_node_events_become_notices() -> None:
    bus = MessageBus()
    inbox = Inbox(100)
    subscribe(bus, inbox)
    fill = Fill(fill_id="f1", client_order_id="c1", strategy_id="ema", venue="binance",
                symbol="BTC/USDT", side=OrderSide.BUY, price=61_000.5, quantity=0.01, fee=0.61,
                fee_currency="USDT", liquidity=LiquiditySide.TAKER, slippage_bps=1.0,
                ts_event=1, ts_init=1)  # fmt: skip
    bus.publish(exec_topics.FILLS, fill)
    bus.publish(exec_topics.ORDER_EVENTS, _order(OrderStatus.ACCEPTED))
    bus.publish(exec_topics.ORDER_EVENTS, _order(OrderStatus.REJECTED, "strategy ema is paused"))
    bus.publish(RISK_EVENTS, RiskStateEvent(halted=True, reason="drawdown 5%", operator="",
                                            equity=95_000.0, day_high=100_000.0, ts=2))  # fmt: skip
    # Halts are said once, by the risk engine: the alerts naming them are not repeated.
    bus.publish(ALERTS, Alert(kind="control_halt", level=AlertLevel.WARNING,
                              component="control", message="ana: halted", ts=2))  # fmt: skip
    bus.publish(ALERTS, Alert(kind="data_dropped", level=AlertLevel.WARNING,
                              component="data", message="12 frames dropped", ts=3))  # fmt: skip
    bus.publish(data_topics.BOOK_STATUS, _book(False, 0, "awaiting a snapshot"))  # a start
    bus.publish(data_topics.BOOK_STATUS, _book(True, 5))  # its first sync: not news
    bus.publish(data_topics.BOOK_STATUS, _book(False, 6, "connection lost"))
    bus.publish(data_topics.BOOK_STATUS, _book(True, 7))
    bus.publish(integrity_topics.ANOMALIES, Anomaly(
        kind=AnomalyKind.PRICE_OUTLIER, venue="bybit", symbol="BTC/USDT", ts_event=8,
        value=1.0, expected=2.0, score=9.0, detail="50% off consensus", ts_recv=8))  # fmt: skip
    bus.publish(integrity_topics.STABLECOINS, StablecoinEvent(
        coin="USDC", phase="start", ts_start=9, ts_peak=9, ts_end=0, peak_rate=0.97,
        peak_bps=300.0, ts_recv=9))  # fmt: skip
    notices = [notice_of(e) for e in inbox.take()]
    assert [(n.kind, n.level, n.always) for n in notices] == [
        ("fill", AlertLevel.INFO, False),
        ("order_rejected", AlertLevel.WARNING, False),
        ("halt", AlertLevel.CRITICAL, True),
        ("data_dropped", AlertLevel.WARNING, False),
        ("book_invalid", AlertLevel.WARNING, False),
        ("book_valid", AlertLevel.INFO, False),
        ("anomaly", AlertLevel.WARNING, False),
        ("depeg", AlertLevel.CRITICAL, True),
    ]
    assert [n.text for n in notices] == [
        "fill ema: buy 0.01 BTC/USDT @ 61000.5 on binance (fee 0.61 USDT)",
        "order rejected ema BTC/USDT on binance: strategy ema is paused",
        "HALT by risk: drawdown 5% (equity 95,000.00)",
        "12 frames dropped [data]",
        "binance BTC/USDT book invalid: connection lost",
        "binance BTC/USDT book synced again",
        "anomaly price_outlier bybit BTC/USDT: 50% off consensus",
        "de-peg USDC start: peak 300.0 bps",
    ]
    assert bus.unsubscribe_owner(OWNER) == 9


def test_a_full_inbox_drops_and_counts() -> None:
    woken: list[int] = []
    inbox = Inbox(3, lambda: woken.append(1))
    for i in range(5):
        inbox.put(i)
    assert len(inbox) == 3 and inbox.dropped == 2 and inbox.received == 5
    assert inbox.take() == [0, 1, 2] and len(woken) == 3
