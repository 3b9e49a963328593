"""The plumbing of Binance's signed endpoints on the fake venue, shared by spot and USD-M.

Every signed request goes through ``SignedApi.route``: an injected rate limit
refuses it first (HTTP 429/418, Retry-After, -1003, nothing done), then the key,
signature and timestamp are checked, the handler acts on the ledger, and an
order entry's answer may be lost, replaced by "status unknown" (-1007) or
delayed on command (``PrivateFaults``). Refusals of the ledger become the
market's own codes (``RejectCodes``).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Mapping

import msgspec
from aiohttp import web

from tradefabric.model.orders import OrderSide, OrderType, TimeInForce
from tradefabric.venues.binance.live import API_KEY_HEADER
from tradefabric.venues.fakevenue.binance_private_auth import BinanceApiError, BinanceKeys
from tradefabric.venues.fakevenue.private.exchange import OrderRefusedError
from tradefabric.venues.fakevenue.private.faults import PrivateFaults, RateLimit, ResponseFault
from tradefabric.venues.fakevenue.private.model import OrderParams, RejectReason

Json = dict[str, object]
Answer = Json | list[Json]
Handler = Callable[[dict[str, str]], Answer]
RejectCodes = Mapping[RejectReason, tuple[int, str]]

UNKNOWN_STATUS = BinanceApiError(
    503, -1007, "Timeout waiting for response from backend server. Send status unknown; "
    "execution status unknown.",
)  # fmt: skip

SIDES = {"BUY": OrderSide.BUY, "SELL": OrderSide.SELL}
TIFS = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}


def rate_limited(limit: RateLimit) -> BinanceApiError:
    """Return Binance's refusal of a request over the limit (418: the IP is banned)."""
    if limit.status == 418:
        msg = "Way too many requests; IP(127.0.0.1) banned until further notice."
    else:
        msg = "Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute."
    return BinanceApiError(limit.status, -1003, msg, {"Retry-After": f"{limit.retry_after_s:g}"})


def refusal(codes: RejectCodes, error: OrderRefusedError) -> BinanceApiError:
    """Return the market's own error for a refusal of the ledger."""
    code, msg = codes[error.reason]
    return BinanceApiError(400, code, msg)


def required(params: Mapping[str, str], name: str) -> str:
    """Return a mandatory parameter; refuse (-1102) when it is missing or empty."""
    value = params.get(name, "")
    if not value:
        raise BinanceApiError(
            400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
        )
    return value


def number(params: Mapping[str, str], name: str) -> float:
    """Return a mandatory decimal parameter as a float (-1100 when it is not a number)."""
    try:
        return float(required(params, name))
    except ValueError as exc:
        raise BinanceApiError(
            400, -1100, f"Illegal characters found in parameter '{name}'."
        ) from exc


def new_client_id(params: Mapping[str, str]) -> str:
    """Return ``newClientOrderId``, or one the venue makes up (as Binance does)."""
    return params.get("newClientOrderId") or secrets.token_urlsafe(16)[:22]


def order_params(
    params: Mapping[str, str], kind: OrderType, post_only: bool, tif: str
) -> OrderParams:
    """Return the neutral order of decoded wire parameters."""
    side = SIDES.get(required(params, "side"))
    if side is None:
        raise BinanceApiError(400, -1117, "Invalid side.")
    return OrderParams(
        symbol=required(params, "symbol"), client_order_id=new_client_id(params), side=side,
        order_type=kind, quantity=number(params, "quantity"),
        price=number(params, "price") if kind is OrderType.LIMIT else None,
        time_in_force=TIFS.get(tif, TimeInForce.GTC), post_only=post_only,
        reduce_only=params.get("reduceOnly", "false") == "true",
    )  # fmt: skip


def order_id(params: Mapping[str, str]) -> tuple[str, int]:
    """Return (client order id, venue order id) of a query or cancel (-1102 when neither)."""
    client = params.get("origClientOrderId", "")
    venue = params.get("orderId", "")
    if not client and not venue:
        raise BinanceApiError(
            400,
            -1102,
            "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
        )
    return client, int(venue) if venue.isdigit() else 0


class SignedApi:
    """Serve signed endpoints against the ledger, with the venue's faults and codes."""

    def __init__(self, keys: BinanceKeys, faults: PrivateFaults, codes: RejectCodes) -> None:
        self.keys = keys
        self.faults = faults
        self.codes = codes
        self.orders_received = 0

    def route(
        self, method: str, path: str, handler: Handler, *, order_entry: bool = False
    ) -> web.RouteDef:
        """Return the route serving ``handler`` as a signed endpoint."""

        async def serve(request: web.Request) -> web.StreamResponse:
            return await self._serve(request, handler, order_entry)

        return web.route(method, path, serve)

    def keyed_route(self, method: str, path: str, handler: Handler) -> web.RouteDef:
        """Return a route that needs the API key header but no signature (USER_STREAM)."""

        async def serve(request: web.Request) -> web.StreamResponse:
            try:
                self.keys.key(request.headers.get(API_KEY_HEADER, ""))
                params = dict(request.query)
                params.update(await request.post())  # type: ignore[arg-type]
                return _json(handler(params))
            except BinanceApiError as error:
                return _error(error)

        return web.route(method, path, serve)

    async def _serve(
        self, request: web.Request, handler: Handler, order_entry: bool
    ) -> web.StreamResponse:
        try:
            limit = self.faults.take_rate_limit()
            if limit is not None:
                raise rate_limited(limit)
            body = (await request.read()).decode()
            api_key = request.headers.get(API_KEY_HEADER, "")
            params = self.keys.verify_rest(api_key, request.query_string, body)
            if order_entry:
                self.orders_received += 1
            answer = self.act(handler, params)
            if order_entry:
                await self._answer_fault(request)
        except BinanceApiError as error:
            return _error(error)
        return _json(answer)

    def act(self, handler: Handler, params: dict[str, str]) -> Answer:
        """Run ``handler``; a refusal of the ledger becomes the market's error."""
        try:
            return handler(params)
        except OrderRefusedError as error:
            raise refusal(self.codes, error) from error

    async def _answer_fault(self, request: web.Request) -> None:
        fault = self.faults.take_response()
        if fault is None:
            return
        kind, seconds = fault
        if kind is ResponseFault.DELAY:
            await asyncio.sleep(seconds)
        elif kind is ResponseFault.UNKNOWN:
            raise UNKNOWN_STATUS
        elif request.transport is not None:
            # Accepted, and the answer never leaves: the client cannot know the outcome.
            request.transport.abort()


def _json(answer: Answer) -> web.Response:
    return web.Response(body=msgspec.json.encode(answer), content_type="application/json")


def _error(error: BinanceApiError) -> web.Response:
    return web.Response(
        status=error.status,
        body=error.body(),
        content_type="application/json",
        headers=error.headers,
    )
