"""Market-wide (macro) inputs for confidence: BTC dominance, as dated readings.

The default is no source: the macro factor is then neutral. Readings are dated
by when the source published them and kept in the catalog (table ``macro``), so
a backtest scores each signal with the readings published before it, and a live
run with the ones fetched so far:

- ``StoredMacro``: the catalog's readings (filled by ``backfill`` from CoinGecko's
  history endpoints, or by a ``ScheduledMacro`` that ran before).
- ``ScheduledMacro``: live; backfills the recent past once, then fetches
  ``/global`` every ``refresh_s`` and stores each new reading.

Scoring only reads what was already fetched: the network is never on the
per-candle path.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Protocol

import msgspec
import structlog

from tradefabric.analytics.coingecko import SOURCE, CoinGeckoClient, MarketSnapshot
from tradefabric.core.errors import FatalError, TradefabricError
from tradefabric.store.catalog import Catalog
from tradefabric.store.macro import StoredReading, load_readings, write_readings

log = structlog.get_logger(__name__)


class MacroReading(msgspec.Struct, frozen=True):
    """BTC's share of total crypto market cap (%), as published at ``ts``."""

    btc_dominance: float
    ts: int
    total_market_cap_usd: float = math.nan


class MacroSource(Protocol):
    """Where BTC dominance readings come from."""

    def readings(self, before_ns: int) -> tuple[MacroReading, ...]:
        """Return the readings published before ``before_ns``, oldest first."""
        ...


class NoMacroSource:
    """No macro data: the macro factor stays neutral."""

    def readings(self, before_ns: int) -> tuple[MacroReading, ...]:
        """Return nothing."""
        return ()


class ReadingLog:
    """Readings in time order, safe to add to from one thread while another scores."""

    def __init__(self, readings: Iterable[MacroReading] = ()) -> None:
        self._lock = threading.Lock()
        self._rows: list[MacroReading] = []
        self._times: list[int] = []
        self.add(readings)

    def add(self, readings: Iterable[MacroReading]) -> int:
        """Add readings not held yet (by time); return how many were new."""
        added = 0
        with self._lock:
            for reading in readings:
                i = bisect.bisect_left(self._times, reading.ts)
                if i < len(self._times) and self._times[i] == reading.ts:
                    continue
                self._times.insert(i, reading.ts)
                self._rows.insert(i, reading)
                added += 1
        return added

    def readings(self, before_ns: int) -> tuple[MacroReading, ...]:
        """Return the readings published before ``before_ns``."""
        with self._lock:
            return tuple(self._rows[: bisect.bisect_left(self._times, before_ns)])

    def __len__(self) -> int:
        return len(self._times)


def _reading(row: StoredReading) -> MacroReading:
    return MacroReading(row.btc_dominance, row.ts_event, row.total_market_cap_usd)


def _stored(snapshot: MarketSnapshot, recv_ns: int) -> StoredReading:
    s = snapshot
    return StoredReading(
        SOURCE, s.ts, recv_ns, s.btc_dominance, s.total_market_cap_usd, s.btc_market_cap_usd
    )


class StoredMacro(ReadingLog):
    """The readings a source left in the catalog at ``root`` (all of them, loaded once)."""

    def __init__(self, root: Path | str, source: str = SOURCE) -> None:
        super().__init__(_reading(r) for r in load_readings(Catalog(root), source))


async def backfill(
    client: CoinGeckoClient, root: Path | str, start_ns: int, end_ns: int, now_ns: int
) -> int:
    """Store CoinGecko's history between ``start_ns`` and ``end_ns``; return rows added."""
    snapshots = await client.history(start_ns, end_ns, now_ns)
    return write_readings(root, [_stored(s, now_ns) for s in snapshots])


class ScheduledMacro(ReadingLog):
    """Live readings: the recent past backfilled once, then ``/global`` every ``refresh_s``.

    Every reading is stored in the catalog at ``root`` (when given) and served to
    the confidence scorer from memory. A failed fetch is logged and counted; the
    schedule goes on. ``run`` returns when ``stop`` is set.
    """

    def __init__(
        self,
        client: CoinGeckoClient,
        root: Path | str | None,
        *,
        refresh_s: float = 300.0,
        backfill_s: float = 2 * 86_400.0,
        now: Callable[[], int] = time.time_ns,
    ) -> None:
        # A catalog that does not exist yet is created by the first reading stored.
        known = root is not None and Path(root).exists()
        super().__init__(StoredMacro(root).readings(2**62) if known and root else ())
        self.client = client
        self.root = root
        self.refresh_s = refresh_s
        self.backfill_s = backfill_s
        self._now = now
        self.fetches = 0
        self.failures = 0
        self.last_error = ""

    async def run(self, stop: asyncio.Event) -> None:
        """Backfill, then fetch on schedule until ``stop`` is set."""
        now = self._now()
        await self._guarded(self._backfill(now - int(self.backfill_s * 1e9), now))
        while not stop.is_set():
            await self._guarded(self.refresh())
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.refresh_s)
            except TimeoutError:
                continue

    async def refresh(self) -> MacroReading:
        """Fetch, store and keep one ``/global`` reading."""
        snapshot = await self.client.global_now()
        self.fetches += 1
        self._keep([snapshot], self._now())
        return MacroReading(snapshot.btc_dominance, snapshot.ts, snapshot.total_market_cap_usd)

    async def _backfill(self, start_ns: int, now_ns: int) -> None:
        self._keep(await self.client.history(start_ns, now_ns, now_ns), now_ns)

    def _keep(self, snapshots: list[MarketSnapshot], recv_ns: int) -> None:
        rows = [_stored(s, recv_ns) for s in snapshots]
        if self.root is not None:
            write_readings(self.root, rows)
        self.add(_reading(r) for r in rows)

    async def _guarded(self, step: Awaitable[object]) -> None:
        try:
            await step
        except TradefabricError as exc:
            # Retryable errors were retried by the client already; the next tick tries again.
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning(
                "macro fetch failed", error=self.last_error, fatal=isinstance(exc, FatalError)
            )


def dominance_change(source: MacroSource, before_ns: int, window_ns: int) -> float | None:
    """Return the change of BTC dominance (points) over ``window_ns`` before ``before_ns``.

    Compares the newest reading with the newest one at least ``window_ns`` older
    (or the oldest one); None with fewer than two readings, or when the newest is
    itself older than ``window_ns`` (a source that stopped is no evidence).
    """
    rows = source.readings(before_ns)
    if len(rows) < 2:
        return None
    newest = rows[-1]
    if newest.ts < before_ns - window_ns:
        return None
    base = rows[0]
    for row in rows:
        if row.ts <= newest.ts - window_ns:
            base = row
    return newest.btc_dominance - base.btc_dominance
