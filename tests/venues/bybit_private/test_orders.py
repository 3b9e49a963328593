"""Order entry on the fake Bybit over real sockets: what the client reports equals the ledger."""

from __future__ import annotations

import pytest

from tests.venues.bybit_private.conftest import Reports, Venue, until
from tradefabric.core.errors import AuthenticationError, OrderRejectedError
from tradefabric.execution.live.bybit.client import BybitLiveClient
from tradefabric.model.orders import (
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    OrderType,
    TimeInForce,
)

Trading = tuple[Venue, BybitLiveClient, Reports]


def order(
    cid: str, side: OrderSide, qty: float, price: float | None = None, **kw: object
) -> OrderSnapshot:
    """Return an order of BTC/USDT as the engine would hand it to the client."""
    fields: dict[str, object] = {
        "client_order_id": cid, "strategy_id": "s1", "venue": "bybit", "symbol": "BTC/USDT",
        "side": side, "order_type": OrderType.LIMIT if price is not None else OrderType.MARKET,
        "quantity": qty, "price": price, "trigger_price": None,
        "time_in_force": TimeInForce.GTC, "post_only": False, "reduce_only": False,
        "status": OrderStatus.SUBMITTED, "filled_quantity": 0.0, "avg_price": 0.0, "fees": 0.0,
        "tag": "", "ts_init": 0, "ts_last": 0,
    }  # fmt: skip
    fields.update(kw)
    return OrderSnapshot(**fields)  # type: ignore[arg-type]


async def test_a_resting_limit_is_acknowledged_and_reported_as_the_ledger_holds_it(
    trading: Trading,
) -> None:
    venue, client, reports = trading
    bid, _ask = venue.touch()
    venue_id = await client.submit(order("rest-1", OrderSide.BUY, 0.0123456, bid - 500.004))
    ledger = venue.script.exchange.order("BTCUSDT", "rest-1")
    assert ledger is not None and str(ledger.venue_order_id) == venue_id
    # The wire carried integers printed on the grid: 6 lot decimals, the price floored to 0.01.
    assert ledger.quantity == 0.012345
    assert ledger.price == pytest.approx(round(bid - 500.01, 2))
    await until(lambda: reports.of("rest-1"))
    [report] = reports.of("rest-1")
    assert report.status is OrderStatus.ACCEPTED and report.venue_order_id == venue_id
    assert (report.quantity, report.price) == (ledger.quantity, ledger.price)
    queried = await client.query_order("BTC/USDT", "rest-1")
    assert queried is not None and queried.status is OrderStatus.ACCEPTED
    assert await client.query_order("BTC/USDT", "never-sent") is None


async def test_a_market_buy_fills_from_the_book_and_every_fill_is_reported(
    trading: Trading,
) -> None:
    venue, client, reports = trading
    await client.submit(order("mkt-1", OrderSide.BUY, 0.05))
    fills = venue.script.exchange.fills_of("BTCUSDT")
    assert fills and sum(f.quantity for f in fills) == pytest.approx(0.05)
    await until(lambda: len(reports.trades) == len(fills))
    assert sorted(t.trade_id for t in reports.trades) == sorted(str(f.trade_id) for f in fills)
    assert sum(t.price * t.quantity for t in reports.trades) == pytest.approx(
        sum(f.price * f.quantity for f in fills)
    )
    await until(lambda: any(r.status is OrderStatus.FILLED for r in reports.of("mkt-1")))
    final = reports.of("mkt-1")[-1]
    assert final.filled_quantity == pytest.approx(0.05)
    usdt = venue.script.exchange.account.balance("USDT")
    await until(lambda: any(b.asset == "USDT" for b in reports.balances))
    last_usdt = [b for b in reports.balances if b.asset == "USDT"][-1]
    assert last_usdt.total == pytest.approx(usdt.free + usdt.locked)


async def test_cancel_amend_and_cancel_all_leave_what_the_ledger_holds(trading: Trading) -> None:
    venue, client, reports = trading
    bid, _ask = venue.touch()
    for n in range(3):
        await client.submit(order(f"ca-{n}", OrderSide.BUY, 0.001, bid - 300 - n))
    await client.modify("BTC/USDT", "ca-0", 0.002, bid - 400.0)
    amended = venue.script.exchange.order("BTCUSDT", "ca-0")
    assert amended is not None and (amended.quantity, amended.price) == (0.002, bid - 400.0)
    await until(lambda: any(r.quantity == 0.002 for r in reports.of("ca-0")))
    await client.cancel("BTC/USDT", "ca-1")
    await until(lambda: reports.of("ca-1")[-1].status is OrderStatus.CANCELLED)
    assert reports.of("ca-1")[-1].reason == "CancelByUser"
    status = await client.mass_status(("BTC/USDT",), 0)
    assert sorted(o.client_order_id for o in status.orders) == ["ca-0", "ca-2"]
    ledger_open = venue.script.exchange.open_orders("BTCUSDT")
    assert sorted(o.client_order_id for o in status.orders) == sorted(
        o.client_order_id for o in ledger_open
    )
    await client.cancel_all()
    assert venue.script.exchange.open_orders() == []
    assert (await client.mass_status(("BTC/USDT",), 0)).orders == ()
    with pytest.raises(OrderRejectedError) as refused:
        await client.cancel("BTC/USDT", "ca-1")
    assert refused.value.code == "170213"
    with pytest.raises(OrderRejectedError) as gone:
        await client.modify("BTC/USDT", "ca-2", 0.003, None)  # cancelled: nothing to amend
    assert gone.value.code == "170213"


async def test_a_post_only_that_would_take_is_acknowledged_then_cancelled(
    trading: Trading,
) -> None:
    venue, client, reports = trading
    _bid, ask = venue.touch()
    venue_id = await client.submit(order("po-1", OrderSide.BUY, 0.001, ask + 50, post_only=True))
    assert venue_id  # acknowledged: the create succeeded
    await until(
        lambda: reports.of("po-1") and reports.of("po-1")[-1].status is OrderStatus.CANCELLED
    )
    statuses = [r.status for r in reports.of("po-1")]
    assert statuses == [OrderStatus.ACCEPTED, OrderStatus.CANCELLED]
    final = reports.of("po-1")[-1]
    assert final.reason == "EC_PostOnlyWillTakeLiquidity" and final.post_only
    assert final.filled_quantity == 0 and venue.script.exchange.fills_of() == []
    queried = await client.query_order("BTC/USDT", "po-1")
    assert queried is not None and queried.status is OrderStatus.CANCELLED
    assert queried.reason == "EC_PostOnlyWillTakeLiquidity"


async def test_filters_are_refused_with_bybit_codes(trading: Trading) -> None:
    venue, client, _reports = trading
    with pytest.raises(OrderRejectedError) as small:
        await client.submit(order("tiny", OrderSide.BUY, 0.00001, 100.0))
    assert small.value.code in ("170137", "170140")
    with pytest.raises(OrderRejectedError) as poor:
        await client.submit(order("poor", OrderSide.BUY, 50.0, venue.touch()[0] - 10))
    assert poor.value.code == "170131"
    assert venue.script.exchange.order("BTCUSDT", "poor") is None


async def test_a_wrong_secret_is_refused_on_rest_and_on_the_stream(spot: Venue) -> None:
    bad = spot.client(secret="0" * 48)
    with pytest.raises(AuthenticationError, match="auth refused"):
        await bad.connect(Reports())
    assert spot.script.keys.refused >= 1


async def test_a_fok_that_cannot_fill_is_acknowledged_and_ends_unfilled(trading: Trading) -> None:
    venue, client, reports = trading
    bid, _ask = venue.touch()
    fok = order("fok-1", OrderSide.BUY, 0.001, bid - 100, time_in_force=TimeInForce.FOK)
    await client.submit(fok)
    await until(
        lambda: reports.of("fok-1") and reports.of("fok-1")[-1].status is OrderStatus.CANCELLED
    )
    final = reports.of("fok-1")[-1]
    assert final.time_in_force is TimeInForce.FOK and final.filled_quantity == 0
    assert venue.script.exchange.fills_of() == [] and venue.script.exchange.open_orders() == []
