import pytest

from tradefabric.core.errors import ConfigError
from tradefabric.model.identifiers import InstrumentId


def test_instrument_id_round_trips_through_text_and_hashes_by_value() -> None:
    perp = InstrumentId.parse("bybit:BTC/USDT:USDT")
    assert perp == InstrumentId(venue="bybit", symbol="BTC/USDT:USDT")
    assert str(perp) == "bybit:BTC/USDT:USDT"
    assert {perp: 1}[InstrumentId("bybit", "BTC/USDT:USDT")] == 1
    assert sorted([perp, InstrumentId("binance", "ETH/USDT")])[0].venue == "binance"


@pytest.mark.parametrize("text", ["BTC/USDT", ":BTC/USDT", "binance:"])
def test_instrument_id_without_venue_or_symbol_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match="venue:symbol"):
        InstrumentId.parse(text)
