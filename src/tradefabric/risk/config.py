"""Risk limits: typed, frozen, loaded from YAML with unknown keys failing."""

from __future__ import annotations

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.risk.venue_breaker import BreakerConfig


class RiskConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every limit the risk engine enforces; notionals are in the quote currency."""

    max_order_notional: float = 50_000.0
    max_position_notional: float = 100_000.0
    """Per (venue, symbol), after the order would fill."""
    max_total_notional: float = 250_000.0
    """Gross over every symbol, after the order would fill."""
    max_open_orders: int = 50
    price_band_bps: float = 200.0
    """A limit or stop price further than this from the consensus price is rejected."""
    max_orders_per_window: int = 100
    """Orders per venue within ``rate_window_s``."""
    rate_window_s: float = 10.0
    max_spread_bps: float = 50.0
    """A symbol whose measured spread is wider is blacklisted until it narrows."""
    min_depth_notional: float = 0.0
    """A symbol with less resting notional within ``depth_band_bps`` of mid per side is
    blacklisted (0 disables the depth rule)."""
    depth_band_bps: float = 10.0
    blacklist: tuple[str, ...] = ()
    """``venue:symbol`` pairs never traded (e.g. ``binance:LUNA/USDT``)."""
    self_trade_prevention: bool = True
    daily_drawdown_pct: float = 5.0
    """Halt when equity falls this far below the UTC day's high (percent)."""
    flatten_on_halt: bool = False
    """On a halt, also send reduce-only market orders closing every position."""
    audit_fsync: bool = False
    """fsync every audit line (live); a flush is enough for backtests."""
    audit_rotate_daily: bool = False
    """Paper/live with a state store: one audit file per UTC day (``audit-YYYY-MM-DD.jsonl``)."""
    venue_breaker: BreakerConfig = BreakerConfig()
    """When too many failures of one venue stop its trading (``risk.venue_breaker``)."""
    audit_copy_to: str | None = None
    """Paper/live with a state store: an fsspec URL (``s3://bucket/audit``) each closed
    audit file is copied to."""

    def __post_init__(self) -> None:
        for key in (
            "max_order_notional",
            "max_position_notional",
            "max_total_notional",
            "price_band_bps",
            "rate_window_s",
            "max_spread_bps",
            "depth_band_bps",
        ):
            value = getattr(self, key)
            if not value > 0:  # also refuses NaN
                raise ConfigError(f"risk.{key}: must be > 0, got {value}")
        for key in ("max_open_orders", "max_orders_per_window"):
            if getattr(self, key) < 1:
                raise ConfigError(f"risk.{key}: must be >= 1, got {getattr(self, key)}")
        if not self.min_depth_notional >= 0:
            raise ConfigError(
                f"risk.min_depth_notional: must be >= 0, got {self.min_depth_notional}"
            )
        if not 0 < self.daily_drawdown_pct <= 100:
            raise ConfigError(
                f"risk.daily_drawdown_pct: must be in (0, 100], got {self.daily_drawdown_pct}"
            )
