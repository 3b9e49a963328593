"""What differs between Bybit's spot and linear private APIs, as data.

The client and the fake venue read these fields instead of branching on the
category: topics, the dead man's switch product, how a cancel-all without a
symbol is scoped, and which coin a fee is charged in.
"""

from __future__ import annotations

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.venues.bybit.markets import BYBIT_LINEAR, BYBIT_SPOT, BybitMarket

PRIVATE_WS_PATH = "/v5/private"
"""The private stream of every category (mainnet ``wss://stream.bybit.com/v5/private``)."""


class PrivateCategory(msgspec.Struct, frozen=True, kw_only=True):
    """One Bybit v5 category as its private API behaves."""

    market: BybitMarket
    order_topic: str
    execution_topic: str
    position_topic: str
    """Empty where the category holds no positions (spot)."""
    dcp_topic: str
    """The disconnect-cancel topic a connection subscribes so DCP may trigger for it."""
    dcp_product: str
    """``product`` of ``/v5/order/disconnected-cancel-all``: ``SPOT`` or ``DERIVATIVES``."""
    market_unit: str
    """``marketUnit`` sent with market orders ("": none). Spot market buys count in the
    quote coin unless told ``baseCoin``; our quantities are always in the base asset."""
    scope_param: str
    """Parameter that scopes a cancel-all or an open-order list without a symbol
    (linear needs one: ``settleCoin``); "" when the category needs none."""
    scope_value: str
    sends_reduce_only: bool
    """Whether ``reduceOnly`` may be sent (spot rejects it)."""
    buy_fee_in_base: bool
    """Spot charges a buyer's fee in the base coin; linear charges the settle coin."""

    @property
    def venue(self) -> str:
        """Return the venue name orders and reports carry (``bybit``, ``bybit-linear``)."""
        return self.market.venue

    @property
    def category(self) -> str:
        """Return Bybit's ``category`` (``spot``, ``linear``)."""
        return self.market.category

    @property
    def topics(self) -> tuple[str, ...]:
        """Return the private topics the client subscribes to on connecting.

        ``dcp`` is not among them: subscribing to it is what lets Bybit's
        disconnect-cancel trigger, so the client adds it only once ``heartbeat`` armed it.
        """
        names = (self.order_topic, self.execution_topic, "wallet", self.position_topic)
        return tuple(t for t in names if t)


SPOT = PrivateCategory(
    market=BYBIT_SPOT,
    order_topic="order.spot",
    execution_topic="execution.spot",
    position_topic="",
    dcp_topic="dcp.spot",
    dcp_product="SPOT",
    market_unit="baseCoin",
    scope_param="",
    scope_value="",
    sends_reduce_only=False,
    buy_fee_in_base=True,
)

LINEAR = PrivateCategory(
    market=BYBIT_LINEAR,
    order_topic="order.linear",
    execution_topic="execution.linear",
    position_topic="position.linear",
    dcp_topic="dcp.future",
    dcp_product="DERIVATIVES",
    market_unit="",
    scope_param="settleCoin",
    scope_value="USDT",
    sends_reduce_only=True,
    buy_fee_in_base=False,
)

CATEGORIES: dict[str, PrivateCategory] = {c.venue: c for c in (SPOT, LINEAR)}


def private_category(venue: str) -> PrivateCategory:
    """Return the private category of ``venue`` (``bybit`` or ``bybit-linear``)."""
    found = CATEGORIES.get(venue)
    if found is None:
        raise ConfigError(
            f"no Bybit private API for {venue!r}; expected one of {sorted(CATEGORIES)}"
        )
    return found
