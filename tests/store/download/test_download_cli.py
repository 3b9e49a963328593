"""``tradefabric data download`` and ``venue serve --klines`` run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.store.download.conftest import RECORDING, ServedVenue


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradefabric", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_download_prints_a_json_report_and_query_sees_the_rows(
    venue: ServedVenue, tmp_path: Path
) -> None:
    catalog = str(tmp_path / "cat")
    common = ["--venue", "binance", "--symbol", "BTC/USDT", "--catalog", catalog,
              "--exchange-url", venue.url, "--json"]  # fmt: skip
    result = run("data", "download", *common, "--since", "2024-08-08", "--until", "2024-08-09")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["rows_added"], report["missing_in_range"]) == (1440, 0)
    trades = run(
        "data", "download", *common, "--trades", "--since", "2024-08-08T23:00",
        "--until", "2024-08-09T01:00",
    )  # fmt: skip
    assert trades.returncode == 0, trades.stderr
    assert json.loads(trades.stdout)["rows_added"] == 5813
    query = run("data", "query", "--catalog", catalog, "--json",
                "SELECT (SELECT count(*) FROM candles), (SELECT count(*) FROM trades)")  # fmt: skip
    assert json.loads(query.stdout)["rows"] == [[1440, 5813]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--symbol", "XRP/USDT"], "binance has no market 'XRP/USDT'"),
        (["--symbol", "BTC/USDT", "--timeframe", "7m"], "no '7m' candles"),
        (["--symbol", "BTC/USDT", "--since", "yesterday"], "invalid time 'yesterday'"),
        (["--symbol", "BTC/USDT", "--until", "2024-07-01"], "invalid range"),
    ],
)
def test_bad_requests_are_one_line_errors_with_exit_2(
    venue: ServedVenue, tmp_path: Path, args: list[str], message: str
) -> None:
    result = run(
        "data", "download", "--venue", "binance", "--since", "2024-08-08", *args,
        "--catalog", str(tmp_path / "cat"), "--exchange-url", venue.url,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]


def test_download_has_help() -> None:
    result = run("data", "download", "--help")
    assert result.returncode == 0
    for option in ("--since", "--until", "--trades", "--exchange-url", "--no-resume", "--json"):
        assert option in result.stdout


def test_an_unsupported_venue_fails_before_any_request(tmp_path: Path) -> None:
    result = run(
        "data", "download", "--venue", "kraken", "--symbol", "BTC/USD", "--since", "2024-08-08",
        "--catalog", str(tmp_path / "cat"),
    )  # fmt: skip
    assert (
        result.returncode == 2 and "downloads support ['binance', 'binance-usdm']" in result.stderr
    )


def test_the_readme_offline_download_works(shared_data: Path, tmp_path: Path) -> None:
    serve = subprocess.Popen(
        [sys.executable, "-m", "tradefabric", "venue", "serve", "--venue", "binance",
         "--replay", str(shared_data / RECORDING), "--klines", str(shared_data / "candles_1m"),
         "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert serve.stdout is not None
        url = ""
        for line in serve.stdout:
            if "rest:" in line:
                url = line.split("rest:")[1].strip()
                break
        assert url.startswith("http://127.0.0.1:"), serve.stderr.read() if serve.stderr else ""
        result = run(
            "data", "download", "--venue", "binance", "--symbol", "ETH/USDT", "--timeframe", "1h",
            "--since", "2024-08-01", "--until", "2024-08-08", "--catalog", str(tmp_path / "cat"),
            "--exchange-url", url,
        )  # fmt: skip
    finally:
        serve.terminate()
        serve.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    assert "binance ETH/USDT 1h candles" in result.stdout
    assert "168 new" in result.stdout and "0 missing" in result.stdout
