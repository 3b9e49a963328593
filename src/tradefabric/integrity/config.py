"""Thresholds of the integrity layer: one frozen struct with documented defaults."""

from __future__ import annotations

import msgspec

from tradefabric.core.errors import ConfigError


class IntegrityConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Every threshold the ``Triangulator`` uses; the defaults suit 1m candles of BTC.

    Times are seconds, price distances basis points (1 bp = 0.01%).
    """

    interval_s: int = 60
    """Length of one consensus bucket: the candle interval checked."""
    min_venues: int = 3
    """Distinct venues a consensus needs to be valid (and to judge a venue against it)."""
    stablecoins: tuple[str, ...] = ("USDT", "USDC")
    """Currencies pegged to 1 USD, converted with live rates and watched for de-pegs."""
    quote_currencies: tuple[str, ...] = ("USD", "USDT", "USDC", "EUR")
    """Currencies a price may be quoted in; anything else is an asset."""
    # --- consensus weights ---
    freshness_half_life_s: float = 60.0
    """A venue's last price loses half its weight for every this many seconds of age."""
    max_age_s: float = 300.0
    """A venue's price older than this takes no part in the consensus."""
    liquidity_half_life_min: float = 60.0
    """Half life of the USD volume average that sets a venue's liquidity weight."""
    quality_half_life_min: float = 60.0
    """Half life of the running quality score that scales a venue's weight."""
    rate_max_age_s: float = 900.0
    """A venue's own stablecoin rate older than this is replaced by the consensus rate."""
    # --- price and return z-scores ---
    warmup_minutes: int = 30
    """Minutes of history a series needs before its deviations are judged."""
    deviation_half_life_min: float = 30.0
    """Half life of a series' basis (usual deviation from consensus) and its scale."""
    deviation_floor_bps: float = 3.0
    """Smallest deviation scale: keeps z-scores finite on perfectly tracking venues."""
    outlier_z: float = 6.0
    """|deviation - basis| / scale above this is a price outlier..."""
    outlier_min_bps: float = 40.0
    """...when also at least this far from the venue's usual basis."""
    rebase_after: int = 3
    """Consecutive price outliers after which the series' basis follows: a level shift."""
    return_z: float = 8.0
    """Own-return z-score limit for series that have no valid consensus (stablecoin pairs)."""
    return_min_bps: float = 50.0
    """Smallest own return judged an outlier."""
    # --- volume, flat lines, staleness, gaps ---
    volume_spike_ratio: float = 50.0
    """A candle's volume over this multiple of its running average is a spike..."""
    volume_confirm_ratio: float = 5.0
    """...unless the median other venue of the asset is over this multiple too."""
    flat_min_run: int = 3
    """Repeated (frozen) candles in a row before the run is flagged."""
    flat_min_move_bps: float = 5.0
    """Consensus move over the run that makes a repeated price implausible."""
    track_window: int = 15
    """Buckets over which a series must follow the consensus..."""
    track_min_move_bps: float = 15.0
    """...whenever the consensus ranged at least this far over them..."""
    track_max_ratio: float = 0.1
    """...by ranging at least this fraction as far itself; less is a stuck price."""
    track_min_fill: float = 0.8
    """Share of the window's buckets a series must have traded in to be judged."""
    stale_after_s: float = 600.0
    """A normally continuous series silent or frozen this long is a stale feed."""
    continuous_fill: float = 0.95
    """Running fraction of minutes present above which a series is 'normally continuous'."""
    max_fill_minutes: int = 60
    """Longest gap interpolated; longer gaps are left empty."""
    # --- timestamps ---
    max_clock_offset_s: float = 2.0
    """Venue clock or receive delay beyond this is a clock anomaly."""
    shift_window: int = 20
    """Minutes compared when checking a series for shifted timestamps."""
    shift_max_lag: int = 3
    """Largest shift (minutes, either way) searched for."""
    shift_ratio: float = 0.35
    """A lag whose tracking error is under this fraction of lag 0's means shifted times."""
    shift_min_error_bps: float = 4.0
    """Lag-0 tracking error (mean bps) below which times are not judged: too quiet to tell."""
    # --- arbitrage ---
    arbitrage_bps: float = 20.0
    """Net discrepancy (after quote conversion and both taker fees) that is an opportunity."""
    arbitrage_min_duration_s: float = 300.0
    """An opportunity must last this long to be raised."""
    arbitrage_end_grace_s: float = 300.0
    """A gap this short below the threshold does not end an episode."""
    arbitrage_min_notional_usd: float = 1_000.0
    """Top-of-book size (candle volume without quotes) must be worth this much."""
    # --- stablecoin de-pegs ---
    depeg_bps: float = 100.0
    """A stablecoin this far from 1 USD..."""
    depeg_min_duration_s: float = 600.0
    """...for this long is de-pegged."""
    depeg_end_bps: float = 50.0
    """The de-peg ends once back within this distance..."""
    depeg_end_after_s: float = 3_600.0
    """...for this long."""

    def __post_init__(self) -> None:
        if self.interval_s <= 0 or self.min_venues < 2:
            raise ConfigError("integrity: interval_s must be positive and min_venues at least 2")
        if self.depeg_end_bps > self.depeg_bps:
            raise ConfigError("integrity: depeg_end_bps must not exceed depeg_bps")
        if self.track_window < 3 or not 0 < self.track_max_ratio < 1:
            raise ConfigError(
                "integrity: track_window must be at least 3, track_max_ratio in (0, 1)"
            )
        if self.flat_min_run < 2 or self.shift_window <= 2 * self.shift_max_lag:
            raise ConfigError(
                "integrity: flat_min_run must be at least 2 and shift_window over 2 * shift_max_lag"
            )

    @property
    def interval_ns(self) -> int:
        """Return the bucket length in ns."""
        return self.interval_s * 1_000_000_000
