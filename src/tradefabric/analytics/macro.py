"""Market-wide (macro) inputs for confidence: BTC dominance, from a pluggable source.

The default is no source: the macro factor is then neutral. ``CoinGeckoGlobal``
reads CoinGecko's ``/global`` (``data.market_cap_percentage.btc``). Fetching is
``refresh()``, called off the hot path (before a run, or from a timer thread);
scoring only reads what was already fetched, and only readings published before
the time asked about, so a backtest never sees a reading from its future.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from typing import Protocol

import msgspec
import structlog

log = structlog.get_logger(__name__)

_NS = 1_000_000_000


class MacroReading(msgspec.Struct, frozen=True):
    """BTC's share of total crypto market cap (%), as published at ``ts``."""

    btc_dominance: float
    ts: int


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


class _GlobalData(msgspec.Struct, frozen=True):
    market_cap_percentage: dict[str, float]
    updated_at: int


class _GlobalReply(msgspec.Struct, frozen=True):
    data: _GlobalData


class CoinGeckoGlobal:
    """BTC dominance from CoinGecko's ``/global`` endpoint (or anything serving its shape)."""

    def __init__(
        self, url: str = "https://api.coingecko.com/api/v3/global", timeout_s: float = 5.0
    ) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.failures = 0
        self.last_error = ""
        self._readings: list[MacroReading] = []
        self._lock = threading.Lock()
        self._decoder = msgspec.json.Decoder(_GlobalReply)

    def refresh(self) -> MacroReading | None:
        """Fetch one reading; on any failure log it, count it and return None."""
        try:
            with urllib.request.urlopen(self.url, timeout=self.timeout_s) as reply:
                body = reply.read()
            data = self._decoder.decode(body).data
            reading = MacroReading(data.market_cap_percentage["btc"], data.updated_at * _NS)
        except (OSError, urllib.error.URLError, msgspec.DecodeError, KeyError) as exc:
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("macro source unavailable", url=self.url, error=self.last_error)
            return None
        with self._lock:
            if not self._readings or reading.ts > self._readings[-1].ts:
                self._readings.append(reading)
        return reading

    def readings(self, before_ns: int) -> tuple[MacroReading, ...]:
        """Return the fetched readings published before ``before_ns``."""
        with self._lock:
            return tuple(r for r in self._readings if r.ts < before_ns)


def dominance_change(source: MacroSource, before_ns: int, window_ns: int) -> float | None:
    """Return the change of BTC dominance (points) over ``window_ns`` before ``before_ns``.

    Compares the newest reading with the newest one at least ``window_ns`` older
    (or the oldest one); None with fewer than two readings.
    """
    rows = source.readings(before_ns)
    if len(rows) < 2:
        return None
    newest = rows[-1]
    base = rows[0]
    for row in rows:
        if row.ts <= newest.ts - window_ns:
            base = row
    return newest.btc_dominance - base.btc_dominance
