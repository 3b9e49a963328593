"""The node's local HTTP API over the control service, and ``/metrics`` for Prometheus.

Every route needs ``Authorization: Bearer <control token>``; commands also take
``X-Operator: <name>``, written to the audit log with the command. Bodies and
answers are JSON of the service's structs. The server runs in its own thread
(``ControlServer``) so HTTP never runs on the node's loop; each request reaches
the node through the service's ``LoopBridge``.

    curl -H 'Authorization: Bearer TOKEN' http://127.0.0.1:8780/api/status
    curl -X POST -H 'Authorization: Bearer TOKEN' -H 'X-Operator: ana' \\
         -d '{"reason": "news"}' http://127.0.0.1:8780/api/strategies/ema_btc_1s/pause
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
import structlog
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry
from starlette.concurrency import run_in_threadpool

from tradefabric.core.errors import AuditWriteError
from tradefabric.ops.control.bridge import LoopBridge, NodeUnavailableError
from tradefabric.ops.control.config import ControlConfig
from tradefabric.ops.control.metrics import NodeCollector
from tradefabric.ops.control.ports import Node
from tradefabric.ops.control.service import ControlAuthError, ControlError, ControlService
from tradefabric.ops.control.views import Credentials

log = structlog.get_logger(__name__)
T = TypeVar("T")
B = TypeVar("B", bound=msgspec.Struct)


class ReasonBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of pause, halt and reset."""

    reason: str = ""


class CancelBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of cancel-all: one strategy's orders, or "" for every order."""

    strategy_id: str = ""


class FlatBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of FLAT ALL: how long to wait for the node to be flat."""

    wait_s: float = 5.0


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True):
    """What a refused request answers."""

    error: str
    kind: str


_STATUS_BY_ERROR: tuple[tuple[type[Exception], int], ...] = (
    (ControlAuthError, 401),
    (ControlError, 400),
    (msgspec.ValidationError, 422),
    (msgspec.DecodeError, 422),
    (NodeUnavailableError, 503),
    (AuditWriteError, 503),
)


def _json(value: object, status: int = 200) -> Response:
    return Response(msgspec.json.encode(value), status, media_type="application/json")


def _credentials(request: Request) -> Credentials:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    operator = request.headers.get("x-operator", "").strip() or "operator"
    return Credentials(token=token.strip() if scheme.lower() == "bearer" else "",
                       operator=operator)  # fmt: skip


async def _body(request: Request, kind: type[B]) -> B:
    raw = await request.body()
    return msgspec.json.decode(raw or b"{}", type=kind)


def build_app(service: ControlService, registry: CollectorRegistry) -> FastAPI:
    """Return the FastAPI app of ``service``, with ``registry`` at ``/metrics``."""
    app = FastAPI(title="tradefabric control", docs_url=None, redoc_url=None)

    async def refused(_request: Request, exc: Exception) -> Response:
        status = next(code for kind, code in _STATUS_BY_ERROR if isinstance(exc, kind))
        return _json(ErrorBody(error=str(exc), kind=type(exc).__name__), status)

    for kind, _ in _STATUS_BY_ERROR:
        app.add_exception_handler(kind, refused)

    async def read(request: Request, fn: Callable[[], T]) -> Response:
        service.check(_credentials(request))
        return _json(await run_in_threadpool(fn))

    _read_routes(app, service, read)
    _command_routes(app, service)

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        service.check(_credentials(request))
        body = await run_in_threadpool(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return app


Reader = Callable[[Request, Callable[[], Any]], Any]


def _read_routes(app: FastAPI, service: ControlService, read: Reader) -> None:
    routes: dict[str, Callable[[], Any]] = {
        "status": service.status, "balances": service.balances,
        "positions": service.positions, "pnl": service.pnl, "orders": service.open_orders,
        "risk": service.risk, "data": service.data, "books": service.books,
        "jobs": service.jobs,
    }  # fmt: skip
    for name, fn in routes.items():
        app.add_api_route(f"/api/{name}", _reader(read, fn), methods=["GET"], name=name)

    @app.get("/api/fills")
    async def fills(request: Request, limit: int = 50) -> Response:
        return await read(request, lambda: service.fills(limit))  # type: ignore[no-any-return]

    @app.get("/api/alerts")
    async def alerts(request: Request, limit: int = 50) -> Response:
        return await read(request, lambda: service.alerts(limit))  # type: ignore[no-any-return]


def _reader(read: Reader, fn: Callable[[], Any]) -> Callable[[Request], Any]:
    # A closure, not a default argument: FastAPI would take a default for a query parameter.
    async def route(request: Request) -> Response:
        return await read(request, fn)  # type: ignore[no-any-return]

    return route


def _command_routes(app: FastAPI, service: ControlService) -> None:
    @app.post("/api/strategies/{strategy_id}/pause")
    async def pause(request: Request, strategy_id: str) -> Response:
        body = await _body(request, ReasonBody)
        creds = _credentials(request)
        return _json(await run_in_threadpool(service.pause, creds, strategy_id, body.reason))

    @app.post("/api/strategies/{strategy_id}/resume")
    async def resume(request: Request, strategy_id: str) -> Response:
        creds = _credentials(request)
        return _json(await run_in_threadpool(service.resume, creds, strategy_id))

    @app.post("/api/venues/{venue}/rearm")
    async def rearm(request: Request, venue: str) -> Response:
        body = await _body(request, ReasonBody)
        creds = _credentials(request)
        return _json(await run_in_threadpool(service.rearm, creds, venue, body.reason))

    @app.post("/api/cancel_all")
    async def cancel_all(request: Request) -> Response:
        body = await _body(request, CancelBody)
        creds = _credentials(request)
        return _json(await run_in_threadpool(service.cancel_all, creds, body.strategy_id))

    @app.post("/api/flat_all")
    async def flat_all(request: Request) -> Response:
        body = await _body(request, FlatBody)
        creds = _credentials(request)
        return _json(await run_in_threadpool(service.flat_all, creds, body.wait_s))

    @app.post("/api/halt")
    async def halt(request: Request) -> Response:
        body = await _body(request, ReasonBody)
        return _json(await run_in_threadpool(service.halt, _credentials(request), body.reason))

    @app.post("/api/reset")
    async def reset(request: Request) -> Response:
        body = await _body(request, ReasonBody)
        return _json(await run_in_threadpool(service.reset, _credentials(request), body.reason))

    @app.post("/api/jobs/{name}/run")
    async def run_job(request: Request, name: str) -> Response:
        body = await _body(request, ReasonBody)
        creds = _credentials(request)
        return _json(await run_in_threadpool(service.run_job, creds, name, body.reason))

    @app.post("/api/reload")
    async def reload(request: Request) -> Response:
        body = await _body(request, ReasonBody)
        creds = _credentials(request)
        return _json(await run_in_threadpool(service.reload_config, creds, body.reason))


class ControlServer:
    """Serve an app with uvicorn in a thread of its own; ``url`` once started."""

    def __init__(self, app: FastAPI, host: str, port: int, name: str = "control-http") -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                                access_log=False, lifespan="off")  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._where = f"{host}:{port}"
        self._name = name
        self.url = ""

    def _serve(self) -> None:
        try:
            self._server.run()
        except SystemExit:  # uvicorn exits when it cannot bind; start() reports it
            log.error("http_server_failed", server=self._name, where=self._where)

    def start(self, timeout_s: float = 10.0) -> None:
        """Start serving; return once the socket listens (raise if it does not)."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise NodeUnavailableError(
                    f"{self._name}: could not listen on {self._where} (port in use?)"
                )
            time.sleep(0.01)
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop serving and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout_s)


def serve_node(node: Node, config: ControlConfig) -> tuple[ControlService, ControlServer]:
    """Start the control API of ``node`` (call on the node's running loop)."""
    bridge = LoopBridge(asyncio.get_running_loop())
    service = ControlService(node, config.token, bridge, flat_slippage_bps=config.flat_slippage_bps)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(service))
    server = ControlServer(build_app(service, registry), config.host, config.port)
    server.start()
    log.info("control_api_listening", url=server.url, metrics=f"{server.url}/metrics")
    return service, server
