"""The schedule and `reload config` end to end: a paper node on the fake Binance venue started
from a file (the venue's URLs given as overrides, as --ws-url does) runs scheduled jobs on an
operator's request in real workers, and is reloaded over the control API and `ctl` while it
trades; every command audited before it acts."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import msgspec
import pytest

from tests.conftest import REPO_ROOT
from tests.ops.control.harness import TOKEN, Api, PaperNodeThread, wait_for
from tradefabric.node.kernel import load_config
from tradefabric.risk.audit import read_audit

pytestmark = pytest.mark.slow
EXAMPLE = (REPO_ROOT / "examples" / "paper_ema_cross.yaml").read_text()
SCHEDULE = (
    "schedule:\n  - {job: daily_report, cron: '5 0 * * *'}\n"
    "  - {job: 'tests.node.sched_jobs:fail', name: bug, cron: '0 * * * *'}\n"
)


def _ctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tradefabric", "ctl", *args, "--token", TOKEN],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def _job_alerts(api: Api) -> list[tuple[str, str]]:
    return [(a["component"], a["kind"]) for a in api.get("/api/alerts?limit=500")
            if a["component"].startswith("job:")]  # fmt: skip


def _metrics(api: Api) -> str:
    request = urllib.request.Request(api.url + "/metrics")
    request.add_header("Authorization", f"Bearer {TOKEN}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(response.read().decode())


def _rejected(api: Api) -> int:
    return int(api.get("/api/risk")["rejected_by_rule"].get("max_order_notional", 0))


def test_jobs_and_reload_over_the_control_api_and_ctl(shared_data: Path, tmp_path: Path) -> None:
    recording = shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
    text = EXAMPLE.replace("../shared/data/binance_ws/spot_btcusdt_20240808.gz", str(recording))
    text += f"control: {{port: 0, token: {TOKEN}}}\n" + SCHEDULE
    file = tmp_path / "node.yaml"
    file.write_text(text)
    run_dir = tmp_path / "run"
    thread = PaperNodeThread(load_config(file), recording, run_dir, speed=10.0, config_file=file)
    api = Api(thread.start())
    try:
        node = thread.node
        assert node is not None
        wait_for("the strategy's first order", lambda: api.get("/api/risk")["accepted"])
        jobs = api.get("/api/jobs")
        assert [(j["name"], j["runs"], j["running"]) for j in jobs] == [
            ("daily_report", 0, False), ("bug", 0, False),
        ]  # fmt: skip
        assert api.post("/api/jobs/daily_report/run", {"reason": "now"})["message"] == (
            "daily_report: started"
        )
        api.post("/api/jobs/bug/run", {})
        ended = [("job:daily_report", "job_finished"), ("job:bug", "job_failed")]
        wait_for("both jobs to end", lambda: sorted(_job_alerts(api)) == sorted(ended))
        status, unknown = api.call("/api/jobs/nope/run", {})
        assert status == 400 and "no scheduled job 'nope'" in unknown["error"]
        metrics = _metrics(api)
        assert 'tradefabric_job_runs_total{job="bug"} 1.0' in metrics
        assert 'tradefabric_job_failures_total{job="bug"} 1.0' in metrics
        assert 'tradefabric_job_failures_total{job="daily_report"} 0.0' in metrics
        assert 'tradefabric_job_running{job="daily_report"} 0.0' in metrics
        listed = _ctl("jobs", "--url", api.url)
        assert listed.returncode == 0, listed.stderr
        assert "bug [0 * * * *] runs 1 failures 1" in listed.stdout
        assert "last error: RuntimeError: boom in bug" in listed.stdout
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
        ctl = _ctl("reload", "--url", api.url, "--operator", "ops")
        assert ctl.returncode == 0, ctl.stderr
        assert f"{file}: nothing changed" in ctl.stdout
    finally:
        thread.stop()
    records = [(r.kind, msgspec.json.decode(r.data).get("command", ""))
               for r in read_audit(run_dir / "audit.jsonl")
               if r.kind.startswith("config") or r.kind == "control"]  # fmt: skip
    assert records == [
        ("control", "run_job"), ("control", "run_job"), ("control", "run_job"),
        ("control", "reload_config"), ("config_reload", ""),
        ("control", "reload_config"), ("config_reload_refused", ""),
        ("control", "reload_config"),
    ]  # fmt: skip
