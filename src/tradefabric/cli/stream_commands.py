"""``tradefabric stream ...``: publish a node's events to Redis Streams, consume them elsewhere."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import msgspec
import typer
from rich.table import Table

from tradefabric.cli.output import check_out_file, fail, file_progress, print_json, stderr, stdout
from tradefabric.core.bus import MessageBus
from tradefabric.core.errors import ConfigError, DataSourceError, TradefabricError
from tradefabric.model.enums import EmptyCandlePolicy
from tradefabric.node.config import MarketDataConfig
from tradefabric.streams import codec
from tradefabric.streams.connection import DEFAULT_URL, connect, ping
from tradefabric.streams.consumer import (
    ConsumerConfig,
    ConsumerStats,
    StreamConsumer,
    subscriptions,
)
from tradefabric.streams.event_log import EventLog
from tradefabric.streams.journal import JOURNAL_SUFFIX, journal_path, open_journal
from tradefabric.streams.pipeline import (
    Downstream,
    IngestSummary,
    SampleConfig,
    publish_recording,
    single_process,
)
from tradefabric.streams.publisher import OverflowPolicy, PublisherConfig
from tradefabric.venues.registry import VENUES

app = typer.Typer(
    help="Redis Streams: publish a node's events from one process, consume them in another."
)

EXIT_DATA_LOST = 1

FileArg = Annotated[
    Path, typer.Argument(help="Recording: '<ts_ns> <raw json>' per line, gzip or plain.")
]
VenueOpt = Annotated[str, typer.Option("--venue", help=f"Venue: {', '.join(VENUES)}.")]
RedisOpt = Annotated[str, typer.Option("--redis", help="Redis URL: redis://host:port/db.")]
PrefixOpt = Annotated[str, typer.Option("--prefix", help="Stream names start with this.")]
SourceOpt = Annotated[
    str, typer.Option("--source", help="Publisher name for the clock stream (default: venue).")
]
IntervalsOpt = Annotated[
    str, typer.Option("--intervals", help="Candle intervals built from trades, comma-separated.")
]
DepthOpt = Annotated[int, typer.Option("--book-depth", help="Levels per side in book samples.")]
RateOpt = Annotated[
    int, typer.Option("--book-interval-ms", help="Sample each changed book this often (ms).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one machine-readable JSON document.")]
ALL_KINDS = ",".join(k.name for k in codec.KINDS)


class ConsumeSummary(msgspec.Struct, frozen=True):
    """What ``stream consume`` did and why it stopped."""

    stats: ConsumerStats
    stopped_by: str
    events_written: int
    events_replayed: int
    """Events of an earlier run read back from the journal into the downstream."""
    candles: int
    book_tops: int
    seconds: float


@app.command()
def publish(
    file: FileArg,
    venue: VenueOpt = "binance",
    redis_url: RedisOpt = DEFAULT_URL,
    prefix: PrefixOpt = codec.DEFAULT_PREFIX,
    source: SourceOpt = "",
    kinds: Annotated[
        str, typer.Option("--kinds", help=f"Kinds to publish, comma-separated: {ALL_KINDS}.")
    ] = ALL_KINDS,
    maxlen: Annotated[
        int, typer.Option("--maxlen", help="Approximate entries kept per stream (0: all).")
    ] = 100_000,
    buffer: Annotated[
        int, typer.Option("--buffer", help="Events buffered while Redis is slow or down.")
    ] = 100_000,
    on_full: Annotated[
        OverflowPolicy,
        typer.Option("--on-full", help="Buffer full: block the replay, or drop new events."),
    ] = OverflowPolicy.BLOCK,
    book_depth: DepthOpt = 10,
    book_interval_ms: RateOpt = 1_000,
    intervals: IntervalsOpt = "1s,1m",
    json_output: JsonOpt = False,
) -> None:
    """Replay FILE through a node and publish its events and book samples to Redis.

    One stream per kind, venue and symbol (e.g. tf:trades:binance:BTC/USDT), trimmed
    with MAXLEN ~; watermarks go to <prefix>:clock:<source>. Exits 1 if events were lost.
    """
    try:
        config = MarketDataConfig(venue=venue, candle_intervals=_split(intervals))
        publisher = PublisherConfig(
            prefix=prefix,
            source=source or venue,
            kinds=_split(kinds),
            maxlen=maxlen,
            buffer_limit=buffer,
            on_full=on_full,
        )
        sample = SampleConfig(interval_ms=book_interval_ms, depth=book_depth)
        client = connect(redis_url)
        # Fail now rather than block the replay on a buffer nobody drains.
        ping(client)
        with file_progress(file, not json_output and stderr.is_terminal) as update:
            summary = publish_recording(
                file, config, client, publisher, sample=sample, progress=update
            )
    except TradefabricError as exc:
        raise fail(exc) from exc
    if json_output:
        print_json(summary)
    else:
        _print_publish(summary)
    status = summary.publisher
    if status.dropped or status.rejected:
        raise typer.Exit(code=EXIT_DATA_LOST)


@app.command()
def consume(
    symbols: Annotated[
        str, typer.Option("--symbols", help="Unified symbols, comma-separated: BTC/USDT,ETH/USDT.")
    ],
    group: Annotated[str, typer.Option("--group", help="Consumer group.")],
    consumer: Annotated[str, typer.Option("--consumer", help="This consumer's name in it.")],
    venue: VenueOpt = "binance",
    redis_url: RedisOpt = DEFAULT_URL,
    prefix: PrefixOpt = codec.DEFAULT_PREFIX,
    source: SourceOpt = "",
    kinds: Annotated[
        str, typer.Option("--kinds", help=f"Kinds to read, comma-separated: {ALL_KINDS}.")
    ] = "trades,quotes,books",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write candles built from trades and book tops here (JSON), from a journal"
            f" of every event (--events-out, else OUT{JOURNAL_SUFFIX}).",
        ),
    ] = None,
    events_out: Annotated[
        Path | None,
        typer.Option("--events-out", help="Append every event here (JSON lines, synced)."),
    ] = None,
    intervals: IntervalsOpt = "1s,1m",
    empty_candles: Annotated[
        EmptyCandlePolicy, typer.Option("--empty-candles", help="Intervals without trades.")
    ] = EmptyCandlePolicy.SKIP,
    close_delay_ms: Annotated[
        int, typer.Option("--close-delay-ms", help="Candle close delay, as on the node.")
    ] = 0,
    batch: Annotated[int, typer.Option("--batch", help="Entries read per stream per call.")] = 500,
    ordered: Annotated[
        bool, typer.Option("--ordered/--unordered", help="Release in the publisher's order.")
    ] = True,
    max_hold_ms: Annotated[
        int, typer.Option("--max-hold-ms", help="Give up waiting for a stalled stream (0: never).")
    ] = 5_000,
    claim_idle_ms: Annotated[
        int, typer.Option("--claim-idle-ms", help="Take over others' entries idle this long.")
    ] = 0,
    until_end: Annotated[
        bool, typer.Option("--until-end", help="Stop once the publisher ended and all is read.")
    ] = False,
    idle_exit: Annotated[
        float, typer.Option("--idle-exit", help="Stop after this many seconds without events.")
    ] = 0.0,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Stop after this many seconds (0: no limit).")
    ] = 0.0,
    json_output: JsonOpt = False,
) -> None:
    """Consume streams as CONSUMER of GROUP; republish events on a local bus.

    With --out, candles are built from the trades and book tops from the samples,
    on a clock that follows the publisher's: the same result as in one process.
    Events are acknowledged only once synced to disk (--events-out, or with --out
    its journal OUT.events.jsonl); a restarted consumer replays its journal,
    resumes with its pending entries and drops those it had already written.
    SIGTERM or Ctrl-C stops after the current batch.
    """
    started = time.monotonic()
    log_sink: EventLog | None = None
    replayed = 0
    try:
        config = ConsumerConfig(
            group=group,
            consumer=consumer,
            subscriptions=subscriptions(prefix, venue, _split(symbols), kinds, source),
            batch=batch,
            ordered=ordered,
            max_hold_ms=max_hold_ms,
            claim_idle_ms=claim_idle_ms,
        )
        check_out_file(out, "--out")
        if out is not None and "candles" in _split(kinds) and intervals:
            raise ConfigError("read candles or build them with --intervals, not both")
        downstream = Downstream(_split(intervals), empty_candles, close_delay_ms) if out else None
        journal = journal_path(out, events_out)
        if journal is not None:
            log_sink, replayed = open_journal(journal, downstream)
        stream_consumer = StreamConsumer(
            connect(redis_url),
            config,
            downstream.bus if downstream else MessageBus(),
            downstream.clock if downstream else None,
            processed=log_sink.processed if log_sink else (),
        )
        stop = _StopWhen(stream_consumer, until_end, idle_exit, timeout)
        stats = stream_consumer.run(log_sink.write if log_sink else None, stop)
        candles = tops = 0
        if downstream is not None and out is not None:
            result = downstream.finish(stream_consumer.end_clk)
            _write_atomic(out, msgspec.json.encode(result))
            candles, tops = len(result.candles), len(result.book_tops)
    except TradefabricError as exc:
        raise fail(exc) from exc
    finally:
        if log_sink is not None:
            log_sink.close()
    written = log_sink.written if log_sink else 0
    seconds = time.monotonic() - started
    summary = ConsumeSummary(stats, stop.reason, written, replayed, candles, tops, seconds)
    if json_output:
        print_json(summary)
    else:
        _print_consume(summary)


@app.command()
def local(
    file: FileArg,
    out: Annotated[Path, typer.Option("--out", help="Write candles and book tops here (JSON).")],
    venue: VenueOpt = "binance",
    book_depth: DepthOpt = 10,
    book_interval_ms: RateOpt = 1_000,
    intervals: IntervalsOpt = "1s,1m",
) -> None:
    """Compute in one process what `stream publish` + `stream consume --out` compute in two."""
    try:
        check_out_file(out, "--out")
        config = MarketDataConfig(venue=venue, candle_intervals=_split(intervals))
        sample = SampleConfig(interval_ms=book_interval_ms, depth=book_depth)
        result = single_process(file, config, sample)
        _write_atomic(out, msgspec.json.encode(result))
    except TradefabricError as exc:
        raise fail(exc) from exc
    stdout.print(f"{len(result.candles):,} candles, {len(result.book_tops):,} book tops -> {out}")


class _StopWhen:
    """Decide when ``stream consume`` stops: a signal, the publisher's end, idleness, a timeout."""

    def __init__(
        self, consumer: StreamConsumer, until_end: bool, idle_s: float, timeout_s: float
    ) -> None:
        self._consumer = consumer
        self._until_end = until_end
        self._idle_s = idle_s
        self._deadline = time.monotonic() + timeout_s if timeout_s > 0 else None
        self._delivered = -1
        self._last_change = time.monotonic()
        self._signalled = False
        self.reason = ""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signalled = True

    def __call__(self) -> bool:
        now = time.monotonic()
        delivered = self._consumer.delivered
        if delivered != self._delivered:
            self._delivered, self._last_change = delivered, now
        if self._signalled:
            self.reason = "signal"
        elif self._until_end and self._consumer.finished:
            self.reason = "end"
        elif self._idle_s > 0 and now - self._last_change >= self._idle_s:
            self.reason = "idle"
        elif self._deadline is not None and now >= self._deadline:
            self.reason = "timeout"
        return bool(self.reason)


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    except OSError as exc:
        raise DataSourceError(f"cannot write {path}: {exc}") from exc


def _print_publish(summary: IngestSummary) -> None:
    status = summary.publisher
    table = Table(title=f"Published {summary.replay.file} ({summary.replay.venue})")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, value in (
        ("lines read", summary.replay.replay.lines),
        ("trades", summary.replay.events.trades),
        ("quotes", summary.replay.events.quotes),
        ("candles", summary.replay.events.candles),
        ("book samples", summary.book_samples),
        ("entries stored in Redis", status.published),
        ("refused (already there)", status.refused),
        ("rejected by Redis", status.rejected),
        ("dropped (buffer full / Redis down)", status.dropped),
        ("Redis outages", status.outages),
    ):
        table.add_row(name, f"{value:,}")
    stdout.print(table)
    if status.dropped or status.rejected:
        stdout.print(f"[bold red]events lost:[/] {status.dropped_by_stream} {status.last_error}")


def _print_consume(summary: ConsumeSummary) -> None:
    stats = summary.stats
    table = Table(title=f"Consumed (stopped by {summary.stopped_by})")
    table.add_column("what")
    table.add_column("count", justify="right")
    rows = [(f"events: {kind}", n) for kind, n in sorted(stats.by_kind.items())]
    rows += [
        ("acknowledged", stats.acked),
        ("redelivered", stats.redelivered),
        ("duplicates dropped", stats.duplicates_dropped),
        ("claimed from other consumers", stats.claimed),
        ("lost (trimmed before read)", stats.lost),
        ("candles built", summary.candles),
        ("book tops", summary.book_tops),
    ]
    for name, value in rows:
        table.add_row(name, f"{value:,}")
    stdout.print(table)
