"""The two halves of a split node, and the single process they must match.

- ingestion: ``publish_recording`` replays a recording through a ``MarketDataNode``
  with a ``BookSampler`` and a ``StreamPublisher`` attached (live feeds attach the
  same two to their node);
- downstream: ``Downstream`` is a bus and a ``SimClock`` fed by a
  ``StreamConsumer``, with candle aggregation and book tops on it;
- ``single_process`` runs both halves on one bus, without Redis: the result the
  split run must reproduce exactly.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import redis

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.time import NS_PER_MS
from tradefabric.data import topics
from tradefabric.data.candles import CandleAggregator
from tradefabric.model.data import Candle
from tradefabric.model.enums import EmptyCandlePolicy
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.market_data import MarketDataNode, ReplaySummary
from tradefabric.streams.books import BookSampler, BookTop, BookTops
from tradefabric.streams.publisher import PublisherConfig, PublisherStatus, StreamPublisher
from tradefabric.venues.replay.recording import ProgressCallback


class SampleConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How often and how deep order books are sampled for publishing."""

    interval_ms: int = 1_000
    depth: int = 10


class DownstreamResult(msgspec.Struct, frozen=True):
    """What the downstream side computed: candles and the top of every book sample."""

    candles: list[Candle]
    book_tops: list[BookTop]


class IngestSummary(msgspec.Struct, frozen=True):
    """What an ingestion run replayed and what its publisher did."""

    replay: ReplaySummary
    book_samples: int
    publisher: PublisherStatus


class ResultCollector:
    """Collect the candles published on a bus and the top of each book sample."""

    def __init__(self, bus: MessageBus) -> None:
        """Subscribe to ``topics.CANDLES`` and the book samples."""
        self.candles: list[Candle] = []
        self.book_tops = BookTops(bus)
        bus.subscribe(topics.CANDLES, self.candles.append)

    def result(self) -> DownstreamResult:
        """Return everything collected so far."""
        return DownstreamResult(candles=list(self.candles), book_tops=list(self.book_tops.history))


class Downstream:
    """The consuming side of a split node: its own bus and clock, candles and book tops.

    Hand ``bus`` and ``clock`` to a ``StreamConsumer``: the clock then follows the
    publisher's, so candles close at the same times as in the publishing process.
    """

    def __init__(
        self,
        intervals: tuple[str, ...] = ("1s", "1m"),
        empty: EmptyCandlePolicy = EmptyCandlePolicy.SKIP,
        close_delay_ms: int = 0,
    ) -> None:
        """Build the bus, the clock, a candle aggregator (none if no intervals) and collectors."""
        self.bus = MessageBus()
        self.clock = SimClock()
        self.candles = (
            CandleAggregator(self.bus, self.clock, intervals, empty, close_delay_ms * NS_PER_MS)
            if intervals
            else None
        )
        self.collector = ResultCollector(self.bus)

    def finish(self, end_ns: int = -1) -> DownstreamResult:
        """Move the clock to the publisher's end time (if known), close candles, return results."""
        if end_ns >= 0:
            self.clock.advance_to(end_ns)
        if self.candles is not None:
            self.candles.flush()
        return self.collector.result()


def _attach_sampler(node: MarketDataNode, sample: SampleConfig) -> BookSampler:
    return BookSampler(
        node.bus, node.clock, node.books, sample.interval_ms * NS_PER_MS, sample.depth
    )


def publish_recording(
    path: Path,
    config: MarketDataConfig,
    client: redis.Redis,
    publisher: PublisherConfig,
    *,
    sample: SampleConfig | None = None,
    progress: ProgressCallback | None = None,
) -> IngestSummary:
    """Replay ``path`` through a node that publishes its events and book samples to Redis.

    The publisher is closed (buffer sent, end watermark written) before returning,
    also when the replay fails.
    """
    node = MarketDataNode(config)
    sampler = _attach_sampler(node, sample or SampleConfig())
    stream_publisher = StreamPublisher(node.bus, node.clock, client, publisher)
    try:
        summary = node.replay(path, progress)
    finally:
        status = stream_publisher.close()
    return IngestSummary(replay=summary, book_samples=sampler.samples, publisher=status)


def single_process(
    path: Path, config: MarketDataConfig, sample: SampleConfig | None = None
) -> DownstreamResult:
    """Replay ``path`` with the downstream side on the node's own bus; no Redis involved."""
    node = MarketDataNode(config)
    _attach_sampler(node, sample or SampleConfig())
    collector = ResultCollector(node.bus)
    node.replay(path)
    return collector.result()
