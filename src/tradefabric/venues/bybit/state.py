"""Per-symbol state Bybit streams carry beyond the domain events: merged tickers, liquidations.

Linear ``tickers`` deltas carry only the fields that changed, so the parser keeps
one merged ``BybitTicker`` per symbol (a new frozen value per message). These
structs hold everything Bybit sends that the venue-neutral events
(``Quote``, ``MarkPrice``, ``OpenInterest``, ``Liquidation``) leave out.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

from tradefabric.core.errors import MalformedMessageError
from tradefabric.model.enums import AggressorSide
from tradefabric.venues.bybit.wire import WireTicker

_MS = 1_000_000


class BybitTicker(msgspec.Struct, frozen=True, kw_only=True):
    """The merged ``tickers.<symbol>`` state; None where Bybit has not sent a value yet."""

    venue: str
    symbol: str
    last_price: float | None = None
    mark_price: float | None = None
    index_price: float | None = None
    open_interest: float | None = None
    """Open interest in base units (both sides), linear only."""
    open_interest_value: float | None = None
    funding_rate: float | None = None
    """Current funding rate per interval (0.0001 = 0.01%); None on dated futures and spot."""
    next_funding_ts: int | None = None
    bid_price: float | None = None
    bid_size: float | None = None
    ask_price: float | None = None
    ask_size: float | None = None
    high_24h: float | None = None
    low_24h: float | None = None
    prev_price_24h: float | None = None
    change_24h: float | None = None
    volume_24h: float | None = None
    turnover_24h: float | None = None
    usd_index_price: float | None = None
    cross_seq: int = -1
    ts_event: int = 0
    ts_recv: int = 0


class BybitLiquidation(msgspec.Struct, frozen=True, kw_only=True):
    """One liquidation from ``allLiquidation``, as Bybit reports it.

    ``position_side`` is the liquidated position (``long`` when Bybit says ``Buy``);
    ``side`` is the liquidation order's side (the opposite), as on ``Liquidation``.
    """

    venue: str
    symbol: str
    position_side: str
    side: AggressorSide
    bankruptcy_price: float
    size: float
    ts_event: int
    ts_recv: int


_PLAIN_FIELDS: tuple[str, ...] = tuple(
    name
    for name in WireTicker.__struct_fields__
    if name not in ("symbol", "funding_rate", "next_funding_time", "usd_index_price")
)


def merge_ticker(
    state: BybitTicker, wire: WireTicker, cross_seq: int, ts_event: int, ts_recv: int
) -> BybitTicker:
    """Return ``state`` updated with every field ``wire`` carries (absent fields unchanged)."""
    changes: dict[str, Any] = {
        name: value for name in _PLAIN_FIELDS if (value := getattr(wire, name)) is not None
    }
    if wire.funding_rate is not None:
        changes["funding_rate"] = _decimal_or_none(wire.funding_rate, "fundingRate")
    if wire.next_funding_time is not None:
        next_ms = _decimal_or_none(wire.next_funding_time, "nextFundingTime")
        changes["next_funding_ts"] = None if next_ms is None else int(next_ms) * _MS
    if wire.usd_index_price is not None:
        changes["usd_index_price"] = _decimal_or_none(wire.usd_index_price, "usdIndexPrice")
    return msgspec.structs.replace(
        state, cross_seq=cross_seq, ts_event=ts_event, ts_recv=ts_recv, **changes
    )


def _decimal_or_none(text: str, name: str) -> float | None:
    """Return ``text`` as a finite float, None for Bybit's empty string."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise MalformedMessageError(f"ticker {name} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise MalformedMessageError(f"ticker {name} {text!r} is not finite")
    return value
