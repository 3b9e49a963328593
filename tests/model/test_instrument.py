import msgspec
import pytest

from tradefabric.model.enums import InstrumentKind
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.instrument import Instrument


def _btc() -> Instrument:
    return Instrument(
        venue="binance-usdm", symbol="BTC/USDT:USDT", raw_symbol="BTCUSDT", base="BTC",
        quote="USDT", kind=InstrumentKind.PERPETUAL, price_increment="0.10",
        size_increment="0.001", min_size="0.001", min_notional="100",
    )  # fmt: skip


def test_instrument_id_is_the_one_instrument_id() -> None:
    instrument = _btc()
    assert instrument.id == InstrumentId("binance-usdm", "BTC/USDT:USDT")
    assert str(instrument.id) == "binance-usdm:BTC/USDT:USDT"
    assert instrument.price_precision == 1
    assert instrument.size_precision == 3


def test_instrument_is_frozen_and_round_trips_through_json() -> None:
    instrument = _btc()
    with pytest.raises(AttributeError):
        instrument.min_notional = "5"  # type: ignore[misc]
    decoded = msgspec.json.decode(msgspec.json.encode(instrument), type=Instrument)
    assert decoded == instrument
    assert decoded.contract_size == "1"
