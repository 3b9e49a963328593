"""The publisher against the local Redis: what lands in which stream, ids, trimming, resends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis

from tests.streams.helpers import recorded_events, stream_entries
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.time import NS_PER_MS
from tradefabric.data import topics
from tradefabric.model.data import OrderBookSnapshot, Quote, Trade
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.market_data import MarketDataNode
from tradefabric.streams import codec
from tradefabric.streams.books import BOOK_SAMPLES, BookSampler
from tradefabric.streams.publisher import OverflowPolicy, PublisherConfig, StreamPublisher

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def events(spot_btc: Path) -> list[Trade | Quote]:
    return recorded_events(spot_btc)[:3000]


def _publish(publisher_bus: MessageBus, clock: SimClock, events: list[Trade | Quote]) -> None:
    for event in events:
        clock.advance_to(event.ts_recv)
        topic: Any = topics.TRADES if isinstance(event, Trade) else topics.QUOTES
        publisher_bus.publish(topic, event)


def test_events_land_in_one_stream_per_kind_venue_symbol_in_order(
    client: redis.Redis, prefix: str, events: list[Trade | Quote]
) -> None:
    bus, clock = MessageBus(), SimClock()
    config = PublisherConfig(prefix=prefix, source="binance", on_full=OverflowPolicy.BLOCK)
    with StreamPublisher(bus, clock, client, config) as publisher:
        _publish(bus, clock, events)
    status = publisher.status()
    assert (status.published, status.dropped, status.refused, status.buffered) == (3000, 0, 0, 0)
    assert status.ended and status.connected

    trades = stream_entries(client, f"{prefix}:trades:binance:BTC/USDT")
    quotes = stream_entries(client, f"{prefix}:quotes:binance:BTC/USDT")
    assert [e.event for _, e in trades] == [e for e in events if isinstance(e, Trade)]
    assert [e.event for _, e in quotes] == [e for e in events if isinstance(e, Quote)]
    assert all(type(e) is codec.TradeEntry for _, e in trades)
    # The envelope carries the publisher's clock (here each frame's receive time) and one
    # sequence across all its streams: together they give back the bus order exactly.
    merged = sorted(trades + quotes, key=lambda item: item[1].seq)
    assert [e.seq for _, e in merged] == list(range(1, 3001))
    assert [e.event for _, e in merged] == events
    assert all(e.clk == e.event.ts_recv for _, e in merged)
    # Entry ids come from the clock: '<ms>-<n>', n counting entries of the same ms.
    for entry_id, entry in trades:
        assert int(entry_id.split("-")[0]) == entry.clk // NS_PER_MS
    assert len({entry_id for entry_id, _ in trades}) == len(trades)

    raw: Any = client.xrevrange(codec.clock_key(prefix, "binance"), count=1)
    last = codec.decode_watermark(raw[0][1][codec.WATERMARK_FIELD])
    assert last == codec.Watermark(events[-1].ts_recv, 3000, end=True)
    assert client.exists(f"{prefix}:candles:binance:BTC/USDT") == 0


def test_a_resent_batch_is_refused_by_redis_not_stored_twice(
    client: redis.Redis, prefix: str, events: list[Trade | Quote]
) -> None:
    trades = [e for e in events if isinstance(e, Trade)][:500]
    for attempt in range(2):
        bus, clock = MessageBus(), SimClock()
        config = PublisherConfig(prefix=prefix, source=f"run{attempt}", kinds=("trades",))
        with StreamPublisher(bus, clock, client, config) as publisher:
            _publish(bus, clock, list(trades))
        status = publisher.status()
        # The second run assigns the same ids, which Redis refuses: nothing is stored twice.
        assert (status.published, status.refused) == ((500, 0) if attempt == 0 else (0, 500))
    assert [e.event for _, e in stream_entries(client, f"{prefix}:trades:binance:BTC/USDT")] == (
        trades
    )


def test_streams_are_trimmed_to_about_maxlen(
    client: redis.Redis, prefix: str, events: list[Trade | Quote]
) -> None:
    quotes = [e for e in events if isinstance(e, Quote)]
    bus, clock = MessageBus(), SimClock()
    config = PublisherConfig(prefix=prefix, kinds=("quotes",), maxlen=200, batch_size=50)
    with StreamPublisher(bus, clock, client, config) as publisher:
        _publish(bus, clock, list(quotes))
    assert publisher.status().published == len(quotes) > 2000
    length = client.xlen(f"{prefix}:quotes:binance:BTC/USDT")
    # MAXLEN ~ trims whole macro nodes (100 entries by default): at least 200 stay.
    assert 200 <= length <= 400
    newest = stream_entries(client, f"{prefix}:quotes:binance:BTC/USDT")[-1][1]
    assert newest.event == quotes[-1]


def test_book_samples_are_the_top_levels_of_the_book_at_each_tick(spot_btc: Path) -> None:
    node = MarketDataNode(MarketDataConfig(venue="binance", candle_intervals=("1m",)))
    sampler = BookSampler(node.bus, node.clock, node.books, 500 * NS_PER_MS, depth=5)
    checked: list[OrderBookSnapshot] = []

    def check(sample: OrderBookSnapshot) -> None:
        book = node.books.book(sample.venue, sample.symbol)
        assert book is not None and book.valid
        depth = book.depth(5)
        assert (sample.bids, sample.asks) == (tuple(depth.bids), tuple(depth.asks))
        assert sample.sequence == book.sequence
        assert sample.ts_recv == node.clock.timestamp_ns()
        assert sample.ts_recv % (500 * NS_PER_MS) == 0
        checked.append(sample)

    node.bus.subscribe(BOOK_SAMPLES, check)
    node.replay(spot_btc)
    # About two a second over the recording's ~346 s, skipping ticks where nothing changed.
    assert 600 < sampler.samples == len(checked) <= 693
    assert all(len(s.bids) == len(s.asks) == 5 for s in checked)
    assert all(s.bids[0][0] < s.asks[0][0] for s in checked)
    sequences = [s.sequence for s in checked]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
