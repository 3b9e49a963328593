"""``tradefabric signals`` run as a real process over a catalog of the real month."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.analytics.conftest import read_month
from tests.analytics.fake_coingecko import FakeCoinGecko, hourly_truth
from tests.analytics.fake_deribit import FakeDeribit, hourly_dvol
from tests.conftest import REPO_ROOT, report_figure
from tradefabric.store.catalog import Catalog
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.importers import import_path


@pytest.fixture(scope="module")
def catalog(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("catalog")
    writer = CatalogWriter(root)
    try:
        source = shared_data / "candles_1m" / "binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather"
        import_path(source, "freqtrade", writer, venue="binance")
    finally:
        writer.close()
    return root


def _signals(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "examples")}
    return subprocess.run(
        [sys.executable, "-m", "tradefabric", "signals", *args],
        capture_output=True, text=True, check=False, cwd=REPO_ROOT, env=env, timeout=300,
    )  # fmt: skip


@pytest.mark.slow
def test_signals_command_prints_json_and_writes_a_chart(catalog: Path, tmp_path: Path) -> None:
    chart = tmp_path / "signals.png"
    result = _signals(
        "--catalog", str(catalog), "--symbol", "BTC/USDT", "--from", "2024-08-01",
        "--to", "2024-08-15", "--chart", str(chart), "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["candles"] == 14 * 1440
    signals = report["result"]["signals"]
    assert len(signals) > 50
    for sig in signals:
        assert sig["asset"] == "BTC/USDT" and sig["data_ts"] < sig["ts"]
        assert sum(f["contribution"] for f in sig["factors"]) == pytest.approx(sig["confidence"])
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report_figure(
        f"analytics CLI: signals over 2 weeks of real BTC 1m candles: {len(signals)} signals, "
        f"chart {chart.stat().st_size:,} bytes"
    )


@pytest.mark.slow
def test_signals_command_table_with_a_user_plugin(catalog: Path) -> None:
    result = _signals(
        "--catalog", str(catalog), "--symbol", "BTC/USDT", "--from", "2024-08-05",
        "--to", "2024-08-07", "--config", str(REPO_ROOT / "examples" / "analytics.yaml"),
        "--stream", "--limit", "5",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "signals (newest 5 of" in result.stdout
    assert "bb_breakout_1m" in result.stdout
    assert "per source:" in result.stdout and "regime changes:" in result.stdout


def test_signals_command_errors_are_one_line(tmp_path: Path) -> None:
    result = _signals("--catalog", str(tmp_path / "nowhere"), "--symbol", "BTC/USDT")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not exist" in lines[0]
    bad = tmp_path / "bad.yaml"
    bad.write_text("analytics:\n  regime: {trend_enter: 0.1, trend_exit: 0.5}\n")
    result = _signals("--catalog", str(tmp_path), "--symbol", "BTC/USDT", "--config", str(bad))
    assert result.returncode == 2 and "trend_exit" in result.stderr


async def _cli(*args: str) -> tuple[int, str, str]:
    paths = [str(REPO_ROOT / "examples"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tradefabric", *args, cwd=REPO_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=300)
    return process.returncode or 0, out.decode(), err.decode()


@pytest.mark.slow
async def test_macro_backfill_then_signals_score_with_coingecko_readings(
    catalog: Path, shared_data: Path, tmp_path: Path
) -> None:
    truth = hourly_truth(read_month(shared_data, "BTC/USDT"), read_month(shared_data, "ETH/USDT"))
    root = tmp_path / "catalog"
    shutil.copytree(catalog, root)
    async with FakeCoinGecko(truth, now_s=truth[-1].ts_s) as server:
        code, out, err = await _cli(
            "macro", "backfill", "--catalog", str(root), "--from", "2024-07-31",
            "--to", "2024-08-01", "--base-url", server.url, "--json",
        )  # fmt: skip
        assert code == 0, err
        assert json.loads(out)["rows_added"] == 24
        config = tmp_path / "analytics.yaml"
        config.write_text(
            "macro:\n  source: coingecko\n"
            f"  coingecko: {{base_url: '{server.url}', min_interval_s: 0}}\n"
        )
        code, out, err = await _cli(
            "signals", "--catalog", str(root), "--symbol", "BTC/USDT", "--from", "2024-08-01",
            "--to", "2024-08-03", "--config", str(config), "--json",
        )  # fmt: skip
    assert code == 0, err
    signals = json.loads(out)["result"]["signals"]
    macro = [next(f for f in s["factors"] if f["name"] == "macro") for s in signals]
    assert len(macro) > 10 and all(f["available"] for f in macro)
    assert all(f["detail"].startswith("BTC dominance") for f in macro)
    # The run stored the readings it needed: the backfilled day and the two scored.
    assert Catalog(root).summary().macro == 24 * 3


def test_macro_commands_have_help_and_a_missing_key_is_one_line(tmp_path: Path) -> None:
    for command in (["macro"], ["macro", "backfill"], ["macro", "watch"]):
        result = subprocess.run(
            [sys.executable, "-m", "tradefabric", *command, "--help"],
            capture_output=True, text=True, check=False, cwd=REPO_ROOT, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0 and "Usage:" in result.stdout
    result = subprocess.run(
        [sys.executable, "-m", "tradefabric", "macro", "backfill", "--catalog", str(tmp_path),
         "--from", "2024-08-01", "--api-key-env", "TF_NO_SUCH_VARIABLE"],
        capture_output=True, text=True, check=False, cwd=REPO_ROOT, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "TF_NO_SUCH_VARIABLE" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
async def test_signals_with_deribit_dvol_as_the_regime_index(
    catalog: Path, shared_data: Path, tmp_path: Path
) -> None:
    candles = {"BTC": hourly_dvol(read_month(shared_data, "BTC/USDT"))}
    async with FakeDeribit(candles) as server:
        config = tmp_path / "analytics.yaml"
        config.write_text(
            "volatility:\n  source: deribit\n"
            f"  deribit: {{rest_url: '{server.rest_url}', ws_url: '{server.ws_url}'}}\n"
        )
        code, out, err = await _cli(
            "signals", "--catalog", str(catalog), "--symbol", "BTC/USDT", "--from", "2024-08-03",
            "--to", "2024-08-08", "--config", str(config), "--json",
        )  # fmt: skip
        assert server.rest_requests, "the run fetched no DVOL history"
    assert code == 0, err
    changes = json.loads(out)["result"]["regime_changes"]
    published = {(c[0] + 3_600_000) * 1_000_000: c[4] for c in candles["BTC"]}
    assert changes and all(c["vol_index"] in published.values() for c in changes)
    assert any(c["regime"] == "volatile" for c in changes)  # the 5 August 2024 crash


@pytest.mark.slow
async def test_macro_watch_backfills_then_stores_live_readings(
    shared_data: Path, tmp_path: Path
) -> None:
    truth = hourly_truth(read_month(shared_data, "BTC/USDT"), read_month(shared_data, "ETH/USDT"))
    root = tmp_path / "new-catalog"  # does not exist yet
    async with FakeCoinGecko(truth, now_s=int(time.time())) as server:
        code, out, err = await _cli(
            "macro", "watch", "--catalog", str(root), "--refresh", "60", "--duration", "1",
            "--backfill-hours", "1", "--base-url", server.url, "--min-interval", "0", "--json",
        )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    # The served month is long past: no history for the last hour, one live reading.
    assert (summary["rows_added"], summary["failures"]) == (1, 0)
    assert Catalog(root).summary().macro == 1
