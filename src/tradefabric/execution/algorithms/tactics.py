"""Venue tactics as data: how each venue spells post-only, which time in force it takes.

Execution algorithms ask this table, never ``if venue == ...``: a venue without IOC
gets GTC children that the algorithm cancels itself at the next slice; a venue
without post-only gets plain limits at the touch. ``post_only_flag`` is the venue's
own spelling (what its execution client sends), kept here so the table is the one
place that knows it. Venues not listed get ``DEFAULT_TACTICS``.
"""

from __future__ import annotations

import msgspec

from tradefabric.model.orders import TimeInForce

_ALL_TIFS = frozenset(TimeInForce)


class VenueTactics(msgspec.Struct, frozen=True, kw_only=True):
    """What one venue supports for the orders an algorithm sends."""

    post_only_flag: str
    """How the venue's API asks for post-only ("" when it has none)."""
    time_in_force: frozenset[TimeInForce] = _ALL_TIFS
    native_iceberg: bool = False
    """The venue shows a clip of a resting order itself (the node emulates it elsewhere)."""
    reduce_only: bool = False

    @property
    def post_only(self) -> bool:
        """Return True when the venue rejects a post-only order that would take."""
        return bool(self.post_only_flag)

    def supports(self, tif: TimeInForce) -> bool:
        """Return True when the venue takes ``tif``."""
        return tif in self.time_in_force


DEFAULT_TACTICS = VenueTactics(post_only_flag="post_only")

TACTICS: dict[str, VenueTactics] = {
    "binance": VenueTactics(post_only_flag="type=LIMIT_MAKER", native_iceberg=True),
    "binance-usdm": VenueTactics(post_only_flag="timeInForce=GTX", reduce_only=True),
    "bybit": VenueTactics(post_only_flag="timeInForce=PostOnly", reduce_only=True),
    "coinbase": VenueTactics(
        post_only_flag="post_only=true",
        time_in_force=frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}),
    ),
    "kraken": VenueTactics(
        post_only_flag="oflags=post",
        time_in_force=frozenset({TimeInForce.GTC, TimeInForce.IOC}),
        reduce_only=True,
    ),
}


def tactics_for(venue: str) -> VenueTactics:
    """Return the tactics of ``venue`` (``DEFAULT_TACTICS`` when not in the table)."""
    return TACTICS.get(venue, DEFAULT_TACTICS)
