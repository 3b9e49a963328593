"""Bybit private payloads, request bodies, signatures and retCodes, without a socket."""

from __future__ import annotations

import hashlib
import hmac
import itertools

import msgspec
import pytest

from tests.venues.bybit_private.conftest import instrument
from tests.venues.bybit_private.test_orders import order
from tradefabric.core.errors import (
    AuthenticationError,
    OrderRejectedError,
    OrderStatusUnknownError,
    RateLimitedError,
    VenueUnavailableError,
)
from tradefabric.execution.live.bybit import order_requests, wire
from tradefabric.execution.live.bybit.client import BybitLiveClient, _private_url, _windows
from tradefabric.execution.live.bybit.factory import (
    TESTNET_REST_URL,
    TESTNET_WS_URL,
    VENUES,
    build_client,
)
from tradefabric.execution.precision import Precision
from tradefabric.model.orders import LiquiditySide, OrderSide, OrderStatus, OrderType
from tradefabric.venues.bybit.private.categories import LINEAR, SPOT
from tradefabric.venues.bybit.private.retcodes import error_for
from tradefabric.venues.bybit.private.signing import Credentials


def _sample(struct: type) -> bytes:
    """Return the sample payload a wire struct's docstring shows."""
    doc = struct.__doc__ or ""
    return doc.split("``{", 1)[1].rsplit("}``", 1)[0].join("{}").replace("\n    ", "").encode()


def test_the_post_only_sample_is_a_cancel_with_bybits_reason() -> None:
    parsed = msgspec.json.decode(_sample(wire.WireOrder), type=wire.WireOrder)
    report = wire.order_report(parsed, SPOT)
    assert report.status is OrderStatus.CANCELLED and report.post_only
    assert report.reason == "EC_PostOnlyWillTakeLiquidity"
    assert (report.symbol, report.price, report.quantity) == ("BTC/USDT", 56800.0, 0.01)
    assert report.ts_event == 1723161255013 * 1_000_000


def test_execution_wallet_and_position_samples_become_reports() -> None:
    execution = msgspec.json.decode(_sample(wire.WireExecution), type=wire.WireExecution)
    trade = wire.trade_report(execution, SPOT)
    assert (trade.trade_id, trade.price, trade.quantity) == ("2100000000000000001", 56812.34, 0.002)
    assert trade.fee_currency == "BTC" and trade.liquidity is LiquiditySide.TAKER
    no_currency = msgspec.structs.replace(execution, feeCurrency="")
    assert wire.fee_currency(no_currency, SPOT) == "BTC"  # a spot buyer pays in base
    assert wire.fee_currency(msgspec.structs.replace(no_currency, side="Sell"), SPOT) == "USDT"
    assert wire.fee_currency(no_currency, LINEAR) == "USDT"
    wallet = msgspec.json.decode(_sample(wire.WireWallet), type=wire.WireWallet)
    usdt, btc = wire.balance_reports(wallet, "bybit", 1)
    assert (usdt.asset, usdt.free, usdt.locked) == ("USDT", 9432.0, 568.0)
    assert (btc.asset, btc.total) == ("BTC", 0.5)
    position = msgspec.json.decode(_sample(wire.WirePosition), type=wire.WirePosition)
    report = wire.position_report(position, LINEAR)
    assert (report.symbol, report.quantity, report.entry_price) == ("BTC/USDT:USDT", -0.01, 56810.5)


def test_order_bodies_are_printed_from_integers_on_the_grid() -> None:
    precision = Precision.of(instrument("bybit"))
    buy = order_requests.create_body(SPOT, precision, order("b", OrderSide.BUY, 0.3, 0.1 + 0.2))
    assert (buy["qty"], buy["price"], buy["timeInForce"]) == ("0.300000", "0.30", "GTC")
    sell = order_requests.create_body(SPOT, precision, order("s", OrderSide.SELL, 1e-6, 100.001))
    assert (sell["qty"], sell["price"]) == ("0.000001", "100.01")  # a sell rounds up
    market = order_requests.create_body(SPOT, precision, order("m", OrderSide.BUY, 0.0015))
    assert market["marketUnit"] == "baseCoin" and "price" not in market
    post = order_requests.create_body(
        SPOT, precision, order("p", OrderSide.BUY, 0.01, 10.0, post_only=True, reduce_only=True)
    )
    assert post["timeInForce"] == "PostOnly" and "reduceOnly" not in post  # spot refuses it
    linear = Precision.of(instrument("bybit-linear"))
    reduce = order_requests.create_body(
        LINEAR, linear, order("r", OrderSide.SELL, 0.0109, None, reduce_only=True)
    )
    assert (reduce["qty"], reduce["reduceOnly"], "marketUnit" in reduce) == ("0.010", True, False)
    amend = order_requests.amend_body(SPOT, precision, "BTC/USDT", "b", quantity=0.5, price=100.006)
    assert (amend["qty"], amend["price"]) == ("0.500000", "100.01")
    with pytest.raises(OrderRejectedError) as tiny:
        order_requests.create_body(SPOT, precision, order("t", OrderSide.BUY, 1e-7, 10.0))
    assert tiny.value.code == order_requests.LOCAL_CODE
    with pytest.raises(OrderRejectedError):
        stop = order("x", OrderSide.BUY, 0.01, 10.0, order_type=OrderType.STOP_MARKET)
        order_requests.create_body(SPOT, precision, stop)
    assert order_requests.scope(LINEAR, None) == {"category": "linear", "settleCoin": "USDT"}
    assert order_requests.scope(SPOT, None) == {"category": "spot"}


def test_signatures_sign_timestamp_key_window_and_payload_in_that_order() -> None:
    credentials = Credentials("key-1", "secret-1")
    headers = credentials.rest_headers(1658384314791, 5000, "category=spot&symbol=BTCUSDT")
    expected = hmac.new(
        b"secret-1", b"1658384314791key-15000category=spot&symbol=BTCUSDT", hashlib.sha256
    ).hexdigest()
    assert headers["X-BAPI-SIGN"] == expected and headers["X-BAPI-RECV-WINDOW"] == "5000"
    key, expires, sign = credentials.ws_auth_args(1662350400000)
    assert (key, expires) == ("key-1", 1662350400000)
    assert sign == hmac.new(b"secret-1", b"GET/realtime1662350400000", hashlib.sha256).hexdigest()
    assert "secret-1" not in repr(credentials)


@pytest.mark.parametrize(
    ("code", "acts", "error"),
    [
        (10001, True, OrderRejectedError), (10002, True, AuthenticationError),
        (10003, False, AuthenticationError), (10004, True, AuthenticationError),
        (10006, True, RateLimitedError), (10016, True, OrderStatusUnknownError),
        (10016, False, VenueUnavailableError), (110007, True, OrderRejectedError),
        (110079, True, VenueUnavailableError), (170131, True, OrderRejectedError),
        (999999, True, OrderRejectedError),
    ],
)  # fmt: skip
def test_ret_codes_map_to_exception_types(code: int, acts: bool, error: type) -> None:
    raised = error_for(code, "msg", "create x", acts, retry_after_s=2.5)
    assert type(raised) is error
    if isinstance(raised, RateLimitedError):
        assert raised.retry_after_s == 2.5
    if isinstance(raised, OrderRejectedError):
        assert raised.code == str(code)


def test_the_private_stream_url_is_found_from_a_root_or_a_public_url() -> None:
    assert (
        _private_url("wss://stream.bybit.com/v5/public/spot") == "wss://stream.bybit.com/v5/private"
    )
    assert _private_url("ws://127.0.0.1:9") == "ws://127.0.0.1:9/v5/private"
    assert _private_url("wss://x/v5/private") == "wss://x/v5/private"


class _Keys:
    """What the live config's ``Credentials`` holds."""

    api_key = "k"
    api_secret = "s"


def test_the_factory_defaults_to_testnet_and_takes_overrides() -> None:
    keys = _Keys()
    symbols = {"BTC/USDT": instrument("bybit")}
    testnet = build_client("bybit", keys, symbols)
    assert isinstance(testnet, BybitLiveClient)
    assert (testnet.rest_url, testnet.ws_url) == (TESTNET_REST_URL, TESTNET_WS_URL)
    production = build_client("bybit-linear", keys, {}, testnet=False)
    assert isinstance(production, BybitLiveClient) and production.name == "bybit-linear"
    assert production.ws_url == "wss://stream.bybit.com/v5/private"
    local = build_client(
        "bybit", keys, symbols, rest_url="http://127.0.0.1:9", ws_url="ws://127.0.0.1:9"
    )
    assert isinstance(local, BybitLiveClient)
    assert (local.rest_url, local.ws_url) == ("http://127.0.0.1:9", "ws://127.0.0.1:9/v5/private")
    assert local.supports_modify and local.supports_cancel_after
    assert set(VENUES) == {"bybit", "bybit-linear"}


def test_execution_history_is_asked_for_in_ranges_of_at_most_seven_days() -> None:
    day = 24 * 3600 * 1000
    now = 1_800_000_000_000
    assert _windows(0, now) == [{}]  # nothing known: Bybit's default, the last 7 days
    windows = _windows(now - 20 * day, now)
    spans = [(int(w["startTime"]), int(w["endTime"])) for w in windows]
    assert spans[0][0] == now - 20 * day and spans[-1][1] >= now
    assert all(end - start <= 7 * day for start, end in spans)
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(spans))
    assert len(_windows(now - 5000 * day, now)) == 105  # capped at the two years Bybit keeps
