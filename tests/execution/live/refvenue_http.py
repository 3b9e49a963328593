"""The reference venue over HTTP, for tests with real processes (a node killed -9, the guard).

``python -m tests.execution.live.refvenue_http --port 0`` serves one ``RefVenue`` on
loopback and prints ``listening PORT``. Every private request must carry the
throwaway key (``$REFVENUE_API_KEY``, never argv) in ``X-Api-Key`` (401 otherwise).
Routes (JSON bodies are the msgspec records of ``execution.live.reports``):

- ``POST /order`` (an ``OrderSnapshot``) -> ``{"venue_order_id": ...}``
- ``POST /cancel`` ``{"client_order_id": ...}``; ``POST /cancel_all``
- ``GET /order?client_order_id=`` -> an ``OrderStatusReport`` or 404
- ``GET /mass_status?since=`` -> a ``MassStatus``
- ``POST /heartbeat`` ``{"timeout_s": ...}`` (recorded only)
- with ``--match-every S`` the venue keeps matching (1-2 lots of a random open order
  of ours every S seconds, at its limit price); ``POST /pause``/``/resume`` control it;
- test controls, no key: ``POST /external`` ``{"side", "quantity", "price"}`` places an
  order by hand; ``POST /match`` ``{"ref", "quantity", "price"}`` fills one;
  ``GET /state`` -> open orders, submissions per client id, balances, cancel_all calls.

``RefHttpClient`` is its ``LiveExecutionClient`` (no user stream: it reports what
submit/cancel answers and relies on reconciliation, ``reconcile_interval_s``, for the
rest); ``build_http_client`` is the registry factory (``live.factory``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
from collections import Counter
from typing import Any

import aiohttp
import msgspec
from aiohttp import web

from tests.execution.live.refvenue import OPEN, RefVenue
from tradefabric.core.errors import (
    AuthenticationError,
    OrderRejectedError,
    OrderStatusUnknownError,
    VenueUnavailableError,
)
from tradefabric.execution.live.protocol import LiveReports
from tradefabric.execution.live.reports import MassStatus, OrderStatusReport
from tradefabric.model.orders import OrderSide, OrderSnapshot

KEY_HEADER = "X-Api-Key"
_CONTROLS = frozenset({"/external", "/match", "/state", "/pause", "/resume"})


def _json(record: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=msgspec.json.encode(record), status=status, content_type="application/json"
    )


class _Routes:
    """The venue's HTTP handlers."""

    def __init__(self, venue: RefVenue, api_key: str) -> None:
        self.venue = venue
        self.api_key = api_key
        self.attempts: Counter[str] = Counter()
        """Every POST /order by client id, accepted or not: 1 each, or an order was resent."""
        self.matching = asyncio.Event()

    async def match_forever(self, every_s: float, seed: int) -> None:
        """Keep matching: every ``every_s`` fill 1-2 lots of a random open order of ours."""
        rng = random.Random(seed)
        while True:
            await asyncio.sleep(every_s)
            await self.matching.wait()
            ours = [o for o in self.venue.open_orders() if o.client_order_id]
            if not ours:
                continue
            order = rng.choice(ours)
            leaves = round(order.quantity - order.filled, 8)
            quantity = min(leaves, rng.choice((0.001, 0.002)))
            self.venue.fill(order.venue_order_id, quantity, order.price or 0.0, stream=False)

    async def pause(self, _request: web.Request) -> web.Response:
        self.matching.clear()
        return _json({"ok": True})

    async def resume(self, _request: web.Request) -> web.Response:
        self.matching.set()
        return _json({"ok": True})

    @web.middleware
    async def auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        private = request.path not in _CONTROLS
        if private and request.headers.get(KEY_HEADER) != self.api_key:
            return _json({"error": "invalid api key"}, 401)
        response: web.StreamResponse = await handler(request)
        return response

    async def order(self, request: web.Request) -> web.Response:
        snapshot = msgspec.json.decode(await request.read(), type=OrderSnapshot)
        self.attempts[snapshot.client_order_id] += 1
        if snapshot.client_order_id in self.venue.by_client:
            return _json({"error": "duplicate client order id", "code": "-2010"}, 400)
        return _json({"venue_order_id": self.venue.place(snapshot).venue_order_id})

    async def cancel(self, request: web.Request) -> web.Response:
        cid = (await request.json())["client_order_id"]
        vid = self.venue.by_client.get(cid)
        if vid is None or self.venue.orders[vid].status not in OPEN:
            return _json({"error": "unknown order", "code": "-2011"}, 400)
        self.venue.cancel_at_venue(cid)
        return _json({"ok": True})

    async def cancel_all(self, _request: web.Request) -> web.Response:
        self.venue.cancel_all_calls.append(None)
        for placed in self.venue.open_orders():
            self.venue.cancel_at_venue(placed.venue_order_id)
        return _json({"ok": True})

    async def query(self, request: web.Request) -> web.Response:
        vid = self.venue.by_client.get(request.query["client_order_id"])
        if vid is None:
            return _json({"error": "no such order"}, 404)
        return _json(self.venue.report(self.venue.orders[vid]))

    async def mass(self, request: web.Request) -> web.Response:
        return _json(self.venue.mass_status((), int(request.query.get("since", "0"))))

    async def heartbeat(self, request: web.Request) -> web.Response:
        self.venue.heartbeats.append(float((await request.json())["timeout_s"]))
        return _json({"ok": True})

    async def external(self, request: web.Request) -> web.Response:
        body = await request.json()
        side = OrderSide(body["side"])
        placed = self.venue.place_external(side, body["quantity"], body["price"])
        return _json({"venue_order_id": placed.venue_order_id})

    async def match(self, request: web.Request) -> web.Response:
        body = await request.json()
        return _json(self.venue.fill(body["ref"], body["quantity"], body["price"], stream=False))

    async def state(self, _request: web.Request) -> web.Response:
        venue = self.venue
        return _json(
            {
                "open": [o.venue_order_id for o in venue.open_orders()],
                "orders": {
                    o.venue_order_id: {"client_order_id": o.client_order_id,
                                       "status": o.status, "filled": o.filled}
                    for o in venue.orders.values()
                },
                "submissions": dict(venue.submissions),
                "attempts": dict(self.attempts),
                "trade_list": [
                    {"client_order_id": t.client_order_id, "trade_id": t.trade_id,
                     "quantity": t.quantity, "price": t.price}
                    for t in venue.trades
                ],
                "balances": venue.balances,
                "cancel_all_calls": len(venue.cancel_all_calls),
                "trades": len(venue.trades),
            }
        )  # fmt: skip


def make_app(venue: RefVenue, api_key: str, routes: _Routes | None = None) -> web.Application:
    """Return the aiohttp app serving ``venue``."""
    r = routes or _Routes(venue, api_key)
    app = web.Application(middlewares=[r.auth])
    app.add_routes(
        [
            web.post("/order", r.order), web.post("/cancel", r.cancel),
            web.post("/cancel_all", r.cancel_all), web.get("/order", r.query),
            web.get("/mass_status", r.mass), web.post("/heartbeat", r.heartbeat),
            web.post("/external", r.external), web.post("/match", r.match),
            web.get("/state", r.state), web.post("/pause", r.pause),
            web.post("/resume", r.resume),
        ]
    )  # fmt: skip
    return app


class RefHttpClient:
    """``LiveExecutionClient`` of the HTTP reference venue (module docstring)."""

    supports_modify = False

    def __init__(self, name: str, rest_url: str, api_key: str, cancel_after: bool) -> None:
        self.name = name
        self.supports_cancel_after = cancel_after
        self._url = rest_url.rstrip("/")
        self._key = api_key
        self._session: aiohttp.ClientSession | None = None

    async def _call(self, method: str, path: str, **kwargs: Any) -> tuple[int, bytes]:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers={KEY_HEADER: self._key})
        try:
            async with self._session.request(method, self._url + path, **kwargs) as response:
                return response.status, await response.read()
        except aiohttp.ClientConnectionError as exc:
            raise VenueUnavailableError(f"{self.name}: {exc}") from exc

    async def connect(self, reports: LiveReports) -> None:
        status, _ = await self._call("GET", "/mass_status")
        if status == 401:
            raise AuthenticationError(f"{self.name}: key refused")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def submit(self, order: OrderSnapshot) -> str:
        try:
            status, body = await self._call("POST", "/order", data=msgspec.json.encode(order))
        except VenueUnavailableError as exc:  # the request may have been sent
            raise OrderStatusUnknownError(str(exc)) from exc
        answer = msgspec.json.decode(body)
        if status != 200:
            raise OrderRejectedError(answer["error"], code=answer.get("code", ""))
        return str(answer["venue_order_id"])

    async def cancel(self, symbol: str, client_order_id: str) -> None:
        body = msgspec.json.encode({"client_order_id": client_order_id})
        status, answer = await self._call("POST", "/cancel", data=body)
        if status != 200:
            raise OrderRejectedError(msgspec.json.decode(answer)["error"], code="-2011")

    async def cancel_all(self, symbol: str | None = None) -> None:
        await self._call("POST", "/cancel_all")

    async def modify(
        self, symbol: str, client_order_id: str, quantity: float, price: float | None
    ) -> None:
        raise OrderRejectedError("modify not supported")

    async def query_order(self, symbol: str, client_order_id: str) -> OrderStatusReport | None:
        status, body = await self._call(
            "GET", "/order", params={"client_order_id": client_order_id}
        )
        return None if status == 404 else msgspec.json.decode(body, type=OrderStatusReport)

    async def mass_status(self, symbols: tuple[str, ...], trades_since_ns: int) -> MassStatus:
        _, body = await self._call("GET", "/mass_status", params={"since": str(trades_since_ns)})
        return msgspec.json.decode(body, type=MassStatus)

    async def heartbeat(self, timeout_s: float) -> None:
        await self._call("POST", "/heartbeat", data=msgspec.json.encode({"timeout_s": timeout_s}))


def build_http_client(
    venue: str,
    credentials: Any,
    instruments: Any,
    *,
    testnet: bool,
    rest_url: str,
    ws_url: str,
) -> RefHttpClient:
    """The registry factory of the HTTP reference venue (no cancel-after)."""
    return RefHttpClient(venue, rest_url, credentials.api_key, cancel_after=False)


async def _serve(name: str, port: int, api_key: str, match_every: float, seed: int) -> None:
    venue = RefVenue(name)
    routes = _Routes(venue, api_key)
    runner = web.AppRunner(make_app(venue, api_key, routes))
    await runner.setup()
    if match_every > 0:
        routes.matching.set()
        matcher = asyncio.create_task(routes.match_forever(match_every, seed))
        matcher.add_done_callback(lambda t: t.cancelled() or t.result())
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"listening {bound}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--name", default="ref-http")
    parser.add_argument("--match-every", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    key = os.environ["REFVENUE_API_KEY"]
    asyncio.run(_serve(args.name, args.port, key, args.match_every, args.seed))


if __name__ == "__main__":
    main()
