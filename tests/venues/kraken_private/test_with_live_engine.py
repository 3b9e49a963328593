"""Kraken and Coinbase clients under the live engine (``LiveVenue``) and a trading kernel.

The engine lives on the ``live`` branch: these tests skip until it is merged beside
the clients, then check the whole path: kernel -> OMS -> LiveVenue -> native client ->
fake venue -> user stream -> engine, with a lost answer settled by query.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.venues.coinbase_private import conftest as coinbase
from tests.venues.kraken_private import conftest as kraken
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.execution.live.config import LiveSettings
from tradefabric.execution.live.engine import LiveVenue
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import OrderRequest, OrderSide, OrderStatus, OrderType
from tradefabric.node.kernel import ExecutionConfig, InstrumentConfig, TradingConfig, TradingKernel
from tradefabric.risk.audit import AuditLog

venue = kraken.venue
cb_venue = coinbase.venue
until = kraken.until
SYMBOL = "BTC/USDT"
CIDS = ("e2e-rest", "e2e-lost", "e2e-mkt")


def _kernel(tmp: Path, name: str, client: Any, cancel_after_s: float = 0.0) -> tuple[Any, Any]:
    config = TradingConfig(
        execution={name: ExecutionConfig()},
        balances={name: {"USDT": 100_000.0, "BTC": 1.0}},
        instruments=(
            InstrumentConfig(venue=name, symbol=SYMBOL, price_increment="0.01",
                               size_increment="0.00000001"),
        ),
    )  # fmt: skip
    settings = LiveSettings(
        query_backoff_s=(0.05, 0.1), query_attempts=6, absent_after=2,
        cancel_after_s=cancel_after_s,
    )  # fmt: skip
    live = LiveVenue(client, settings)
    trading = TradingKernel(
        config, MessageBus(), SimClock(1_722_470_400_000_000_000), {name: live},
        audit=AuditLog(tmp / "audit.jsonl"),
    )  # fmt: skip
    trading.execution.update_price(InstrumentId(name, SYMBOL), 60_000.0)
    return trading, live


def _request(name: str, cid: str, qty: float, price: float | None) -> OrderRequest:
    return OrderRequest(
        strategy_id="s1", venue=name, symbol=SYMBOL, side=OrderSide.BUY, quantity=qty,
        order_type=OrderType.LIMIT if price else OrderType.MARKET, price=price,
        client_order_id=cid,
    )  # fmt: skip


async def _trade_through_the_engine(
    tmp: Path,
    name: str,
    client: Any,
    script: Any,
    *,
    bid: float,
    lose: Callable[[], Awaitable[None]],
) -> None:
    trading, live = _kernel(tmp, name, client)
    await live.start()
    price = math.floor(bid * 0.97 * 100) / 100
    trading.execution.submit(_request(name, "e2e-rest", 0.01, price))
    await lose()
    trading.execution.submit(_request(name, "e2e-lost", 0.01, price - 1))
    trading.execution.submit(_request(name, "e2e-mkt", 0.02, None))

    def settled() -> bool:
        # Each order as the venue has it: a market order may be filled there before its
        # fill reaches us, so waiting for "accepted or filled" alone would race the fill.
        done = (OrderStatus.ACCEPTED, OrderStatus.FILLED)
        for cid in CIDS:
            ours, theirs = trading.execution.order(cid), script.exchange.order(SYMBOL, cid)
            if ours is None or theirs is None or ours.status not in done:
                return False
            if (ours.status, ours.filled_quantity) != (theirs.status, pytest.approx(theirs.filled)):
                return False
        return True

    await until(settled, 15.0)
    assert script.exchange.placed == 3  # the lost one was settled by query, never resent
    for cid in CIDS:
        ours = trading.execution.order(cid)
        theirs = script.exchange.order(SYMBOL, cid)
        assert (ours.status, ours.filled_quantity) == (theirs.status, pytest.approx(theirs.filled))
    summary = await live.reconcile("check")
    assert summary.discrepancies == 0
    await live.stop()


async def test_kraken_through_the_live_engine(venue: kraken.Venue, tmp_path: Path) -> None:
    await _trade_through_the_engine(
        tmp_path, "kraken", venue.client(tmp_path), venue.script, bid=venue.bid(),
        lose=lambda: venue.fault("lose_response"),
    )  # fmt: skip


async def test_coinbase_through_the_live_engine(cb_venue: coinbase.Venue, tmp_path: Path) -> None:
    await _trade_through_the_engine(
        tmp_path, "coinbase", cb_venue.client(), cb_venue.script, bid=cb_venue.bid(),
        lose=lambda: cb_venue.fault("lose_response"),
    )  # fmt: skip


async def test_kraken_cancels_everything_when_the_engines_heartbeats_stop(
    venue: kraken.Venue, tmp_path: Path
) -> None:
    client = venue.client(tmp_path)
    trading, live = _kernel(tmp_path, "kraken", client, cancel_after_s=2.0)
    await live.start()
    trading.execution.submit(
        _request("kraken", "dms-e2e", 0.01, math.floor(venue.bid() * 97) / 100)
    )
    await until(lambda: venue.script.exchange.open_orders() != [])
    await until(lambda: venue.script.api.cancel_after is not None)
    # The node dies: its tasks stop mid-flight, no cancel is ever sent.
    for task in list(live._loops) + list(live._tasks):
        task.cancel()
    await asyncio.sleep(0)
    died = asyncio.get_running_loop().time()
    await until(lambda: venue.script.exchange.open_orders() == [], 2.0 + 2.0)
    assert asyncio.get_running_loop().time() - died <= 4.0
    assert venue.script.api.cancel_after_fired == 1
    await client.close()
