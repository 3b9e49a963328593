"""``data versions|compact|gaps|resample|query --version`` as a user runs them, on real traffic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .test_cli import run, run_json


@pytest.mark.parametrize("command", ["versions", "compact", "gaps", "resample"])
def test_catalog_commands_have_help(command: str) -> None:
    out = run("data", command, "--help").stdout
    assert "Usage:" in out and "--catalog" in out


@pytest.fixture(scope="module")
def catalog(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli_catalog")
    recording = shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
    for intervals in ("1s", "1m"):
        # Two replays: two versions, and the second's trades are all duplicates.
        run("data", "replay", str(recording), "--catalog", str(root), "--intervals", intervals)
    return root


def test_versions_lists_both_replays_and_query_can_pin_the_first(catalog: Path) -> None:
    rows = run_json("data", "versions", "--catalog", str(catalog))
    assert [r["operation"] for r in rows] == ["append"] * len(rows)
    first_replay = [r for r in rows if r["version"] <= 3]
    assert sum(r["rows_added"] for r in rows) > sum(r["rows_added"] for r in first_replay)
    human = run("data", "versions", "--catalog", str(catalog)).stdout
    assert "append" in human and "feed" in human

    count = "SELECT count(*) FROM candles WHERE interval = '1m'"
    pinned = run_json("data", "query", count, "--catalog", str(catalog), "--version", "3")
    latest = run_json("data", "query", count, "--catalog", str(catalog))
    assert pinned["rows"] == [[0]]
    assert latest["rows"] == [[7]]
    trades = run_json("data", "query", "SELECT count(*) FROM trades", "--catalog", str(catalog))
    assert trades["rows"] == [[9757]]  # the second replay's trades were all duplicates


def test_compact_then_nothing_left(catalog: Path) -> None:
    first = run_json("data", "compact", "--catalog", str(catalog))
    assert first["files_after"] == first["partitions"] >= 1
    again = run("data", "compact", "--catalog", str(catalog)).stdout
    assert "nothing to compact" in again


def test_gaps_reports_quiet_seconds_and_interpolate_fills_them(catalog: Path) -> None:
    args = ["data", "gaps", "--catalog", str(catalog), "--interval", "1s"]
    found = run(*args, "--json", check=False)
    assert found.returncode == 1  # gaps remain: scripts can test completeness
    report = json.loads(found.stdout)
    assert report["missing_candles"] == 2 and report["missing_trades"] == 0

    filled = run(*args, "--repair", "interpolate", check=False)
    assert filled.returncode == 0, filled.stderr
    assert "0 candles downloaded, 2 filled by flagged interpolation" in filled.stdout
    clean = json.loads(run(*args, "--json").stdout)
    assert clean["missing_candles"] == 0 and clean["scan"]["interpolated_candles"] == 2


def test_resample_prints_and_writes(catalog: Path) -> None:
    args = ["data", "resample", "--catalog", str(catalog), "--venue", "binance"]
    args += ["--symbol", "BTC/USDT", "--from-interval", "1m", "--to-interval", "1h"]
    result = run_json(*args, "--write")
    assert [c["interval"] for c in result["candles"]] == ["1h", "1h"]
    assert sum(c["trades"] for c in result["candles"]) == 9757
    assert result["write"]["rows_added"] == 2
    assert "2 candles" in run(*args).stdout


def test_bad_resample_and_table_names_are_one_line_errors(catalog: Path) -> None:
    bad = run(
        "data", "resample", "--catalog", str(catalog), "--venue", "binance", "--symbol", "X",
        "--from-interval", "1h", "--to-interval", "1m", check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "cannot resample 1h to 1m" in bad.stderr and "Traceback" not in bad.stderr
    table = run("data", "compact", "--catalog", str(catalog), "--type", "bars", check=False)
    assert table.returncode == 2 and "unknown catalog table 'bars'" in table.stderr
