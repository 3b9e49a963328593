"""The command line, run as a user runs it: a real process, real files, real output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

COMMANDS = [
    [], ["demo"], ["data"], ["data", "replay"], ["data", "verify-book"], ["data", "query"],
    ["data", "import"], ["data", "download"], ["venue"], ["venue", "serve"],
    ["venue", "instruments"], ["feed"],
    ["macro"], ["macro", "backfill"], ["macro", "watch"], ["tradingview"],
    ["research"], ["research", "sweep"], ["research", "walk-forward"],
    ["ctl"], ["ctl", "status"], ["ctl", "pause"], ["ctl", "flatall"], ["ctl", "reset"],
    ["guard"], ["report"], ["report", "s3-copy"],
]  # fmt: skip


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "tradefabric", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(f"exit {result.returncode}: {result.stderr}")
    return result


def run_json(*args: str) -> Any:
    return json.loads(run(*args, "--json").stdout)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_every_command_has_help(command: list[str]) -> None:
    result = run(*command, "--help")
    assert "Usage:" in result.stdout
    assert len(result.stdout.strip().splitlines()) > 5


def test_demo_runs_on_bundled_data_only(tmp_path: Path) -> None:
    result = run_json("demo", "--out", str(tmp_path))
    files = result["files"]
    assert [f["replay"]["books"][0]["symbol"] for f in files] == ["BTC/USDT", "ETH/USDT"]
    for f in files:
        check = f["replay"]["book_check"]
        assert check["matches"] == check["comparisons"] > 500
        assert f["candles_1m"]["matched"] == f["candles_1m"]["compared"] == 5
    rows = {row[0]: row for row in result["catalog_query"]["rows"]}
    assert rows["BTC/USDT"][1] == 9757
    assert rows["ETH/USDT"][1] == 6106
    integrity = result["integrity"]
    assert integrity["venues"] == 5
    assert integrity["consensus_valid_minutes"] == integrity["consensus_minutes"] == 1800
    usdc = [e for e in integrity["stablecoin_events"] if e["coin"] == "USDC"]
    assert [e["start"] for e in usdc] == ["2023-03-11T03:10:00.000Z"]
    assert usdc[0]["peak_rate"] < 0.9
    assert (tmp_path / "integrity.png").stat().st_size > 10_000
    phase1 = result["phase1"]
    assert phase1["fills"] == phase1["orders"] > 0 and phase1["signals"] > 0
    report = Path(phase1["report_html"])
    assert report.is_relative_to(tmp_path) and "<html" in report.read_text()[:200].lower()


def test_demo_human_output() -> None:
    out = run("demo").stdout
    assert "564/564" in out
    assert "5/5 full minutes" in out


@pytest.mark.slow
def test_replay_then_query(shared_data: Path, tmp_path: Path) -> None:
    recording = shared_data / "binance_ws" / "usdm_btcusdt_20240808.gz"
    summary = run_json("data", "replay", str(recording), "--venue", "binance-usdm",
                       "--catalog", str(tmp_path), "--intervals", "1m")  # fmt: skip
    assert summary["events"]["trades"] == 21313
    assert summary["catalog_rows"]["trades"] == 21313
    result = run_json(
        "data", "query", "--catalog", str(tmp_path),
        "SELECT symbol, side, count(*) AS n FROM trades GROUP BY ALL ORDER BY side",
    )  # fmt: skip
    assert result["columns"] == ["symbol", "side", "n"]
    assert sum(row[2] for row in result["rows"]) == 21313
    assert {row[1] for row in result["rows"]} == {"buy", "sell"}
    human = run("data", "replay", str(recording), "--venue", "binance-usdm").stdout
    assert "21,313" in human


def test_verify_book_reports_match_rate(shared_data: Path) -> None:
    recording = shared_data / "binance_ws" / "spot_ethusdt_20240808.gz"
    out = run("data", "verify-book", str(recording), "--venue", "binance").stdout
    assert "577 of 577 match (100.0000%)" in out
    summary = run_json("data", "verify-book", str(recording))
    assert summary["books"][0]["gaps"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["data", "replay", "/no/such/file.gz"], "cannot read recording /no/such/file.gz"),
        (["data", "verify-book", "/tmp"], "is a directory"),
        (["data", "replay", "x", "--venue", "ftx"], "unknown venue 'ftx'"),
        (["data", "replay", "x", "--intervals", "7x"], "invalid interval '7x'"),
        (["data", "query", "--catalog", "/no/such/dir", "SELECT 1"], "does not exist"),
    ],
)
def test_errors_are_one_line_without_traceback(args: list[str], message: str) -> None:
    result = run(*args, check=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_bad_sql_names_the_problem(tmp_path: Path) -> None:
    sql = "SELECT nope FROM trades"
    result = run("data", "query", "--catalog", str(tmp_path), sql, check=False)
    assert result.returncode == 2
    assert "nope" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_venue_serve_and_feed_talk_over_real_sockets(shared_data: Path, tmp_path: Path) -> None:
    recording = shared_data / "binance_ws" / "spot_ethusdt_20240808.gz"
    server = subprocess.Popen(
        [sys.executable, "-m", "tradefabric", "venue", "serve", "--venue", "binance",
         "--replay", str(recording), "--speed", "20", "--exit-when-done"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        server.stdout.readline()
        urls = server.stdout.readline().split()
        ws_url, rest_url = urls[1], urls[3]
        status = run_json(
            "feed", "--venue", "binance", "--symbols", "ETH/USDT", "--url-override", ws_url,
            "--rest-override", rest_url, "--duration", "4", "--record", str(tmp_path),
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert status["events"]["trades"] > 0
    assert status["connection"]["connects"] == 1
    (book,) = status["books"]
    assert (book["symbol"], book["valid"]) == ("ETH/USDT", True)
    assert status["snapshots_fetched"] == 1
    (recorded,) = tmp_path.glob("binance-*.rec")
    replayed = run_json("data", "replay", str(recorded))
    assert replayed["events"]["trades"] == status["events"]["trades"]


def test_feed_rejects_unknown_channel() -> None:
    result = run("feed", "--venue", "binance", "--symbols", "BTC/USDT", "--channels", "nope",
                 "--duration", "1", check=False)  # fmt: skip
    assert result.returncode == 2
    assert "unknown Binance channels ['nope']" in result.stderr
