"""Stream names and the msgpack envelopes: every kind round-trips exactly."""

from __future__ import annotations

import pytest

from tradefabric.core.errors import ConfigError, MalformedMessageError
from tradefabric.model.data import (
    Candle,
    Liquidation,
    MarkPrice,
    OpenInterest,
    OrderBookSnapshot,
    Quote,
    Trade,
    TradeGap,
)
from tradefabric.model.enums import AggressorSide
from tradefabric.streams import codec
from tradefabric.streams.errors import UndecodableEntryError

TS = 1_723_161_253_937_085_768
BTC = ("binance", "BTC/USDT")
PERP = ("binance-usdm", "BTC/USDT:USDT")
MINUTE = TS - TS % 60_000_000_000
EVENTS: dict[str, object] = {
    "trades": Trade(*BTC, 61685.99, 0.00081, AggressorSide.SELL, "3735683759", TS, TS + 5),
    "backfills": Trade(*BTC, 61686.0, 0.1, AggressorSide.BUY, "3735683760", TS, TS + 9),
    "gaps": TradeGap(*BTC, 100, 104, TS, TS + 1),
    "quotes": Quote(*BTC, 61685.99, 1.0087, 61686.0, 2.29327, 50093421584, TS, TS + 2),
    "candles": Candle(*BTC, "1m", MINUTE, 61600.1, 61700.0, 61590.5, 61685.99, 12.5, 420, 6.25,
                      61650.25, TS, TS + 3, revision=1, flags=2),
    "marks": MarkPrice(*PERP, 61690.1, 61688.3, 0.0001, TS + 3600 * 10**9, TS, TS),
    "liquidations": Liquidation(*PERP, AggressorSide.SELL, 61000.0, 0.5, TS, TS),
    "oi": OpenInterest(*PERP, 81234.567, TS, TS),
    "books": OrderBookSnapshot(*BTC, ((61685.99, 1.0087), (61685.98, 0.2)), ((61686.0, 2.29327),),
                               50093421584, TS, TS + 4),
}  # fmt: skip


@pytest.mark.parametrize("kind", codec.KINDS, ids=lambda k: k.name)
def test_every_kind_round_trips_with_its_tag(kind: codec.Kind[object]) -> None:
    event = EVENTS[kind.name]
    entry = kind.entry_type(TS, 42, event)
    payload = codec.encode(entry)
    decoded = codec.decode_entry(payload)
    assert type(decoded) is kind.entry_type
    assert decoded == entry
    assert decoded.event == event
    assert type(decoded.event) is kind.topic.message_type
    assert codec.KIND_OF_ENTRY[type(decoded)] is kind
    # The tag is the first element of the msgpack array: readable without tradefabric.
    assert kind.name.encode() in payload[: len(kind.name) + 2]


def test_every_market_data_topic_has_a_kind() -> None:
    assert [k.name for k in codec.KINDS] == list(EVENTS)
    assert len({k.topic for k in codec.KINDS}) == len(codec.KINDS)


def test_stream_names_keep_symbols_with_colons() -> None:
    key = codec.stream_key("tf", "marks", "binance-usdm", "BTC/USDT:USDT")
    assert key == "tf:marks:binance-usdm:BTC/USDT:USDT"
    name = codec.parse_stream_key(key)
    assert (name.prefix, name.kind, name.venue, name.symbol) == (
        "tf",
        "marks",
        "binance-usdm",
        "BTC/USDT:USDT",
    )
    assert codec.stream_key("tf", "trades", "binance", "BTC/USDT") == "tf:trades:binance:BTC/USDT"
    assert codec.clock_key("tf", "binance") == "tf:clock:binance"


@pytest.mark.parametrize("key", ["tf:clock:binance", "tf:trades:binance", "tf:nope:b:BTC/USDT"])
def test_what_is_not_a_data_stream_name_is_refused(key: str) -> None:
    with pytest.raises(ConfigError):
        codec.parse_stream_key(key)


@pytest.mark.parametrize("prefix", ["", "a:b", "a b"])
def test_bad_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(ConfigError):
        codec.check_prefix(prefix)


def test_kinds_by_name() -> None:
    assert [k.name for k in codec.kinds_named("trades, books,trades")] == ["trades", "books"]
    with pytest.raises(ConfigError, match="orders"):
        codec.kinds_named("trades,orders")
    with pytest.raises(ConfigError):
        codec.kinds_named("")


@pytest.mark.parametrize(
    "payload",
    [b"", b"\xc1", codec.encode(codec.Watermark(1, 2)), b"\x94\xa6orders\x01\x02\x80"],
    ids=["empty", "invalid", "watermark", "unknown-tag"],
)
def test_undecodable_entries_raise_a_data_error(payload: bytes) -> None:
    with pytest.raises(UndecodableEntryError) as info:
        codec.decode_entry(payload)
    assert isinstance(info.value, MalformedMessageError)


def test_watermarks_round_trip() -> None:
    mark = codec.Watermark(TS, 7, end=True)
    assert codec.decode_watermark(codec.encode(mark)) == mark
    with pytest.raises(UndecodableEntryError):
        codec.decode_watermark(b"\x93")
