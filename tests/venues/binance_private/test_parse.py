"""Binance's private payloads (the samples of ``wire``'s docstrings) as reports, and secrets."""

from __future__ import annotations

import msgspec
import pytest

from tests.venues.binance_private.conftest import ED25519_PRIVATE_PEM, order
from tradefabric.core.errors import (
    AuthenticationError,
    OrderRejectedError,
    OrderStatusUnknownError,
    RateLimitedError,
    VenueUnavailableError,
)
from tradefabric.execution.live.binance import wire
from tradefabric.execution.live.binance.config import Credentials
from tradefabric.execution.live.binance.errors import error_for
from tradefabric.execution.live.binance.orders import SPOT_ENCODING, USDM_ENCODING, order_params
from tradefabric.execution.live.binance.parse import BinanceParser
from tradefabric.execution.live.binance.signing import Ed25519Signer, HmacSigner, signer_for
from tradefabric.execution.precision import Precision
from tradefabric.model.orders import LiquiditySide, OrderSide, OrderStatus, OrderType

SPOT = BinanceParser("binance", lambda raw: "BTC/USDT")
USDM = BinanceParser("binance-usdm", lambda raw: "BTC/USDT:USDT")


def test_an_execution_report_trade_is_an_order_status_and_a_trade() -> None:
    raw = (
        b'{"e":"executionReport","E":1723161255342,"s":"BTCUSDT","c":"c1","S":"BUY","o":"LIMIT",'
        b'"f":"GTC","q":"0.01000000","p":"61827.63000000","C":"","x":"TRADE","X":"FILLED",'
        b'"i":1000001,"l":"0.01000000","z":"0.01000000","L":"61827.63000000","n":"0.61827630",'
        b'"N":"USDT","T":1723161255342,"t":5000001,"m":true,"O":1723161250000,"Z":"618.27630000"}'
    )
    report, trade = SPOT.execution_report(msgspec.json.decode(raw, type=wire.ExecutionReport))
    assert (report.status, report.filled_quantity, report.avg_price) == (
        OrderStatus.FILLED, 0.01, pytest.approx(61827.63),
    )  # fmt: skip
    assert report.ts_event == 1723161255342 * 1_000_000
    assert trade is not None
    assert (trade.trade_id, trade.liquidity, trade.fee, trade.fee_currency) == (
        "5000001", LiquiditySide.MAKER, pytest.approx(0.6182763), "USDT",
    )  # fmt: skip


def test_a_cancel_report_carries_the_order_s_own_client_id() -> None:
    raw = (
        b'{"e":"executionReport","E":1,"s":"BTCUSDT","c":"cancel-req-9","S":"SELL",'
        b'"o":"LIMIT_MAKER","f":"GTC","q":"0.1","p":"62000","C":"mine-1","x":"CANCELED",'
        b'"X":"CANCELED","i":7,"l":"0","z":"0","L":"0","n":"0","N":null,"T":2,"t":-1,"Z":"0"}'
    )
    report, trade = SPOT.execution_report(msgspec.json.decode(raw, type=wire.ExecutionReport))
    assert (report.client_order_id, report.status, report.post_only) == (
        "mine-1", OrderStatus.CANCELLED, True,
    )  # fmt: skip
    assert trade is None


def test_usdm_order_trade_update_and_account_update() -> None:
    raw = (
        b'{"e":"ORDER_TRADE_UPDATE","E":1723161255342,"T":1723161255342,"o":{"s":"BTCUSDT",'
        b'"c":"c1","S":"SELL","o":"MARKET","f":"GTC","q":"0.010","p":"0","ap":"56000.1",'
        b'"x":"TRADE","X":"FILLED","i":1000001,"l":"0.010","z":"0.010","L":"56000.1",'
        b'"N":"USDT","n":"0.224","T":1723161255342,"t":5000001,"m":false,"R":false}}'
    )
    report, trade = USDM.order_trade_update(msgspec.json.decode(raw, type=wire.OrderTradeUpdate))
    assert (report.symbol, report.order_type, report.price) == (
        "BTC/USDT:USDT",
        OrderType.MARKET,
        None,
    )
    assert trade is not None and trade.side is OrderSide.SELL and trade.price == 56000.1
    account = (
        b'{"e":"ACCOUNT_UPDATE","E":1723161255342,"T":1723161255342,"a":{"m":"ORDER",'
        b'"B":[{"a":"USDT","wb":"99999.77","cw":"99999.77","bc":"0"}],'
        b'"P":[{"s":"BTCUSDT","pa":"-0.010","ep":"56000.1","ps":"BOTH"}]}}'
    )
    balances, positions = USDM.account_update(msgspec.json.decode(account, type=wire.AccountUpdate))
    assert [(b.asset, b.free, b.locked) for b in balances] == [("USDT", 99999.77, 0.0)]
    assert [(p.symbol, p.quantity, p.entry_price) for p in positions] == [
        ("BTC/USDT:USDT", -0.01, 56000.1)
    ]


def test_wire_prices_and_sizes_are_printed_from_the_instrument_grid() -> None:
    precision = Precision("0.01", "0.00001")
    buy = order_params(
        order("b", OrderSide.BUY, 0.123456789, 61827.639), "BTCUSDT", precision, SPOT_ENCODING
    )
    assert (buy["price"], buy["quantity"], buy["timeInForce"]) == ("61827.63", "0.12345", "GTC")
    sell = order_params(
        order("s", OrderSide.SELL, 0.3, 0.1 + 0.2, post_only=True),
        "BTCUSDT",
        precision,
        SPOT_ENCODING,
    )
    # 0.1 + 0.2 is 0.30000000000000004: float noise does not push a sell up a tick.
    assert (sell["price"], sell["quantity"], sell["type"]) == ("0.30", "0.30000", "LIMIT_MAKER")
    assert "timeInForce" not in sell
    futures = order_params(
        order("f", OrderSide.BUY, 0.0015, 56000.05, post_only=True), "BTCUSDT",
        Precision("0.10", "0.001"), USDM_ENCODING,
    )  # fmt: skip
    assert (futures["price"], futures["quantity"], futures["timeInForce"]) == (
        "56000.0",
        "0.001",
        "GTX",
    )


@pytest.mark.parametrize(
    ("status", "code", "order_entry", "expected"),
    [
        (429, -1003, False, RateLimitedError),
        (418, -1003, True, RateLimitedError),
        (503, -1007, True, OrderStatusUnknownError),
        (400, -1006, False, OrderStatusUnknownError),
        (502, 0, True, OrderStatusUnknownError),
        (502, 0, False, VenueUnavailableError),
        (400, -1022, False, AuthenticationError),
        (400, -1021, True, AuthenticationError),
        (400, -2010, True, OrderRejectedError),
        (400, -1013, True, OrderRejectedError),
    ],
)
def test_binance_errors_map_to_exception_types(
    status: int, code: int, order_entry: bool, expected: type[Exception]
) -> None:
    assert (
        type(error_for(status, code, "msg", order_entry=order_entry, retry_after_s=2.0)) is expected
    )


def test_secrets_are_never_in_a_repr() -> None:
    secret = "very-secret-hmac"
    assert secret not in repr(Credentials("key", secret))
    assert secret not in repr(HmacSigner(secret))
    assert "PRIVATE" not in repr(signer_for(ED25519_PRIVATE_PEM))
    assert isinstance(signer_for(ED25519_PRIVATE_PEM), Ed25519Signer)
