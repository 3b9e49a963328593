"""The dashboard's FastAPI app: the page, a JSON snapshot, a live SSE stream, commands.

Everything it shows or does goes through the control service. Reads and the
stream need the token (``guard.Guard``); commands also need the dashboard's own
Origin and a JSON body, and each refusal is audited (``control_denied``) with why.

    GET  /                         the page (static; it asks for the token)
    GET  /api/session              whether a token is needed (no token needed)
    GET  /api/snapshot             one ``Snapshot``
    GET  /api/stream               ``text/event-stream`` of snapshots (``event: snapshot``)
    POST /api/strategies/{id}/pause|resume, /api/cancel_all, /api/halt, /api/reset,
         /api/flat_all (body ``{"confirm": "FLAT ALL"}``)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from importlib import resources
from typing import Any, TypeVar

import msgspec
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.staticfiles import StaticFiles

from tradefabric.core.errors import AuditWriteError
from tradefabric.ops.control.bridge import NodeUnavailableError
from tradefabric.ops.control.http import CancelBody, ErrorBody, ReasonBody
from tradefabric.ops.control.service import ControlAuthError, ControlError, ControlService
from tradefabric.ops.control.views import Credentials
from tradefabric.ops.dashboard.guard import Guard
from tradefabric.ops.dashboard.views import SessionInfo, take_snapshot

log = structlog.get_logger(__name__)
B = TypeVar("B", bound=msgspec.Struct)
FLAT_CONFIRM = "FLAT ALL"
STATIC = resources.files("tradefabric.ops.dashboard") / "static"
# The page runs only its own script: no inline code, no frames (a framed FLAT ALL
# button could be clicked through another site's overlay).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class FlatAllBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of FLAT ALL: the typed confirmation and how long to wait for the node to be flat."""

    confirm: str
    wait_s: float = 10.0


class DashboardRefusedError(ControlAuthError):
    """The guard refused a request: no or wrong token, foreign Origin or Host (403)."""


_STATUS_BY_ERROR: tuple[tuple[type[Exception], int], ...] = (
    (ControlAuthError, 403),
    (ControlError, 400),
    (msgspec.ValidationError, 422),
    (msgspec.DecodeError, 422),
    (NodeUnavailableError, 503),
    (AuditWriteError, 503),
)


def _json(value: object, status: int = 200) -> Response:
    return Response(
        msgspec.json.encode(value),
        status,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def _operator(request: Request) -> str:
    name = request.headers.get("x-operator", "").strip()[:64]
    return f"web:{name}" if name else "web"


class Dashboard:
    """The app's routes over one control service; ``stopping`` ends the live streams."""

    def __init__(self, service: ControlService, token: str, guard: Guard, refresh_s: float):
        """Command ``service`` with ``token`` once ``guard`` let a request through."""
        self.service = service
        self.guard = guard
        self.refresh_s = refresh_s
        self.stopping = threading.Event()
        self._token = token

    def build(self) -> FastAPI:
        """Return the FastAPI app."""
        app = FastAPI(
            title="tradefabric dashboard", docs_url=None, redoc_url=None, openapi_url=None
        )
        for kind, _ in _STATUS_BY_ERROR:
            app.add_exception_handler(kind, self._refused)
        app.add_api_route("/", self._page, methods=["GET"])
        app.add_api_route("/api/session", self._session, methods=["GET"])
        app.add_api_route("/api/snapshot", self._snapshot, methods=["GET"])
        app.add_api_route("/api/stream", self._stream, methods=["GET"])
        self._command_routes(app)
        app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
        return app

    async def _refused(self, _request: Request, exc: Exception) -> Response:
        status = next(code for kind, code in _STATUS_BY_ERROR if isinstance(exc, kind))
        return _json(ErrorBody(error=str(exc), kind=type(exc).__name__), status)

    async def _page(self) -> Response:
        html = (STATIC / "index.html").read_bytes()
        return Response(html, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    async def _session(self) -> Response:
        auth = "token" if self.guard.asks_token else "none"
        return _json(SessionInfo(auth=auth, refresh_s=self.refresh_s))

    def _check_read(self, request: Request) -> None:
        refusal = self.guard.read_refusal(request.headers)
        if refusal:
            log.warning("dashboard_read_refused", why=refusal, path=request.url.path)
            raise DashboardRefusedError(f"refused: {refusal}")

    async def _snapshot(self, request: Request) -> Response:
        self._check_read(request)
        return _json(await run_in_threadpool(take_snapshot, self.service))

    async def _stream(self, request: Request) -> StreamingResponse:
        self._check_read(request)
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(self._events(), media_type="text/event-stream", headers=headers)

    async def _events(self) -> AsyncIterator[bytes]:
        yield f"retry: {int(self.refresh_s * 2000)}\n\n".encode()
        while not self.stopping.is_set():
            try:
                snapshot = await run_in_threadpool(take_snapshot, self.service)
            except NodeUnavailableError as exc:  # the node is stopping: say so, keep trying
                yield b"event: unavailable\ndata: " + msgspec.json.encode(str(exc)) + b"\n\n"
            else:
                yield b"event: snapshot\ndata: " + msgspec.json.encode(snapshot) + b"\n\n"
            await asyncio.sleep(self.refresh_s)

    # --- commands ---

    async def _command(
        self, request: Request, name: str, body_type: type[B], act: Callable[[Credentials, B], Any]
    ) -> Response:
        operator = _operator(request)
        refusal = self.guard.command_refusal(request.headers)
        if refusal:
            log.warning("dashboard_command_refused", command=name, why=refusal)
            await run_in_threadpool(self.service.deny, name, operator, f"dashboard: {refusal}")
            raise DashboardRefusedError(f"{name} refused: {refusal}")
        body = msgspec.json.decode(await request.body() or b"{}", type=body_type)
        credentials = Credentials(token=self._token, operator=operator)
        return _json(await run_in_threadpool(act, credentials, body))

    def _command_routes(self, app: FastAPI) -> None:
        service = self.service

        async def pause(request: Request, strategy_id: str) -> Response:
            return await self._command(
                request, "pause", ReasonBody, lambda c, b: service.pause(c, strategy_id, b.reason)
            )

        async def resume(request: Request, strategy_id: str) -> Response:
            return await self._command(
                request, "resume", ReasonBody, lambda c, _b: service.resume(c, strategy_id)
            )

        async def cancel_all(request: Request) -> Response:
            return await self._command(
                request, "cancel_all", CancelBody, lambda c, b: service.cancel_all(c, b.strategy_id)
            )

        async def halt(request: Request) -> Response:
            return await self._command(
                request, "halt", ReasonBody, lambda c, b: service.halt(c, b.reason)
            )

        async def reset(request: Request) -> Response:
            return await self._command(
                request, "reset", ReasonBody, lambda c, b: service.reset(c, b.reason)
            )

        async def flat_all(request: Request) -> Response:
            return await self._command(request, "flat_all", FlatAllBody, _flat_all(service))

        for path, route in (
            ("/api/strategies/{strategy_id}/pause", pause),
            ("/api/strategies/{strategy_id}/resume", resume), ("/api/cancel_all", cancel_all),
            ("/api/halt", halt), ("/api/reset", reset), ("/api/flat_all", flat_all),
        ):  # fmt: skip
            app.add_api_route(path, route, methods=["POST"])


def _flat_all(service: ControlService) -> Callable[[Credentials, FlatAllBody], Any]:
    def act(credentials: Credentials, body: FlatAllBody) -> Any:
        # The page's dialog types the confirmation; without it nothing is flattened.
        if body.confirm != FLAT_CONFIRM:
            raise ControlError(f"flat_all: confirm with {FLAT_CONFIRM!r}")
        return service.flat_all(credentials, body.wait_s)

    return act
