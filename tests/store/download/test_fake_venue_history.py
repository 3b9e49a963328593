"""The fake venue's history endpoints answer as Binance documents them, over a real socket."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pyarrow import feather

from tests.store.download.conftest import BTC_CANDLES, RECORDING, ServedVenue
from tradefabric.model.data import Trade
from tradefabric.model.enums import AggressorSide
from tradefabric.venues.binance.markets import market
from tradefabric.venues.fakevenue.binance import BinanceScript
from tradefabric.venues.fakevenue.binance_history import (
    ENDPOINT_WEIGHTS,
    USED_WEIGHT_HEADER,
    WeightMeter,
    aggregate_trades,
)

DAY_MS = 86_400_000
AUG_8 = 1723075200000  # 2024-08-08T00:00Z
MINUTE = 60_000


def _feather_rows(shared_data: Path) -> dict[int, tuple[float, ...]]:
    table = feather.read_table(shared_data / BTC_CANDLES)
    dates = table.column("date").cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64()).to_pylist()
    columns = [table.column(c).to_pylist() for c in ("open", "high", "low", "close", "volume")]
    values = zip(*columns, strict=True)
    return dict(zip(dates, values, strict=True))


def test_klines_are_the_real_candles_in_binance_layout(venue: ServedVenue, shared_data: Path):
    status, headers, rows = venue.get(
        f"/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime={AUG_8}&limit=3"
    )
    assert status == 200
    assert headers[USED_WEIGHT_HEADER] == str(ENDPOINT_WEIGHTS["klines"])
    truth = _feather_rows(shared_data)
    assert [r[0] for r in rows] == [AUG_8, AUG_8 + MINUTE, AUG_8 + 2 * MINUTE]
    for row in rows:
        assert len(row) == 12
        assert row[6] == row[0] + MINUTE - 1
        assert all(isinstance(v, str) for v in row[1:6])
        assert tuple(float(v) for v in row[1:6]) == truth[row[0]]
        assert row[8] == -1  # trade count unknown in freqtrade files: never a false 0


def test_klines_time_filters_and_limits_follow_binance(venue: ServedVenue):
    def opens(query: str) -> list[int]:
        status, _, rows = venue.get(f"/api/v3/klines?symbol=BTCUSDT&interval=1m&{query}")
        assert status == 200, rows
        return [r[0] for r in rows]

    # startTime and endTime are inclusive bounds on the open time; startTime: the first `limit`.
    assert opens(f"startTime={AUG_8}&endTime={AUG_8 + 2 * MINUTE}") == [
        AUG_8, AUG_8 + MINUTE, AUG_8 + 2 * MINUTE,
    ]  # fmt: skip
    assert opens(f"startTime={AUG_8 + 1}&limit=1") == [AUG_8 + MINUTE]
    # endTime alone: the last `limit` up to it; neither: the most recent, default limit 500.
    assert opens(f"endTime={AUG_8}&limit=2") == [AUG_8 - MINUTE, AUG_8]
    latest = opens("")
    assert len(latest) == 500 and latest[-1] == 1724595780000  # 2024-08-25T14:23Z, the last row
    assert len(opens(f"startTime={AUG_8}&limit=1000")) == 1000
    assert opens("startTime=1900000000000") == []


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("symbol=BTCUSDT&interval=1m&limit=1001", -1130),
        ("symbol=BTCUSDT&interval=1m&limit=0", -1130),
        ("symbol=BTCUSDT&interval=7m", -1120),
        ("symbol=XRPUSDT&interval=1m", -1121),
        ("interval=1m", -1102),
        ("symbol=BTCUSDT&interval=1m&startTime=abc", -1100),
        (f"symbol=BTCUSDT&interval=1m&startTime={AUG_8}&endTime={AUG_8 - 1}", -1023),
    ],
)
def test_klines_reject_bad_requests_with_binance_codes(venue: ServedVenue, query: str, code: int):
    status, headers, body = venue.get(f"/api/v3/klines?{query}")
    assert (status, body["code"]) == (400, code)
    assert USED_WEIGHT_HEADER in headers


def test_longer_klines_are_built_from_whole_intervals_only(venue: ServedVenue, shared_data: Path):
    truth = _feather_rows(shared_data)
    _, _, rows = venue.get("/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime=0&limit=2")
    # The file starts at 14:15, so the 14:00 hour is incomplete and not served.
    assert rows[0][0] == 1722006000000  # 2024-07-26T15:00Z
    hour = [truth[rows[0][0] + i * MINUTE] for i in range(60)]
    assert float(rows[0][1]) == hour[0][0]
    assert float(rows[0][2]) == max(r[1] for r in hour)
    assert float(rows[0][3]) == min(r[2] for r in hour)
    assert float(rows[0][4]) == hour[-1][3]
    assert float(rows[0][5]) == pytest.approx(math.fsum(r[4] for r in hour), abs=1e-8)
    _, _, days = venue.get("/api/v3/klines?symbol=ETHUSDT&interval=1d&startTime=0&limit=1000")
    assert [d[0] for d in days][:2] == [1722038400000, 1722124800000]  # 07-27, 07-28: whole days
    assert len(days) == 29


def test_exchange_info_lists_every_served_symbol(venue: ServedVenue):
    status, headers, info = venue.get("/api/v3/exchangeInfo")
    assert status == 200
    assert int(headers[USED_WEIGHT_HEADER]) >= ENDPOINT_WEIGHTS["exchangeInfo"]
    symbols = {s["symbol"]: s for s in info["symbols"]}
    assert sorted(symbols) == ["BTCUSDT", "ETHUSDT"]
    filters = {f["filterType"]: f for f in symbols["BTCUSDT"]["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"


def test_agg_trades_cover_every_recorded_trade_once(venue: ServedVenue):
    aggs = venue.script.history.agg_trades("BTCUSDT")
    assert [a.agg_id for a in aggs] == list(range(aggs[0].agg_id, aggs[0].agg_id + len(aggs)))
    covered = [i for a in aggs for i in range(a.first_id, a.last_id + 1)]
    assert covered == list(range(covered[0], covered[0] + len(covered)))
    assert len(aggs) == 5813 and len(covered) > len(aggs)  # real aggregation happened
    assert all(a.time_ms > 0 and float(a.qty) > 0 for a in aggs)


def test_aggregation_merges_consecutive_fills_of_one_price_time_and_side():
    def trade(trade_id: int, price: float, ts_ms: int, side: AggressorSide = "buy") -> Trade:
        return Trade("binance", "BTC/USDT", price, 0.1, side, str(trade_id), ts_ms * 10**6, 0)

    trades = [
        trade(10, 100.0, 5), trade(11, 100.0, 5), trade(12, 100.5, 5),
        trade(13, 100.5, 5, "sell"), trade(15, 100.5, 5, "sell"), trade(16, 100.5, 6, "sell"),
    ]  # fmt: skip
    aggs = aggregate_trades(trades, first_agg_id=1)
    assert [(a.agg_id, a.first_id, a.last_id, a.qty) for a in aggs] == [
        (1, 10, 11, "0.20000000"), (2, 12, 12, "0.10000000"), (3, 13, 13, "0.10000000"),
        (4, 15, 15, "0.10000000"), (5, 16, 16, "0.10000000"),
    ]  # fmt: skip
    assert [a.buyer_is_maker for a in aggs] == [False, False, True, True, True]


def test_agg_trades_lookups_follow_binance(venue: ServedVenue):
    aggs = venue.script.history.agg_trades("BTCUSDT")
    first, t0 = aggs[0].agg_id, aggs[0].time_ms
    _, headers, page = venue.get(f"/api/v3/aggTrades?symbol=BTCUSDT&fromId={first + 10}&limit=5")
    assert [p["a"] for p in page] == list(range(first + 10, first + 15))
    assert headers[USED_WEIGHT_HEADER] == str(ENDPOINT_WEIGHTS["aggTrades"])
    assert set(page[0]) == {"a", "p", "q", "f", "l", "T", "m", "M"}
    _, _, window = venue.get(
        f"/api/v3/aggTrades?symbol=BTCUSDT&startTime={t0}&endTime={t0 + 3_600_000}&limit=1000"
    )
    assert [p["a"] for p in window] == list(range(first, first + 1000))
    _, _, recent = venue.get("/api/v3/aggTrades?symbol=BTCUSDT")
    assert len(recent) == 500 and recent[-1]["a"] == aggs[-1].agg_id
    for query, code in (
        (f"startTime={t0}&endTime={t0 + 3_600_001}", -1127),
        (f"fromId={first}&startTime={t0}", -1128),
        ("limit=5000", -1130),
    ):
        status, _, body = venue.get(f"/api/v3/aggTrades?symbol=BTCUSDT&{query}")
        assert (status, body["code"]) == (400, code)


def _three_requests_in_one_minute(shared_data: Path) -> list[tuple[int, dict[str, str], Any]]:
    script = BinanceScript(shared_data / RECORDING, market("binance"))
    script.history.weight.limit = 5
    script.history.add_klines(shared_data / BTC_CANDLES)
    with ServedVenue(script) as served:
        path = "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1"
        minute = time.time() // 60
        answers = [served.get(path) for _ in range(3)]
    # Binance's count starts again each minute: three requests straddling one prove nothing.
    return answers if time.time() // 60 == minute else []


def test_weight_limit_answers_429_with_retry_after(shared_data: Path):
    # A fresh venue per try: the second try cannot straddle a minute as well.
    answers = _three_requests_in_one_minute(shared_data) or _three_requests_in_one_minute(
        shared_data
    )
    assert answers, "both tries straddled a minute boundary"
    assert [a[0] for a in answers] == [200, 200, 429]
    _, headers, body = answers[-1]
    assert body["code"] == -1003
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert headers[USED_WEIGHT_HEADER] == "6"


def test_weight_meter_counts_per_minute():
    meter = WeightMeter(limit=10)
    assert [meter.charge(4, now_s=t) for t in (60.0, 61.0, 119.9, 120.0)] == [4, 8, 12, 4]
