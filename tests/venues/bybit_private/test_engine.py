"""The live engine (``LiveVenue`` behind the OMS) on the fake Bybit with the native client."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.venues.bybit_private.conftest import Venue, until
from tests.venues.bybit_private.test_orders import order
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import LiveClock
from tradefabric.execution.live.config import LiveSettings
from tradefabric.execution.live.engine import LiveVenue
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import OrderRequest, OrderSide, OrderStatus, OrderType
from tradefabric.node.kernel import ExecutionConfig, InstrumentConfig, TradingConfig, TradingKernel
from tradefabric.risk.audit import AuditLog
from tradefabric.venues.fakevenue.private.faults import ResponseFault

SETTINGS = LiveSettings(query_backoff_s=(0.05, 0.1), query_attempts=10, absent_after=3)


async def test_the_engine_settles_a_lost_ack_and_reconciles_after_a_drop(
    spot: Venue, tmp_path: Path
) -> None:
    client = spot.client()
    live = LiveVenue(client, SETTINGS, symbols=("BTC/USDT",))
    config = TradingConfig(
        execution={"bybit": ExecutionConfig()},
        balances={"bybit": {"USDT": 100_000.0, "BTC": 1.0}},
        instruments=(
            InstrumentConfig(venue="bybit", symbol="BTC/USDT", price_increment="0.01",
                             size_increment="0.000001"),
        ),
    )  # fmt: skip
    kernel = TradingKernel(
        config, MessageBus(), LiveClock(), {"bybit": live}, audit=AuditLog(tmp_path / "a.jsonl")
    )
    execution = kernel.execution
    await live.start()  # connects the client and reconciles
    try:
        await until(spot.book_ready)
        bid, ask = spot.touch()
        execution.update_price(InstrumentId("bybit", "BTC/USDT"), (bid + ask) / 2)

        def submit(cid: str, side: OrderSide, qty: float, price: float | None) -> None:
            kind = OrderType.LIMIT if price is not None else OrderType.MARKET
            execution.submit(
                OrderRequest(
                    strategy_id="s1", venue="bybit", symbol="BTC/USDT", side=side, quantity=qty,
                    order_type=kind, price=price, client_order_id=cid,
                )
            )  # fmt: skip

        def status(cid: str) -> OrderStatus | None:
            found = execution.order(cid)
            return None if found is None else found.status

        spot.script.faults.on_responses(ResponseFault.LOSE)
        submit("e-1", OrderSide.BUY, 0.001, bid - 300)
        await until(lambda: status("e-1") is OrderStatus.ACCEPTED)
        assert spot.script.exchange.placed == 1  # settled by a query, never sent twice
        submit("e-2", OrderSide.BUY, 0.002, None)
        await until(lambda: status("e-2") is OrderStatus.FILLED)
        await spot.inject("drop_user_stream")
        await until(lambda: not client.stream.ready.is_set())
        # Placed behind the engine's back (by hand, say) while its stream is down.
        await client.submit(order("ext-1", OrderSide.BUY, 0.001, bid - 350))
        await until(lambda: client.stream.connects == 2)
        await until(lambda: execution.order("ext-1") is not None, timeout_s=10)
        ledger = {o.client_order_id for o in spot.script.exchange.open_orders()}
        assert ledger == {"e-1", "ext-1"}
        assert {status(cid) for cid in ledger} == {OrderStatus.ACCEPTED}
        filled = execution.order("e-2")
        assert filled is not None and filled.filled_quantity == pytest.approx(0.002)
    finally:
        await live.stop()
        await client.close()
