"""The live engine driving the native Binance spot client against the fake Binance venue.

Real sockets (signed WebSocket API orders, the user data stream) and the fake venue's
own ledger: orders placed through the execution engine (risk checked, audited) are
acknowledged with Binance's order id, fills come from the replayed market, a lost
answer is settled by query with no second order, a dropped user stream is reconciled,
and after every step the engine equals the venue's ledger.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.execution.live.harness import until
from tests.venues.binance_private.conftest import HMAC, Venue, spot_venue  # noqa: F401
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import LiveClock
from tradefabric.execution.live.binance.spot import BinanceSpotClient
from tradefabric.execution.live.config import LiveSettings
from tradefabric.execution.live.engine import LiveVenue
from tradefabric.execution.topics import FILLS
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import Fill, OrderRequest, OrderSide, OrderStatus, OrderType
from tradefabric.node.kernel import ExecutionConfig, TradingConfig, TradingKernel
from tradefabric.risk.audit import AuditLog

S = OrderStatus
SETTINGS = LiveSettings(query_backoff_s=(0.05, 0.1, 0.2, 0.5))


class Node:
    def __init__(self, venue: Venue, tmp: Path) -> None:
        self.venue = venue
        config = TradingConfig(execution={"binance": ExecutionConfig()})
        self.client = BinanceSpotClient(venue.config("binance"), HMAC)
        self.live = LiveVenue(self.client, SETTINGS)
        self.audit = AuditLog(tmp / "audit.jsonl")
        self.kernel = TradingKernel(
            config, MessageBus(), LiveClock(), {"binance": self.live}, audit=self.audit
        )
        self.execution = self.kernel.execution
        self.fills: list[Fill] = []
        self.kernel.bus.subscribe(FILLS, self.fills.append)

    def limit(self, side: OrderSide, qty: float, price: float) -> str:
        request = OrderRequest(
            strategy_id="s1", venue="binance", symbol="BTC/USDT", side=side, quantity=qty,
            order_type=OrderType.LIMIT, price=price,
        )  # fmt: skip
        return self.execution.submit(request).client_order_id

    def status(self, cid: str) -> OrderStatus:
        order = self.execution.order(cid)
        assert order is not None
        return order.status

    def assert_equals_ledger(self) -> None:
        exchange = self.venue.exchange
        for order in self.execution.orders():
            if order.strategy_id != "s1":
                continue
            view = exchange.order("BTCUSDT", client_order_id=order.client_order_id)
            if view is None:
                assert order.status is S.REJECTED
                continue
            assert (order.status, order.venue_order_id) == (view.status, str(view.venue_order_id))
            assert order.filled_quantity == pytest.approx(view.filled, abs=1e-12)
        venue_fills = sorted(
            (f.client_order_id, str(f.trade_id), f.quantity) for f in exchange.fills_of()
        )
        ours = sorted(
            (f.client_order_id, f.fill_id, f.quantity) for f in self.fills if f.strategy_id == "s1"
        )
        assert ours == venue_fills


@pytest.fixture
async def node(spot_venue: Venue, tmp_path: Path) -> AsyncIterator[Node]:  # noqa: F811
    built = Node(spot_venue, tmp_path)
    built.execution.update_price(InstrumentId("binance", "BTC/USDT"), spot_venue.book_touch()[0])
    await built.live.start()
    yield built
    await built.live.stop()
    built.audit.close()


async def test_orders_through_the_engine_equal_the_ledger(node: Node) -> None:
    bid, ask = node.venue.book_touch()
    node.execution.update_price(InstrumentId("binance", "BTC/USDT"), bid)
    resting = node.limit(OrderSide.BUY, 0.001, round(bid - 300, 2))
    taker = node.limit(OrderSide.BUY, 0.001, round(ask + 50, 2))
    await until(lambda: node.status(resting) is S.ACCEPTED, 10)
    await until(lambda: node.status(taker) is S.FILLED, 10)
    node.execution.cancel(resting)
    await until(lambda: node.status(resting) is S.CANCELLED, 10)
    node.assert_equals_ledger()
    summary = await node.live.reconcile("periodic")
    assert (summary.fills_applied, summary.balances_corrected, summary.adopted) == (0, 0, 0)
    for balance in node.venue.exchange.account.balances():  # type: ignore[attr-defined]
        held = node.kernel.portfolio.balance("binance", balance.asset)
        assert held == pytest.approx(balance.free + balance.locked, rel=1e-12, abs=1e-12)


async def test_a_lost_answer_is_settled_by_query_never_resent(node: Node) -> None:
    await node.venue.fault("lose_response", count=1)
    bid, _ = node.venue.book_touch()
    cid = node.limit(OrderSide.BUY, 0.001, round(bid - 300, 2))
    await until(lambda: node.status(cid) is S.ACCEPTED, 15)
    await node.live.idle()
    placed = [o for o in node.venue.exchange.open_orders() if o.client_order_id == cid]
    assert len(placed) == 1
    node.assert_equals_ledger()


async def test_a_dropped_user_stream_is_reconciled(node: Node) -> None:
    before = len(node.live.summaries)
    await node.venue.fault("drop_user_stream")
    await until(lambda: len(node.live.summaries) > before, 15)
    assert node.live.summaries[-1].reason == "reconnect"
    node.assert_equals_ledger()
