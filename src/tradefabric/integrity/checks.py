"""Validation rules applied to each series every bucket, and the corrections they imply.

The rules: price z-score against the consensus (or own-return z-score where
there is no valid consensus), repeated candles while the consensus moves
(flat lines, frozen feeds), missing minutes, stale feeds, volume spikes seen on
one venue only, and prices that match the consensus shifted in time.
"""

from __future__ import annotations

import math
from typing import Protocol

from tradefabric.integrity.config import IntegrityConfig
from tradefabric.integrity.events import Anomaly, AnomalyKind, Correction
from tradefabric.integrity.history import ConsensusHistory
from tradefabric.integrity.series import SeriesState
from tradefabric.model.data import Candle
from tradefabric.model.enums import CandleFlag


class Emitter(Protocol):
    """Where the checks send what they find (the Triangulator publishes it)."""

    def anomaly(self, series: SeriesState, anomaly: Anomaly) -> None:
        """Publish one anomaly of ``series``."""
        ...

    def correction(self, series: SeriesState, correction: Correction) -> None:
        """Publish one corrected or interpolated candle of ``series``."""
        ...


class Checks:
    """The per-series rules; each method judges one series at one bucket."""

    def __init__(self, config: IntegrityConfig, history: ConsensusHistory, emit: Emitter) -> None:
        self._c = config
        self._history = history
        self._emit = emit
        self._interval = config.interval_ns

    # --- prices ---

    def judge_price(
        self,
        s: SeriesState,
        candle: Candle,
        consensus: float,
        recv: int,
        *,
        fast: bool,
    ) -> tuple[float, float]:
        """Judge a close against the consensus; return (deviation bps, z-score).

        The deviation is compared with the series' usual basis; with ``fast`` (its
        quote currency is off its peg, so the basis drifts with the coin) it is
        compared with the last clean deviation instead: a spike is a jump.
        Three flags in a row are a level shift, not spikes: the basis follows.
        """
        deviation = math.log(s.price_usd / consensus) * 1e4
        residual, z = s.usual_deviation(deviation, self._c.deviation_floor_bps, fast=fast)
        s.short_error += 0.2 * (abs(residual) - s.short_error)
        c = self._c
        judged = s.judged >= c.warmup_minutes and s.outlier_run < c.rebase_after
        if judged and abs(z) >= c.outlier_z and abs(residual) >= c.outlier_min_bps:
            expected = consensus * math.exp((deviation - residual) / 1e4)
            self._outlier(
                s,
                candle,
                AnomalyKind.PRICE_OUTLIER,
                value=s.price_usd,
                expected=expected,
                score=z,
                recv=recv,
            )
            s.outlier_run += 1
            return deviation, z
        s.outlier_run = 0
        s.learn_deviation(deviation)
        s.last_good_close = candle.close
        return deviation, z

    def judge_return(self, s: SeriesState, candle: Candle, suppressed: bool, recv: int) -> None:
        """Judge a close by its own return, for series without a valid consensus."""
        r = s.own_return(candle.close)
        c = self._c
        if math.isfinite(r) and not suppressed and s.returns_seen >= c.warmup_minutes:
            z = r / max(s.return_scale, c.deviation_floor_bps)
            if abs(r) >= c.return_min_bps and abs(z) >= c.return_z:
                self._outlier(
                    s,
                    candle,
                    AnomalyKind.RETURN_OUTLIER,
                    value=candle.close,
                    expected=s.last_good_close,
                    score=z,
                    recv=recv,
                )
                return
        if math.isfinite(r):
            s.learn_return(r)
        s.last_good_close = candle.close

    def _outlier(
        self,
        s: SeriesState,
        candle: Candle,
        kind: AnomalyKind,
        *,
        value: float,
        expected: float,
        score: float,
        recv: int,
    ) -> None:
        ts = candle.ts_open
        s.last_flagged = True
        if not s.flag(ts):
            return
        detail = f"{value:.8g} vs expected {expected:.8g}"
        self._emit.anomaly(
            s, Anomaly(kind, s.venue, s.symbol, ts, value, expected, score, detail, recv)
        )
        local = s.last_good_close if kind is AnomalyKind.RETURN_OUTLIER else expected / s.rate
        self._correct(s, candle, ts=ts, close=local, reason=kind, recv=recv)

    # --- repeated candles, stale feeds ---

    def judge_repeat(self, s: SeriesState, candle: Candle, repeat: bool, recv: int) -> None:
        """Extend or break the series' run of repeated candles; flag a run that cannot be real."""
        ts = candle.ts_open
        if not repeat:
            if candle.volume > 0:
                self._end_stale(s, ts, recv)
                s.flat_run.clear()
                s.flat_flagged = 0
            return
        s.flat_run.append(ts)
        if len(s.flat_run) < self._c.flat_min_run:
            return
        # Three or more distinct prices repeating exactly is no market, however quiet;
        # one or two (a one-tick range, a stablecoin pair) can be, unless the consensus
        # moved meanwhile.
        distinct = len({candle.open, candle.high, candle.low, candle.close}) >= 3
        if s.flat_flagged == 0 and not (distinct or self._consensus_moved(s, ts)):
            return
        for run_ts in s.flat_run[s.flat_flagged :]:
            self._flag_flat(s, candle, run_ts, recv)
        s.flat_flagged = len(s.flat_run)
        frozen_ns = ts + self._interval - s.flat_run[0]
        if frozen_ns >= self._c.stale_after_s * 1e9:
            self._start_stale(s, s.flat_run[0], "repeating the same candle", recv)

    def _consensus_moved(self, s: SeriesState, ts: int) -> bool:
        before = self._history.price(s.asset, s.flat_run[0] - self._interval)
        now = self._history.price(s.asset, ts)
        if before is None or now is None:
            return False
        return abs(math.log(now / before)) * 1e4 >= self._c.flat_min_move_bps

    def _flag_flat(self, s: SeriesState, candle: Candle, ts: int, recv: int) -> None:
        if not s.flag(ts):
            return
        consensus = self._history.price(s.asset, ts)
        expected = math.nan if consensus is None else consensus * math.exp(s.basis / 1e4)
        detail = f"close {candle.close:.8g} repeated {len(s.flat_run)} buckets"
        self._emit.anomaly(
            s,
            Anomaly(
                AnomalyKind.FLATLINE,
                s.venue,
                s.symbol,
                ts,
                candle.close,
                expected,
                float(len(s.flat_run)),
                detail,
                recv,
            ),
        )
        if math.isfinite(expected):
            self._correct(
                s, candle, ts=ts, close=expected / s.rate, reason=AnomalyKind.FLATLINE, recv=recv
            )

    # --- prices that stopped following ---

    def judge_tracking(self, s: SeriesState, candle: Candle, consensus: float, recv: int) -> None:
        """Flag a series whose price stays put while the consensus moves.

        Over the last ``track_window`` buckets a live venue's price ranges about as
        far as the consensus; a venue serving cached prices (repeated or jittered)
        hardly moves. Both are compared in the series' own quote currency, so a
        stablecoin off its peg moves neither. When the consensus ranged
        ``track_min_move_bps`` and the series under ``track_max_ratio`` of that,
        every bucket of the window is flagged.
        """
        c = self._c
        ts = candle.ts_open
        s.track.append((ts, math.log(candle.close), math.log(consensus / s.rate)))
        start = ts - (c.track_window - 1) * self._interval
        window = [entry for entry in s.track if entry[0] >= start]
        if len(window) < c.track_min_fill * c.track_window:
            return
        moved = _range_bps([entry[2] for entry in window])
        if moved < c.track_min_move_bps:
            return
        if _range_bps([entry[1] for entry in window]) > c.track_max_ratio * moved:
            return
        s.last_flagged = True
        # The whole window was stuck: flag it all, not only the bucket that revealed it.
        for t, _, _ in window:
            self._flag_not_tracking(s, candle, t, moved, recv)

    def _flag_not_tracking(
        self, s: SeriesState, candle: Candle, ts: int, moved: float, recv: int
    ) -> None:
        if not s.flag(ts):
            return
        consensus = self._history.price(s.asset, ts)
        expected = math.nan if consensus is None else consensus * math.exp(s.basis / 1e4)
        detail = (
            f"price stuck near {candle.close:.8g} while the consensus ranged {moved:.0f} bps "
            f"over {self._c.track_window} buckets"
        )
        self._emit.anomaly(
            s,
            Anomaly(
                AnomalyKind.NOT_TRACKING,
                s.venue,
                s.symbol,
                ts,
                candle.close,
                expected,
                moved,
                detail,
                recv,
            ),
        )

    def judge_absent(self, s: SeriesState, ts: int, recv: int) -> None:
        """Judge a bucket with no candle: a normally continuous series gone silent is stale."""
        last = s.last
        if last is None or s.fill_at_last < self._c.continuous_fill:
            return
        silent_ns = ts + self._interval - (last.ts_open + self._interval)
        if silent_ns >= self._c.stale_after_s * 1e9:
            self._start_stale(s, last.ts_open + self._interval, "no candle", recv)

    def _start_stale(self, s: SeriesState, since: int, why: str, recv: int) -> None:
        if s.stale_since >= 0:
            return
        s.stale_since = since
        self._emit.anomaly(s, self._stale(s, since, 0, why, recv))

    def _end_stale(self, s: SeriesState, ts: int, recv: int) -> None:
        if s.stale_since < 0:
            return
        since, s.stale_since = s.stale_since, -1
        self._emit.anomaly(s, self._stale(s, since, ts, "recovered", recv))

    def _stale(self, s: SeriesState, since: int, end: int, why: str, recv: int) -> Anomaly:
        minutes = ((end or recv) - since) / self._interval
        return Anomaly(
            AnomalyKind.STALE_FEED,
            s.venue,
            s.symbol,
            since,
            minutes,
            0.0,
            minutes,
            f"stale: {why}",
            recv,
            ts_end=end,
        )

    # --- gaps ---

    def fill_gap(
        self, s: SeriesState, prev: Candle, candle: Candle, dev_now: float, recv: int
    ) -> None:
        """Interpolate the buckets missing between ``prev`` and ``candle`` (both of ``s``).

        Each filled close follows the consensus, shifted by the series' deviation
        interpolated linearly between its two neighbours; without a consensus the
        log price is interpolated between the neighbours.
        """
        missing = (candle.ts_open - prev.ts_open) // self._interval - 1
        if missing <= 0 or missing > self._c.max_fill_minutes:
            return
        unexpected = s.fill_at_last >= self._c.continuous_fill
        dev_prev = s.dev_at_last
        for i in range(1, missing + 1):
            ts = prev.ts_open + i * self._interval
            frac = i / (missing + 1)
            local = self._interpolate(
                s, prev, candle, ts=ts, frac=frac, dev_prev=dev_prev, dev_now=dev_now
            )
            if unexpected and s.flag(ts):
                self._emit.anomaly(
                    s,
                    Anomaly(
                        AnomalyKind.MISSING,
                        s.venue,
                        s.symbol,
                        ts,
                        math.nan,
                        local,
                        float(missing),
                        f"{missing} bucket(s) missing",
                        recv,
                    ),
                )
            self._correct(
                s, None, ts=ts, close=local, reason=AnomalyKind.MISSING, recv=recv, template=candle
            )

    def _interpolate(
        self,
        s: SeriesState,
        prev: Candle,
        candle: Candle,
        *,
        ts: int,
        frac: float,
        dev_prev: float,
        dev_now: float,
    ) -> float:
        consensus = self._history.price(s.asset, ts)
        if consensus is not None and math.isfinite(dev_prev) and math.isfinite(dev_now):
            deviation = dev_prev + (dev_now - dev_prev) * frac
            return consensus * math.exp(deviation / 1e4) / s.rate
        return math.exp(
            math.log(prev.close) + (math.log(candle.close) - math.log(prev.close)) * frac
        )

    def _correct(
        self,
        s: SeriesState,
        original: Candle | None,
        *,
        ts: int,
        close: float,
        reason: AnomalyKind,
        recv: int,
        template: Candle | None = None,
    ) -> None:
        base = original if original is not None else template
        if base is None or not (close > 0 and math.isfinite(close)):
            return
        flags = CandleFlag.CORRECTED if original is not None else CandleFlag.INTERPOLATED
        volume = original.volume if original is not None else 0.0
        candle = Candle(
            s.venue,
            s.symbol,
            base.interval,
            ts,
            close,
            close,
            close,
            close,
            volume,
            original.trades if original is not None else 0,
            math.nan,
            close,
            ts + self._interval,
            recv,
            0,
            int(flags),
        )
        original_close = original.close if original is not None else math.nan
        self._emit.correction(s, Correction(candle, reason, original_close, recv))

    # --- volume ---

    def judge_volumes(self, candles: list[tuple[SeriesState, Candle]], recv: int) -> None:
        """Flag a volume spike on one series of an asset that the other series do not show."""
        ratios = [c.volume / s.volume_avg if s.volume_avg > 0 else 0.0 for s, c in candles]
        c = self._c
        for i, (s, candle) in enumerate(candles):
            if ratios[i] < c.volume_spike_ratio or s.bucket_count < c.warmup_minutes:
                continue
            others = sorted(r for j, r in enumerate(ratios) if j != i)
            median = others[len(others) // 2] if others else 0.0
            if median >= c.volume_confirm_ratio or not s.flag(candle.ts_open):
                continue
            detail = f"volume {ratios[i]:.1f}x its average; other venues {median:.1f}x"
            self._emit.anomaly(
                s,
                Anomaly(
                    AnomalyKind.VOLUME_SPIKE,
                    s.venue,
                    s.symbol,
                    candle.ts_open,
                    candle.volume,
                    s.volume_avg,
                    ratios[i],
                    detail,
                    recv,
                ),
            )

    # --- shifted timestamps ---

    def judge_shift(self, s: SeriesState, ts: int, recv: int) -> None:
        """Flag the series' candle ``shift_max_lag`` buckets back if it fits the shifted consensus.

        Compares the series' log prices over ``shift_window`` buckets with the
        consensus at every lag up to ``shift_max_lag`` either way; runs only when
        the recent tracking error is high enough to tell lags apart.
        """
        c = self._c
        lag_ns = c.shift_max_lag * self._interval
        target = ts - lag_ns
        window = [(t, x) for t, x in s.recent if t <= target]
        if not window or window[-1][0] != target or len(window) < c.shift_window // 2:
            return
        if s.short_error < c.shift_min_error_bps:
            return
        errors = {lag: self._tracking_error(s.asset, window, lag) for lag in _lags(c.shift_max_lag)}
        base = errors.pop(0)
        if not (math.isfinite(base) and base >= c.shift_min_error_bps) or not errors:
            return
        lag, best = min(errors.items(), key=lambda item: item[1])
        if best < c.shift_ratio * base and s.flag(target):
            self._emit.anomaly(
                s,
                Anomaly(
                    AnomalyKind.TIMESTAMP,
                    s.venue,
                    s.symbol,
                    target,
                    float(lag),
                    0.0,
                    base / best,
                    f"prices match the consensus {lag:+d} bucket(s) away",
                    recv,
                ),
            )

    def _tracking_error(self, asset: str, window: list[tuple[int, float]], lag: int) -> float:
        residuals = []
        for t, x in window:
            reference = self._history.log_price(asset, t - lag * self._interval)
            if math.isfinite(reference):
                residuals.append(x - reference)
        if len(residuals) < len(window) // 2:
            return math.nan
        residuals.sort()
        center = residuals[len(residuals) // 2]
        return sum(abs(r - center) for r in residuals) / len(residuals) * 1e4


def _range_bps(log_prices: list[float]) -> float:
    return (max(log_prices) - min(log_prices)) * 1e4


def _lags(max_lag: int) -> list[int]:
    return [0, *range(-max_lag, 0), *range(1, max_lag + 1)]
