"""Per-channel staleness: each channel is judged against its own normal rhythm."""

from __future__ import annotations

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.data import topics
from tradefabric.data.feed.activity import ChannelActivity
from tradefabric.model.data import OrderBookDeltas, Trade
from tradefabric.model.enums import AggressorSide

S = 1_000_000_000


def _deltas(symbol: str, ts: int) -> OrderBookDeltas:
    return OrderBookDeltas("v", symbol, (), (), 1, 1, -1, ts, ts)


def _trade(symbol: str, ts: int) -> Trade:
    return Trade("v", symbol, 1.0, 1.0, AggressorSide.BUY, str(ts), ts, ts)


def test_a_quiet_channel_is_not_stale_but_a_stopped_busy_one_is() -> None:
    clock = SimClock(start_ns=0)
    bus = MessageBus()
    activity = ChannelActivity(bus, clock, stale_factor=20.0, floor_s=1.0)
    for step in range(1, 601):  # one minute: book every 100 ms, a trade every 30 s
        clock.advance_to(step * S // 10)
        bus.publish(topics.BOOK_DELTAS, _deltas("BTC/USDT", clock.timestamp_ns()))
        if step % 300 == 0:
            bus.publish(topics.TRADES, _trade("BTC/USDT", clock.timestamp_ns()))
    clock.advance_to(clock.timestamp_ns() + 45 * S)  # 45 s of silence everywhere
    states = {(s.channel, s.symbol): s for s in activity.states()}
    book = states[("book", "BTC/USDT")]
    trades = states[("trades", "BTC/USDT")]
    assert abs(book.mean_gap_s - 0.1) < 1e-6
    assert book.stale is True  # 45 s against a 100 ms rhythm
    assert abs(trades.mean_gap_s - 30.0) < 1e-6
    assert trades.stale is False  # 45 s against a 30 s rhythm is normal
    assert (book.events, trades.events) == (600, 2)


def test_one_event_is_never_stale() -> None:
    clock = SimClock(start_ns=0)
    bus = MessageBus()
    activity = ChannelActivity(bus, clock, floor_s=1.0)
    bus.publish(topics.TRADES, _trade("ETH/USDT", 0))
    clock.advance_to(3600 * S)
    (state,) = activity.states()
    assert state.stale is False
    assert state.silent_for_s == 3600.0
