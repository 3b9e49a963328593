"""Linear positions and the venue's signature checks, over real sockets."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import aiohttp
import pytest

from tests.venues.bybit_private.conftest import Reports, Venue, until
from tests.venues.bybit_private.test_orders import order
from tradefabric.core.errors import AuthenticationError, RateLimitedError
from tradefabric.model.orders import OrderSide, OrderStatus
from tradefabric.venues.bybit.private.rest import BybitPrivateRest
from tradefabric.venues.bybit.private.signing import Credentials

SYMBOL = "BTC/USDT:USDT"


async def test_linear_fills_move_the_position_and_mass_status_equals_the_ledger(
    linear: Venue,
) -> None:
    reports = Reports()
    client = linear.client()
    await client.connect(reports)
    try:
        await until(linear.book_ready)
        await client.submit(order("l-1", OrderSide.BUY, 0.010, symbol=SYMBOL, venue="bybit-linear"))
        await client.submit(
            order(
                "l-2", OrderSide.SELL, 0.004, symbol=SYMBOL, venue="bybit-linear", reduce_only=True
            )
        )
        ledger = linear.script.exchange.account.position("BTCUSDT")
        assert ledger.quantity == pytest.approx(0.006)
        await until(
            lambda: reports.positions and reports.positions[-1].quantity == pytest.approx(0.006)
        )
        status = await client.mass_status((SYMBOL,), 0)
        [position] = status.positions
        assert position.symbol == SYMBOL and position.quantity == pytest.approx(0.006)
        assert position.entry_price == pytest.approx(ledger.entry_price, abs=0.1)
        fills = linear.script.exchange.fills
        assert sorted(t.trade_id for t in status.trades) == sorted(str(f.trade_id) for f in fills)
        assert all(t.fee_currency == "USDT" for t in status.trades)
        [usdt] = [b for b in status.balances if b.asset == "USDT"]
        assert usdt.total == pytest.approx(linear.script.exchange.account.balance("USDT").free)
        bid, _ask = linear.touch()
        await client.submit(order("l-3", OrderSide.BUY, 0.001, bid - 200, symbol=SYMBOL))
        await client.cancel_all()  # linear needs a scope: the client sends settleCoin
        assert linear.script.exchange.open_orders() == []
        await until(lambda: reports.of("l-3")[-1].status is OrderStatus.CANCELLED)
    finally:
        await client.close()


async def _signed_get(
    venue: Venue, credentials: Credentials, timestamp_ms: int, recv_window_ms: int = 5000
) -> dict[str, object]:
    query = urlencode({"accountType": "UNIFIED"})
    headers = credentials.rest_headers(timestamp_ms, recv_window_ms, query)
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{venue.server.http_url}/v5/account/wallet-balance?{query}", headers=headers
        ) as answer,
    ):
        body: dict[str, object] = await answer.json()
        return body


async def test_the_venue_accepts_a_right_signature_and_refuses_the_rest(spot: Venue) -> None:
    now = time.time_ns() // 1_000_000
    good = await _signed_get(spot, Credentials(spot.key, spot.secret), now)
    assert good["retCode"] == 0
    wrong_secret = await _signed_get(spot, Credentials(spot.key, "f" * 48), now)
    assert wrong_secret["retCode"] == 10004
    unknown_key = await _signed_get(spot, Credentials("nobody", spot.secret), now)
    assert unknown_key["retCode"] == 10003
    stale = await _signed_get(spot, Credentials(spot.key, spot.secret), now - 6000)
    assert stale["retCode"] == 10002
    wide_window = await _signed_get(spot, Credentials(spot.key, spot.secret), now - 6000, 10_000)
    assert wide_window["retCode"] == 0
    ahead = await _signed_get(spot, Credentials(spot.key, spot.secret), now + 1500)
    assert ahead["retCode"] == 10002


async def test_the_client_raises_refused_signatures_and_ip_bans_by_type(spot: Venue) -> None:
    async with aiohttp.ClientSession() as session:
        bad = BybitPrivateRest(spot.server.http_url, Credentials(spot.key, "f" * 48), session)
        with pytest.raises(AuthenticationError, match="10004"):
            await bad.get("/v5/account/wallet-balance", {"accountType": "UNIFIED"}, "wallet")
        banned = BybitPrivateRest(
            spot.server.http_url, Credentials(spot.key, spot.secret), session, recv_window_ms=5000
        )
        spot.script.faults.rate_limit(418)  # Bybit bans an IP with HTTP 403
        with pytest.raises(RateLimitedError, match="HTTP 403"):
            await banned.get("/v5/account/wallet-balance", {"accountType": "UNIFIED"}, "wallet")
        assert banned.blocked_until_ms > time.time_ns() // 1_000_000
