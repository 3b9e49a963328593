"""Publish bus events to Redis Streams from a writer thread, through a bounded buffer.

The bus handlers only encode the event and append it to the buffer (no lock, no
I/O), so the hot path never waits on the network. A writer thread sends the
buffer in pipelined batches (``XADD ... MAXLEN ~ N``, packed by ``resp``), each
followed by a ``Watermark`` on the publisher's clock stream. When Redis is down
the writer retries with exponential backoff and jitter while the buffer holds
what arrives, up to ``buffer_limit`` entries; past that, ``on_full`` decides:
``drop`` refuses new events (counted per stream, logged once per episode,
reported in ``PublisherStatus``) so the oldest buffered ones still reach Redis in
order, ``block`` makes the publishing thread wait for room (replays, where losing
data is never the right answer).
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import msgspec
import redis
import structlog

from tradefabric.core.bus import MessageBus, Topic
from tradefabric.core.clock import Clock
from tradefabric.core.errors import ConfigError
from tradefabric.core.logging import WarningThrottle
from tradefabric.core.time import NS_PER_MS, NS_PER_SECOND
from tradefabric.streams import codec, resp
from tradefabric.streams.connection import CONNECTION_ERRORS

log = structlog.get_logger(__name__)

_CLOCK_MAXLEN = 1_000
"""Watermarks kept per clock stream; consumers only ever read the newest."""
_STALE_ID = "equal or smaller than the target stream top item"


class OverflowPolicy(StrEnum):
    """What to do with a new event when the buffer is full."""

    DROP = "drop"
    BLOCK = "block"


class PublisherConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where and what a ``StreamPublisher`` publishes, and how it copes with an outage."""

    prefix: str = codec.DEFAULT_PREFIX
    source: str = "node"
    """Names the publisher's clock stream ``<prefix>:clock:<source>``; one publisher each."""
    kinds: tuple[str, ...] = tuple(k.name for k in codec.KINDS)
    maxlen: int = 100_000
    """Approximate entries kept per stream (``MAXLEN ~``); 0 keeps everything."""
    buffer_limit: int = 100_000
    on_full: OverflowPolicy = OverflowPolicy.DROP
    batch_size: int = 500
    backoff_initial_s: float = 0.05
    backoff_max_s: float = 2.0
    heartbeat_s: float = 1.0
    """Watermark period: on the node's clock (so consumers' clocks advance in a quiet
    market) and, in wall time, whenever the writer had nothing else to send."""
    close_timeout_s: float = 10.0
    """How long ``close`` waits for the buffer to reach Redis before giving it up."""

    def __post_init__(self) -> None:
        codec.check_prefix(self.prefix)
        codec.kinds_named(self.kinds)
        if not self.source or ":" in self.source:
            raise ConfigError(f"source must be non-empty and without ':': {self.source!r}")
        for name in ("maxlen", "buffer_limit", "batch_size"):
            value = getattr(self, name)
            if value < (0 if name == "maxlen" else 1):
                raise ConfigError(f"{name} must be positive (maxlen: or 0), got {value}")
        if not 0 < self.backoff_initial_s <= self.backoff_max_s:
            raise ConfigError("backoff: need 0 < backoff_initial_s <= backoff_max_s")
        if self.heartbeat_s <= 0 or self.close_timeout_s < 0:
            raise ConfigError("heartbeat_s must be > 0 and close_timeout_s >= 0")


class PublisherStatus(msgspec.Struct, frozen=True):
    """What a publisher sent, refused, dropped and how its connection went."""

    connected: bool
    published: int
    """Entries Redis stored."""
    refused: int
    """Entries Redis already had (a resent batch) or older than the stream's newest entry."""
    rejected: int
    """Entries Redis refused for another reason (out of memory, wrong key type)."""
    buffered: int
    buffer_limit: int
    dropped: int
    """Events never sent: buffer full (``drop`` policy) or still buffered at close."""
    dropped_by_stream: dict[str, int]
    first_dropped_clk: int
    """Publisher clock (ns) of the first dropped event, -1 if none."""
    last_dropped_clk: int
    outages: int
    """Times the connection was lost (or never made)."""
    reconnects: int
    """Times it came back after an outage."""
    failed_attempts: int
    last_error: str
    watermarks: int
    ended: bool
    """The end watermark was written: consumers know this publisher is done."""


class _Stream:
    """Per-stream state of the publisher: its key, the last entry id it assigned."""

    __slots__ = ("dropped", "head", "key", "last_ms", "last_n")

    def __init__(self, key: str, maxlen: int) -> None:
        self.key = key
        self.head = resp.xadd_head(key, maxlen)
        # Ids start above 0-0, which XADD refuses even on an empty stream.
        self.last_ms = 0
        self.last_n = 0
        self.dropped = 0


_Item = tuple[_Stream | None, str, bytes, int, int]
"""A buffered entry: stream, entry id, payload, publisher clock, publisher sequence.

An item without a stream is a watermark only: a clock tick, or the end (id ``end``).
"""

_END = "end"


class StreamPublisher:
    """Publish the configured kinds of bus events to Redis; start the writer thread at once.

    ``clock`` is the node's clock: it stamps each entry (``clk``), names its id and
    ticks the heartbeat watermarks, so a consumer can follow the node's time. The bus
    handlers run on the bus's one thread and take no lock: the buffer is a deque
    that only they append to and only the writer thread pops from. Use as a context
    manager or call ``close`` (from the bus's thread) to write the end watermark and
    stop the writer.
    """

    def __init__(
        self,
        bus: MessageBus,
        clock: Clock,
        client: redis.Redis,
        config: PublisherConfig | None = None,
    ) -> None:
        """Subscribe to the configured topics, start the heartbeat timer and the writer."""
        self.config = config or PublisherConfig()
        self._bus = bus
        self._clock = clock
        self._clock_head = resp.xadd_head(
            codec.clock_key(self.config.prefix, self.config.source), _CLOCK_MAXLEN
        )
        self._pipeline = resp.RawPipeline(client)
        self._buffer: deque[_Item] = deque()
        self._inflight: list[_Item] = []
        self._work = threading.Event()
        self._room = threading.Event()
        self._wake = threading.Event()
        self._writer_idle = False
        # Written by the bus thread only: the key of the last entry buffered.
        self._clk = 0
        self._seq = 0
        self._last_key = (0, 0)
        self._closing = self._abandoned = self._ended = self._dropping = False
        self._connected = False
        self._counts = dict.fromkeys(("published", "refused", "rejected", "dropped"), 0)
        self._counts |= dict.fromkeys(("outages", "reconnects", "failed", "watermarks"), 0)
        self._drop_range = [-1, -1]
        self._last_error = ""
        self._outage_started: float | None = None
        self._streams: list[_Stream] = []
        self._warnings = WarningThrottle(log)
        self._handlers: list[tuple[Topic[Any], Callable[[Any], None]]] = []
        for kind in codec.kinds_named(self.config.kinds):
            handler = self._handler_for(kind)
            bus.subscribe(kind.topic, handler)
            self._handlers.append((kind.topic, handler))
        self._start_ticks()
        self._thread = threading.Thread(target=self._run, name="redis-publisher", daemon=True)
        self._thread.start()

    def __enter__(self) -> StreamPublisher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _start_ticks(self) -> None:
        interval_ns = int(self.config.heartbeat_s * NS_PER_SECOND)
        try:
            self._clock.set_timer(interval_ns, self._on_tick)
        except RuntimeError:
            # A LiveClock outside a running event loop cannot keep timers; the writer's
            # own heartbeats still tell consumers how far the stream is complete.
            log.info("redis publisher: no clock heartbeats (no running event loop)")

    def _handler_for(self, kind: codec.Kind[Any]) -> Callable[[Any], None]:
        wrap = kind.entry_type
        streams: dict[tuple[str, str], _Stream] = {}
        prefix = self.config.prefix
        maxlen = self.config.maxlen

        def on_event(event: Any) -> None:
            market = (event.venue, event.symbol)
            stream = streams.get(market)
            if stream is None:
                stream = _Stream(codec.stream_key(prefix, kind.name, *market), maxlen)
                streams[market] = stream
                self._streams.append(stream)
            self._put(stream, wrap, event)

        return on_event

    def _put(self, stream: _Stream, wrap: Callable[..., codec.StreamEntry], event: Any) -> None:
        if self._pending() >= self.config.buffer_limit and not self._wait_for_room():
            self._drop(stream)
            return
        clk = self._clock.timestamp_ns()
        # Entry keys must never go back, even when a wall clock steps backwards.
        if clk < self._clk:  # noqa: PLR1730
            clk = self._clk
        self._clk = clk
        seq = self._seq = self._seq + 1
        ms = clk // NS_PER_MS
        if ms > stream.last_ms:
            stream.last_ms, stream.last_n = ms, 0
        else:
            stream.last_n += 1
        payload = codec.encode(wrap(clk, seq, event))
        self._buffer.append((stream, f"{stream.last_ms}-{stream.last_n}", payload, clk, seq))
        self._last_key = (clk, seq)
        if self._dropping:
            self._end_drop_episode()
        if self._writer_idle:
            self._work.set()

    def _on_tick(self, due_ns: int) -> None:
        # A watermark at the clock's time, in line with the entries: consumers' clocks
        # move on (candles close) even while nothing is published. Behind buffered
        # entries it would say nothing their own watermark does not, so it is skipped.
        if self._closing or self._buffer:
            return
        self._clk = clk = max(due_ns, self._clk)
        self._buffer.append((None, "", b"", clk, self._seq))
        if self._writer_idle:
            self._work.set()

    def _pending(self) -> int:
        return len(self._buffer) + len(self._inflight)

    def _wait_for_room(self) -> bool:
        if self.config.on_full is OverflowPolicy.DROP:
            return False
        limit = self.config.buffer_limit
        while self._pending() >= limit:
            if self._abandoned:
                return False
            self._room.clear()
            if self._pending() < limit:
                break
            self._room.wait(0.1)
        return True

    def _drop(self, stream: _Stream) -> None:
        clk = max(self._clock.timestamp_ns(), self._clk)
        self._counts["dropped"] += 1
        stream.dropped += 1
        if self._drop_range[0] < 0:
            self._drop_range[0] = clk
        self._drop_range[1] = clk
        if not self._dropping:
            self._dropping = True
            log.warning(
                "redis publisher buffer full: dropping new events until Redis takes them",
                buffer_limit=self.config.buffer_limit,
                stream=stream.key,
                connected=self._connected,
                last_error=self._last_error,
            )

    def _end_drop_episode(self) -> None:
        self._dropping = False
        log.warning(
            "redis publisher buffer has room again",
            dropped_total=self._counts["dropped"],
            first_dropped_clk=self._drop_range[0],
            last_dropped_clk=self._drop_range[1],
        )

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every buffered event is in Redis; return False on timeout."""
        deadline = time.monotonic() + timeout_s
        while self._pending():
            if time.monotonic() >= deadline or self._abandoned:
                return False
            time.sleep(0.002)
        return True

    def close(self, timeout_s: float | None = None) -> PublisherStatus:
        """Stop publishing, send what is buffered and the end watermark; return the status.

        Call it from the bus's thread. Waits ``timeout_s`` (default ``close_timeout_s``)
        for Redis; what is still buffered after that is counted as dropped and logged.
        Closing twice is harmless.
        """
        for topic, handler in self._handlers:
            self._bus.unsubscribe(topic, handler)
        self._handlers.clear()
        if not self._closing:
            self._closing = True
            self._clk = clk = max(self._clock.timestamp_ns(), self._clk)
            self._buffer.append((None, _END, b"", clk, self._seq))
            self._work.set()
        self._thread.join(self.config.close_timeout_s if timeout_s is None else timeout_s)
        if self._thread.is_alive():
            self._abandoned = True
            self._wake.set()
            self._work.set()
            self._thread.join()
        self._abandon_pending()
        return self.status()

    def _abandon_pending(self) -> None:
        items = [item for item in (*self._inflight, *self._buffer) if item[0] is not None]
        self._inflight.clear()
        self._buffer.clear()
        if not items:
            return
        for stream, _id, _payload, clk, _seq in items:
            if stream is not None:
                stream.dropped += 1
            if self._drop_range[0] < 0:
                self._drop_range[0] = clk
            self._drop_range[1] = max(self._drop_range[1], clk)
        self._counts["dropped"] += len(items)
        log.warning(
            "redis publisher closed with events still buffered: dropped",
            dropped=len(items),
            last_error=self._last_error,
        )

    def status(self) -> PublisherStatus:
        """Return a snapshot of the counters and the connection state."""
        counts = self._counts
        return PublisherStatus(
            connected=self._connected,
            published=counts["published"],
            refused=counts["refused"],
            rejected=counts["rejected"],
            buffered=sum(1 for item in (*self._inflight, *self._buffer) if item[0] is not None),
            buffer_limit=self.config.buffer_limit,
            dropped=counts["dropped"],
            dropped_by_stream={s.key: s.dropped for s in self._streams if s.dropped},
            first_dropped_clk=self._drop_range[0],
            last_dropped_clk=self._drop_range[1],
            outages=counts["outages"],
            reconnects=counts["reconnects"],
            failed_attempts=counts["failed"],
            last_error=self._last_error,
            watermarks=counts["watermarks"],
            ended=self._ended,
        )

    # The writer thread.

    def _run(self) -> None:
        delay = self.config.backoff_initial_s
        while not self._abandoned and not self._ended:
            watermark = self._next_batch()
            if watermark is None:
                continue
            try:
                results = self._send(self._inflight, watermark)
            except CONNECTION_ERRORS as exc:
                self._on_failure(exc)
                # Jitter keeps a fleet of publishers from reconnecting in lockstep.
                self._wake.wait(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, self.config.backoff_max_s)
                continue
            delay = self.config.backoff_initial_s
            self._on_success(watermark, results)

    def _next_batch(self) -> codec.Watermark | None:
        """Fill the in-flight batch (kept until sent) and return its watermark.

        With nothing to send for ``heartbeat_s``, return a heartbeat watermark; None
        when woken up with nothing to do.
        """
        inflight = self._inflight
        if not inflight:
            # Read before looking at the buffer: an entry appended after this read is
            # later than the key, so the heartbeat below never claims more than was sent.
            last_key = self._last_key
            buffer = self._buffer
            # Only this thread pops, so the buffer holds at least ``take`` items.
            take = min(self.config.batch_size, len(buffer))
            inflight.extend(buffer.popleft() for _ in range(take))
            if not inflight:
                if not self._idle_wait():
                    return None
                return codec.Watermark(*last_key)
        last = inflight[-1]
        return codec.Watermark(last[3], last[4], end=last[0] is None and last[1] == _END)

    def _idle_wait(self) -> bool:
        """Wait for work; return True when ``heartbeat_s`` passed without any."""
        self._writer_idle = True
        try:
            if self._buffer or self._abandoned:
                return False
            woken = self._work.wait(self.config.heartbeat_s)
            self._work.clear()
            return not woken and not self._buffer
        finally:
            self._writer_idle = False

    def _send(self, batch: list[_Item], watermark: codec.Watermark) -> list[Any]:
        field = codec.ENTRY_FIELD
        tail = resp.xadd_tail
        commands = [
            stream.head + tail(entry_id, field, payload)
            for stream, entry_id, payload, _clk, _seq in batch
            if stream is not None
        ]
        commands.append(
            self._clock_head + tail("*", codec.WATERMARK_FIELD, codec.encode(watermark))
        )
        return self._pipeline.execute(commands)

    def _on_success(self, watermark: codec.Watermark, results: list[Any]) -> None:
        entries = [item for item in self._inflight if item[0] is not None]
        refused = rejected = 0
        for item, result in zip(entries, results, strict=False):
            if isinstance(result, redis.exceptions.ResponseError):
                if _STALE_ID in str(result):
                    refused += 1
                else:
                    rejected += 1
                    stream = item[0].key if item[0] is not None else ""
                    self._warnings.warn(
                        "xadd_rejected", "Redis rejected an entry", stream=stream, error=str(result)
                    )
        self._inflight.clear()
        counts = self._counts
        counts["published"] += len(entries) - refused - rejected
        counts["refused"] += refused
        counts["rejected"] += rejected
        counts["watermarks"] += 1
        self._ended = watermark.end
        self._connected = True
        self._room.set()
        outage_started, self._outage_started = self._outage_started, None
        if outage_started is not None:
            counts["reconnects"] += 1
            log.info(
                "redis publisher connected again",
                outage_s=round(time.monotonic() - outage_started, 3),
                buffered=len(self._buffer),
                dropped_total=counts["dropped"],
            )

    def _on_failure(self, exc: Exception) -> None:
        self._counts["failed"] += 1
        self._last_error = f"{type(exc).__name__}: {exc}"
        self._connected = False
        if self._outage_started is None:
            self._counts["outages"] += 1
            self._outage_started = time.monotonic()
            log.warning(
                "redis unavailable: buffering and retrying with backoff",
                error=self._last_error,
                buffered=self._pending(),
                buffer_limit=self.config.buffer_limit,
            )
