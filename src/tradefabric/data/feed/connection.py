"""One WebSocket connection to a venue that keeps itself alive.

Connects, subscribes, hands every frame to the venue parser, and on any
failure (drop, error, or silence past the watchdog's limit) reconnects with
exponential backoff and jitter. Each (re)connect calls ``on_connected`` so the
owner can resync state that may have missed updates (order books).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Protocol

import msgspec
import structlog
import websockets
from websockets.asyncio.client import ClientConnection, connect

from tradefabric.core.clock import Clock
from tradefabric.core.errors import DataError, StaleMessageError
from tradefabric.core.logging import WarningThrottle
from tradefabric.data.feed.backoff import Backoff
from tradefabric.data.feed.recorder import FrameRecorder

log = structlog.get_logger(__name__)


class FrameSink(Protocol):
    """Whatever consumes raw frames: a venue parser."""

    def on_frame(self, raw: bytes, ts_recv: int) -> None:
        """Handle one raw frame received at ``ts_recv``."""
        ...


class ConnectionStats(msgspec.Struct, frozen=True):
    """Counters of one connection over its whole life."""

    name: str
    connected: bool
    connects: int
    reconnects: int
    stalls: int
    frames: int
    duplicates: int
    """Frames dropped as repeats of data already received (stale ids)."""
    rejected: dict[str, int]
    last_frame_ns: int
    last_error: str


class VenueConnection:
    """A self-healing WebSocket connection feeding one frame sink."""

    def __init__(
        self,
        name: str,
        url: Callable[[], str],
        sink: FrameSink,
        clock: Clock,
        *,
        subscribe_frames: Callable[[], Sequence[str]] = tuple,
        on_connected: Callable[[], Awaitable[None]] | None = None,
        on_disconnected: Callable[[], None] | None = None,
        silence_timeout_s: float = 10.0,
        backoff: Backoff | None = None,
        record_dir: Path | None = None,
        compression: str | None = None,
    ) -> None:
        self.name = name
        self._url = url
        self._sink = sink
        self._clock = clock
        self._subscribe_frames = subscribe_frames
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._silence_ns = int(silence_timeout_s * 1e9)
        self._backoff = backoff or Backoff()
        self._record_dir = record_dir
        # Off by default: per-message deflate costs latency on every frame (measured in
        # bench/bench_tick_latency.py); venues that require it can turn it on.
        self._compression = compression
        self._warnings = WarningThrottle(log)
        self._rejected: Counter[str] = Counter()
        self._ws: ClientConnection | None = None
        self.connects = self.reconnects = self.stalls = self.frames = self.duplicates = 0
        self.last_frame_ns = 0
        self.last_error = ""
        self.recordings: list[Path] = []

    def stats(self) -> ConnectionStats:
        """Return the connection's counters."""
        return ConnectionStats(
            self.name, self._ws is not None, self.connects, self.reconnects, self.stalls,
            self.frames, self.duplicates, dict(self._rejected), self.last_frame_ns, self.last_error,
        )  # fmt: skip

    async def send(self, text: str) -> None:
        """Send a frame if connected; dropped otherwise (the next connect resubscribes)."""
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(websockets.exceptions.ConnectionClosed):
                await ws.send(text)

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected until ``stop`` is set."""
        while not stop.is_set():
            await self._session(stop)
            if stop.is_set():
                break
            self.reconnects += 1
            delay = self._backoff.next_delay()
            log.info("reconnecting", connection=self.name, delay_s=round(delay, 3))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)

    async def _session(self, stop: asyncio.Event) -> None:
        recorder = self._open_recorder()
        try:
            async with connect(
                self._url(),
                max_size=None,
                open_timeout=10,
                close_timeout=2,
                compression=self._compression,
            ) as ws:
                self._ws = ws
                self.connects += 1
                for frame in self._subscribe_frames():
                    await ws.send(frame)
                if self._on_connected is not None:
                    await self._on_connected()
                await self._receive_until_done(ws, stop, recorder)
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("connection_lost", connection=self.name, error=self.last_error)
        finally:
            was_connected = self._ws is not None
            self._ws = None
            if recorder is not None:
                recorder.close()
            # A deliberate stop keeps the last state readable; only a loss is reported.
            if was_connected and not stop.is_set() and self._on_disconnected is not None:
                self._on_disconnected()

    async def _receive_until_done(
        self, ws: ClientConnection, stop: asyncio.Event, recorder: FrameRecorder | None
    ) -> None:
        receiver = asyncio.create_task(self._receive(ws, recorder))
        watchdog = asyncio.create_task(self._watch(ws))
        stopper = asyncio.create_task(stop.wait())
        done, pending = await asyncio.wait(
            {receiver, watchdog, stopper}, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if receiver in done:
            receiver.result()  # re-raise the connection error, if any

    async def _receive(self, ws: ClientConnection, recorder: FrameRecorder | None) -> None:
        clock = self._clock
        on_frame = self._sink.on_frame
        while True:
            raw = await ws.recv(decode=False)
            ts_recv = clock.timestamp_ns()
            self.frames += 1
            self.last_frame_ns = ts_recv
            if self.frames > 1:
                self._backoff.reset()
            if recorder is not None:
                recorder.record(raw, ts_recv)
            try:
                on_frame(raw, ts_recv)
            except StaleMessageError:
                # Expected after a reconnect or REST fallback: the copy we already have.
                self.duplicates += 1
            except DataError as exc:
                kind = type(exc).__name__
                self._rejected[kind] += 1
                self._warnings.warn(kind, "frame rejected", connection=self.name, reason=str(exc))

    async def _watch(self, ws: ClientConnection) -> None:
        # Silence on a live socket means the venue stalled: treat it as a drop.
        started = self._clock.timestamp_ns()
        interval = max(0.05, self._silence_ns / 4e9)
        while True:
            await asyncio.sleep(interval)
            last = max(self.last_frame_ns, started)
            if self._clock.timestamp_ns() - last > self._silence_ns:
                self.stalls += 1
                self.last_error = f"no frame for {self._silence_ns / 1e9:g}s"
                log.warning("connection_stalled", connection=self.name, error=self.last_error)
                # A stalled peer may never answer a close handshake: cut the socket now.
                ws.transport.abort()
                return

    def _open_recorder(self) -> FrameRecorder | None:
        if self._record_dir is None:
            return None
        recorder = FrameRecorder(
            self._record_dir, self.name, self.connects + 1, self._clock.timestamp_ns()
        )
        self.recordings.append(recorder.path)
        return recorder
