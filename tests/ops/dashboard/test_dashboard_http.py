"""The dashboard over real HTTP on a real (backtest-mode) node, no browser: what the
guard lets through and refuses (and audits), the live stream's wire format, the
``dashboard:`` config and its token sources, and the service reads it added."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.ops.dashboard import browser
from tradefabric.core.clock import SimClock
from tradefabric.core.errors import ConfigError
from tradefabric.integrity import topics as integrity_topics
from tradefabric.integrity.config import IntegrityConfig
from tradefabric.integrity.events import ConsensusPrice, VenueDeviation
from tradefabric.node.kernel import DataConfig, TradingConfig, load_config
from tradefabric.node.trading_node import RunMode, TradingNode
from tradefabric.ops.control.bridge import LoopBridge
from tradefabric.ops.control.config import ControlConfig
from tradefabric.ops.control.service import ControlService
from tradefabric.ops.dashboard.config import DashboardConfig, resolve_token
from tradefabric.ops.dashboard.guard import Guard
from tradefabric.ops.dashboard.server import DashboardServer, serve_dashboard
from tradefabric.ops.dashboard.views import Snapshot
from tradefabric.risk.audit import AuditLog, read_audit
from tradefabric.strategies.ema_cross import EmaCrossConfig

RECORDING = "spot_btcusdt_20240808.gz"
Reply = tuple[int, dict[str, str], bytes]


def _node(shared_data: Path, audit_path: Path, integrity: IntegrityConfig | None) -> TradingNode:
    config = TradingConfig(
        data=DataConfig(recording=shared_data / "binance_ws" / RECORDING),
        strategies=(EmaCrossConfig(id="ema", interval="1s", fast=3, slow=12, notional=1_000.0),),
        integrity=integrity,
    )
    return TradingNode(config, RunMode.BACKTEST, SimClock(), None, audit=AuditLog(audit_path))


def _serve(
    shared_data: Path, audit_path: Path, config: DashboardConfig,
    check: Callable[[DashboardServer], None],
) -> None:  # fmt: skip
    """Serve a node's dashboard on a running loop; run ``check`` from another thread."""

    async def main() -> None:
        node = _node(shared_data, audit_path, None)
        server = serve_dashboard(node, config, None)
        try:
            await asyncio.to_thread(check, server)
        finally:
            await asyncio.to_thread(server.stop)
            node.kernel.audit.close()

    asyncio.run(main())


def _request(url: str, method: str, path: str, body: object = None, **headers: str) -> Reply:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    data = None if body is None else json.dumps(body).encode()
    connection.request(method, path, body=data,
                       headers={k.replace("_", "-"): v for k, v in headers.items()})  # fmt: skip
    response = connection.getresponse()
    reply = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    connection.close()
    return reply


def test_auth_none_on_loopback_still_guards_commands(shared_data: Path, tmp_path: Path) -> None:
    audit_path = tmp_path / "audit.jsonl"

    def check(server: DashboardServer) -> None:
        url = server.url
        status, headers, page = _request(url, "GET", "/")
        assert status == 200 and b"<title>tradefabric dashboard</title>" in page
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert _request(url, "GET", "/static/app.js")[0] == 200
        assert json.loads(_request(url, "GET", "/api/session")[2])["auth"] == "none"
        status, _, body = _request(url, "GET", "/api/snapshot")
        assert status == 200
        snapshot = json.loads(body)  # NaN (no book yet) travels as null
        assert set(snapshot) == set(Snapshot.__struct_fields__)
        assert snapshot["status"]["mode"] == "backtest" and snapshot["status"]["strategies"] == [
            "ema"
        ]
        assert snapshot["integrity"]["configured"] is False
        assert snapshot["books"][0]["best_bid"] is None
        # DNS rebinding: a foreign name resolving to 127.0.0.1 is not the dashboard.
        assert _request(url, "GET", "/api/snapshot", Host="evil.test:80")[0] == 403
        json_ = {"Content_Type": "application/json"}
        own = {"Origin": url, **json_}
        assert _request(url, "GET", "/api/halt")[0] == 405  # commands are POST only
        assert _request(url, "POST", "/api/halt", {"reason": "x"}, **json_)[0] == 403
        text = {"Origin": url, "Content_Type": "text/plain"}  # what a foreign form can send
        assert _request(url, "POST", "/api/halt", {"reason": "x"}, **text)[0] == 403
        assert server.service.risk().halted is False
        status, _, body = _request(url, "POST", "/api/flat_all", {"confirm": "yes"}, **own)
        assert status == 400 and b"confirm with 'FLAT ALL'" in body
        status, _, body = _request(url, "POST", "/api/halt", {"reason": "drill"}, X_Operator="ana",
                                   **own)  # fmt: skip
        assert status == 200 and server.service.risk().halted
        status, _, body = _request(url, "POST", "/api/reset", {"reason": "done"}, **own)
        assert status == 200 and not server.service.risk().halted
        status, _, body = _request(url, "POST", "/api/strategies/ema/pause", {"reason": "r"}, **own)
        assert status == 200 and server.service.risk().paused == {"ema": "r"}
        status, _, body = _request(url, "POST", "/api/strategies/ema/resume", {}, **own)
        assert status == 200 and server.service.risk().paused == {}
        status, _, body = _request(url, "POST", "/api/strategies/nope/pause", {}, **own)
        assert status == 400 and b"no strategy 'nope'" in body
        status, _, body = _request(url, "POST", "/api/cancel_all", {}, **own)
        assert status == 200 and json.loads(body)["message"] == "cancel asked for 0 open orders"
        status, _, body = _request(url, "POST", "/api/flat_all",
                                   {"confirm": "FLAT ALL", "wait_s": 0}, **own)  # fmt: skip
        assert status == 200 and json.loads(body)["flat"] is True

    _serve(shared_data, audit_path, DashboardConfig(port=0, auth="none"), check)
    records = [(r.kind, msgspec.json.decode(r.data)) for r in read_audit(audit_path)]
    denied = [d for kind, d in records if kind == "control_denied"]
    assert [(d["command"], d["operator"]) for d in denied] == [("halt", "web")] * 2
    assert "missing Origin" in denied[0]["reason"] and "JSON body" in denied[1]["reason"]
    commands = [(d["command"], d["operator"]) for kind, d in records if kind == "control"]
    assert commands == [
        ("halt", "web:ana"), ("reset", "web"), ("pause", "web"), ("resume", "web"),
        ("cancel_all", "web"), ("flat_all", "web"),
    ]  # fmt: skip


def test_the_stream_sends_snapshots_with_the_token_only(shared_data: Path, tmp_path: Path) -> None:
    token = "stream-token-123"

    def check(server: DashboardServer) -> None:
        url = server.url
        assert _request(url, "GET", "/api/stream")[0] == 403
        host, port = url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.request("GET", "/api/stream", headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("content-type", "").startswith("text/event-stream")
        events: list[dict[str, Any]] = []
        while len(events) < 2:
            line = response.readline()
            if line.startswith(b"data: "):
                events.append(json.loads(line[6:]))
        connection.close()
        assert [e["status"]["equity"] for e in events] == [100_000.0, 100_000.0]

    config = DashboardConfig(port=0, token=token, refresh_s=0.05)
    _serve(shared_data, tmp_path / "audit.jsonl", config, check)


def test_the_token_comes_from_env_an_owner_only_file_or_the_control_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match=r"only on 127\.0\.0\.1"):
        DashboardConfig(host="0.0.0.0", auth="none")
    assert resolve_token(DashboardConfig(auth="none"), "control-token") is None
    assert resolve_token(DashboardConfig(), "control-token") == "control-token"
    with pytest.raises(ConfigError, match="give token_env, token_file or token"):
        resolve_token(DashboardConfig(), None)
    monkeypatch.setenv("TF_TEST_DASH", "from-the-environment")
    assert resolve_token(DashboardConfig(token_env="TF_TEST_DASH"), None) == "from-the-environment"
    with pytest.raises(ConfigError, match=r"\$TF_TEST_UNSET is not set"):
        resolve_token(DashboardConfig(token_env="TF_TEST_UNSET"), None)
    secret = tmp_path / "token"
    secret.write_text("from-a-file-123\n")
    os.chmod(secret, 0o644)
    with pytest.raises(ConfigError, match="chmod 600; it is -rw-r--r--"):
        resolve_token(DashboardConfig(token_file=str(secret)), None)
    os.chmod(secret, 0o600)
    assert resolve_token(DashboardConfig(token_file=str(secret)), None) == "from-a-file-123"
    yaml_path = tmp_path / "node.yaml"
    yaml_path.write_text("dashboard: {port: 0, token_env: TF_TEST_DASH, refresh_s: 0.5}\n")
    loaded = load_config(yaml_path).dashboard
    assert loaded == DashboardConfig(port=0, token_env="TF_TEST_DASH", refresh_s=0.5)
    yaml_path.write_text("dashboard: {prot: 1}\n")
    with pytest.raises(ConfigError, match="prot"):
        load_config(yaml_path)
    # The dashboard's token is its own even when the control API has another.
    assert ControlConfig(token="control-token").token != resolve_token(
        DashboardConfig(token_file=str(secret)), "control-token"
    )


def test_the_service_keeps_the_latest_consensus_and_equity(
    shared_data: Path, tmp_path: Path
) -> None:
    async def main() -> None:
        node = _node(shared_data, tmp_path / "audit.jsonl", IntegrityConfig())
        service = ControlService(node, "a-long-token", LoopBridge(asyncio.get_running_loop()))
        empty = await asyncio.to_thread(service.integrity)
        assert empty.configured and empty.consensus == [] and empty.deviations == []
        for price in (61_800.0, 61_850.0):
            node.bus.publish(integrity_topics.CONSENSUS,
                             ConsensusPrice("BTC", price, 2.5, 3, 3, True, 60, 120))  # fmt: skip
        node.bus.publish(
            integrity_topics.DEVIATIONS,
            VenueDeviation("binance", "BTC/USDT", 61_860.0, 61_850.0, 1.6, 0.4, 1.0, 60, 120),
        )
        view = await asyncio.to_thread(service.integrity)
        assert [(c.asset, c.price) for c in view.consensus] == [("BTC", 61_850.0)]
        assert [(d.venue, d.deviation_bps) for d in view.deviations] == [("binance", 1.6)]
        curve = node.kernel.equity_curve
        for ts, equity in ((1, 100_000.0), (2, 100_010.0), (3, 99_990.0)):
            curve.append(ts, equity)
        tail = await asyncio.to_thread(service.equity_curve, 2)
        assert tail.ts == [2, 3] and tail.equity == [100_010.0, 99_990.0]
        assert tail.now_equity == node.kernel.portfolio.equity() == 100_000.0
        node.kernel.audit.close()

    asyncio.run(main())


def test_a_missing_chromium_fails_naming_the_debian_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", str(tmp_path / "no-chromium"))
    failed = pytest.raises(pytest.fail.Exception, match="install the Debian package `chromium`")
    with failed, browser.chromium():
        pass


def test_the_guard_knows_its_hosts_and_origins() -> None:
    local = Guard("a-long-token")
    local.bind("127.0.0.1", 8781)
    token = {"authorization": "Bearer a-long-token", "content-type": "application/json"}
    for name in ("127.0.0.1:8781", "localhost:8781"):
        assert local.read_refusal({"host": name, **token}) == ""
        assert local.command_refusal({"host": name, "origin": f"http://{name}", **token}) == ""
    assert local.read_refusal({"host": "attacker.test:8781", **token}).startswith("unknown Host")
    # Bound to every interface: any Host is read with the token; commands need their own origin.
    anywhere = Guard("a-long-token", allowed_origins=("https://ops.example/",))
    anywhere.bind("0.0.0.0", 8781)
    lan = {"host": "10.0.0.5:8781", **token}
    assert anywhere.read_refusal(lan) == ""
    assert anywhere.read_refusal({**lan, "authorization": ""}) == "no token"
    assert anywhere.command_refusal({**lan, "origin": "http://10.0.0.5:8781"}) == ""
    assert anywhere.command_refusal({**lan, "origin": "https://ops.example"}) == ""
    assert "cross-origin" in anywhere.command_refusal({**lan, "origin": "http://10.0.0.6:8781"})
