"""`reload config` end to end: a paper node on the fake Binance venue started from a file
(the venue's URLs given as overrides, as --ws-url does), reloaded over the control API and
`tradefabric ctl reload` while it trades; audited before it acts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.ops.control.harness import TOKEN, Api, PaperNodeThread, wait_for
from tradefabric.node.kernel import load_config
from tradefabric.risk.audit import read_audit

pytestmark = pytest.mark.slow
EXAMPLE = (REPO_ROOT / "examples" / "paper_ema_cross.yaml").read_text()


def _rejected(api: Api) -> int:
    return int(api.get("/api/risk")["rejected_by_rule"].get("max_order_notional", 0))


def test_reload_over_the_control_api_and_ctl(shared_data: Path, tmp_path: Path) -> None:
    recording = shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
    text = EXAMPLE.replace("../shared/data/binance_ws/spot_btcusdt_20240808.gz", str(recording))
    text += f"control: {{port: 0, token: {TOKEN}}}\n"
    file = tmp_path / "node.yaml"
    file.write_text(text)
    run_dir = tmp_path / "run"
    thread = PaperNodeThread(load_config(file), recording, run_dir, speed=10.0, config_file=file)
    api = Api(thread.start())
    try:
        node = thread.node
        assert node is not None
        wait_for("the strategy's first order", lambda: api.get("/api/risk")["accepted"])
        file.write_text(text.replace("max_order_notional: 20000", "max_order_notional: 500"))
        done = api.post("/api/reload", {"reason": "tighter limits"})
        assert done["message"] == f"{file} reloaded: risk.max_order_notional: 20000.0 -> 500.0"
        # The strategy's 1000 USDT orders now break the limit: the live engine rejects them.
        wait_for("an order rejected by the new limit", lambda: _rejected(api))
        file.write_text(text.replace("symbols: [BTC/USDT]\n    ws_url", "symbols: [ETH/USDT]\n"
                                     "    ws_url"))  # fmt: skip
        status, refused = api.call("/api/reload", {"reason": "new symbol"})
        assert status == 400 and "feeds: the venues and symbols" in refused["error"]
        assert node.kernel.risk.config.max_order_notional == 500.0
        file.write_text(text.replace("max_order_notional: 20000", "max_order_notional: 500"))
        ctl = subprocess.run(
            [sys.executable, "-m", "tradefabric", "ctl", "reload", "--url", api.url, "--token",
             TOKEN, "--operator", "ops"], capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert ctl.returncode == 0, ctl.stderr
        assert f"{file}: nothing changed" in ctl.stdout
    finally:
        thread.stop()
    records = [r for r in read_audit(run_dir / "audit.jsonl")
               if r.kind.startswith("config") or b"reload_config" in bytes(r.data)]  # fmt: skip
    assert [r.kind for r in records] == [
        "control", "config_reload", "control", "config_reload_refused", "control",
    ]  # fmt: skip
