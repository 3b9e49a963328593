"""Bad input is refused with one line and a non-zero exit; nothing committed goes unmentioned."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from tradefabric.store.catalog import Catalog
from tradefabric.store.catalog_writer import CatalogWriter

from .test_cli import run


def _one_line_error(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_a_truncated_recording_says_which_versions_it_committed(
    shared_data: Path, tmp_path: Path
) -> None:
    data = (shared_data / "binance_ws" / "usdm_btcusdt_20240808.gz").read_bytes()
    truncated = tmp_path / "truncated.gz"
    truncated.write_bytes(data[:600_000])  # cut inside a gzip block
    root = tmp_path / "catalog"
    result = run("data", "replay", str(truncated), "--venue", "binance-usdm",
                 "--catalog", str(root), check=False)  # fmt: skip
    assert result.returncode == 2
    line = _one_line_error(result.stderr)
    versions = Catalog(root).versions()
    assert len(versions) >= 1
    assert "corrupt or truncated" in line
    assert f"versions 1-{len(versions)} of {root} were committed before this" in line
    trades = sum(f.rows for v in versions for f in v.added if f.data_type == "trades")
    assert f"{trades:,} trades" in line


def test_a_replay_with_every_line_rejected_exits_2_after_the_counts(shared_data: Path) -> None:
    recording = shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
    result = run("data", "replay", str(recording), "--venue", "kraken", check=False)
    assert result.returncode == 2
    assert "lines read" in result.stdout  # the counts are still shown
    line = _one_line_error(result.stderr)
    assert "41,249 of 41,249 lines rejected (unknown_stream 41,249)" in line
    assert "was it recorded from --venue kraken?" in line


def test_an_empty_recording_exits_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.rec"
    empty.write_text("")
    result = run("data", "replay", str(empty), "--json", check=False)
    assert result.returncode == 2
    assert "the recording holds no lines" in _one_line_error(result.stderr)


def test_a_replay_of_the_right_venue_exits_0(shared_data: Path) -> None:
    recording = shared_data / "binance_ws" / "spot_ethusdt_20240808.gz"
    assert run("data", "replay", str(recording), "--json").returncode == 0


@pytest.fixture(scope="module")
def small_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("small_catalog")
    minute = 60 * 10**9
    opens = [1_723_161_600 * 10**9 + i * minute for i in range(3)]
    table = pa.table(
        {
            "venue": ["binance"] * 3, "symbol": ["BTC/USDT"] * 3, "interval": ["1m"] * 3,
            "ts_open": opens, "open": [1.0] * 3, "high": [1.0] * 3, "low": [1.0] * 3,
            "close": [1.0] * 3, "volume": [1.0] * 3, "ts_event": [t + minute for t in opens],
        }
    )  # fmt: skip
    CatalogWriter(root).write_table("candles", table, "test")
    return root


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--venue", "foo"], "holds no candles or trades of venue 'foo'; its venues: binance"),
        (["--symbol", "ETH/USDT"], "of symbol 'ETH/USDT'; its symbols there: BTC/USDT"),
        (["--interval", "5m"], "holds no '5m' candles; its intervals: 1m"),
    ],
)
def test_gaps_over_a_series_the_catalog_lacks_is_an_error(
    small_catalog: Path, option: list[str], message: str
) -> None:
    result = run("data", "gaps", "--catalog", str(small_catalog), *option, check=False)
    assert result.returncode == 2
    assert message in _one_line_error(result.stderr)
    ok = run("data", "gaps", "--catalog", str(small_catalog), "--venue", "binance", check=False)
    assert ok.returncode == 0


def test_import_to_an_unknown_venue_names_the_known_ones(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "candles_1m" / "binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather"
    args = ["data", "import", str(source), "--format", "freqtrade", "--catalog", str(tmp_path)]
    result = run(*args, "--venue", "binanse", check=False)
    assert result.returncode == 2
    line = _one_line_error(result.stderr)
    assert "unknown venue 'binanse' (did you mean 'binance'?)" in line
    assert "known venues: binance, binance-usdm, binanceus, bybit" in line
    assert not (tmp_path / "_manifest").exists()  # nothing written
    accepted = run(*args, "--venue", "binanse", "--new-venue", "--json")
    assert json.loads(accepted.stdout)["rows_added"] == 43_209


@pytest.mark.slow
def test_feed_on_a_symbol_the_venue_never_streams_says_so(
    shared_data: Path, tmp_path: Path
) -> None:
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
        result = run(
            "feed", "--venue", "binance", "--symbols", "ETH/USDT,DOGE/USDT",
            "--url-override", urls[1], "--rest-override", urls[3], "--duration", "3", "--json",
            check=False,
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.returncode == 2
    status = json.loads(result.stdout)
    assert {c["symbol"] for c in status["channels"]} == {"ETH/USDT"}
    line = _one_line_error(result.stderr)
    assert "binance streamed nothing for DOGE/USDT in " in line


def test_ctrl_c_during_an_import_says_what_was_committed(shared_data: Path, tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    source = shared_data / "multi_exchange_1m_2023-03"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradefabric", "data", "import", str(source),
         "--format", "multi-exchange", "--catalog", str(root), "--chunk-rows", "2000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    manifest = root / "_manifest"
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if manifest.is_dir() and len(list(manifest.glob("*.json"))) >= 5:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the import finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err
    versions = Catalog(root).versions()
    rows = sum(v.rows_added for v in versions)
    assert f"interrupted: versions 1-{len(versions)} of {root} were committed before this" in err
    assert f"({rows:,} candles)" in err


# Root ignores permission bits, so a chmod'ed folder is no test here: a read-only
# bind mount (EROFS binds root too) stands for a read-only catalog, and a file
# where a folder must go for an unwritable path.
@pytest.fixture
def read_only_catalog(small_catalog: Path, tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "read-only"
    target.mkdir()
    mount = subprocess.run(["mount", "--bind", "-o", "ro", str(small_catalog), str(target)],
                           capture_output=True, text=True, check=False)  # fmt: skip
    if mount.returncode != 0:
        pytest.fail(f"a read-only bind mount needs root (CAP_SYS_ADMIN): {mount.stderr}")
    try:
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=True)


def test_writing_to_a_read_only_catalog_is_one_line(
    shared_data: Path, read_only_catalog: Path
) -> None:
    source = shared_data / "candles_1m" / "binance_ETH_USDT-1m_2024-07-26_2024-08-25.feather"
    recording = shared_data / "binance_ws" / "spot_ethusdt_20240808.gz"
    for args in (
        ["data", "import", str(source), "--format", "freqtrade", "--venue", "binance"],
        ["data", "replay", str(recording)],
    ):
        result = run(*args, "--catalog", str(read_only_catalog), check=False)
        assert result.returncode == 2
        line = _one_line_error(result.stderr)
        assert f"cannot create catalog folder {read_only_catalog}/" in line
        assert "Read-only file system" in line
    # Reading it still works.
    assert run("data", "versions", "--catalog", str(read_only_catalog)).returncode == 0


def test_a_file_where_a_folder_must_go_is_one_line(shared_data: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    source = shared_data / "candles_1m" / "binance_ETH_USDT-1m_2024-07-26_2024-08-25.feather"
    recording = shared_data / "binance_ws" / "spot_ethusdt_20240808.gz"
    cases = [
        (["data", "import", str(source), "--format", "freqtrade", "--venue", "binance",
          "--catalog", str(a_file / "catalog")], f"{a_file} is a file, not a folder"),
        (["data", "import", str(source), "--format", "freqtrade", "--venue", "binance",
          "--catalog", str(a_file)], f"catalog root {a_file} is not a directory"),
        (["demo", "--out", str(a_file)], f"--out {a_file}: {a_file} is a file, not a folder"),
        (["stream", "local", str(recording), "--out", str(tmp_path)],
         f"--out {tmp_path} is a folder; give a file path"),
    ]  # fmt: skip
    for args, message in cases:
        result = run(*args, check=False)
        assert result.returncode == 2, args
        assert message in _one_line_error(result.stderr), args
