"""Arbitrage episodes: a net cross-venue discrepancy that lasts and is tradeable.

Each bucket, every ordered pair of fresh series of one asset on different
venues is compared: buy at one venue's ask (its close without quotes), sell at
the other's bid, both converted to USD, minus both venues' taker fees. A pair
over the threshold gets an ``EpisodeTracker``; the tracker reports the episode
once when it has lasted long enough and once when it is over.
"""

from __future__ import annotations

import msgspec

from tradefabric.integrity.config import IntegrityConfig
from tradefabric.integrity.episodes import EpisodeTracker, Phase
from tradefabric.integrity.events import ArbitrageEpisode


class Leg(msgspec.Struct, frozen=True):
    """One series' tradeable prices (USD) and sizes (base units) in a bucket."""

    venue: str
    symbol: str
    quote: str
    ask_usd: float
    bid_usd: float
    ask_size: float
    bid_size: float
    fee_bps: float


class _Found(msgspec.Struct, frozen=True):
    buy: Leg
    sell: Leg
    gross_bps: float
    net_bps: float
    size: float
    notional: float


class _Open(msgspec.Struct):
    tracker: EpisodeTracker
    peak: _Found | None = None


_VenuePair = tuple[str, str]


class ArbitrageMonitor:
    """Track arbitrage episodes of every asset; ``update`` returns the events to publish."""

    def __init__(self, config: IntegrityConfig) -> None:
        self._config = config
        self._open: dict[str, dict[_VenuePair, _Open]] = {}

    def update(
        self, asset: str, ts: int, legs: list[Leg], unreliable: frozenset[str] = frozenset()
    ) -> list[ArbitrageEpisode]:
        """Compare the ordered pairs of ``legs`` at bucket ``ts``; return opened/closed episodes.

        An episode belongs to a (buy venue, sell venue) pair; its best symbol pair
        at each bucket counts. Legs quoted in a currency of ``unreliable`` (a
        stablecoin off its peg) are not compared: that gap is the stablecoin's.
        """
        opened = self._open.setdefault(asset, {})
        best = self._best_pairs(legs, unreliable)
        for key in best:
            if key not in opened:
                opened[key] = _Open(self._tracker())
        events: list[ArbitrageEpisode] = []
        for key in list(opened):
            event = self._step(asset, opened[key], ts, best.get(key))
            if event is not None:
                events.append(event)
            if opened[key].tracker.state is None:
                del opened[key]
        return events

    def _best_pairs(self, legs: list[Leg], unreliable: frozenset[str]) -> dict[_VenuePair, _Found]:
        """Return the best opportunity over the threshold per venue pair (prefiltered loop)."""
        if len(legs) < 2:
            return {}
        config = self._config
        best_bid = max(leg.bid_usd for leg in legs)
        min_fee = min(leg.fee_bps for leg in legs)
        best: dict[_VenuePair, _Found] = {}
        for buy in legs:
            need = (config.arbitrage_bps + buy.fee_bps + min_fee) / 1e4
            # No venue bids high enough above this ask: skip its inner loop.
            if buy.ask_usd <= 0 or best_bid / buy.ask_usd - 1.0 < need:
                continue
            for sell in legs:
                if buy.venue == sell.venue or not _comparable(buy, sell, unreliable):
                    continue
                found = _spread(buy, sell, config)
                if found is None or found.net_bps < config.arbitrage_bps:
                    continue
                key = (buy.venue, sell.venue)
                if key not in best or found.net_bps > best[key].net_bps:
                    best[key] = found
        return best

    def finish(self, asset: str) -> list[ArbitrageEpisode]:
        """Close every confirmed episode of ``asset`` at the end of the data."""
        events = []
        for entry in self._open.pop(asset, {}).values():
            state = entry.tracker.state
            if state is not None and state.confirmed:
                events.append(self._event(asset, entry, "closed", entry.tracker.end_ts()))
        return events

    def assets(self) -> tuple[str, ...]:
        """Return the assets with episodes being tracked."""
        return tuple(self._open)

    def _tracker(self) -> EpisodeTracker:
        c = self._config
        return EpisodeTracker(
            start_level=c.arbitrage_bps,
            end_level=c.arbitrage_bps,
            min_duration_ns=int(c.arbitrage_min_duration_s * 1e9),
            end_after_ns=int(c.arbitrage_end_grace_s * 1e9),
            interval_ns=c.interval_ns,
        )

    def _step(
        self, asset: str, entry: _Open, ts: int, found: _Found | None
    ) -> ArbitrageEpisode | None:
        tracker = entry.tracker
        before = tracker.state.peak if tracker.state is not None else -1.0
        phase = tracker.update(ts, None if found is None else found.net_bps)
        state = tracker.state
        if found is not None and state is not None and state.peak > before:
            entry.peak = found
        if phase is Phase.OPENED:
            return self._event(asset, entry, "open", 0)
        if phase is Phase.CLOSED:
            event = self._event(asset, entry, "closed", tracker.end_ts())
            tracker.reset()
            return event
        return None

    def _event(self, asset: str, entry: _Open, phase: str, ts_end: int) -> ArbitrageEpisode:
        state = entry.tracker.state
        peak = entry.peak
        assert state is not None and peak is not None  # only called while an episode runs
        interval = self._config.interval_ns
        last = ts_end if ts_end else state.ts_last + interval
        return ArbitrageEpisode(
            asset=asset,
            phase=phase,
            buy_venue=peak.buy.venue,
            buy_symbol=peak.buy.symbol,
            sell_venue=peak.sell.venue,
            sell_symbol=peak.sell.symbol,
            ts_start=state.ts_start,
            ts_peak=state.ts_peak,
            ts_end=ts_end,
            gross_bps_peak=peak.gross_bps,
            net_bps_peak=peak.net_bps,
            net_bps_mean=state.total / max(state.count, 1),
            size=peak.size,
            notional_usd=peak.notional,
            minutes=(last - state.ts_start) // interval,
            ts_recv=last,
        )


def _comparable(buy: Leg, sell: Leg, unreliable: frozenset[str]) -> bool:
    # Prices quoted in a stablecoin off its peg carry that coin's venue-to-venue
    # dislocation, even between two markets in the same coin: the stablecoin event
    # reports it, not a flood of BTC arbitrage alerts.
    return not ({buy.quote, sell.quote} & unreliable)


def _spread(buy: Leg, sell: Leg, config: IntegrityConfig) -> _Found | None:
    """Return the gross and net bps, size and notional of buying ``buy`` and selling ``sell``.

    None when the smaller side is worth less than the minimum notional: not tradeable.
    """
    if not (buy.ask_usd > 0 and sell.bid_usd > 0):
        return None
    size = min(buy.ask_size, sell.bid_size)
    notional = size * buy.ask_usd
    if notional < config.arbitrage_min_notional_usd:
        return None
    gross = (sell.bid_usd / buy.ask_usd - 1.0) * 1e4
    return _Found(buy, sell, gross, gross - buy.fee_bps - sell.fee_bps, size, notional)
