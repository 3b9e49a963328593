"""What the integrity layer publishes: frozen, timestamped (int ns UTC) events.

``ts_event`` is the time the finding is about (a candle's open, an episode's
start); ``ts_recv`` is the data time at which it was decided (the end of the
bucket that revealed it), never wall time, so a replay publishes the same events.
"""

from __future__ import annotations

import enum

import msgspec

from tradefabric.model.data import Candle


class AnomalyKind(enum.StrEnum):
    """Which check a candle, quote or feed failed."""

    PRICE_OUTLIER = "price_outlier"
    """Too far from the cross-venue consensus for this venue's usual basis (z-score)."""
    RETURN_OUTLIER = "return_outlier"
    """An own return too large for the series' volatility (series without a consensus)."""
    VOLUME_SPIKE = "volume_spike"
    """A volume spike on one venue that the others do not show."""
    FLATLINE = "flatline"
    """The same candle repeated while the consensus moved: a frozen value."""
    NOT_TRACKING = "not_tracking"
    """A price that stopped following the consensus while it moved (cached or stuck prices)."""
    STALE_FEED = "stale_feed"
    """A normally continuous series silent or frozen too long; ``ts_end`` when it recovers."""
    MISSING = "missing"
    """A minute absent from a normally continuous series."""
    CROSSED_BOOK = "crossed_book"
    """Best bid above best ask."""
    LOCKED_BOOK = "locked_book"
    """Best bid equal to best ask."""
    TIMESTAMP = "timestamp"
    """A time off the interval grid, or a series whose prices match the consensus shifted."""
    CLOCK_OFFSET = "clock_offset"
    """Venue time and our receive time disagree beyond the limit."""
    DEPEG = "depeg"
    """A stablecoin away from its peg (catalog rows only; the bus has ``StablecoinEvent``)."""


class ConsensusPrice(msgspec.Struct, frozen=True, gc=False):
    """The robust cross-venue price of ``asset`` in USD over one bucket."""

    asset: str
    price: float
    mad_bps: float
    """Scaled median absolute deviation of the inputs (1.4826 * MAD), in bps of the price."""
    venues: int
    series: int
    valid: bool
    """True when at least ``min_venues`` distinct venues contributed."""
    ts_event: int
    ts_recv: int


class VenueDeviation(msgspec.Struct, frozen=True, gc=False):
    """One series' price (converted to USD) against the consensus of its asset."""

    venue: str
    symbol: str
    price_usd: float
    consensus: float
    deviation_bps: float
    zscore: float
    weight: float
    ts_event: int
    ts_recv: int


class Anomaly(msgspec.Struct, frozen=True, gc=False):
    """A failed check; ``value`` is what was seen, ``expected`` what the checks expected."""

    kind: AnomalyKind
    venue: str
    symbol: str
    ts_event: int
    value: float
    expected: float
    score: float
    """How far past the limit: a z-score, a ratio or a count, per kind."""
    detail: str
    ts_recv: int
    ts_end: int = 0
    """End of the episode for kinds that span time (stale feeds); 0 when a single point."""


class Correction(msgspec.Struct, frozen=True, gc=False):
    """A replacement candle for a corrupted or missing one; the original is kept as it was.

    ``candle.flags`` says CORRECTED (an outlier replaced) or INTERPOLATED (a gap filled).
    """

    candle: Candle
    reason: AnomalyKind
    original_close: float
    """The close that was replaced, NaN for a filled gap."""
    ts_recv: int


class StablecoinEvent(msgspec.Struct, frozen=True, gc=False):
    """A stablecoin away from its peg: published at ``phase`` start and again at end."""

    coin: str
    phase: str
    """``start`` once the de-peg has lasted ``depeg_min_duration_s``, ``end`` when it is over."""
    ts_start: int
    ts_peak: int
    ts_end: int
    """0 while the de-peg is still going on."""
    peak_rate: float
    """The rate in USD furthest from 1 so far."""
    peak_bps: float
    ts_recv: int


class ArbitrageEpisode(msgspec.Struct, frozen=True, gc=False):
    """Buy ``asset`` on one venue, sell on another, net of both taker fees, for a while.

    Published at ``phase`` open once it has lasted ``arbitrage_min_duration_s``, and
    at ``phase`` closed with its end; never once per tick.
    """

    asset: str
    phase: str
    buy_venue: str
    buy_symbol: str
    sell_venue: str
    sell_symbol: str
    ts_start: int
    ts_peak: int
    ts_end: int
    """0 while the episode is open."""
    gross_bps_peak: float
    net_bps_peak: float
    net_bps_mean: float
    size: float
    """Tradeable size at the peak, base units: the smaller top-of-book (or minute volume)."""
    notional_usd: float
    minutes: int
    ts_recv: int


class VenueQuality(msgspec.Struct, frozen=True, gc=False):
    """A series' quality score in [0, 1]: the share of its minutes present and clean."""

    venue: str
    symbol: str
    score: float
    minutes: int
    """Buckets since the series' first candle."""
    candles: int
    anomalies: int
    corrections: int
    ts_recv: int
