"""The running state of one (venue, symbol) series and the checks that need only its history."""

from __future__ import annotations

import math
from collections import deque

import msgspec

from tradefabric.integrity.config import IntegrityConfig
from tradefabric.integrity.quotes import Pair
from tradefabric.integrity.robust import decay
from tradefabric.model.data import Candle


class TopOfBook(msgspec.Struct, frozen=True):
    """The last valid best bid and ask of a series (from Quote events)."""

    bid: float
    ask: float
    bid_size: float
    ask_size: float
    ts: int


class SeriesState:
    """One series: its last candle, usual basis against the consensus, volumes and counters.

    Everything here is updated once per bucket by the ``Triangulator``; the
    running averages are exponentially weighted per bucket (half lives in buckets).
    """

    def __init__(self, venue: str, symbol: str, pair: Pair, config: IntegrityConfig) -> None:
        self.venue = venue
        self.symbol = symbol
        self.pair = pair
        self.asset = pair.base
        self.last: Candle | None = None
        self.price_ts = -1
        """Open time of the last candle with volume: when its price was last real."""
        self.last_price = math.nan
        self.rate = 1.0
        """USD value of one unit of the quote currency at the last bucket judged."""
        self.last_flagged = False
        self.fill_at_last = 0.0
        self.dev_at_last = math.nan
        self.short_error = 0.0
        self.last_clean_dev = math.nan
        self.jump_scale = 0.0
        self.outlier_run = 0
        self.last_good_close = math.nan
        self.price_usd = math.nan
        """The last close converted to USD (NaN when no rate was known)."""
        self.first_ts = -1
        self.bucket_count = 0
        # Usual deviation from the consensus (basis) and its spread, both in bps.
        self.basis = 0.0
        self.scale = 0.0
        self.judged = 0
        self.return_scale = 0.0
        self.returns_seen = 0
        self.volume_avg = 0.0
        self.usd_volume_avg = 0.0
        self.fill = 0.0
        self.quality = 1.0
        # The current run of repeated candles: their open times.
        self.flat_run: list[int] = []
        self.flat_flagged = 0
        self._flat_min_run = config.flat_min_run
        self.stale_since = -1
        """Open time of the first bucket of an ongoing stale episode, -1 when fresh."""
        # Recent (ts, log USD price) for the shifted-timestamp check.
        self.recent: deque[tuple[int, float]] = deque(maxlen=config.shift_window)
        # Recent (ts, log close, log consensus in the series' quote) for the tracking check.
        self.track: deque[tuple[int, float, float]] = deque(maxlen=config.track_window)
        self.anomalous_buckets: set[int] = set()
        self.anomalous_total = 0
        self.candles = 0
        self.anomalies = 0
        self.corrections = 0
        self.crossed = False
        self.book: TopOfBook | None = None
        self._a_dev = decay(config.deviation_half_life_min)
        self._a_liq = decay(config.liquidity_half_life_min)
        self._a_quality = decay(config.quality_half_life_min)
        self._a_fill = decay(config.liquidity_half_life_min)

    def usual_deviation(
        self, deviation_bps: float, floor_bps: float, *, fast: bool = False
    ) -> tuple[float, float]:
        """Return (residual, z-score) against the basis (``fast``: the last clean deviation)."""
        if fast and math.isfinite(self.last_clean_dev):
            residual = deviation_bps - self.last_clean_dev
            return residual, residual / max(self.jump_scale, floor_bps)
        residual = deviation_bps - self.basis
        return residual, residual / max(self.scale, floor_bps)

    def learn_deviation(self, deviation_bps: float) -> None:
        """Fold a clean deviation into the basis and its scale."""
        if self.judged == 0:
            self.basis = deviation_bps
        a = self._a_dev
        residual = deviation_bps - self.basis
        self.basis += a * residual
        self.scale += a * (abs(residual) - self.scale)
        if math.isfinite(self.last_clean_dev):
            jump = abs(deviation_bps - self.last_clean_dev)
            self.jump_scale += a * (jump - self.jump_scale)
        self.last_clean_dev = deviation_bps
        self.judged += 1

    def own_return(self, close: float) -> float:
        """Return the log return in bps from the last clean close (NaN without one)."""
        if not (self.last_good_close > 0 and close > 0):
            return math.nan
        return math.log(close / self.last_good_close) * 1e4

    def learn_return(self, return_bps: float) -> None:
        """Fold a clean return into the series' volatility."""
        self.return_scale += decay(30.0) * (abs(return_bps) - self.return_scale)
        self.returns_seen += 1

    def learn_volume(self, volume: float, price_usd: float) -> None:
        """Fold one bucket's volume (0 when absent) into the volume averages."""
        a = self._a_liq
        self.volume_avg += a * (volume - self.volume_avg)
        if math.isfinite(price_usd):
            self.usd_volume_avg += a * (volume * price_usd - self.usd_volume_avg)

    def learn_presence(self, present: bool, clean: bool) -> None:
        """Fold whether the bucket had a candle, and a clean one, into fill and quality."""
        # A plain mean over the first buckets, so a new series is not judged on a cold start.
        warm = 1.0 / (self.bucket_count + 1)
        self.fill += max(self._a_fill, warm) * ((1.0 if present else 0.0) - self.fill)
        good = 1.0 if present and clean else (0.5 if not present else 0.0)
        self.quality += max(self._a_quality, warm) * (good - self.quality)
        self.bucket_count += 1

    def is_repeat(self, candle: Candle) -> bool:
        """Return True when ``candle`` repeats the last one: a frozen or flat-lined value.

        The volume is not compared: a venue serving cached prices keeps reporting
        real, changing volume under the same open, high, low and close.
        """
        last = self.last
        if last is None or candle.close != last.close:
            return False
        flat = candle.open == candle.high == candle.low == candle.close
        same_prices = (
            candle.open == last.open and candle.high == last.high and candle.low == last.low
        )
        return flat or same_prices

    def flag(self, ts: int) -> bool:
        """Mark the bucket at ``ts`` anomalous; return False when it already was."""
        if ts in self.anomalous_buckets:
            return False
        self.anomalous_buckets.add(ts)
        self.anomalous_total += 1
        return True

    def forget_flags_before(self, ts: int) -> None:
        """Drop remembered flags older than ``ts`` (no check looks back that far)."""
        self.anomalous_buckets = {t for t in self.anomalous_buckets if t >= ts}

    def quality_score(self, total_buckets: int) -> float:
        """Return the share of buckets since the first candle that were present and clean."""
        if total_buckets <= 0:
            return 1.0
        missing = max(0, total_buckets - self.candles)
        bad = self.anomalous_total + 0.5 * missing
        return min(1.0, max(0.0, 1.0 - bad / total_buckets))

    @property
    def suspect(self) -> bool:
        """Return True while the series' last price should not count: flagged, frozen or stale.

        A run of repeated candles counts before it is flagged: the run is flagged once
        the consensus moves, and a heavy venue repeating its prices would otherwise
        hold the weighted median still, so that the consensus never moves.
        """
        repeating = len(self.flat_run) >= self._flat_min_run
        return self.last_flagged or repeating or self.stale_since >= 0
