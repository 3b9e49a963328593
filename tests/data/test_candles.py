"""CandleAggregator: hand-made trades through a real bus and SimClock, then real Binance data."""

from __future__ import annotations

import gzip
from pathlib import Path

import msgspec
import pyarrow as pa
import pytest
from pyarrow import feather
from structlog.testing import capture_logs

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import NS_PER_DAY
from tradefabric.data import topics
from tradefabric.data.candles import CandleAggregator, CandleStats
from tradefabric.model.data import Candle, Trade
from tradefabric.model.enums import AggressorSide, CandleFlag, EmptyCandlePolicy

SEC = 1_000_000_000
MIN = 60 * SEC
T0 = 1_723_161_600 * SEC  # 2024-08-09 00:00:00 UTC, a whole minute
BUY = AggressorSide.BUY
SELL = AggressorSide.SELL


class Rig:
    """A bus, a SimClock at T0, an aggregator and the candles it published."""

    def __init__(self, **kwargs: object) -> None:
        self.bus = MessageBus()
        self.clock = SimClock(start_ns=T0)
        self.agg = CandleAggregator(self.bus, self.clock, **kwargs)  # type: ignore[arg-type]
        self.candles: list[Candle] = []
        self.bus.subscribe(topics.CANDLES, self.candles.append)
        self._ids = 0

    def trade(
        self,
        ts: int,
        price: float,
        size: float = 1.0,
        side: AggressorSide = BUY,
        *,
        venue: str = "binance",
        symbol: str = "BTC/USDT",
    ) -> None:
        self._ids += 1
        trade = Trade(venue, symbol, price, size, side, str(self._ids), ts, ts)
        self.bus.publish(topics.TRADES, trade)

    def series(
        self, interval: str, symbol: str = "BTC/USDT", venue: str = "binance"
    ) -> list[Candle]:
        return [
            c
            for c in self.candles
            if c.interval == interval and c.symbol == symbol and c.venue == venue
        ]


def assert_flat(candle: Candle, ts_open: int, price: float, interval_ns: int = MIN) -> None:
    assert candle.ts_open == ts_open
    assert candle.ts_event == ts_open + interval_ns
    assert (candle.open, candle.high, candle.low, candle.close) == (price, price, price, price)
    assert (candle.volume, candle.trades, candle.buy_volume, candle.vwap) == (0.0, 0, 0.0, price)


def test_ohlcv_trades_buy_volume_and_vwap_are_exact() -> None:
    rig = Rig(intervals=("1m",))
    # Binary-exact prices and sizes, so every sum below is exact in floating point.
    rig.trade(T0 + 1 * SEC, 100.0, 1.0, BUY)
    rig.trade(T0 + 2 * SEC, 102.0, 2.0, SELL)
    rig.trade(T0 + 3 * SEC, 99.0, 0.5, BUY)
    rig.trade(T0 + 4 * SEC, 101.0, 1.5, SELL)
    assert rig.candles == []

    rig.clock.advance_to(T0 + 30 * SEC)
    rig.agg.flush()

    assert rig.candles == [
        Candle(
            venue="binance",
            symbol="BTC/USDT",
            interval="1m",
            ts_open=T0,
            open=100.0,
            high=102.0,
            low=99.0,
            close=101.0,
            volume=5.0,
            trades=4,
            buy_volume=1.5,
            vwap=(100.0 + 204.0 + 49.5 + 151.5) / 5.0,
            ts_event=T0 + MIN,
            ts_recv=T0 + 30 * SEC,
            flags=CandleFlag.PARTIAL,  # flushed 30 s into its minute
        )
    ]
    assert rig.agg.stats() == CandleStats(candles_emitted=1, late_trades=0)


def test_a_single_trade_is_its_own_ohlc_and_vwap() -> None:
    rig = Rig(intervals=("1s",))
    rig.trade(T0 + 500_000_000, 61_000.25, 0.1, SELL)
    rig.agg.flush()

    (candle,) = rig.candles
    assert (candle.open, candle.high, candle.low, candle.close) == (61_000.25,) * 4
    assert (candle.volume, candle.trades, candle.buy_volume) == (0.1, 1, 0.0)
    assert candle.vwap == 61_000.25
    assert (candle.ts_open, candle.ts_event) == (T0, T0 + SEC)


def test_first_trade_past_the_end_closes_the_candle() -> None:
    rig = Rig(intervals=("1m",))
    rig.trade(T0, 10.0)
    rig.trade(T0 + MIN - 1, 11.0)
    assert rig.candles == []

    rig.trade(T0 + MIN, 12.0, 3.0)

    (closed,) = rig.candles
    assert (closed.ts_open, closed.close, closed.trades, closed.volume) == (T0, 11.0, 2, 2.0)
    # The clock never moved, so the candle is stamped with its time, not the trade's.
    assert closed.ts_recv == T0

    rig.agg.flush()
    assert [(c.ts_open, c.open, c.volume) for c in rig.candles[1:]] == [(T0 + MIN, 12.0, 3.0)]


def test_tick_closes_the_candle_at_its_end() -> None:
    rig = Rig(intervals=("1m",))
    rig.trade(T0 + 5 * SEC, 10.0)

    rig.clock.advance_to(T0 + MIN - 1)
    assert rig.candles == []

    rig.clock.advance_to(T0 + MIN)
    (closed,) = rig.candles
    assert (closed.ts_open, closed.ts_event, closed.ts_recv) == (T0, T0 + MIN, T0 + MIN)


def test_close_delay_lets_a_lagging_trade_land_before_the_tick_closes() -> None:
    rig = Rig(intervals=("1m",), close_delay_ns=2 * SEC)
    rig.trade(T0 + 5 * SEC, 10.0)
    rig.clock.advance_to(T0 + MIN + SEC)
    assert rig.candles == []

    rig.trade(T0 + MIN - SEC, 9.0)  # arrives 2 s after it happened
    rig.clock.advance_to(T0 + MIN + 2 * SEC - 1)
    assert rig.candles == []

    rig.clock.advance_to(T0 + MIN + 2 * SEC)
    (closed,) = rig.candles
    assert (closed.trades, closed.low, closed.close) == (2, 9.0, 9.0)
    assert closed.ts_recv == T0 + MIN + 2 * SEC
    assert closed.ts_event == T0 + MIN  # the delay does not move the candle's own end

    rig.trade(T0 + MIN - 1, 8.0)  # past the delay: too late
    assert rig.agg.late_trades == 1


def test_close_delay_longer_than_the_interval() -> None:
    rig = Rig(intervals=("1s",), close_delay_ns=2_500_000_000)
    rig.trade(T0 + 100, 1.0)
    rig.clock.advance_to(T0 + 3_500_000_000 - 1)
    assert rig.candles == []
    rig.clock.advance_to(T0 + 3_500_000_000)
    assert [c.ts_open for c in rig.candles] == [T0]


def test_skip_leaves_holes_on_a_trade_jump() -> None:
    rig = Rig(intervals=("1m",), empty=EmptyCandlePolicy.SKIP)
    rig.trade(T0 + SEC, 10.0)
    rig.trade(T0 + 3 * MIN + SEC, 20.0)
    rig.agg.flush()
    assert [c.ts_open for c in rig.candles] == [T0, T0 + 3 * MIN]


def test_skip_emits_nothing_on_ticks_without_trades() -> None:
    rig = Rig(intervals=("1m",), empty=EmptyCandlePolicy.SKIP)
    rig.trade(T0 + SEC, 10.0)
    rig.clock.advance_to(T0 + 5 * MIN)
    assert [c.ts_open for c in rig.candles] == [T0]


def test_carry_fills_a_multi_interval_trade_jump_with_flat_candles() -> None:
    rig = Rig(intervals=("1m",), empty=EmptyCandlePolicy.CARRY)
    rig.trade(T0 + SEC, 10.0)
    rig.trade(T0 + 2 * SEC, 11.0)
    rig.trade(T0 + 3 * MIN + SEC, 20.0)

    real, flat1, flat2 = rig.candles
    assert (real.ts_open, real.close) == (T0, 11.0)
    assert_flat(flat1, T0 + MIN, 11.0)
    assert_flat(flat2, T0 + 2 * MIN, 11.0)
    rig.agg.flush()
    assert (rig.candles[-1].ts_open, rig.candles[-1].open) == (T0 + 3 * MIN, 20.0)
    assert rig.agg.candles_emitted == 4


def test_carry_emits_flat_candles_on_ticks_while_no_trade_arrives() -> None:
    rig = Rig(intervals=("1m",), empty=EmptyCandlePolicy.CARRY)
    rig.clock.advance_to(T0 + 2 * MIN)
    assert rig.candles == []  # nothing to carry before the series' first candle

    rig.trade(T0 + 2 * MIN + SEC, 10.0)
    rig.clock.advance_to(T0 + 6 * MIN)
    real, *flats = rig.candles
    assert real.ts_open == T0 + 2 * MIN
    assert len(flats) == 3
    for i, flat in enumerate(flats, start=3):
        assert_flat(flat, T0 + i * MIN, 10.0)
        assert flat.ts_recv == T0 + (i + 1) * MIN

    # The next trade continues the series without repeating a carried interval.
    rig.trade(T0 + 7 * MIN + SEC, 12.0)
    rig.agg.flush()
    assert [c.ts_open for c in rig.candles[4:]] == [T0 + 6 * MIN, T0 + 7 * MIN]
    assert_flat(rig.candles[4], T0 + 6 * MIN, 10.0)


def test_carry_on_ticks_waits_for_the_close_delay() -> None:
    rig = Rig(intervals=("1s",), empty=EmptyCandlePolicy.CARRY, close_delay_ns=SEC // 2)
    rig.trade(T0, 5.0)
    rig.clock.advance_to(T0 + 3 * SEC)
    # Closed at 1.5 s, then [1 s, 2 s) carried at 2.5 s; [2 s, 3 s) waits until 3.5 s.
    assert [(c.ts_open, c.ts_recv, c.trades) for c in rig.candles] == [
        (T0, T0 + 1_500_000_000, 1),
        (T0 + SEC, T0 + 2_500_000_000, 0),
    ]


def test_late_trade_is_counted_logged_and_skipped() -> None:
    rig = Rig(intervals=("1m",))
    rig.trade(T0 + SEC, 10.0)
    rig.trade(T0 + MIN + SEC, 20.0)  # closes [T0, T0+1m)

    with capture_logs() as logs:
        rig.trade(T0 + 30 * SEC, 99.0)  # belongs to the published candle
        rig.trade(T0 - MIN, 98.0)  # older than anything seen
    rig.agg.flush()

    assert rig.agg.late_trades == 2
    assert rig.agg.stats() == CandleStats(candles_emitted=2, late_trades=2)
    assert [(c.ts_open, c.high, c.trades) for c in rig.candles] == [
        (T0, 10.0, 1),
        (T0 + MIN, 20.0, 1),
    ]
    assert [entry["log_level"] for entry in logs] == ["warning", "warning"]
    assert logs[0]["trade_id"] == "3"
    assert logs[0]["intervals"] == ["1m"]


def test_trade_older_than_the_open_candle_is_late_even_before_any_close() -> None:
    rig = Rig(intervals=("1m",))
    rig.trade(T0 + MIN, 10.0)
    rig.trade(T0 + SEC, 11.0)
    rig.agg.flush()
    assert rig.agg.late_trades == 1
    assert [(c.ts_open, c.trades) for c in rig.candles] == [(T0 + MIN, 1)]


def test_trade_late_for_one_interval_still_lands_in_another() -> None:
    rig = Rig(intervals=("1s", "1m"))
    rig.trade(T0 + 10_500_000_000, 10.0)
    rig.clock.advance_to(T0 + 11 * SEC)  # the tick closes [10 s, 11 s)

    with capture_logs() as logs:
        rig.trade(T0 + 10_900_000_000, 9.0)
    rig.agg.flush()

    assert rig.agg.late_trades == 1
    assert logs[0]["intervals"] == ["1s"]
    (minute,) = rig.series("1m")
    assert (minute.trades, minute.low) == (2, 9.0)
    assert [c.trades for c in rig.series("1s")] == [1]


def test_one_second_and_one_minute_side_by_side() -> None:
    rig = Rig(intervals=("1s", "1m"))
    prices = [10.0, 12.0, 11.0, 9.0, 10.5]
    for i, price in enumerate(prices):
        rig.trade(T0 + i * SEC + 250_000_000, price, 0.5 * (i + 1), BUY if i % 2 else SELL)
    rig.trade(T0 + MIN, 13.0)  # closes the minute and its last second

    seconds = rig.series("1s")
    (minute,) = rig.series("1m")
    assert [c.ts_open for c in seconds] == [T0 + i * SEC for i in range(5)]
    assert [c.close for c in seconds] == prices
    assert all(c.ts_event == c.ts_open + SEC for c in seconds)
    assert (minute.open, minute.high, minute.low, minute.close) == (10.0, 12.0, 9.0, 10.5)
    assert minute.volume == sum(c.volume for c in seconds) == 7.5
    assert minute.buy_volume == sum(c.buy_volume for c in seconds) == 1.0 + 2.0
    assert minute.trades == 5
    assert minute.ts_event == T0 + MIN
    assert rig.agg.intervals == ("1s", "1m")


def test_symbols_and_venues_are_independent() -> None:
    rig = Rig(intervals=("1m",))
    rig.trade(T0 + SEC, 100.0, venue="binance", symbol="BTC/USDT")
    rig.trade(T0 + SEC, 10.0, venue="binance", symbol="ETH/USDT")
    rig.trade(T0 + SEC, 101.0, venue="kraken", symbol="BTC/USDT")
    rig.trade(T0 + 2 * SEC, 102.0, 2.0, venue="binance", symbol="BTC/USDT")

    rig.trade(T0 + MIN, 11.0, venue="binance", symbol="ETH/USDT")
    assert [(c.venue, c.symbol) for c in rig.candles] == [("binance", "ETH/USDT")]

    rig.agg.flush()
    btc = rig.series("1m", "BTC/USDT", "binance")
    eth = rig.series("1m", "ETH/USDT", "binance")
    kraken = rig.series("1m", "BTC/USDT", "kraken")
    assert [(c.ts_open, c.open, c.close, c.volume, c.trades) for c in btc] == [
        (T0, 100.0, 102.0, 3.0, 2)
    ]
    assert [(c.ts_open, c.close, c.trades) for c in eth] == [(T0, 10.0, 1), (T0 + MIN, 11.0, 1)]
    assert [(c.ts_open, c.close, c.trades) for c in kraken] == [(T0, 101.0, 1)]
    assert rig.agg.late_trades == 0


def test_flush_closes_only_open_candles_and_later_trades_for_them_are_late() -> None:
    rig = Rig(intervals=("1m",), empty=EmptyCandlePolicy.CARRY)
    rig.agg.flush()
    assert rig.candles == []
    rig.trade(T0 + SEC, 10.0)
    rig.agg.flush()
    rig.agg.flush()
    assert len(rig.candles) == 1
    rig.trade(T0 + 2 * SEC, 10.0)
    assert rig.agg.late_trades == 1


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"intervals": ()}, "at least one interval"),
        ({"intervals": ("1m", "1m")}, "listed twice"),
        ({"intervals": ("1x",)}, "invalid interval"),
        ({"close_delay_ns": -1}, "close_delay_ns"),
    ],
)
def test_invalid_config_is_refused(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        Rig(**kwargs)


def test_a_bare_interval_string_means_one_interval() -> None:
    rig = Rig(intervals="1m")
    assert rig.agg.intervals == ("1m",)


def test_stats_are_a_frozen_snapshot() -> None:
    rig = Rig()
    stats = rig.agg.stats()
    rig.trade(T0, 1.0)
    rig.agg.flush()
    assert stats == CandleStats(candles_emitted=0, late_trades=0)
    with pytest.raises(AttributeError):
        stats.late_trades = 3  # type: ignore[misc]


# --- real data: Binance spot trades rebuild Binance's own 1m klines -------------------------


class _WireTrade(msgspec.Struct):
    t: int
    p: str
    q: str
    T: int
    m: bool


class _TradeFrame(msgspec.Struct):
    data: _WireTrade


def _load_binance_trades(path: Path) -> list[Trade]:
    decoder = msgspec.json.Decoder(_TradeFrame)
    trades: list[Trade] = []
    with gzip.open(path, "rb") as lines:
        for line in lines:
            recv, _, raw = line.partition(b" ")
            if b'"stream":"btcusdt@trade"' not in raw:
                continue
            w = decoder.decode(raw).data
            # m: the buyer is the maker, so the seller took liquidity.
            side = SELL if w.m else BUY
            trades.append(
                Trade(
                    "binance", "BTC/USDT", float(w.p), float(w.q), side, str(w.t),
                    w.T * 1_000_000, int(recv),
                )
            )  # fmt: skip
    return trades


@pytest.mark.slow
def test_real_binance_trades_rebuild_the_reference_1m_candles(shared_data: Path) -> None:
    ws_file = shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
    ref_file = shared_data / "candles_1m" / "binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather"

    trades = _load_binance_trades(ws_file)
    ids = [int(t.trade_id) for t in trades]
    assert ids == list(range(ids[0], ids[0] + len(ids))), "recording misses trades"

    bus = MessageBus()
    clock = SimClock(start_ns=trades[0].ts_recv)
    agg = CandleAggregator(bus, clock, intervals=("1s", "1m"))
    candles: list[Candle] = []
    bus.subscribe(topics.CANDLES, candles.append)
    for trade in trades:
        # Replay on receive time, as a live feed would see it; ticks fire in between.
        clock.advance_to(trade.ts_recv)
        bus.publish(topics.TRADES, trade)
    agg.flush()
    assert agg.late_trades == 0

    # A minute is complete when the recording holds a trade before it and one after it.
    first_full = trades[0].ts_event - trades[0].ts_event % MIN + MIN
    last_trade = trades[-1].ts_event
    ours = {
        c.ts_open: c
        for c in candles
        if c.interval == "1m" and c.ts_open >= first_full and c.ts_open + MIN <= last_trade
    }

    table = feather.read_table(ref_file)
    starts = table.column("date").cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64()).to_pylist()
    columns = {name: table.column(name).to_pylist() for name in ("open", "high", "low", "close")}
    volumes = table.column("volume").to_pylist()
    index = {ts: i for i, ts in enumerate(starts)}

    assert len(ours) == 5  # 23:55 .. 23:59 UTC on 2024-08-08
    # The recording starts and ends inside a minute: those two candles are partial.
    minutes = [c for c in candles if c.interval == "1m"]
    assert [c.flags for c in minutes] == [CandleFlag.PARTIAL, 0, 0, 0, 0, 0, CandleFlag.PARTIAL]
    for ts_open, candle in sorted(ours.items()):
        i = index[ts_open]
        expected = tuple(columns[name][i] for name in ("open", "high", "low", "close"))
        assert (candle.open, candle.high, candle.low, candle.close) == expected, ts_open
        assert candle.volume == pytest.approx(volumes[i], abs=1e-8), ts_open
        assert candle.low <= candle.vwap <= candle.high
        assert 0.0 <= candle.buy_volume <= candle.volume

    # Every 1s candle of a compared minute sums up to that minute.
    for ts_open, candle in ours.items():
        seconds = [
            c for c in candles if c.interval == "1s" and ts_open <= c.ts_open < ts_open + MIN
        ]
        assert sum(c.trades for c in seconds) == candle.trades
        assert sum(c.volume for c in seconds) == pytest.approx(candle.volume, abs=1e-8)


def test_ticks_follow_the_venue_clock_not_ours() -> None:
    """A venue whose trades are stamped far from our clock (a replay, a skewed host)."""
    clock = SimClock(start_ns=10 * NS_PER_DAY)
    bus = MessageBus()
    got: list[Candle] = []
    bus.subscribe(topics.CANDLES, got.append)
    agg = CandleAggregator(bus, clock, ("1m",))
    lag = 9 * NS_PER_DAY  # venue times are nine days behind our clock
    ts_open = 10 * NS_PER_DAY - lag
    bus.publish(topics.TRADES, _venue_trade(ts_open + 1, clock.timestamp_ns()))
    clock.advance_to(clock.timestamp_ns() + 30 * 1_000_000_000)
    assert got == []  # 30 s into the venue's minute: still open
    bus.publish(topics.TRADES, _venue_trade(ts_open + 30 * 1_000_000_000, clock.timestamp_ns()))
    clock.advance_to(clock.timestamp_ns() + 31 * 1_000_000_000)
    assert [(c.ts_open, c.trades) for c in got] == [(ts_open, 2)]
    assert agg.late_trades == 0


def _venue_trade(ts_event: int, ts_recv: int) -> Trade:
    return Trade("v", "X/Y", 100.0, 1.0, AggressorSide.BUY, str(ts_event), ts_event, ts_recv)


def test_first_candle_of_a_stream_started_inside_its_interval_is_partial() -> None:
    # A replay's SimClock starts at 0: the stream begins with its first trade, 20 s in.
    bus = MessageBus()
    clock = SimClock()
    agg = CandleAggregator(bus, clock, intervals=("1m",))
    candles: list[Candle] = []
    bus.subscribe(topics.CANDLES, candles.append)
    for ts in (T0 + 20 * SEC, T0 + MIN + SEC, T0 + 2 * MIN + SEC):
        clock.advance_to(ts)
        bus.publish(topics.TRADES, Trade("binance", "BTC/USDT", 1.0, 1.0, BUY, str(ts), ts, ts))
    clock.advance_to(T0 + 3 * MIN)  # the last minute is over: flush publishes it complete
    agg.flush()
    assert [(c.ts_open, c.flags) for c in candles] == [
        (T0, CandleFlag.PARTIAL),
        (T0 + MIN, 0),
        (T0 + 2 * MIN, 0),
    ]


def test_a_market_first_traded_after_the_stream_began_has_a_complete_first_candle() -> None:
    rig = Rig(intervals=("1m",))  # built at T0, a whole minute: it saw every minute from T0
    rig.trade(T0 + 10 * SEC, 100.0)
    rig.trade(T0 + 3 * MIN + 5 * SEC, 10.0, symbol="ETH/USDT")
    rig.trade(T0 + 5 * MIN, 101.0)
    rig.trade(T0 + 5 * MIN, 11.0, symbol="ETH/USDT")
    assert [(c.symbol, c.ts_open, c.flags) for c in rig.candles] == [
        ("BTC/USDT", T0, 0),
        ("ETH/USDT", T0 + 3 * MIN, 0),
    ]


def test_a_stream_built_mid_minute_flags_its_first_candle_partial() -> None:
    bus = MessageBus()
    clock = SimClock(start_ns=T0 + 30 * SEC)  # a live feed started half a minute in
    agg = CandleAggregator(bus, clock, intervals=("1s", "1m"))
    candles: list[Candle] = []
    bus.subscribe(topics.CANDLES, candles.append)
    for ts in (T0 + 31 * SEC, T0 + MIN + 500_000_000):
        clock.advance_to(ts)
        bus.publish(topics.TRADES, Trade("binance", "BTC/USDT", 1.0, 1.0, BUY, str(ts), ts, ts))
    agg.flush()
    flags = {(c.interval, c.ts_open): c.flags for c in candles}
    assert flags == {
        ("1s", T0 + 31 * SEC): 0,  # opened after the stream began: whole second seen
        ("1m", T0): CandleFlag.PARTIAL,  # the feed missed its first 30 s
        ("1s", T0 + MIN): CandleFlag.PARTIAL,  # flushed 0.5 s into its second
        ("1m", T0 + MIN): CandleFlag.PARTIAL,  # flushed 0.5 s into its minute
    }
