"""Consume Redis streams in a consumer group and republish the events on a local bus.

Delivery is at least once: an entry is acknowledged (``XACK``) only after the
caller's sink has handled it, so a consumer killed in between gets it again when
it restarts under the same name (its pending entries are read first), and
entries a dead consumer left pending are claimed by the others (``XAUTOCLAIM``)
once idle for ``claim_idle_ms``. Every ``Delivery`` carries its stream and entry
id and says whether it is a redelivery, so a sink can drop what it already has;
ids the caller declares already processed (``processed``) are acknowledged
without being dispatched.

With ``ordered`` (the default) the entries of all subscribed streams are released
in the publisher's order (see ``merge``), and a ``SimClock`` given to the
consumer is moved to each entry's publisher time before the event is published,
so components downstream see the same events at the same times as they would
inside the publishing process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import msgspec
import redis
import structlog

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.errors import ConfigError, MalformedMessageError
from tradefabric.core.logging import WarningThrottle
from tradefabric.streams import codec
from tradefabric.streams.connection import CONNECTION_ERRORS
from tradefabric.streams.errors import RedisUnavailableError
from tradefabric.streams.merge import BOTTOM, TOP, Key, ReleaseBuffer

log = structlog.get_logger(__name__)

_NEW = ">"
_PEL_START = "0-0"

_Entries = list[tuple[bytes, dict[bytes, bytes] | None]]
"""Entries of one stream as redis-py returns them: id and fields (None once trimmed)."""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _by_stream(reply: Any) -> dict[str, _Entries]:
    """Return the entries of an XREADGROUP reply per stream (RESP2 list or RESP3 map)."""
    if not reply:
        return {}
    items = reply.items() if isinstance(reply, dict) else reply
    return {_text(name): list(entries) for name, entries in items}


class Subscription(msgspec.Struct, frozen=True):
    """One stream to consume and the clock stream whose watermarks cover it ('' for none)."""

    stream: str
    clock: str


def subscriptions(
    prefix: str, venue: str, symbols: Sequence[str], kinds: str | tuple[str, ...], source: str = ""
) -> tuple[Subscription, ...]:
    """Return the subscriptions to ``kinds`` of ``symbols`` on ``venue``.

    Watermarks are read from the clock stream of ``source`` (default: the venue's name,
    which is what ``tradefabric stream publish`` uses).
    """
    codec.check_prefix(prefix)
    clock = codec.clock_key(prefix, source or venue)
    return tuple(
        Subscription(codec.stream_key(prefix, kind.name, venue, symbol), clock)
        for symbol in symbols
        for kind in codec.kinds_named(kinds)
    )


class ConsumerConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which group and streams a ``StreamConsumer`` reads, and how."""

    group: str
    consumer: str
    subscriptions: tuple[Subscription, ...]
    batch: int = 500
    """Entries read per stream per round trip."""
    block_ms: int = 500
    """How long a read waits for new entries when there is nothing else to do."""
    ordered: bool = True
    max_hold_ms: int = 5_000
    """Release held entries anyway when no stream advanced for this long (0: never)."""
    claim_idle_ms: int = 0
    """Claim other consumers' entries pending longer than this (0: never)."""
    start_id: str = "0"
    """Where a group created by this consumer starts: '0' everything kept, '$' new only."""

    def __post_init__(self) -> None:
        if not self.group or not self.consumer:
            raise ConfigError("consumer group and consumer name must be non-empty")
        if not self.subscriptions:
            raise ConfigError("a consumer needs at least one stream to read")
        if len({s.stream for s in self.subscriptions}) != len(self.subscriptions):
            raise ConfigError("a stream is subscribed twice")
        for sub in self.subscriptions:
            codec.parse_stream_key(sub.stream)
        if self.batch < 1 or self.block_ms < 0 or self.max_hold_ms < 0 or self.claim_idle_ms < 0:
            raise ConfigError("batch must be >= 1 and block_ms, max_hold_ms, claim_idle_ms >= 0")


class Delivery(msgspec.Struct, frozen=True):
    """One event read from Redis, with where it came from."""

    stream: str
    entry_id: str
    """The stream entry id: with ``stream``, the key that identifies a redelivered entry."""
    kind: str
    clk: int
    seq: int
    redelivered: bool
    """Read again from this consumer's pending entries or claimed from another consumer:
    possibly processed before."""
    event: codec.Event


class ConsumerStats(msgspec.Struct, frozen=True):
    """What a consumer read, dispatched, acknowledged and skipped."""

    delivered: int
    """Events published on the local bus."""
    acked: int
    redelivered: int
    duplicates_dropped: int
    """Redelivered entries the caller had already processed: acknowledged, not dispatched."""
    claimed: int
    lost: int
    """Pending entries trimmed from their stream (MAXLEN) before they were processed."""
    undecodable: int
    forced_releases: int
    """Times held entries were released before every stream caught up (``max_hold_ms``)."""
    held: int
    unacked: int
    errors: int
    by_kind: dict[str, int]
    finished: bool
    end_clk: int
    """The publishers' end time (ns) once every followed clock stream ended, else -1."""


class _State:
    """Per-stream read state."""

    __slots__ = ("claim_cursor", "cursor", "drained_at", "index", "key", "sub")

    def __init__(self, index: int, sub: Subscription) -> None:
        self.index = index
        self.sub = sub
        self.key = sub.stream
        self.cursor = _PEL_START
        self.claim_cursor = _PEL_START
        self.drained_at: codec.Watermark | None = None


_COUNTERS = (
    "delivered",
    "acked",
    "redelivered",
    "duplicates_dropped",
    "claimed",
    "lost",
    "undecodable",
    "forced_releases",
    "errors",
)


class StreamConsumer:
    """Read subscribed streams as one consumer of a group; publish events on ``bus``."""

    def __init__(
        self,
        client: redis.Redis,
        config: ConsumerConfig,
        bus: MessageBus,
        clock: SimClock | None = None,
        processed: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Prepare to consume; ``processed`` lists ``(stream, entry id)`` already handled."""
        self.config = config
        self._client = client
        self._bus = bus
        self._clock = clock
        self._states = [_State(i, sub) for i, sub in enumerate(config.subscriptions)]
        self._clocks = sorted({s.clock for s in config.subscriptions if s.clock})
        self._watermarks: dict[str, codec.Watermark] = {}
        self._buffer: ReleaseBuffer[Delivery] = ReleaseBuffer(len(self._states), config.ordered)
        self._inflight: set[tuple[str, str]] = set()
        self._processed = set(processed)
        self._to_ack: list[tuple[str, str]] = []
        self._counts = dict.fromkeys(_COUNTERS, 0)
        self._by_kind: dict[str, int] = {}
        self._groups_ready = False
        self._last_bound: Key = BOTTOM
        self._last_progress = time.monotonic()
        self._next_claim = 0.0
        self._warnings = WarningThrottle(log)

    def ensure_groups(self) -> None:
        """Create the group on every stream (and the stream) where it does not exist yet."""
        try:
            for state in self._states:
                self._create_group(state.key)
        except CONNECTION_ERRORS as exc:
            raise RedisUnavailableError(f"Redis unavailable: {exc}") from exc
        for state in self._states:
            # Start (again) with this consumer's pending entries: a previous life of it,
            # or this one before a connection loss, may have read them without acking.
            state.cursor = _PEL_START
        self._groups_ready = True

    def _create_group(self, key: str) -> None:
        try:
            self._client.xgroup_create(key, self.config.group, self.config.start_id, mkstream=True)
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def poll(self) -> list[Delivery]:
        """Read once, release what is safe, publish it on the bus; return it for ``ack``.

        Raise ``RedisUnavailableError`` when Redis cannot be reached; nothing read
        is lost (it stays pending and is read again after the next ``ensure_groups``).
        """
        try:
            if not self._groups_ready:
                self.ensure_groups()
            self._flush_acks()
            self._read_watermarks()
            self._read()
            self._claim()
        except redis.exceptions.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # Redis restarted without persistence: streams and groups are gone.
            self._groups_ready = False
            raise RedisUnavailableError(f"consumer group lost: {exc}") from exc
        except CONNECTION_ERRORS as exc:
            self._groups_ready = False
            raise RedisUnavailableError(f"Redis unavailable: {exc}") from exc
        released = self._release()
        self._dispatch(released)
        return released

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Acknowledge ``deliveries``; on a lost connection keep them queued for the next poll."""
        self._to_ack.extend((d.stream, d.entry_id) for d in deliveries)
        try:
            self._flush_acks()
        except CONNECTION_ERRORS as exc:
            raise RedisUnavailableError(f"Redis unavailable: {exc}") from exc

    def run(
        self,
        sink: Callable[[list[Delivery]], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        backoff_max_s: float = 2.0,
    ) -> ConsumerStats:
        """Poll, hand each release to ``sink``, ack; until ``should_stop``; back off on outages."""
        delay = 0.05
        while should_stop is None or not should_stop():
            try:
                released = self.poll()
                if released:
                    if sink is not None:
                        sink(released)
                    self.ack(released)
            except RedisUnavailableError as exc:
                self._counts["errors"] += 1
                self._warnings.warn(
                    "redis_unavailable", "consumer cannot reach Redis", error=str(exc)
                )
                time.sleep(delay)
                delay = min(delay * 2, backoff_max_s)
                continue
            delay = 0.05
        return self.stats()

    @property
    def delivered(self) -> int:
        """Return how many events were published on the bus so far."""
        return self._counts["delivered"]

    @property
    def finished(self) -> bool:
        """Return True once every publisher followed ended and all its entries were handled."""
        if not self._clocks or self._buffer.held() or self._to_ack:
            return False
        if not all(w.end for w in self._watermarks.values()) or len(self._watermarks) < len(
            self._clocks
        ):
            return False
        return all(
            s.cursor == _NEW and s.drained_at is not None and s.drained_at.end for s in self._states
        )

    @property
    def end_clk(self) -> int:
        """Return the latest end watermark's time (ns), or -1 while a publisher is running."""
        ends = [w.clk for w in self._watermarks.values() if w.end]
        if not ends or len(ends) < len(self._clocks):
            return -1
        return max(ends)

    def stats(self) -> ConsumerStats:
        """Return a snapshot of the counters."""
        return ConsumerStats(
            **self._counts,
            held=self._buffer.held(),
            unacked=len(self._to_ack),
            by_kind=dict(self._by_kind),
            finished=self.finished,
            end_clk=self.end_clk,
        )

    # Reading.

    def _read_watermarks(self) -> None:
        if not self._clocks:
            return
        pipe = self._client.pipeline(transaction=False)
        for key in self._clocks:
            pipe.xrevrange(key, count=1)
        for key, reply in zip(self._clocks, pipe.execute(), strict=True):
            if not reply:
                continue
            payload = reply[0][1].get(codec.WATERMARK_FIELD)
            try:
                self._watermarks[key] = codec.decode_watermark(payload or b"")
            except MalformedMessageError as exc:
                self._warnings.warn("bad_watermark", "watermark ignored", clock=key, error=str(exc))

    def _read(self) -> None:
        pending = [s for s in self._states if s.cursor != _NEW]
        if pending:
            self._read_pending(pending)
            return
        batch = self.config.batch
        readable = [s for s in self._states if self._buffer.held(s.index) < batch]
        if not readable:
            return
        busy = self._buffer.held() > 0 or bool(self._to_ack)
        block = min(self.config.block_ms, 20) if busy else self.config.block_ms
        streams: dict[Any, Any] = {s.key: _NEW for s in readable}
        reply: Any = self._client.xreadgroup(
            self.config.group,
            self.config.consumer,
            streams,
            count=batch,
            block=block or None,
        )
        got = _by_stream(reply)
        for state in readable:
            entries = got.get(state.key, [])
            self._take(state, entries, redelivered=False)
            self._note_drained(state, len(entries) < batch)

    def _note_drained(self, state: _State, drained: bool) -> None:
        # The watermark was read before this read: every entry up to it was in Redis
        # already, so a stream with nothing more to give has delivered up to it.
        mark = self._watermarks.get(state.sub.clock) if drained else None
        state.drained_at = mark
        if mark is not None:
            self._buffer.advance(state.index, (mark.clk, mark.seq))

    def _read_pending(self, pending: list[_State]) -> None:
        streams: dict[Any, Any] = {s.key: s.cursor for s in pending}
        reply: Any = self._client.xreadgroup(
            self.config.group, self.config.consumer, streams, count=self.config.batch
        )
        got = _by_stream(reply)
        for state in pending:
            entries = got.get(state.key, [])
            if not entries:
                state.cursor = _NEW
                continue
            state.cursor = _text(entries[-1][0])
            self._take(state, entries, redelivered=True)

    def _claim(self) -> None:
        idle_ms = self.config.claim_idle_ms
        now = time.monotonic()
        if idle_ms <= 0 or now < self._next_claim:
            return
        self._next_claim = now + max(idle_ms / 2000, 0.1)
        for state in self._states:
            if state.cursor != _NEW:
                continue
            reply: Any = self._client.xautoclaim(
                state.key,
                self.config.group,
                self.config.consumer,
                min_idle_time=idle_ms,
                start_id=state.claim_cursor,
                count=self.config.batch,
            )
            state.claim_cursor = _text(reply[0])
            self._counts["claimed"] += self._take(state, reply[1], redelivered=True)

    def _take(self, state: _State, entries: _Entries, redelivered: bool) -> int:
        """Decode and hold ``entries`` of one stream; return how many were new here."""
        taken = 0
        stream = state.key
        for raw_id, fields in entries:
            entry_id = _text(raw_id)
            key = (stream, entry_id)
            if redelivered and self._skip_redelivered(key):
                continue
            entry = self._decode(key, fields)
            if entry is None:
                continue
            kind = codec.KIND_OF_ENTRY[type(entry)].name
            delivery = Delivery(
                stream, entry_id, kind, entry.clk, entry.seq, redelivered, entry.event
            )
            self._inflight.add(key)
            self._buffer.add(state.index, (entry.clk, entry.seq), delivery)
            taken += 1
        if redelivered:
            self._counts["redelivered"] += taken
        return taken

    def _skip_redelivered(self, key: tuple[str, str]) -> bool:
        if key in self._inflight:
            # Already held or awaiting its ack in this process (claimed back from ourselves).
            return True
        if key in self._processed:
            self._counts["duplicates_dropped"] += 1
            self._to_ack.append(key)
            return True
        return False

    def _decode(
        self, key: tuple[str, str], fields: dict[bytes, bytes] | None
    ) -> codec.AnyEntry | None:
        if not fields:
            # A pending entry whose stream was trimmed past it: its data is gone.
            self._counts["lost"] += 1
            self._warnings.warn("entry_lost", "pending entry trimmed before processing", entry=key)
            self._to_ack.append(key)
            return None
        try:
            return codec.decode_entry(fields.get(codec.ENTRY_FIELD, b""))
        except MalformedMessageError as exc:
            self._counts["undecodable"] += 1
            self._warnings.warn("undecodable", "stream entry skipped", entry=key, error=str(exc))
            self._to_ack.append(key)
            return None

    # Releasing and acknowledging.

    def _release(self) -> list[Delivery]:
        released = self._buffer.release()
        bound = self._buffer.bound()
        now = time.monotonic()
        if released or bound != self._last_bound:
            self._last_bound = bound
            self._last_progress = now
            return released
        hold_s = self.config.max_hold_ms / 1000
        if self._buffer.held() and hold_s > 0 and now - self._last_progress > hold_s:
            self._counts["forced_releases"] += 1
            self._last_progress = now
            self._warnings.warn(
                "forced_release",
                "a stream stopped advancing: releasing held entries out of order",
                held=self._buffer.held(),
                watermarks={k: w.clk for k, w in self._watermarks.items()},
            )
            return self._buffer.release_all()
        return released

    def _dispatch(self, released: list[Delivery]) -> None:
        clock = self._clock
        publish = self._bus.publish
        kinds = codec.KINDS_BY_NAME
        by_kind = self._by_kind
        for delivery in released:
            if clock is not None:
                clock.advance_to(delivery.clk)
            publish(kinds[delivery.kind].topic, delivery.event)
            by_kind[delivery.kind] = by_kind.get(delivery.kind, 0) + 1
        self._counts["delivered"] += len(released)
        bound = self._buffer.bound()
        if clock is not None and BOTTOM < bound < TOP:
            # Nothing earlier than the bound can come any more, so the publisher's clock
            # was there too: timers due by then (candle closes) fire now, not later.
            clock.advance_to(bound[0])

    def _flush_acks(self) -> None:
        if not self._to_ack:
            return
        by_stream: dict[str, list[str]] = {}
        for stream, entry_id in self._to_ack:
            by_stream.setdefault(stream, []).append(entry_id)
        pipe = self._client.pipeline(transaction=False)
        for stream, ids in by_stream.items():
            pipe.xack(stream, self.config.group, *ids)
        results = pipe.execute(raise_on_error=False)
        self._counts["acked"] += sum(r for r in results if isinstance(r, int))
        for key in self._to_ack:
            self._inflight.discard(key)
            self._processed.discard(key)
        self._to_ack.clear()
