"""The liquidity blacklist: symbols too wide or too thin to trade, measured live.

Spread comes from quotes (best bid/ask); depth from the L2 book when one is
kept. A symbol leaves the list as soon as a measurement is good again, so the
list follows the market rather than a snapshot of it.
"""

from __future__ import annotations

import msgspec

from tradefabric.core.bus import MessageBus
from tradefabric.data import topics
from tradefabric.model.data import Quote
from tradefabric.model.identifiers import InstrumentId
from tradefabric.risk.config import RiskConfig


class LiquidityMeasure(msgspec.Struct, frozen=True, kw_only=True):
    """One measurement of a symbol's tradability."""

    venue: str
    symbol: str
    spread_bps: float
    depth_notional: float
    """Smaller side's resting notional within the depth band; NaN when unknown."""
    ts_event: int


class LiquidityBlacklist:
    """Keep, per instrument, why it is blacklisted now ("" when it is not)."""

    def __init__(self, config: RiskConfig, bus: MessageBus | None = None) -> None:
        self.set_config(config)
        self._measured: dict[InstrumentId, str] = {}
        if bus is not None:
            bus.subscribe(topics.QUOTES, self.on_quote)

    def set_config(self, config: RiskConfig) -> None:
        """Use ``config``'s thresholds and static list from the next quote on."""
        self._config = config
        self._static = {InstrumentId.parse(item) for item in config.blacklist}

    def reason(self, instrument: InstrumentId) -> str:
        """Return why ``instrument`` is blacklisted, or ""."""
        if instrument in self._static:
            return "on the configured blacklist"
        return self._measured.get(instrument, "")

    def on_quote(self, quote: Quote) -> None:
        """Update the spread rule from a top-of-book quote."""
        mid = (quote.bid + quote.ask) / 2.0
        spread = (quote.ask - quote.bid) / mid * 10_000.0 if mid > 0 else float("inf")
        self.update(
            LiquidityMeasure(
                venue=quote.venue,
                symbol=quote.symbol,
                spread_bps=spread,
                depth_notional=float("nan"),
                ts_event=quote.ts_event,
            )
        )

    def update(self, measure: LiquidityMeasure) -> None:
        """Apply one measurement: blacklist on a wide spread or thin depth, else clear."""
        config = self._config
        key = InstrumentId(measure.venue, measure.symbol)
        if measure.spread_bps > config.max_spread_bps:
            self._measured[key] = (
                f"spread {measure.spread_bps:.1f} bps > {config.max_spread_bps:.1f}"
            )
        elif config.min_depth_notional > 0 and measure.depth_notional < config.min_depth_notional:
            self._measured[key] = (
                f"depth {measure.depth_notional:.0f} within {config.depth_band_bps:g} bps "
                f"< {config.min_depth_notional:.0f}"
            )
        else:
            self._measured.pop(key, None)
