"""`tradefabric run` with a `mode: live` venue: wiring, safety refusals, restart, secrets."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.execution.live import refvenue
from tests.execution.live.harness import until
from tradefabric.core.errors import ConfigError
from tradefabric.execution.live.config import CredentialsConfig, load_credentials
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import OrderRequest, OrderSide, OrderStatus, OrderType
from tradefabric.node.kernel import load_config
from tradefabric.node.paper import PaperRunner
from tradefabric.node.trading_node import RunMode, TradingNode

KEY = "tf-throwaway-key-5b1e0c7d"
SECRET = "tf-throwaway-secret-9f3a77c1e2d04b68"
FACTORY = "tests.execution.live.refvenue:build_client"


def live_config(tmp: Path, venue: str, **live: object) -> Path:
    raw = {
        "execution": {
            venue: {
                "mode": "live",
                "live": {
                    "credentials": {
                        "api_key_env": "TF_TEST_KEY",
                        "api_secret_env": "TF_TEST_SECRET",
                    },
                    "factory": FACTORY,
                    "rest_url": "http://127.0.0.1:9/",
                    "query_backoff_s": [0.0, 0.01],
                    **live,
                },
            }
        },
        "balances": {venue: {"USDT": 100_000.0, "BTC": 0.0}},
        "instruments": [
            {"venue": venue, "symbol": "BTC/USDT", "price_increment": "0.01",
             "size_increment": "0.00001"}
        ],
        "state": {"backend": "sqlite", "path": str(tmp / "state.db")},
        "output_dir": str(tmp / "runs"),
    }  # fmt: skip
    path = tmp / f"{venue}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TF_TEST_KEY", KEY)
    monkeypatch.setenv("TF_TEST_SECRET", SECRET)


async def run_node(path: Path, run_dir: Path, act: object) -> TradingNode:
    """Run the node in this loop, call ``act(node)`` once it has started, then stop it."""
    built: list[TradingNode] = []
    runner = PaperRunner(load_config(path), mode=RunMode.LIVE, on_node=built.append)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(run_dir, stop))
    await until(
        lambda: (
            bool(built) and bool(built[0].live_venues[next(iter(built[0].live_venues))].summaries)
        )
    )
    node = built[0]
    await act(node)  # type: ignore[operator]
    stop.set()
    await task
    return node


async def test_a_live_node_restarts_and_reconciles_to_the_venues_ledger(
    tmp_path: Path, keys: None
) -> None:
    venue = "ref-restart"
    path = live_config(tmp_path, venue)
    orders: list[str] = []

    async def trade(node: TradingNode) -> None:
        execution = node.kernel.execution
        execution.update_price(InstrumentId(venue, "BTC/USDT"), 60_000.0)
        for n in range(3):
            request = OrderRequest(
                strategy_id="s1", venue=venue, symbol="BTC/USDT", side=OrderSide.BUY,
                quantity=0.1, order_type=OrderType.LIMIT, price=60_000.0 - n,
            )  # fmt: skip
            orders.append(execution.submit(request).client_order_id)
        live = node.live_venues[venue]
        await live.idle()
        ref = refvenue.VENUES[venue]
        ref.fill(orders[0], 0.1, 60_000.0)
        ref.fill(orders[1], 0.04, 59_999.0)
        await until(lambda: execution.order(orders[1]).filled_quantity > 0)  # type: ignore[union-attr]

    first = await run_node(path, tmp_path / "run1", trade)
    # The adopted external order and the start-up summary reached the node's alerts.
    kinds = {a.kind for a in first.alerts}
    assert {"reconcile_discrepancy", "reconcile_summary"} <= kinds
    assert first.kernel.execution.order(orders[0]).status is OrderStatus.FILLED  # type: ignore[union-attr]
    # While the node is down the venue keeps matching.
    ref = refvenue.VENUES[venue]
    ref.fill(orders[1], 0.06, 59_999.0)
    ref.fill(orders[2], 0.05, 59_998.0)

    async def nothing(node: TradingNode) -> None:
        await node.live_venues[venue].idle()

    second = await run_node(path, tmp_path / "run2", nothing)
    execution = second.kernel.execution
    for cid in orders:
        held, at_venue = execution.order(cid), ref.order_of(cid)
        assert held is not None
        assert (held.status, held.filled_quantity) == (
            at_venue.status,
            pytest.approx(at_venue.filled),
        )
        assert held.venue_order_id == at_venue.venue_order_id
    for asset, amount in ref.balances.items():
        assert second.kernel.portfolio.balance(venue, asset) == pytest.approx(amount)
    assert all(count == 1 for count in ref.submissions.values())
    summary = second.live_venues[venue].summaries[0]
    assert summary.reason == "start" and summary.fills_applied == 2
    assert summary.adopted == 0  # the external order was adopted by the first run


def test_production_endpoints_need_confirm_live(tmp_path: Path, keys: None) -> None:
    path = live_config(tmp_path, "ref-prod", rest_url="https://api.example-exchange.com")
    with pytest.raises(ConfigError, match="--confirm-live"):
        asyncio.run(PaperRunner(load_config(path), mode=RunMode.LIVE).run(None, asyncio.Event()))
    off_testnet = live_config(tmp_path, "ref-prod2", testnet=False, rest_url="")
    with pytest.raises(ConfigError, match="production"):
        asyncio.run(
            PaperRunner(load_config(off_testnet), mode=RunMode.LIVE).run(None, asyncio.Event())
        )


def test_credential_files_readable_by_others_are_refused(tmp_path: Path) -> None:
    secret_file = tmp_path / "keys.yaml"
    secret_file.write_text(yaml.safe_dump({"api_key": KEY, "api_secret": SECRET}))
    secret_file.chmod(0o644)
    config = CredentialsConfig(file=secret_file)
    with pytest.raises(ConfigError, match="chmod 600") as refused:
        load_credentials(config, "binance")
    assert SECRET not in str(refused.value) and KEY not in str(refused.value)
    secret_file.chmod(0o600)
    credentials = load_credentials(config, "binance")
    assert (credentials.api_key, credentials.api_secret) == (KEY, SECRET)
    assert SECRET not in repr(credentials) and KEY not in str(credentials)


def test_missing_environment_keys_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TF_NOPE", raising=False)
    config = CredentialsConfig(api_key_env="TF_NOPE", api_secret_env="TF_NOPE2")
    with pytest.raises(ConfigError, match=r"\$TF_NOPE is not set"):
        load_credentials(config, "binance")


def test_a_debug_live_session_writes_no_secret_anywhere(tmp_path: Path) -> None:
    path = live_config(tmp_path, "ref-secrets")
    env = {**os.environ, "TF_TEST_KEY": KEY, "TF_TEST_SECRET": SECRET,
           "PYTHONPATH": f"{REPO_ROOT / 'src'}:{REPO_ROOT}"}  # fmt: skip
    run_dir = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "tradefabric", "--log-level", "DEBUG", "run", "-c", str(path),
         "--out", str(run_dir), "--duration", "1.5", "--json"],
        env=env, capture_output=True, timeout=120, cwd=REPO_ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    logs = done.stdout + done.stderr
    assert b"reconcile" in logs  # DEBUG logging really was on and the venue really ran
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "audit.jsonl" for p in files) and any(p.name == "state.db" for p in files)
    for secret in (KEY, SECRET):
        assert secret.encode() not in logs
        for file in files:
            if file.name.endswith(".yaml"):
                continue  # the config names the variables, not the values
            assert secret.encode() not in file.read_bytes(), file
