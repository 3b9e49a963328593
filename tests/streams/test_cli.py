"""``tradefabric stream ...`` as a user runs it: help, errors, the one-process reference."""

from __future__ import annotations

import time
from pathlib import Path

import msgspec
import pytest

from tests.streams.helpers import free_port, run_cli
from tradefabric.node.config import MarketDataConfig
from tradefabric.streams.pipeline import DownstreamResult, SampleConfig, single_process


@pytest.mark.parametrize("command", [[], ["publish"], ["consume"], ["local"]])
def test_every_stream_command_has_help(command: list[str]) -> None:
    result = run_cli("stream", *command, "--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout


def test_publish_to_a_redis_that_is_not_there_fails_fast_with_one_line(spot_btc: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    started = time.monotonic()
    result = run_cli("stream", "publish", str(spot_btc), "--redis", url)
    assert result.returncode == 2
    assert "Redis unavailable" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 30


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kinds", "trades,orders"], "unknown stream kinds"),
        (["--prefix", "a:b"], "prefix"),
        (["--kinds", "candles", "--out", "x.json"], "not both"),
    ],
)
def test_consume_refuses_bad_options(args: list[str], message: str) -> None:
    base = ["stream", "consume", "--symbols", "BTC/USDT", "--group", "g", "--consumer", "c"]
    result = run_cli(*base, *args, "--timeout", "1")
    assert result.returncode == 2
    assert message in result.stderr


def test_local_writes_the_one_process_reference(spot_btc: Path, tmp_path: Path) -> None:
    out = tmp_path / "local.json"
    result = run_cli(
        "stream", "local", str(spot_btc), "--out", str(out), "--book-interval-ms", "500"
    )
    assert result.returncode == 0, result.stderr
    expected = single_process(
        spot_btc, MarketDataConfig(venue="binance"), SampleConfig(interval_ms=500)
    )
    assert msgspec.json.decode(out.read_bytes(), type=DownstreamResult) == expected
    assert f"{len(expected.candles):,} candles" in result.stdout
