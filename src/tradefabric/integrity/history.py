"""Recent consensus prices per asset, by bucket: what gaps and checks look back on."""

from __future__ import annotations

import math
from collections import deque


class ConsensusHistory:
    """The last ``depth`` buckets of each asset's consensus price (USD)."""

    def __init__(self, depth: int) -> None:
        self._depth = depth
        self._prices: dict[str, dict[int, float]] = {}
        self._order: dict[str, deque[int]] = {}

    def add(self, asset: str, ts: int, price: float) -> None:
        """Record ``asset``'s consensus at bucket ``ts`` (buckets arrive in time order)."""
        prices = self._prices.setdefault(asset, {})
        order = self._order.setdefault(asset, deque())
        prices[ts] = price
        order.append(ts)
        while len(order) > self._depth:
            del prices[order.popleft()]

    def price(self, asset: str, ts: int) -> float | None:
        """Return ``asset``'s consensus at bucket ``ts``, None when not known."""
        return self._prices.get(asset, {}).get(ts)

    def log_price(self, asset: str, ts: int) -> float:
        """Return the natural log of the consensus at ``ts``, NaN when not known."""
        price = self.price(asset, ts)
        return math.log(price) if price is not None and price > 0 else math.nan
