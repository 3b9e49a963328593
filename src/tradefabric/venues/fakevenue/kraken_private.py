"""Kraken spot's private API on the fake venue, served beside the replayed public traffic.

``KrakenPrivateScript`` wraps the public ``KrakenScript``: the same server streams
the recording as WS v2 and answers the signed REST endpoints (``/0/private/*``)
and the authenticated WebSocket (``/ws-auth/v2``), so the account's orders match
against the very book and trades public clients see. The ledger is the
venue-neutral ``private.PrivateExchange``; faults on command at
``POST /_fault/<kind>`` (``private.faults``).

::

    keys = (KrakenKey("k1", base64_secret),)
    script = KrakenPrivateScript(KrakenScript(recording), keys)
    async with FakeVenueServer(script, speed=20.0) as server: ...
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from tradefabric.venues.fakevenue.kraken import SOURCE_PRECISIONS, KrakenScript
from tradefabric.venues.fakevenue.kraken_private_api import KrakenKey, KrakenKeys, KrakenPrivateApi
from tradefabric.venues.fakevenue.kraken_private_ws import KrakenPrivateWs
from tradefabric.venues.fakevenue.private.spot_script import SpotPrivateScript, listed_rules


class KrakenPrivateScript(SpotPrivateScript):
    """A Kraken fake venue with its private API: the public script plus the account."""

    def __init__(
        self,
        public: KrakenScript,
        keys: tuple[KrakenKey, ...],
        balances: Mapping[str, float] | None = None,
    ) -> None:
        super().__init__(public, listed_rules("kraken", 0.0025, 0.004), balances)
        self.keys = KrakenKeys(keys)
        self.api = KrakenPrivateApi(self.keys, self.exchange, self.faults, _price_decimals)
        self.ws = KrakenPrivateWs(self.api)

    def private_routes(self) -> list[web.RouteDef]:
        """Return the private REST endpoints and the private stream."""
        return self.api.routes() + self.ws.routes()


def _price_decimals(symbol: str) -> int:
    precision = SOURCE_PRECISIONS.get(symbol)
    return precision.price if precision is not None else 8
