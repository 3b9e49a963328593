"""Bad input is refused with one line and a non-zero exit; nothing committed goes unmentioned."""

from __future__ import annotations

from pathlib import Path

from tradefabric.store.catalog import Catalog

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
