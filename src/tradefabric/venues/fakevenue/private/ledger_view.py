"""``GET /_ledger``: the private exchange's whole state, for tests that run the venue apart.

A test driving a node in another process (kill -9, restarts) compares the node's
orders, fills, balances and positions with the venue's truth; this is the truth,
every order (open or not) with its ids, every fill, ``placed`` (orders accepted:
a duplicate submission would show here) and the faults injected so far.
"""

from __future__ import annotations

import msgspec
from aiohttp import web

from tradefabric.venues.fakevenue.private.exchange import PrivateExchange
from tradefabric.venues.fakevenue.private.faults import PrivateFaults
from tradefabric.venues.fakevenue.private.model import Balance, OrderView, Position, VenueFill


class LedgerView(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the fake venue's account holds."""

    placed: int
    orders: tuple[OrderView, ...]
    fills: tuple[VenueFill, ...]
    balances: tuple[Balance, ...]
    positions: tuple[Position, ...]
    faults: dict[str, int]


def ledger_view(exchange: PrivateExchange, faults: PrivateFaults) -> LedgerView:
    """Return the account's state now."""
    return LedgerView(
        placed=exchange.placed, orders=tuple(exchange.all_orders()), fills=tuple(exchange.fills),
        balances=exchange.account.balances(), positions=exchange.account.positions(),
        faults=dict(faults.injected),
    )  # fmt: skip


def ledger_routes(exchange: PrivateExchange, faults: PrivateFaults) -> list[web.RouteDef]:
    """Return ``GET /_ledger``."""

    async def serve(_request: web.Request) -> web.Response:
        body = msgspec.json.encode(ledger_view(exchange, faults))
        return web.Response(body=body, content_type="application/json")

    return [web.get("/_ledger", serve)]
