"""``tradefabric venue instruments`` against a fake venue process, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_cli import run


@pytest.fixture
def kraken_rest_url(shared_data: Path) -> Iterator[str]:
    recording = shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
    server = subprocess.Popen(
        [sys.executable, "-m", "tradefabric", "venue", "serve", "--venue", "kraken",
         "--replay", str(recording)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        server.stdout.readline()
        yield server.stdout.readline().split()[3]
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_venue_instruments_fetches_then_reads_the_catalog(
    kraken_rest_url: str, tmp_path: Path
) -> None:
    args = ("venue", "instruments", "--venue", "kraken", "--rest-override", kraken_rest_url,
            "--catalog", str(tmp_path), "--json")  # fmt: skip
    first = json.loads(run(*args).stdout)
    assert first["from_cache"] is False
    by_symbol = {i["symbol"]: i for i in first["instruments"]}
    assert sorted(by_symbol) == ["BTC/USDT", "ETH/USDT"]
    btc = by_symbol["BTC/USDT"]
    assert (btc["raw_symbol"], btc["price_increment"], btc["min_size"], btc["min_notional"]) == (
        "XBTUSDT",
        "0.01",
        "0.00005",
        "0.5",
    )
    second = json.loads(run(*args, "--symbols", "ETH/USDT").stdout)
    assert second["from_cache"] is True
    assert second["fetched_at_ns"] == first["fetched_at_ns"]
    assert [i["symbol"] for i in second["instruments"]] == ["ETH/USDT"]
    assert len(list((tmp_path / "instruments" / "kraken").glob("*.json"))) == 1

    table = run("venue", "instruments", "--venue", "kraken", "--catalog", str(tmp_path),
                "--rest-override", kraken_rest_url).stdout  # fmt: skip
    assert "XBTUSDT" in table
    assert "from catalog cache" in table


def test_venue_instruments_names_an_unknown_symbol(kraken_rest_url: str) -> None:
    result = run("venue", "instruments", "--venue", "kraken", "--rest-override", kraken_rest_url,
                 "--symbols", "BTC/USTD", check=False)  # fmt: skip
    assert result.returncode == 2
    assert "kraken does not list symbol 'BTC/USTD'" in result.stderr
    assert "Traceback" not in result.stderr


def test_venue_instruments_names_an_unknown_venue() -> None:
    result = run("venue", "instruments", "--venue", "krakn", check=False)
    assert result.returncode == 2
    assert "unknown venue 'krakn'" in result.stderr
