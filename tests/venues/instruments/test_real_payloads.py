"""The parsers on real exchange info replies (``ws_captures`` REST lines, ``format_fixtures``).

Expected values were read off the raw replies by hand (``grep`` of the BTC entry).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.instrument import Instrument
from tradefabric.venues.exchange_info import parse_instruments
from tradefabric.venues.registry import venue_entry


def _capture(shared_data: Path, name: str) -> bytes:
    """Return the JSON of a ``<url> -> <ts>: <json>`` REST capture line."""
    line = (shared_data / "ws_captures" / name).read_text().splitlines()[0]
    return line.partition(": ")[2].encode()


def _parse(venue: str, raw: bytes) -> dict[InstrumentId, Instrument]:
    source = venue_entry(venue).instruments
    assert source is not None
    return {i.id: i for i in parse_instruments(source, raw)}


# venue, where the reply is, how many instruments it lists, symbol,
# (tick, lot, min size, min notional)
CASES = [
    ("binance", "ws_captures/BINANCE.0", 1695, "BTC/USDT", ("0.01", "0.00001", "0.00001", "10")),
    ("binance-usdm", "ws_captures/BINANCE_FUTURES.0", 119, "BTC/USDT:USDT",
     ("0.01", "0.001", "0.001", "5")),
    ("bybit", "format_fixtures/bybit/http_get_instruments_spot.json", 2, "BTC/USDT",
     ("0.1", "0.0001", "0.001", "10")),
    ("bybit-linear", "format_fixtures/bybit/http_get_instruments_linear.json", 2,
     "ETH/USDT:USDT", ("0.05", "0.01", "0.01", "5")),
    ("coinbase", "format_fixtures/coinbase/http_products.json", 2, "BTC/USD",
     ("0.01", "0.00000001", "0.00000001", "1")),
    ("kraken", "format_fixtures/kraken/http_asset_pairs.json", 1, "BTC/USDT",
     ("0.1", "0.00000001", "0.00005", "0.5")),
    # 2021: no tick_size and no costmin yet; the tick is 10^-pair_decimals.
    ("kraken", "ws_captures/KRAKEN.0", None, "BTC/USD", ("0.1", "0.00000001", "0.0002", "0")),
]  # fmt: skip


@pytest.mark.parametrize(("venue", "where", "count", "symbol", "expected"), CASES)
def test_real_reply_gives_the_venues_filters(
    shared_data: Path,
    *,
    venue: str,
    where: str,
    count: int | None,
    symbol: str,
    expected: tuple[str, str, str, str],
) -> None:
    path = shared_data / where
    raw = _capture(shared_data, path.name) if where.startswith("ws_captures") else path.read_bytes()
    found = _parse(venue, raw)
    if count is not None:
        assert len(found) == count
    instrument = found[InstrumentId(venue, symbol)]
    assert (
        instrument.price_increment,
        instrument.size_increment,
        instrument.min_size,
        instrument.min_notional,
    ) == expected
    assert instrument.contract_size == "1"


def test_binance_usdm_capture_leaves_out_quarterly_futures(shared_data: Path) -> None:
    found = _parse("binance-usdm", _capture(shared_data, "BINANCE_FUTURES.0"))
    # The reply lists 119 perpetuals, two CURRENT_QUARTER futures and one blank contractType.
    assert all(i.symbol.endswith(":USDT") or i.symbol.endswith(":BUSD") for i in found.values())
    assert not any("_" in i.raw_symbol for i in found.values())
