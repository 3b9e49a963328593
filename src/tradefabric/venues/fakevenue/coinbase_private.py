"""Coinbase Advanced Trade's private API on the fake venue, beside the replayed public traffic.

``CoinbasePrivateScript`` wraps the public ``CoinbaseScript``: the same server
streams the recording and answers the JWT-authenticated REST endpoints
(``/api/v3/brokerage/orders``...) and the ``user`` channel (``/ws-user``), so the
account's orders match against the book and trades public clients see. The ledger
is the venue-neutral ``private.PrivateExchange``; faults at ``POST /_fault/<kind>``.

::

    keys = (CdpKey("organizations/o/apiKeys/k", public_pem),)
    script = CoinbasePrivateScript(CoinbaseScript(recording, COINBASE), keys)
    async with FakeVenueServer(script) as server: ...
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from tradefabric.venues.fakevenue.coinbase import CoinbaseScript
from tradefabric.venues.fakevenue.coinbase_private_api import CoinbasePrivateApi
from tradefabric.venues.fakevenue.coinbase_private_auth import CdpKey, CdpKeys
from tradefabric.venues.fakevenue.coinbase_private_ws import CoinbaseUserWs
from tradefabric.venues.fakevenue.private.spot_script import SpotPrivateScript, listed_rules


class CoinbasePrivateScript(SpotPrivateScript):
    """A Coinbase fake venue with its private API: the public script plus the account."""

    def __init__(
        self,
        public: CoinbaseScript,
        keys: tuple[CdpKey, ...],
        balances: Mapping[str, float] | None = None,
    ) -> None:
        super().__init__(public, listed_rules("coinbase", 0.004, 0.006), balances)
        self.keys = CdpKeys(keys)
        self.api = CoinbasePrivateApi(self.keys, self.exchange, self.faults)
        self.ws = CoinbaseUserWs(self.api)

    def private_routes(self) -> list[web.RouteDef]:
        """Return the private REST endpoints and the private stream."""
        return self.api.routes() + self.ws.routes()
