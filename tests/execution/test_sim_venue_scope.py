"""The simulated venue matches only its own candles of one interval per instrument.

With 1s and 1m candles both flowing, and a second venue quoting the same symbol,
an order is matched only by the candles of its venue and its configured
interval, and never by a candle that opened before the order arrived.
"""

from __future__ import annotations

from pathlib import Path

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.time import NS_PER_MINUTE, NS_PER_SECOND
from tradefabric.data import topics
from tradefabric.execution import topics as exec_topics
from tradefabric.execution.sim.fees import FeeConfig
from tradefabric.execution.sim.venue import SimulatedVenue, SimVenueConfig
from tradefabric.model.data import Candle
from tradefabric.model.orders import Fill, OrderRequest, OrderSide, OrderStatus, OrderType
from tradefabric.node.kernel import (
    ExecutionConfig,
    InstrumentConfig,
    TradingConfig,
    TradingKernel,
)
from tradefabric.risk.audit import AuditLog

T0 = 1_722_470_400_000_000_000  # 2024-08-01 00:00 UTC
SYMBOL = "BTC/USDT"


class TwoVenues:
    """A kernel with simulated binance and bybit venues; candles published by hand."""

    def __init__(self, tmp: Path, binance: SimVenueConfig) -> None:
        venues = {
            "binance": binance,
            "bybit": SimVenueConfig(fees=FeeConfig(maker_bps=1.0, taker_bps=5.0)),
        }
        self.config = TradingConfig(
            execution={name: ExecutionConfig(sim=cfg) for name, cfg in venues.items()},
            balances={"binance": {"USDT": 100_000.0}, "bybit": {"USDT": 100_000.0}},
            instruments=tuple(
                InstrumentConfig(venue=v, symbol=SYMBOL, price_increment="0.01",
                                 size_increment="0.00001")
                for v in venues
            ),
        )  # fmt: skip
        self.clock = SimClock(T0)
        self.bus = MessageBus()
        self.venues = {
            name: SimulatedVenue(name, self.bus, cfg, seed=1, default_interval="1m")
            for name, cfg in venues.items()
        }
        self.kernel = TradingKernel(
            self.config, self.bus, self.clock, dict(self.venues), audit=AuditLog(tmp / "a.jsonl")
        )
        self.fills: list[Fill] = []
        self.bus.subscribe(exec_topics.FILLS, self.fills.append)

    def candle(self, venue: str, interval: str, ts_open: int, low: float) -> None:
        """Publish one candle (open/close 100, high 101, the given low) and move the clock."""
        step = NS_PER_MINUTE if interval == "1m" else NS_PER_SECOND
        end = ts_open + step
        self.clock.advance_to(max(self.clock.timestamp_ns(), end))
        self.bus.publish(
            topics.CANDLES,
            Candle(venue, SYMBOL, interval, ts_open, 100.0, 101.0, low, 100.0, 50.0, 1, 0.0,
                   100.0, end, end),
        )  # fmt: skip

    def seconds(self, venue: str, first: int, last: int, low: float = 99.5) -> None:
        """Publish the 1s candles of seconds ``first..last`` of minute 0."""
        for s in range(first, last + 1):
            self.candle(venue, "1s", T0 + s * NS_PER_SECOND, low)

    def buy_limit(self, venue: str, price: float) -> str:
        """Send a resting buy limit; return its id."""
        request = OrderRequest(strategy_id="t", venue=venue, symbol=SYMBOL, side=OrderSide.BUY,
                               quantity=0.1, order_type=OrderType.LIMIT, price=price)  # fmt: skip
        return self.kernel.execution.submit(request).client_order_id


def test_one_minute_candle_that_began_before_the_order_never_fills_it(tmp_path: Path) -> None:
    h = TwoVenues(tmp_path, SimVenueConfig())  # matches 1m candles (the default interval)
    h.seconds("binance", 0, 29)
    oid = h.buy_limit("binance", 99.0)  # mid-minute: after the 1s candle ending at 0:30
    h.seconds("binance", 30, 59, low=98.0)  # 1s candles trade through: not the interval
    h.candle("binance", "1m", T0, low=98.0)  # trades through, but opened before the order
    assert h.fills == []
    assert h.kernel.execution.order(oid).status is OrderStatus.SUBMITTED  # type: ignore[union-attr]
    h.candle("binance", "1m", T0 + NS_PER_MINUTE, low=98.0)
    (fill,) = h.fills
    assert (fill.price, fill.venue, fill.ts_event) == (99.0, "binance", T0 + NS_PER_MINUTE)


def test_configured_one_second_interval_ignores_the_minute_candles(tmp_path: Path) -> None:
    h = TwoVenues(tmp_path, SimVenueConfig(intervals={SYMBOL: "1s"}))
    assert h.venues["binance"].matching_interval(SYMBOL) == "1s"
    assert h.venues["binance"].matching_interval("ETH/USDT") == "1m"
    h.seconds("binance", 0, 29)
    h.buy_limit("binance", 99.0)
    h.seconds("binance", 30, 40)  # never below 99.5
    h.candle("binance", "1m", T0 + NS_PER_MINUTE, low=98.0)  # the wrong interval: ignored
    assert h.fills == []
    h.seconds("binance", 41, 41, low=98.5)
    (fill,) = h.fills
    assert (fill.price, fill.ts_event) == (99.0, T0 + 41 * NS_PER_SECOND)


def test_other_venue_candles_of_the_same_symbol_never_fill(tmp_path: Path) -> None:
    h = TwoVenues(tmp_path, SimVenueConfig())
    h.candle("binance", "1m", T0, low=99.5)
    h.candle("bybit", "1m", T0, low=99.5)
    binance_id = h.buy_limit("binance", 99.0)
    bybit_id = h.buy_limit("bybit", 98.0)
    h.candle("bybit", "1m", T0 + NS_PER_MINUTE, low=98.5)  # through 99, not through 98
    assert h.fills == []
    h.candle("binance", "1m", T0 + NS_PER_MINUTE, low=98.5)
    (fill,) = h.fills
    assert (fill.client_order_id, fill.venue) == (binance_id, "binance")
    h.candle("binance", "1m", T0 + 2 * NS_PER_MINUTE, low=97.0)  # through 98 on binance only
    assert [f.client_order_id for f in h.fills] == [binance_id]
    h.candle("bybit", "1m", T0 + 2 * NS_PER_MINUTE, low=97.0)
    assert [f.client_order_id for f in h.fills] == [binance_id, bybit_id]


def test_bad_interval_in_config_names_the_key() -> None:
    import msgspec
    import pytest

    from tradefabric.core.errors import ConfigError

    with pytest.raises(ConfigError, match="ETH/USDT"):
        msgspec.convert({"intervals": {"ETH/USDT": "1x"}}, SimVenueConfig)


def test_default_interval_per_instrument_is_its_strategys() -> None:
    from tradefabric.node.kernel import DataConfig
    from tradefabric.node.run import build_sim_venues
    from tradefabric.strategies.ema_cross import EmaCrossConfig
    from tradefabric.strategies.router import RouterConfig

    strategies = (
        EmaCrossConfig(id="a", symbol="BTC/USDT", interval="1s"),
        EmaCrossConfig(id="b", symbol="ETH/USDT", interval="5m"),
        EmaCrossConfig(id="c", symbol="ETH/USDT", interval="1m"),  # the first one wins
        RouterConfig(id="r", symbol="SOL/USDT"),  # no interval: data.interval
    )
    config = TradingConfig(strategies=strategies, data=DataConfig(interval="1h"))
    venue = build_sim_venues(config, MessageBus(), None)["binance"]
    got = [venue.matching_interval(s) for s in ("BTC/USDT", "ETH/USDT", "SOL/USDT")]
    assert got == ["1s", "5m", "1h"]
    fixed = TradingConfig(
        strategies=strategies,
        execution={
            "binance": ExecutionConfig(
                sim=SimVenueConfig(interval="1m", intervals={"ETH/USDT": "1s"})
            )
        },
    )
    venue = build_sim_venues(fixed, MessageBus(), None)["binance"]
    assert [venue.matching_interval(s) for s in ("BTC/USDT", "ETH/USDT")] == ["1m", "1s"]
