"""Maker/taker fees per venue tier."""

from __future__ import annotations

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.model.orders import LiquiditySide

FEE_TIERS: dict[str, dict[str, tuple[float, float]]] = {
    # (maker bps, taker bps), Binance spot's published schedule (2024, no BNB discount).
    "binance": {
        "vip0": (10.0, 10.0),
        "vip1": (9.0, 10.0),
        "vip2": (8.0, 10.0),
        "vip3": (4.2, 6.0),
    },
    # Binance USD-M futures (2024).
    "binance-usdm": {"vip0": (2.0, 5.0), "vip1": (1.6, 4.0), "vip2": (1.4, 3.5)},
    # Bybit's non-VIP schedule (help center "Trading Fee Structure"): spot 0.1%/0.1%,
    # USDT perpetuals 0.02%/0.055%.
    "bybit": {"vip0": (10.0, 10.0)},
    "bybit-linear": {"vip0": (2.0, 5.5)},
    # Coinbase Advanced Trade lowest tier, Kraken Pro $0-$50K (as integrity/fees.py cites).
    "coinbase": {"vip0": (40.0, 60.0)},
    "kraken": {"vip0": (16.0, 26.0)},
}


class FeeConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A venue's fees: a tier of ``FEE_TIERS``, or explicit bps that override it."""

    tier: str = "vip0"
    maker_bps: float | None = None
    taker_bps: float | None = None

    def __post_init__(self) -> None:
        # A rebate (negative maker fee) would need its own field: refuse a typo'd sign.
        for key in ("maker_bps", "taker_bps"):
            value = getattr(self, key)
            if value is not None and not 0 <= value < 10_000:
                raise ConfigError(f"fees.{key}: must be in [0, 10000) bps, got {value}")


class FeeModel:
    """Fees of fills on one venue, in the quote currency."""

    __slots__ = ("maker_rate", "taker_rate")

    def __init__(self, venue: str, config: FeeConfig) -> None:
        tiers = FEE_TIERS.get(venue, {})
        maker, taker = config.maker_bps, config.taker_bps
        if maker is None or taker is None:
            if config.tier not in tiers:
                known = ", ".join(sorted(tiers)) or "none"
                raise ConfigError(
                    f"fees: unknown tier {config.tier!r} for venue {venue!r} (known: {known}); "
                    "give maker_bps and taker_bps"
                )
            tier_maker, tier_taker = tiers[config.tier]
            maker = tier_maker if maker is None else maker
            taker = tier_taker if taker is None else taker
        self.maker_rate = maker / 10_000.0
        self.taker_rate = taker / 10_000.0

    def fee(self, price: float, quantity: float, liquidity: LiquiditySide) -> float:
        """Return the fee of a fill of ``quantity`` at ``price``."""
        rate = self.maker_rate if liquidity is LiquiditySide.MAKER else self.taker_rate
        return price * quantity * rate
