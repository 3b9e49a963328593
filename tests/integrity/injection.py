"""Inject known anomalies into a copy of real candles and score what the Triangulator finds."""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path

import msgspec

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa

from tradefabric.integrity.collector import TriangulationResult
from tradefabric.integrity.events import AnomalyKind
from tradefabric.store.catalog import Catalog
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.schema import arrow_schema

MINUTE = 60_000_000_000
HOUR = 60 * MINUTE
Key = tuple[str, str, int]
"""(venue, symbol, candle open time)."""


class Injected(msgspec.Struct):
    """What was injected, per type: the candle keys a detector should flag."""

    spikes: set[Key] = msgspec.field(default_factory=set)
    spike_sizes: dict[Key, float] = msgspec.field(default_factory=dict)
    flatlines: set[Key] = msgspec.field(default_factory=set)
    missing: set[Key] = msgspec.field(default_factory=set)
    shifted: set[Key] = msgspec.field(default_factory=set)
    frozen_hours: list[tuple[str, int]] = msgspec.field(default_factory=list)
    """(venue, first minute of the frozen hour)."""
    stuck: dict[str, set[Key]] = msgspec.field(default_factory=dict)
    """Candles of each stuck-price injection (``frozen_prices``, ``flat_hour``, ``jittered``)."""


class Score(msgspec.Struct, frozen=True):
    """Detection figures of one anomaly type."""

    name: str
    injected: int
    detected: int
    false_positives: int
    """Flags at points not injected and not flagged on the untouched data either."""
    baseline: int
    """Flags of the same kind the untouched data already had (real anomalies)."""

    @property
    def recall(self) -> float:
        """Return the share of injected points flagged."""
        return self.detected / self.injected if self.injected else 1.0

    @property
    def precision(self) -> float:
        """Return the share of new flags that are injected points."""
        flagged = self.detected + self.false_positives
        return self.detected / flagged if flagged else 1.0


def load_rows(catalog: Path) -> list[dict[str, object]]:
    """Return every candle of the catalog as a row dict."""
    con = Catalog(catalog).connect()
    try:
        table = con.sql("SELECT * FROM candles ORDER BY venue, symbol, ts_open").to_arrow_table()
    finally:
        con.close()
    rows: list[dict[str, object]] = table.to_pylist()
    return rows


def write_rows(catalog: Path, rows: Iterable[dict[str, object]]) -> None:
    """Write candle rows into a new catalog at ``catalog``."""
    table = pa.Table.from_pylist(list(rows), schema=arrow_schema("candles"))
    CatalogWriter(catalog).write_table("candles", table, "injection-test")


class Injector:
    """Pick injection points on BTC series at least ``margin`` minutes apart from each other."""

    def __init__(self, rows: list[dict[str, object]], seed: int = 20230310) -> None:
        self.rng = random.Random(seed)
        self.series: dict[tuple[str, str], dict[int, dict[str, object]]] = {}
        for row in rows:
            key = (str(row["venue"]), str(row["symbol"]))
            self.series.setdefault(key, {})[int(str(row["ts_open"]))] = row
        self.used: set[tuple[str, str, int]] = set()
        self.injected = Injected()
        start = min(min(s) for s in self.series.values())
        # Leave the first day for the running statistics to settle.
        self.first = start + 24 * HOUR
        self.last = max(max(s) for s in self.series.values()) - 2 * HOUR

    def btc_series(self) -> list[tuple[str, str]]:
        """Return the BTC series, sorted."""
        return sorted(k for k in self.series if k[1].startswith("BTC/"))

    def _free(self, key: tuple[str, str], ts: int, minutes: int, margin: int = 10) -> bool:
        return all(
            (key[0], key[1], ts + i * MINUTE) not in self.used
            for i in range(-margin, minutes + margin)
        )

    def _claim(self, key: tuple[str, str], ts: int, minutes: int) -> None:
        for i in range(minutes):
            self.used.add((key[0], key[1], ts + i * MINUTE))

    def _pick(self, key: tuple[str, str], minutes: int, need_volume: bool) -> int | None:
        candles = self.series[key]
        for _ in range(200):
            ts = self.first + self.rng.randrange((self.last - self.first) // MINUTE) * MINUTE
            run = [candles.get(ts + i * MINUTE) for i in range(-1, minutes)]
            if any(c is None for c in run) or not self._free(key, ts, minutes):
                continue
            if need_volume and any(float(str(c["volume"])) <= 0 for c in run if c is not None):
                continue
            return ts
        return None

    def spikes(self, count: int, low: float = 0.01, high: float = 0.05) -> None:
        """Move single closes by +-1..5% (the high or low stretched to contain them)."""
        series = self.btc_series()
        for i in range(count):
            key = series[i % len(series)]
            ts = self._pick(key, 1, need_volume=True)
            if ts is None:
                continue
            self._claim(key, ts, 1)
            size = self.rng.uniform(low, high) * self.rng.choice((-1.0, 1.0))
            row = self.series[key][ts]
            close = float(str(row["close"])) * (1.0 + size)
            row.update(close=close, high=max(float(str(row["high"])), close))
            row.update(low=min(float(str(row["low"])), close))
            self.injected.spikes.add((key[0], key[1], ts))
            self.injected.spike_sizes[(key[0], key[1], ts)] = size

    def flatlines(self, count: int, minutes: int = 10) -> None:
        """Freeze a run of candles at the previous close (volume kept: a corrupt feed)."""
        series = self.btc_series()
        for i in range(count):
            key = series[i % len(series)]
            ts = self._pick(key, minutes, need_volume=True)
            if ts is None:
                continue
            self._claim(key, ts, minutes)
            price = self.series[key][ts - MINUTE]["close"]
            for m in range(minutes):
                row = self.series[key][ts + m * MINUTE]
                row.update(open=price, high=price, low=price, close=price)
                self.injected.flatlines.add((key[0], key[1], ts + m * MINUTE))

    def missing(self, count: int) -> None:
        """Delete single candles from series that are normally continuous."""
        series = [k for k in self.btc_series() if len(self.series[k]) > 29_000]
        for i in range(count):
            key = series[i % len(series)]
            ts = self._pick(key, 1, need_volume=False)
            if ts is None:
                continue
            self._claim(key, ts, 1)
            del self.series[key][ts]
            self.injected.missing.add((key[0], key[1], ts))

    def shifts(self, count: int, minutes: int = 60, shift: int = 2) -> None:
        """Label a stretch of candles ``shift`` minutes late (a venue clock running behind)."""
        series = [k for k in self.btc_series() if len(self.series[k]) > 29_000]
        for i in range(count):
            key = series[i % len(series)]
            ts = self._pick(key, minutes + shift, need_volume=False)
            if ts is None:
                continue
            self._claim(key, ts, minutes + shift)
            candles = self.series[key]
            moved = [candles.pop(ts + m * MINUTE) for m in range(minutes)]
            for m, old in enumerate(moved):
                new_ts = ts + (m + shift) * MINUTE
                row = dict(old, ts_open=new_ts, ts_event=new_ts + MINUTE, ts_recv=new_ts + MINUTE)
                candles[new_ts] = row
                if float(str(row["volume"])) > 0:
                    self.injected.shifted.add((key[0], key[1], new_ts))

    def frozen_venue(self, venue: str) -> None:
        """Make every series of ``venue`` repeat its last candle for one hour."""
        keys = [k for k in self.series if k[0] == venue]
        anchor = keys[0]
        ts = self._pick(anchor, 60, need_volume=False)
        if ts is None:
            return
        for key in keys:
            if not self._free(key, ts, 60, margin=0):
                continue
            self._claim(key, ts, 60)
            candles = self.series[key]
            before = [t for t in candles if t < ts]
            if not before:
                continue
            last = candles[max(before)]
            for m in range(60):
                new_ts = ts + m * MINUTE
                candles[new_ts] = dict(
                    last, ts_open=new_ts, ts_event=new_ts + MINUTE, ts_recv=new_ts + MINUTE
                )
        self.injected.frozen_hours.append((venue, ts))

    def stuck_prices(self, how: str, venue: str, minutes: int = 60) -> None:
        """Hold ``venue``'s busiest BTC series at its last prices for ``minutes``, volume kept.

        ``frozen``: every candle repeats the OHLC before the run (a cache serving one
        candle); ``flat``: open = high = low = close = the last close; ``jitter``:
        the last close moved by under half a basis point each minute (a stuck price
        that never repeats exactly).
        """
        key = max(
            (k for k in self.btc_series() if k[0] == venue), key=lambda k: len(self.series[k])
        )
        ts = self._pick(key, minutes, need_volume=True)
        if ts is None:
            return
        # The candle before the run is claimed too: the feed repeats its prices, so it
        # cannot be told from the stuck ones.
        self._claim(key, ts - MINUTE, minutes + 1)
        candles = self.series[key]
        last = candles[ts - MINUTE]
        close = float(str(last["close"]))
        truth = self.injected.stuck.setdefault(how, set())
        for m in range(minutes):
            row = candles[ts + m * MINUTE]
            if how == "frozen":
                row.update({f: last[f] for f in ("open", "high", "low", "close")})
            else:
                price = close * (1 + self.rng.uniform(-5e-5, 5e-5)) if how == "jitter" else close
                row.update(open=price, high=price, low=price, close=price)
            truth.add((key[0], key[1], ts + m * MINUTE))

    def all_keys(self) -> set[Key]:
        """Return every candle touched by an injection (including frozen ones)."""
        return {(k[0], k[1], k[2]) for k in self.used}

    def rows(self) -> list[dict[str, object]]:
        """Return every candle after the injections."""
        return [row for candles in self.series.values() for row in candles.values()]


def flagged(result: TriangulationResult, kinds: set[AnomalyKind]) -> set[Key]:
    """Return the candles flagged with one of ``kinds``."""
    return {(a.venue, a.symbol, a.ts_event) for a in result.anomalies if a.kind in kinds}


def score(
    name: str, truth: set[Key], found: set[Key], baseline: set[Key], injected: set[Key]
) -> Score:
    """Score one anomaly type: recall on ``truth``, precision net of ``baseline`` flags.

    A flag on a point injected as another type (a frozen candle seen as a flat
    line) is not a false positive: that candle is corrupt.
    """
    detected = len(truth & found)
    false_positives = len(found - truth - baseline - injected)
    return Score(name, len(truth), detected, false_positives, len(baseline))


def frozen_detected(result: TriangulationResult, venue: str, start: int) -> bool:
    """Return True when a stale feed of ``venue`` starts within the frozen hour."""
    return any(
        a.kind is AnomalyKind.STALE_FEED and a.venue == venue and start <= a.ts_event < start + HOUR
        for a in result.anomalies
    )
