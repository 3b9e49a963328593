"""``tradefabric signals`` run as a real process over a catalog of the real month."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, report_figure
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
