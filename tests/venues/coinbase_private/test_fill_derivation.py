"""Fills derived from cumulative order state: increments, duplicates, late older states."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.venues.coinbase_private.conftest import new_key
from tradefabric.core.errors import ConfigError
from tradefabric.execution.live.coinbase.factory import build_client
from tradefabric.execution.live.coinbase.fills import (
    CumulativeState,
    FillDeriver,
    cumulative_id,
    merge_to_checkpoints,
)
from tradefabric.execution.live.reports import TradeReport
from tradefabric.model.enums import InstrumentKind
from tradefabric.model.instrument import Instrument
from tradefabric.model.orders import LiquiditySide, OrderSide


def _state(qty: str, avg: str, fees: str) -> CumulativeState:
    return CumulativeState(Decimal(qty), Decimal(avg), Decimal(fees))


def test_each_increase_is_one_fill_and_repeats_or_older_states_add_none() -> None:
    deriver = FillDeriver()
    kw = {"limit": Decimal("100.00"), "post_only": False, "tick": Decimal("0.01")}
    assert deriver.apply("o1", _state("0", "0", "0"), **kw) is None  # type: ignore[arg-type]
    first = deriver.apply("o1", _state("0.30000000", "100.00", "0.12"), **kw)  # type: ignore[arg-type]
    assert first is not None
    assert (first.trade_id, first.quantity, first.price, first.fee, first.maker) == (
        "o1:0.3", Decimal("0.3"), Decimal("100.00"), Decimal("0.12"), True,
    )  # fmt: skip
    # Second execution at 99.50: avg (0.3*100 + 0.2*99.5)/0.5 = 99.8
    second = deriver.apply("o1", _state("0.5", "99.8", "0.20"), **kw)  # type: ignore[arg-type]
    assert second is not None
    assert (second.trade_id, second.quantity, second.price, second.fee) == (
        "o1:0.5", Decimal("0.2"), Decimal("99.50"), Decimal("0.08"),
    )  # fmt: skip
    assert second.maker is False  # better than its limit: it crossed
    assert deriver.apply("o1", _state("0.5", "99.8", "0.20"), **kw) is None  # type: ignore[arg-type]
    assert deriver.is_stale("o1", _state("0.3", "100", "0.12"))
    assert deriver.duplicates == 1
    assert cumulative_id("o1", Decimal("0.50000000")) == "o1:0.5"


def test_the_registry_factory_takes_the_instruments_and_refuses_a_sandbox_without_ws() -> None:
    inst = Instrument(
        venue="coinbase", symbol="BTC/USDT", raw_symbol="BTC-USDT", base="BTC", quote="USDT",
        kind=InstrumentKind.SPOT, price_increment="0.01", size_increment="0.00000001",
    )  # fmt: skip
    private, _public = new_key()
    keys = _Keys("organizations/o/apiKeys/k", private)
    client = build_client(
        "coinbase", keys, {"BTC/USDT": inst}, testnet=False, rest_url="", ws_url=""
    )
    assert client.config.rest_url == "https://api.coinbase.com"
    assert client.config.symbols == ("BTC/USDT",)
    assert client.config.increments["BTC/USDT"] == ("0.01", "0.00000001")
    assert "PRIVATE" not in repr(client.stream._signer)
    with pytest.raises(ConfigError, match="ws_url"):
        build_client("coinbase", keys, {}, testnet=True, rest_url="", ws_url="")


class _Keys:
    def __init__(self, api_key: str, api_secret: str) -> None:
        self.api_key = api_key
        self.api_secret = api_secret


def _trade(cum: str, qty: float, price: float, ts: int) -> TradeReport:
    return TradeReport(
        venue="coinbase", symbol="BTC/USDT", client_order_id="c", venue_order_id="o",
        trade_id=f"o:{cum}", side=OrderSide.BUY, price=price, quantity=qty, fee=qty,
        fee_currency="USDT", liquidity=LiquiditySide.TAKER, ts_event=ts,
    )  # fmt: skip


def test_rest_fills_merge_into_a_coalesced_stream_fill_and_stay_single_after_it() -> None:
    rest = [_trade("0.3", 0.3, 100.0, 1), _trade("0.5", 0.2, 99.5, 2), _trade("0.6", 0.1, 99.0, 3)]
    merged = merge_to_checkpoints(rest, {"o": frozenset({Decimal("0.5")})})
    assert [(t.trade_id, t.quantity, t.fee) for t in merged] == [
        ("o:0.5", pytest.approx(0.5), pytest.approx(0.5)),
        ("o:0.6", 0.1, 0.1),
    ]
    assert merged[0].price == pytest.approx((0.3 * 100 + 0.2 * 99.5) / 0.5)
    assert merge_to_checkpoints(rest, {}) == rest
