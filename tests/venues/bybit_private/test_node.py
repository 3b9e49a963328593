"""A ``mode: live`` node on the fake Bybit: restart, and its state equals the venue's ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.node.test_live_node import run_node
from tests.venues.bybit_private.conftest import Venue, until
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import OrderRequest, OrderSide, OrderStatus, OrderType
from tradefabric.node.trading_node import TradingNode

FACTORY = "tradefabric.execution.live.bybit.factory:build_client"


def _config(tmp: Path, venue: Venue) -> Path:
    raw = {
        "execution": {
            "bybit": {
                "mode": "live",
                "live": {
                    "credentials": {
                        "api_key_env": "TF_BYBIT_KEY", "api_secret_env": "TF_BYBIT_SECRET",
                    },
                    "factory": FACTORY, "rest_url": venue.server.http_url,
                    "ws_url": venue.server.ws_url, "query_backoff_s": [0.05, 0.1],
                },
            }
        },
        "balances": {"bybit": {"USDT": 100_000.0, "BTC": 1.0}},
        "instruments": [
            {"venue": "bybit", "symbol": "BTC/USDT", "price_increment": "0.01",
             "size_increment": "0.000001"}
        ],
        "state": {"backend": "sqlite", "path": str(tmp / "state.db")},
        "output_dir": str(tmp / "runs"),
    }  # fmt: skip
    path = tmp / "bybit.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


async def test_a_live_bybit_node_restarts_and_equals_the_venues_ledger(
    spot: Venue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TF_BYBIT_KEY", spot.key)
    monkeypatch.setenv("TF_BYBIT_SECRET", spot.secret)
    path = _config(tmp_path, spot)
    orders: list[str] = []
    exchange = spot.script.exchange

    async def trade(node: TradingNode) -> None:
        await until(spot.book_ready)
        bid, ask = spot.touch()
        execution = node.kernel.execution
        execution.update_price(InstrumentId("bybit", "BTC/USDT"), (bid + ask) / 2)
        wanted = [
            (OrderType.LIMIT, 0.002, bid - 100), (OrderType.LIMIT, 0.003, bid - 200),
            (OrderType.MARKET, 0.001, None),
        ]  # fmt: skip
        for kind, qty, price in wanted:
            request = OrderRequest(
                strategy_id="s1", venue="bybit", symbol="BTC/USDT", side=OrderSide.BUY,
                quantity=qty, order_type=kind, price=price,
            )  # fmt: skip
            orders.append(execution.submit(request).client_order_id)
        await until(lambda: execution.order(orders[2]).status is OrderStatus.FILLED)  # type: ignore[union-attr]
        await until(lambda: len(exchange.open_orders()) == 2)

    first = await run_node(path, tmp_path / "run1", trade)
    # No cancel_after_s configured: the node never subscribed to dcp, so its going away
    # does not start Bybit's disconnect-cancel (which would end the orders while it is down).
    assert not spot.script.stream.dcp_armed
    assert first.kernel.execution.order(orders[0]).status is OrderStatus.ACCEPTED  # type: ignore[union-attr]
    # While the node is down the venue keeps matching: a trade prints through the first
    # order's price (filling part of it) and the second order is cancelled by hand.
    first_order = exchange.order("BTCUSDT", orders[0])
    assert first_order is not None and first_order.price is not None
    exchange.on_trade("BTCUSDT", first_order.price, 0.0015)
    exchange.cancel_by_user("BTCUSDT", orders[1])

    async def nothing(node: TradingNode) -> None:
        await node.live_venues["bybit"].idle()

    second = await run_node(path, tmp_path / "run2", nothing)
    execution = second.kernel.execution
    for cid in orders:
        held, at_venue = execution.order(cid), exchange.order("BTCUSDT", cid)
        assert held is not None and at_venue is not None
        assert held.filled_quantity == pytest.approx(at_venue.filled)
        assert held.venue_order_id == str(at_venue.venue_order_id)
    statuses = [execution.order(cid).status for cid in orders]  # type: ignore[union-attr]
    # The live engine keeps what the venue says: cancelled by hand at the venue is CANCELLED.
    assert statuses == [OrderStatus.PARTIALLY_FILLED, OrderStatus.CANCELLED, OrderStatus.FILLED]
    assert [exchange.order("BTCUSDT", cid).status for cid in orders] == [  # type: ignore[union-attr]
        OrderStatus.PARTIALLY_FILLED, OrderStatus.CANCELLED, OrderStatus.FILLED,
    ]  # fmt: skip
    for balance in exchange.account.balances():
        total = balance.free + balance.locked
        assert second.kernel.portfolio.balance("bybit", balance.asset) == pytest.approx(total)
    assert exchange.placed == 3  # nothing was ever sent twice
    summary = second.live_venues["bybit"].summaries[0]
    assert summary.reason == "start" and summary.fills_applied == 1
