"""Replay the real Binance recordings end to end: counts, books, candles, catalog."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from pyarrow import feather

from tests.conftest import report_figure, shared_data_dir
from tests.integration.recordings import RECORDINGS, count_kinds, read_lines
from tradefabric.core.time import NS_PER_MINUTE, floor_ns
from tradefabric.data import topics
from tradefabric.data.candle_check import ReferenceCandle, check_candles
from tradefabric.model.data import Candle, Trade
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.market_data import MarketDataNode
from tradefabric.store.catalog import Catalog

# Exact frame counts of each recording (also recounted independently below).
EXPECTED_TRADES = {"spot_btcusdt": 9_757, "spot_ethusdt": 6_106, "usdm_btcusdt": 21_313}


@cache
def independent_counts(name: str) -> Counter[str]:
    return count_kinds(read_lines(shared_data_dir() / "binance_ws" / RECORDINGS[name][0]))


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_replay_counts_books_and_catalog(shared_data: Path, tmp_path: Path, name: str) -> None:
    file, venue, symbol = RECORDINGS[name]
    node = MarketDataNode(MarketDataConfig(venue=venue, catalog=tmp_path, check_books=True))
    summary = node.replay(shared_data / "binance_ws" / file)

    counts = independent_counts(name)
    assert counts["trade"] == EXPECTED_TRADES[name]
    assert summary.events.trades == counts["trade"]
    assert summary.events.quotes == counts["quote"]
    assert summary.events.book_deltas == counts["depth"]
    assert summary.events.book_snapshots == counts["snapshot"] == 1
    assert summary.replay.rejected == {}
    assert summary.replay.frames_accepted == summary.replay.lines

    (book,) = summary.books
    assert (book.symbol, book.valid, book.gaps, book.resyncs) == (symbol, True, 0, 0)
    check = summary.book_check
    assert check is not None
    report_figure(
        f"{name}: book top = bookTicker at equal update ids in {check.matches}/"
        f"{check.comparisons} ({check.match_rate:.4%}); trades {summary.events.trades}"
    )
    assert check.comparisons > 500
    assert check.match_rate >= 0.999

    stored = Catalog(tmp_path).query(
        "SELECT count(*), count(DISTINCT trade_id), min(venue), min(symbol) FROM trades"
    )
    assert stored.rows == ((counts["trade"], counts["trade"], venue, symbol),)
    quotes = Catalog(tmp_path).query("SELECT count(*) FROM quotes")
    assert quotes.rows == ((counts["quote"],),)


def test_first_trade_is_stored_exactly(shared_data: Path, tmp_path: Path) -> None:
    # {"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000",
    #  "q":"0.02000000","T":1723161255342,"m":true,"M":true}, received at 1723161254087896568
    node = MarketDataNode(MarketDataConfig(venue="binance", catalog=tmp_path))
    node.replay(shared_data / "binance_ws" / "spot_btcusdt_20240808.gz")
    first = Catalog(tmp_path).query(
        "SELECT ts_event, ts_recv, price, size, side, trade_id FROM trades ORDER BY ts_event, "
        "CAST(trade_id AS BIGINT) LIMIT 1"
    )
    assert first.rows == (
        (1723161255342000000, 1723161254087896568, 61837.63, 0.02, "sell", "3735683259"),
    )


def _reference(shared_data: Path, symbol: str) -> list[ReferenceCandle]:
    base, quote = symbol.split("/")
    pattern = f"binance_{base}_{quote}-1m_*.feather"
    (path,) = (shared_data / "candles_1m").glob(pattern)
    start = dt.datetime(2024, 8, 8, 23, 50, tzinfo=dt.UTC)
    end = dt.datetime(2024, 8, 9, 0, 5, tzinfo=dt.UTC)
    rows = feather.read_table(path).to_pylist()
    return [
        ReferenceCandle(int(r["date"].timestamp()) * 1_000_000_000, r["open"], r["high"],
                        r["low"], r["close"], r["volume"])
        for r in rows
        if start <= r["date"] <= end
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["spot_btcusdt", "spot_ethusdt"])
def test_1m_candles_equal_binance_klines(shared_data: Path, name: str) -> None:
    file, venue, symbol = RECORDINGS[name]
    node = MarketDataNode(MarketDataConfig(venue=venue, candle_intervals=("1s", "1m")))
    built: list[Candle] = []
    trades: list[Trade] = []
    node.bus.subscribe(topics.CANDLES, built.append)
    node.bus.subscribe(topics.TRADES, trades.append)
    node.replay(shared_data / "binance_ws" / file)

    minutes = [c for c in built if c.interval == "1m"]
    covered_from = floor_ns(trades[0].ts_event, NS_PER_MINUTE) + NS_PER_MINUTE
    check = check_candles(
        minutes, _reference(shared_data, symbol), covered_from, trades[-1].ts_event
    )
    report_figure(
        f"{name}: 1m candles from trades = Binance klines {check.matched}/{check.compared}"
    )
    assert check.mismatches == []
    assert (check.compared, check.matched, check.missing_reference) == (5, 5, 0)
    seconds = [c for c in built if c.interval == "1s"]
    assert sum(c.trades for c in seconds) == sum(c.trades for c in minutes) == len(trades)
