"""Compare candles we built from trades with the venue's own candles (klines)."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from tradefabric.model.data import Candle


class ReferenceCandle(msgspec.Struct, frozen=True):
    """A venue-published candle to check against (e.g. a Binance 1m kline)."""

    ts_open: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class CandleCheck(msgspec.Struct, frozen=True):
    """How many built candles equalled the reference (OHLC exact, volume within tolerance)."""

    compared: int
    matched: int
    missing_reference: int
    mismatches: list[str]


def check_candles(
    built: Iterable[Candle],
    reference: Iterable[ReferenceCandle],
    covered_from_ns: int,
    covered_to_ns: int,
    volume_tolerance: float = 1e-8,
) -> CandleCheck:
    """Compare every built candle whose whole interval lies in ``[covered_from, covered_to]``.

    Candles at the edges of a recording saw only part of their interval's trades,
    so they cannot match the venue's and are left out.
    """
    by_open = {r.ts_open: r for r in reference}
    compared = matched = missing = 0
    mismatches: list[str] = []
    for candle in built:
        if candle.ts_open < covered_from_ns or candle.ts_event > covered_to_ns:
            continue
        ref = by_open.get(candle.ts_open)
        if ref is None:
            missing += 1
            continue
        compared += 1
        ours = (candle.open, candle.high, candle.low, candle.close)
        theirs = (ref.open, ref.high, ref.low, ref.close)
        if ours == theirs and abs(candle.volume - ref.volume) <= volume_tolerance:
            matched += 1
        else:
            mismatches.append(
                f"{candle.symbol} {candle.ts_open}: built {ours} vol {candle.volume}, "
                f"venue {theirs} vol {ref.volume}"
            )
    return CandleCheck(compared, matched, missing, mismatches)
