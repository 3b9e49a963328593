"""The Triangulator: per-venue updates in, consensus, deviations, anomalies and alerts out.

Candles are grouped into buckets by open time. A bucket is judged when the
first candle of a later bucket arrives (or ``advance``/``finish`` is called),
with its candles in (venue, symbol) order, so the arrival order within a bucket
never changes the result: the catalog replayed in time order and a live bus
produce the same events. A candle for a bucket already judged is late: it is
reported as a TIMESTAMP anomaly and not used.

Each bucket: stablecoin and fiat rates are updated from the venues' own
conversion pairs; each asset's consensus is the weighted median of its series'
USD prices (weights: liquidity, freshness, quality); every series is judged
(``checks.py``); arbitrage between venues is tracked (``arbitrage.py``).
"""

from __future__ import annotations

import math

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock
from tradefabric.data.feed.clock_offset import ClockOffsetEstimator
from tradefabric.data.topics import CANDLES, QUOTES
from tradefabric.integrity import topics
from tradefabric.integrity.arbitrage import ArbitrageMonitor, Leg
from tradefabric.integrity.checks import Checks
from tradefabric.integrity.config import IntegrityConfig
from tradefabric.integrity.episodes import EpisodeTracker, Phase
from tradefabric.integrity.events import (
    Anomaly,
    AnomalyKind,
    ConsensusPrice,
    Correction,
    StablecoinEvent,
    VenueDeviation,
    VenueQuality,
)
from tradefabric.integrity.fees import TAKER_FEE_BPS, taker_fee_bps
from tradefabric.integrity.history import ConsensusHistory
from tradefabric.integrity.quotes import RateBook, split_symbol
from tradefabric.integrity.robust import consensus as robust_consensus
from tradefabric.integrity.series import SeriesState, TopOfBook
from tradefabric.model.data import Candle, Quote

_SeriesKey = tuple[str, str]
_QUALITY_EVERY = 60
"""Buckets between two VenueQuality publications."""


class Triangulator:
    """Check every price against the other venues; publish findings on ``bus``.

    Feed it with ``on_candle``/``on_quote`` directly (batch) or ``attach()`` it to
    the bus's CANDLES and QUOTES topics (live); call ``finish()`` at the end.
    """

    def __init__(
        self,
        bus: MessageBus,
        config: IntegrityConfig | None = None,
        fees: dict[str, float] | None = None,
    ) -> None:
        self._bus = bus
        self.config = config or IntegrityConfig()
        c = self.config
        self._fees = dict(TAKER_FEE_BPS if fees is None else fees)
        self._interval = c.interval_ns
        self._label = f"{c.interval_s // 60}m" if c.interval_s % 60 == 0 else f"{c.interval_s}s"
        self._series: dict[_SeriesKey, SeriesState] = {}
        self._pending: dict[_SeriesKey, Candle] = {}
        self._bucket = -1
        self._buckets = 0
        self._rates = RateBook(c.quote_currencies, int(c.rate_max_age_s * 1e9))
        depth = c.max_fill_minutes + c.shift_window + 2 * c.shift_max_lag + 2
        self._history = ConsensusHistory(depth)
        self._checks = Checks(c, self._history, self)
        self._arbitrage = ArbitrageMonitor(c)
        self._depeg = {coin: self._depeg_tracker() for coin in c.stablecoins}
        self.late_candles = 0

    # --- input ---

    def attach(self, clock: Clock | None = None) -> None:
        """Consume CANDLES and QUOTES from the bus; with a ``clock``, also judge each bucket
        one interval after it ends even if no later candle arrives (a quiet market, a dead
        feed), instead of waiting for the next candle."""
        self._bus.subscribe(CANDLES, self.on_candle)
        self._bus.subscribe(QUOTES, self.on_quote)
        if clock is not None:
            clock.set_timer(self._interval, self.advance)

    def detach(self) -> None:
        """Stop consuming the bus."""
        self._bus.unsubscribe(CANDLES, self.on_candle)
        self._bus.unsubscribe(QUOTES, self.on_quote)

    def on_candle(self, candle: Candle) -> None:
        """Take one candle; judge the open bucket first when this one starts a later bucket."""
        if candle.interval != self._label:
            return
        if candle.ts_open % self._interval:
            self._off_grid(candle)
            return
        ts = candle.ts_open
        if ts > self._bucket:
            if self._bucket >= 0:
                self._close_bucket(self._bucket)
            self._bucket = ts
        elif ts < self._bucket:
            self._late(candle)
            return
        self._pending[(candle.venue, candle.symbol)] = candle

    def on_quote(self, quote: Quote) -> None:
        """Check one top of book (crossed, locked, clock) and keep it for arbitrage sizes."""
        s = self._get_series(quote.venue, quote.symbol)
        offset = quote.ts_recv - quote.ts_event
        if abs(offset) > self.config.max_clock_offset_s * 1e9:
            self._quote_anomaly(s, quote, AnomalyKind.CLOCK_OFFSET, offset / 1e9, "receive - event")
        bad = quote.bid > 0 and quote.ask > 0 and quote.bid >= quote.ask
        if bad and not s.crossed:
            kind = AnomalyKind.CROSSED_BOOK if quote.bid > quote.ask else AnomalyKind.LOCKED_BOOK
            self._quote_anomaly(s, quote, kind, quote.bid - quote.ask, "bid - ask")
        s.crossed = bad
        if not bad and quote.bid > 0 and quote.ask > 0:
            s.book = TopOfBook(quote.bid, quote.ask, quote.bid_size, quote.ask_size, quote.ts_event)

    def check_clock(self, venue: str, estimator: ClockOffsetEstimator, now: int) -> None:
        """Report ``venue``'s clock as an anomaly when its estimated offset is over the limit."""
        offset = estimator.offset_ns()
        if estimator.samples and abs(offset) > self.config.max_clock_offset_s * 1e9:
            s = self._get_series(venue, "*")
            detail = f"venue clock {offset / 1e6:+.0f} ms from ours"
            self._publish_anomaly(
                s,
                Anomaly(
                    AnomalyKind.CLOCK_OFFSET,
                    venue,
                    "*",
                    now,
                    offset / 1e9,
                    0.0,
                    abs(offset) / (self.config.max_clock_offset_s * 1e9),
                    detail,
                    now,
                ),
            )

    def advance(self, now: int) -> None:
        """Judge the open bucket once ``now`` is a full interval past its end (live timer)."""
        if self._bucket >= 0 and now >= self._bucket + 2 * self._interval:
            self._close_bucket(self._bucket)
            self._bucket += self._interval

    def finish(self) -> None:
        """Judge the open bucket and close every episode still running at the end of the data."""
        if self._bucket >= 0:
            self._close_bucket(self._bucket)
            self._bucket += self._interval
        recv = self._bucket
        for asset in self._arbitrage.assets():
            for event in self._arbitrage.finish(asset):
                self._bus.publish(topics.ARBITRAGE, event)
        for coin, tracker in self._depeg.items():
            if tracker.state is not None and tracker.state.confirmed:
                self._publish_depeg(coin, tracker, "end", tracker.end_ts(), recv)
            tracker.reset()
        self._publish_quality(recv)

    # --- Emitter (called by the checks) ---

    def anomaly(self, series: SeriesState, anomaly: Anomaly) -> None:
        """Publish an anomaly found by a check."""
        self._publish_anomaly(series, anomaly)

    def correction(self, series: SeriesState, correction: Correction) -> None:
        """Publish a corrected candle made by a check."""
        series.corrections += 1
        self._bus.publish(topics.CORRECTIONS, correction)

    # --- the bucket ---

    def _close_bucket(self, ts: int) -> None:
        recv = ts + self._interval
        pending = sorted(self._pending.items())
        self._pending = {}
        arrived = [(self._get_series(*key), candle) for key, candle in pending]
        previous = {s.venue + s.symbol: s.last for s, _ in arrived}
        for s, candle in arrived:
            self._take(s, candle)
        self._update_rates(arrived, ts)
        consensus = self._consensus(ts, recv)
        by_asset: dict[str, list[tuple[SeriesState, Candle]]] = {}
        for s, candle in arrived:
            by_asset.setdefault(s.asset, []).append((s, candle))
            self._judge(s, candle, previous[s.venue + s.symbol], consensus.get(s.asset), recv)
        for group in by_asset.values():
            self._checks.judge_volumes(group, recv)
        self._judge_absent(ts, {key for key, _ in pending}, recv)
        for asset, group in by_asset.items():
            if asset not in self._depeg:
                self._update_arbitrage(asset, ts, group)
        self._buckets += 1
        if self._buckets % _QUALITY_EVERY == 0:
            self._publish_quality(recv)
            self._forget(ts)

    def _take(self, s: SeriesState, candle: Candle) -> None:
        s.candles += 1
        if s.first_ts < 0:
            s.first_ts = candle.ts_open
        if candle.volume > 0:
            s.price_ts = candle.ts_open
            s.last_price = candle.close

    def _update_rates(self, arrived: list[tuple[SeriesState, Candle]], ts: int) -> None:
        for s, candle in arrived:
            if self._rates.is_rate_pair(s.pair) and candle.volume > 0:
                weight = max(math.sqrt(max(s.usd_volume_avg, 0.0)), 1.0)
                self._rates.update(s.venue, s.pair, candle.close, ts, weight)
        self._rates.recompute(ts)

    def _consensus(self, ts: int, recv: int) -> dict[str, tuple[float, bool]]:
        """Return each asset's consensus (price, valid) at ``ts`` and publish it."""
        inputs: dict[str, list[tuple[SeriesState, float, float]]] = {}
        for s in self._series.values():
            if s.symbol == "*":
                continue
            rate = self._rates.usd_rate(s.venue, s.pair.quote, ts)
            s.rate = rate if rate is not None else math.nan
            s.price_usd = s.last_price * s.rate
            weight = self._weight(s, ts)
            if weight > 0 and math.isfinite(s.price_usd):
                inputs.setdefault(s.asset, []).append((s, s.price_usd, weight))
        out: dict[str, tuple[float, bool]] = {}
        for asset, rows in sorted(inputs.items()):
            found = self._asset_consensus(asset, rows, ts, recv)
            if found is not None:
                out[asset] = found
        self._depeg_step(out, ts, recv)
        return out

    def _asset_consensus(
        self, asset: str, rows: list[tuple[SeriesState, float, float]], ts: int, recv: int
    ) -> tuple[float, bool] | None:
        if asset in self._depeg:
            rate = self._rates.consensus_rate(asset)
            if rate is None:
                return None
            venues = len({s.venue for s, _, _ in rows})
            found = robust_consensus([p for _, p, _ in rows], [w for _, _, w in rows])
            price, mad = rate, found.mad_bps
        else:
            venues = len({s.venue for s, _, _ in rows})
            found = robust_consensus([p for _, p, _ in rows], [w for _, _, w in rows])
            price, mad = found.price, found.mad_bps
        valid = venues >= self.config.min_venues
        self._history.add(asset, ts, price)
        self._bus.publish(
            topics.CONSENSUS, ConsensusPrice(asset, price, mad, venues, len(rows), valid, ts, recv)
        )
        return price, valid

    def _weight(self, s: SeriesState, ts: int) -> float:
        c = self.config
        age_s = (ts - s.price_ts) / 1e9
        if s.price_ts < 0 or age_s > c.max_age_s or s.suspect:
            return 0.0
        liquidity = max(math.sqrt(max(s.usd_volume_avg, 0.0)), 1.0)
        freshness = math.pow(0.5, age_s / c.freshness_half_life_s)
        return liquidity * freshness * max(s.quality, 0.05)

    def _judge(
        self,
        s: SeriesState,
        candle: Candle,
        prev: Candle | None,
        consensus: tuple[float, bool] | None,
        recv: int,
    ) -> None:
        ts = candle.ts_open
        s.last_flagged = False
        flags_before = s.anomalous_total
        deviation = math.nan
        traded = candle.volume > 0
        has_consensus = consensus is not None and consensus[1] and math.isfinite(s.price_usd)
        if traded and has_consensus and consensus is not None:
            # Quoted in a stablecoin off its peg: the deviation drifts with the coin (its
            # event reports that), so only a jump from the last clean deviation counts.
            deviation, z = self._checks.judge_price(
                s, candle, consensus[0], recv, fast=self._off_peg(s.pair.quote)
            )
            self._bus.publish(
                topics.DEVIATIONS,
                VenueDeviation(
                    s.venue,
                    s.symbol,
                    s.price_usd,
                    consensus[0],
                    deviation,
                    z,
                    self._weight(s, ts),
                    ts,
                    recv,
                ),
            )
        elif traded:
            self._checks.judge_return(s, candle, self._off_peg(s.pair.base), recv)
        if prev is not None:
            self._checks.fill_gap(s, prev, candle, deviation, recv)
        repeat = traded and s.is_repeat(candle)
        s.last = candle
        self._checks.judge_repeat(s, candle, repeat, recv)
        if math.isfinite(s.price_usd) and traded:
            s.recent.append((ts, math.log(s.price_usd)))
            if has_consensus and consensus is not None:
                self._checks.judge_tracking(s, candle, consensus[0], recv)
        self._checks.judge_shift(s, ts, recv)
        s.learn_volume(candle.volume, s.price_usd)
        s.learn_presence(True, s.anomalous_total == flags_before)
        s.fill_at_last = s.fill
        s.dev_at_last = deviation

    def _off_peg(self, currency: str) -> bool:
        tracker = self._depeg.get(currency)
        return tracker is not None and tracker.state is not None

    def _judge_absent(self, ts: int, present: set[_SeriesKey], recv: int) -> None:
        for key, s in self._series.items():
            if key in present or s.symbol == "*" or s.last is None:
                continue
            self._checks.judge_absent(s, ts, recv)
            s.learn_volume(0.0, s.price_usd)
            s.learn_presence(False, True)

    def _update_arbitrage(
        self, asset: str, ts: int, group: list[tuple[SeriesState, Candle]]
    ) -> None:
        legs = []
        for s, candle in group:
            if candle.volume <= 0 or s.suspect or not math.isfinite(s.price_usd):
                continue
            legs.append(self._leg(s, candle, ts))
        unreliable = frozenset(c for c, t in self._depeg.items() if t.state is not None)
        for event in self._arbitrage.update(asset, ts, legs, unreliable):
            self._bus.publish(topics.ARBITRAGE, event)

    def _leg(self, s: SeriesState, candle: Candle, ts: int) -> Leg:
        fee = taker_fee_bps(s.venue, self._fees)
        book = s.book
        if book is not None and book.ts >= ts:
            return Leg(
                s.venue,
                s.symbol,
                s.pair.quote,
                book.ask * s.rate,
                book.bid * s.rate,
                book.ask_size,
                book.bid_size,
                fee,
            )
        # Without a quote for the bucket: the close stands for both sides and the
        # candle's own volume for the size a taker could have traded.
        volume = candle.volume
        return Leg(s.venue, s.symbol, s.pair.quote, s.price_usd, s.price_usd, volume, volume, fee)

    # --- stablecoins ---

    def _depeg_tracker(self) -> EpisodeTracker:
        c = self.config
        return EpisodeTracker(
            start_level=c.depeg_bps,
            end_level=c.depeg_end_bps,
            min_duration_ns=int(c.depeg_min_duration_s * 1e9),
            end_after_ns=int(c.depeg_end_after_s * 1e9),
            interval_ns=self._interval,
        )

    def _depeg_step(self, consensus: dict[str, tuple[float, bool]], ts: int, recv: int) -> None:
        for coin, tracker in self._depeg.items():
            found = consensus.get(coin)
            rate = found[0] if found is not None else None
            magnitude = abs(rate - 1.0) * 1e4 if rate is not None else None
            if magnitude is None and tracker.state is not None:
                continue  # no rate this bucket: neither evidence of the peg nor against it
            phase = tracker.update(ts, magnitude, rate if rate is not None else math.nan)
            if phase is Phase.OPENED:
                self._publish_depeg(coin, tracker, "start", 0, recv)
            elif phase is Phase.CLOSED:
                self._publish_depeg(coin, tracker, "end", tracker.end_ts(), recv)
                tracker.reset()

    def _publish_depeg(
        self, coin: str, tracker: EpisodeTracker, phase: str, ts_end: int, recv: int
    ) -> None:
        state = tracker.state
        if state is None:
            return
        event = StablecoinEvent(
            coin, phase, state.ts_start, state.ts_peak, ts_end, state.peak_value, state.peak, recv
        )
        self._bus.publish(topics.STABLECOINS, event)

    # --- helpers ---

    def _get_series(self, venue: str, symbol: str) -> SeriesState:
        key = (venue, symbol)
        s = self._series.get(key)
        if s is None:
            s = self._series[key] = SeriesState(venue, symbol, split_symbol(symbol), self.config)
        return s

    def _publish_anomaly(self, s: SeriesState, anomaly: Anomaly) -> None:
        s.anomalies += 1
        self._bus.publish(topics.ANOMALIES, anomaly)

    def _quote_anomaly(
        self, s: SeriesState, quote: Quote, kind: AnomalyKind, value: float, what: str
    ) -> None:
        detail = f"{what} = {value:.8g}"
        self._publish_anomaly(
            s,
            Anomaly(
                kind,
                s.venue,
                s.symbol,
                quote.ts_event,
                value,
                0.0,
                abs(value),
                detail,
                quote.ts_recv,
            ),
        )

    def _off_grid(self, candle: Candle) -> None:
        s = self._get_series(candle.venue, candle.symbol)
        offset = (candle.ts_open % self._interval) / 1e9
        self._publish_anomaly(
            s,
            Anomaly(
                AnomalyKind.TIMESTAMP,
                candle.venue,
                candle.symbol,
                candle.ts_open,
                offset,
                0.0,
                offset,
                f"open time {offset:.3f} s off the {self._label} grid",
                candle.ts_recv,
            ),
        )

    def _late(self, candle: Candle) -> None:
        self.late_candles += 1
        s = self._get_series(candle.venue, candle.symbol)
        behind = (self._bucket - candle.ts_open) / self._interval
        self._publish_anomaly(
            s,
            Anomaly(
                AnomalyKind.TIMESTAMP,
                candle.venue,
                candle.symbol,
                candle.ts_open,
                behind,
                0.0,
                behind,
                "late: its bucket was already judged",
                self._bucket,
            ),
        )

    def _publish_quality(self, recv: int) -> None:
        for s in self._series.values():
            if s.first_ts < 0:
                continue
            total = (recv - s.first_ts) // self._interval
            self._bus.publish(
                topics.QUALITY,
                VenueQuality(
                    s.venue,
                    s.symbol,
                    s.quality_score(total),
                    total,
                    s.candles,
                    s.anomalies,
                    s.corrections,
                    recv,
                ),
            )

    def _forget(self, ts: int) -> None:
        horizon = ts - (self.config.max_fill_minutes + self.config.shift_window) * self._interval
        for s in self._series.values():
            s.forget_flags_before(horizon)
