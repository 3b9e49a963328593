"""Base-tier spot taker fees per venue: what crossing the spread costs before any discount.

Values are the lowest-volume (no VIP, no token discount) spot taker rate from
each venue's public fee page, as published around the March 2023 data set.
Cross-checked against stored copies of public fee tables (no live access here):
Coinbase Advanced $0-10K tier taker 60 bps, Kraken Pro $0-50K taker 0.26%, Bybit
non-VIP spot taker 0.1% (its help center), Binance.US tier 1 taker 0.10%.
Crypto.com's Level 1 spot taker is quoted as 0.075% by some sources and 0.10% by
others; 0.075% is used. Fee schedules change: confirm against the page cited
before trusting an arbitrage figure with money.
"""

from __future__ import annotations

from typing import Final

from tradefabric.core.errors import ConfigError

TAKER_FEE_BPS: Final[dict[str, float]] = {
    # https://www.binance.com/en/fee/schedule : regular user, spot taker 0.1000%.
    "binance": 10.0,
    # https://www.binance.us/fees : lowest tier, taker 0.1000% (Binance.US ran zero-fee
    # promotions on some BTC pairs in 2023; the paid rate is used to stay conservative).
    "binanceus": 10.0,
    # https://www.coinbase.com/advanced-fees : Advanced Trade, lowest tier, taker 0.60%.
    "coinbase": 60.0,
    # https://www.kraken.com/features/fee-schedule : Kraken Pro $0-$50K, taker 0.26%.
    "kraken": 26.0,
    # https://crypto.com/exchange/document/fees-limits : Level 1 spot taker 0.075%.
    "cryptocom": 7.5,
    # https://www.bybit.com/en/help-center/article/Trading-Fee-Structure : non-VIP spot
    # taker 0.1000%.
    "bybit": 10.0,
}


def taker_fee_bps(venue: str, table: dict[str, float] | None = None) -> float:
    """Return ``venue``'s base-tier taker fee in bps; raise ConfigError for an unknown venue."""
    fees = TAKER_FEE_BPS if table is None else table
    try:
        return fees[venue]
    except KeyError:
        raise ConfigError(
            f"no taker fee known for venue {venue!r}; add it to integrity/fees.py"
        ) from None
