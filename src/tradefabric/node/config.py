"""Typed, frozen configuration of a market data node."""

from __future__ import annotations

from pathlib import Path

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.core.time import interval_to_ns
from tradefabric.model.enums import EmptyCandlePolicy
from tradefabric.venues.registry import venue_profile


class MarketDataConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a market data node runs: which venue, which candles, where to store."""

    venue: str
    """A venue of ``tradefabric.venues.registry``: ``binance``, ``binance-usdm``..."""
    candle_intervals: tuple[str, ...] = ("1s", "1m")
    empty_candles: EmptyCandlePolicy = EmptyCandlePolicy.SKIP
    candle_close_delay_ms: int = 0
    catalog: Path | None = None
    """Parquet catalog root; None stores nothing."""
    write_in_background: bool = False
    """Commit catalog files from a writer thread (live feeds: the bus handler never waits
    on Parquet or S3); a replay writes inline, so its versions are deterministic."""
    check_books: bool = False
    """Compare each rebuilt book with the venue's own top of book (``bookTicker``)."""

    def __post_init__(self) -> None:
        venue_profile(self.venue)
        for interval in self.candle_intervals:
            interval_to_ns(interval)
        if self.candle_close_delay_ms < 0:
            raise ConfigError("candle_close_delay_ms: must be >= 0")
