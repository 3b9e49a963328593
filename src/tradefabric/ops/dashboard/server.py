"""Serve the dashboard of a running node: its own control service and uvicorn thread.

The dashboard has a control service of its own (built with the dashboard's token,
or a random one under ``auth: none``), so it runs whether or not ``control:`` is
configured and its token may differ from the control API's; the audit log and the
node are the same. It listens on its own port in its own thread (see
docs/architecture.md, "Operating a running node", for why not the control API's).
"""

from __future__ import annotations

import asyncio
import secrets

import structlog

from tradefabric.ops.control.bridge import LoopBridge
from tradefabric.ops.control.config import ControlConfig
from tradefabric.ops.control.http import ControlServer
from tradefabric.ops.control.ports import Node
from tradefabric.ops.control.service import ControlService
from tradefabric.ops.dashboard.app import Dashboard
from tradefabric.ops.dashboard.config import DashboardConfig, resolve_token
from tradefabric.ops.dashboard.guard import Guard

log = structlog.get_logger(__name__)
DEFAULT_FLAT_SLIPPAGE_BPS = 50.0
"""FLAT ALL's slippage guard without a ``control:`` section (``ControlConfig``'s default)."""


class DashboardServer:
    """The dashboard app and its HTTP server; ``url`` once started."""

    def __init__(self, dashboard: Dashboard, host: str, port: int) -> None:
        """Serve ``dashboard`` on ``host:port`` (0: a free port) once ``start`` is called."""
        self.dashboard = dashboard
        self._host = host
        self._http = ControlServer(dashboard.build(), host, port, name="dashboard-http")
        self.url = ""

    @property
    def service(self) -> ControlService:
        """Return the control service the dashboard reads and commands."""
        return self.dashboard.service

    def start(self, timeout_s: float = 10.0) -> None:
        """Start serving; return once the socket listens (raise if it does not)."""
        self._http.start(timeout_s)
        self.url = self._http.url
        port = int(self.url.rsplit(":", 1)[1])
        self.dashboard.guard.bind(self._host, port)

    def stop(self, timeout_s: float = 10.0) -> None:
        """End the live streams, stop serving and wait for the thread."""
        self.dashboard.stopping.set()
        self._http.stop(timeout_s)


def serve_dashboard(
    node: Node, config: DashboardConfig, control: ControlConfig | None
) -> DashboardServer:
    """Start the dashboard of ``node`` (call on the node's running loop).

    ``control`` (the ``control:`` section) gives the token when the dashboard names
    none of its own, and FLAT ALL's slippage guard.
    """
    token = resolve_token(config, control.token if control is not None else None)
    # Under auth: none the browser holds no token; the service still checks one.
    service_token = token if token is not None else secrets.token_urlsafe(32)
    bps = control.flat_slippage_bps if control is not None else DEFAULT_FLAT_SLIPPAGE_BPS
    service = ControlService(node, service_token, LoopBridge(asyncio.get_running_loop()),
                             flat_slippage_bps=bps)  # fmt: skip
    dashboard = Dashboard(service, service_token, Guard(token, config.allowed_origins),
                          config.refresh_s)  # fmt: skip
    server = DashboardServer(dashboard, config.host, config.port)
    server.start()
    log.info("dashboard_listening", url=server.url + "/", auth=config.auth)
    return server
