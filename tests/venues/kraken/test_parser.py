"""Kraken v2 parser: current-format fixtures in, exact domain events out; bad frames rejected."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tradefabric.core.errors import MalformedMessageError, StaleMessageError, UnknownStreamError
from tradefabric.model.data import Candle, OrderBookDeltas, OrderBookSnapshot, Quote, Trade
from tradefabric.model.enums import AggressorSide
from tradefabric.venues.kraken.markets import PairPrecision
from tradefabric.venues.kraken.timestamps import ns_to_rfc3339, rfc3339_to_ns

from .conftest import Pipeline, fixture_bytes

T0 = 1_700_000_000_000_000_000


def test_trade_fixture_gives_exact_trades(pipeline: Pipeline, kraken_fixtures: Path) -> None:
    pipeline.parser.on_frame(fixture_bytes(kraken_fixtures, "ws_trade_update.json"), T0)
    assert pipeline.events.trades == [
        Trade("kraken", "BTC/USD", 105944.2, 0.00027625, AggressorSide.BUY, "10218208",
              1_696_613_755_440_295_000, T0),
        Trade("kraken", "BTC/USD", 105910.5, 0.0001246, AggressorSide.SELL, "10218209",
              1_696_613_756_123_456_000, T0),
    ]  # fmt: skip
    assert pipeline.events.gaps == []


def test_ticker_fixture_gives_quote(pipeline: Pipeline, kraken_fixtures: Path) -> None:
    pipeline.parser.on_frame(fixture_bytes(kraken_fixtures, "ws_ticker_snapshot.json"), T0)
    assert pipeline.events.quotes == [
        Quote("kraken", "BTC/USD", 105944.2, 2.5, 105944.3, 3.2, -1,
              rfc3339_to_ns("2022-12-25T09:30:59.123456Z"), T0)
    ]  # fmt: skip


def test_book_fixtures_give_snapshot_and_deltas(pipeline: Pipeline, kraken_fixtures: Path) -> None:
    pipeline.parser.on_frame(fixture_bytes(kraken_fixtures, "ws_book_snapshot.json"), T0)
    pipeline.parser.on_frame(fixture_bytes(kraken_fixtures, "ws_book_update.json"), T0 + 1)
    ts = rfc3339_to_ns("2023-10-06T17:35:55.440295Z")
    assert pipeline.events.snapshots == [
        OrderBookSnapshot(
            "kraken", "BTC/USD",
            ((105944.2, 0.136), (105935.4, 0.024), (105920.1, 0.052)),
            ((105944.3, 0.136), (105946.9, 0.095), (105955.8, 0.003)),
            1, ts, T0, 2439117997,
        )
    ]  # fmt: skip
    assert pipeline.events.deltas == [
        OrderBookDeltas("kraken", "BTC/USD", ((105944.2, 0.25),), (), 2, 2, -1, ts, T0 + 1,
                        2114181697)
    ]  # fmt: skip


def test_fixture_checksums_are_not_kraken_numbers(
    pipeline: Pipeline, kraken_fixtures: Path
) -> None:
    """The doc-style fixtures carry made-up checksums: the book rule must refuse them."""
    pipeline.parser.on_frame(fixture_bytes(kraken_fixtures, "ws_book_snapshot.json"), T0)
    [status] = pipeline.events.statuses
    assert not status.valid
    assert "checksum mismatch" in status.reason
    book = pipeline.books.synced("kraken", "BTC/USD")
    assert book is not None and book.stats().checksum_failures == 1


def test_ohlc_publishes_candle_only_when_interval_closed(
    pipeline: Pipeline, kraken_fixtures: Path
) -> None:
    raw = json.loads((kraken_fixtures / "ws_ohlc_update.json").read_text())
    pipeline.parser.on_frame(json.dumps(raw).encode(), T0)
    bar = raw["data"][0]
    bar.update(close=106041.0, high=106045.0, trades=13)
    pipeline.parser.on_frame(json.dumps(raw).encode(), T0 + 1)
    assert pipeline.events.candles == []
    bar.update(interval_begin="2023-10-04T16:26:00.000000000Z", open=106041.0, trades=1)
    pipeline.parser.on_frame(json.dumps(raw).encode(), T0 + 2)
    [candle] = pipeline.events.candles
    begin = rfc3339_to_ns("2023-10-04T16:25:00Z")
    assert candle.ts_open == begin and candle.ts_event == begin + 60 * 10**9
    assert (candle.open, candle.high, candle.low, candle.close) == (
        106038.2, 106045.0, 106038.1, 106041.0,
    )  # fmt: skip
    assert (candle.volume, candle.trades, candle.vwap, candle.interval) == (
        30927.68066226, 13, 106039.6, "1m",
    )  # fmt: skip
    assert candle.ts_recv == T0 + 2 and math.isnan(candle.buy_volume)
    bar.update(interval_begin="2023-10-04T16:25:00.000000000Z")
    with pytest.raises(StaleMessageError):
        pipeline.parser.on_frame(json.dumps(raw).encode(), T0 + 3)
    assert pipeline.parser.flush_candles(begin + 2 * 60 * 10**9) == 1
    assert [c.ts_open for c in pipeline.events.candles] == [begin, begin + 60 * 10**9]
    assert isinstance(pipeline.events.candles[1], Candle)


def test_control_frames_are_counted(pipeline: Pipeline, kraken_fixtures: Path) -> None:
    parser = pipeline.parser
    parser.on_frame(fixture_bytes(kraken_fixtures, "ws_subscribe_response.json"), T0)
    parser.on_frame(fixture_bytes(kraken_fixtures, "ws_pong.json"), T0)
    parser.on_frame(b'{"channel":"heartbeat"}', T0)
    parser.on_frame(b'{"channel":"heartbeat"}', T0)
    parser.on_frame(
        b'{"channel":"status","type":"update","data":[{"api_version":"v2",'
        b'"connection_id":12393906104898154338,"system":"online","version":"2.0.4"}]}',
        T0,
    )
    parser.on_frame(
        b'{"error":"Currency pair not supported","method":"subscribe","success":false,'
        b'"symbol":"BTC/US","time_in":"2023-09-25T09:04:31.742599Z",'
        b'"time_out":"2023-09-25T09:04:31.742648Z"}',
        T0,
    )
    stats = parser.stats()
    assert (stats.acks, stats.ack_failures, stats.heartbeats, stats.pongs) == (1, 1, 2, 1)
    assert (stats.status_updates, stats.system_status) == (1, "online")
    assert stats.last_error == "subscribe BTC/US: Currency pair not supported"


def test_book_ack_sets_depth_and_instrument_sets_precision(pipeline: Pipeline) -> None:
    parser = pipeline.parser
    parser.on_frame(
        b'{"method":"subscribe","result":{"channel":"book","depth":25,"snapshot":true,'
        b'"symbol":"SOL/EUR"},"success":true,"time_in":"x","time_out":"y"}',
        T0,
    )
    parser.on_frame(
        b'{"channel":"instrument","type":"snapshot","data":{"assets":[],"pairs":[{"symbol":'
        b'"SOL/EUR","base":"SOL","quote":"EUR","status":"online","qty_precision":8,'
        b'"price_precision":2,"price_increment":0.01}]}}',
        T0,
    )
    assert parser.pairs.depth("SOL/EUR") == 25
    assert parser.pairs.precision("SOL/EUR") == PairPrecision(2, 8)
    assert parser.stats().instruments == 1


def _trade(trade_id: int, price: str = "100.5", qty: str = "0.1") -> bytes:
    return (
        '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell",'
        f'"price":{price},"qty":{qty},"ord_type":"market","trade_id":{trade_id},'
        '"timestamp":"2023-10-06T17:35:55.440295Z"}]}'
    ).encode()


def test_trade_ids_gap_and_stale(pipeline: Pipeline) -> None:
    pipeline.parser.on_frame(_trade(10), T0)
    pipeline.parser.on_frame(_trade(13), T0)
    [gap] = pipeline.events.gaps
    assert (gap.first_missing, gap.last_missing, gap.missing) == (11, 12, 2)
    with pytest.raises(StaleMessageError):
        pipeline.parser.on_frame(_trade(13), T0)
    assert [t.trade_id for t in pipeline.events.trades] == ["10", "13"]


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b'{"channel":"trade","type":"update","data":[{"symbol"', MalformedMessageError),
        (b"not json", MalformedMessageError),
        (b"[1,2]", MalformedMessageError),
        (_trade(1, price="NaN"), MalformedMessageError),
        (_trade(1, price='"NaN"'), MalformedMessageError),
        (_trade(1, price="-5"), MalformedMessageError),
        (_trade(1, qty="-0.1"), MalformedMessageError),
        (_trade(1, qty="0"), MalformedMessageError),
        (_trade(1, price="1e400"), MalformedMessageError),
        (b'{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":1.0,'
         b'"qty":-1}],"asks":[],"checksum":1}]}', MalformedMessageError),
        (b'{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],"asks":[],'
         b'"checksum":-1}]}', MalformedMessageError),
        (b'{"channel":"trade","type":"update","data":[{"symbol":"BTCUSD","side":"buy",'
         b'"price":1.0,"qty":1.0,"trade_id":1,"timestamp":"2023-10-06T17:35:55Z"}]}',
         MalformedMessageError),
        (b'{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy",'
         b'"price":1.0,"qty":1.0,"trade_id":1,"timestamp":"2023-13-06T17:35:55Z"}]}',
         MalformedMessageError),
        (b'{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"up",'
         b'"price":1.0,"qty":1.0,"trade_id":1,"timestamp":"2023-10-06T17:35:55Z"}]}',
         MalformedMessageError),
        (b'{"channel":"level3","type":"update","data":[]}', UnknownStreamError),
        (b'{"channel":"book","type":"snapshot","data":[{"symbol":"NEW/COIN","bids":[],'
         b'"asks":[],"checksum":0}]}', UnknownStreamError),
        (b'{"req_id":3}', UnknownStreamError),
        (b'{"method":"subscribe","success":"yes"}', MalformedMessageError),
    ],
)  # fmt: skip
def test_bad_frames_raise_data_errors(
    pipeline: Pipeline, raw: bytes, error: type[Exception]
) -> None:
    with pytest.raises(error):
        pipeline.parser.on_frame(raw, T0)
    assert pipeline.events.trades == [] and pipeline.events.snapshots == []


def test_timestamps_round_trip() -> None:
    for text in ("2023-10-06T17:35:55.440295Z", "2023-10-04T16:25:00.000000000Z"):
        assert rfc3339_to_ns(text) == rfc3339_to_ns(ns_to_rfc3339(rfc3339_to_ns(text)))
    assert rfc3339_to_ns("1970-01-01T00:00:01.5Z") == 1_500_000_000
    assert ns_to_rfc3339(1_500_000_001) == "1970-01-01T00:00:01.500000001Z"
