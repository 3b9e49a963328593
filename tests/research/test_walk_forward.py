"""Walk-forward on the real month: windows, stitched curve, bit-for-bit reproducible."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from pathlib import Path

import msgspec
import pyarrow.parquet as pq
import pytest
import yaml

from tradefabric.core.errors import ConfigError
from tradefabric.research.config import WalkForwardConfig, load
from tradefabric.research.walk_forward import run_walk_forward, window_spans

BASE = {"seed": 1, "strategies": [{"kind": "ema_cross", "id": "ema", "symbol": "BTC/USDT"}]}


def _write(tmp_path: Path, catalog: Path, out: str, **extra: object) -> Path:
    cfg = {
        "base": BASE, "catalog": str(catalog), "catalog_version": 1,
        "start": dt.date(2024, 7, 27), "end": "2024-08-24",  # a YAML date too
        "in_sample": "7d", "out_of_sample": "3d",
        "sampler": "tpe", "trials": 6, "batch": 2, "seed": 11,
        "params": {"ema.fast": {"low": 4, "high": 30}, "ema.slow": {"low": 40, "high": 150}},
        "constraints": {"min_trades": 5},
        "out": "out", **extra,
    }  # fmt: skip
    # Same file name in each folder: the report's title names the file.
    (tmp_path / out).mkdir(exist_ok=True)
    path = tmp_path / out / "wf.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_windows_roll_or_anchor(tmp_path: Path, research_catalog: Path) -> None:
    cfg = load(_write(tmp_path, research_catalog, "w"), WalkForwardConfig)
    spans = window_spans(cfg)
    assert len(spans) == 7  # OOS windows 08-03..08-24 in steps of 3 days
    assert spans[0].is_start.startswith("2024-07-27") and spans[0].oos_start.startswith(
        "2024-08-03"
    )
    assert spans[1].is_start.startswith("2024-07-30") and spans[-1].oos_end.startswith("2024-08-24")
    anchored = window_spans(msgspec.structs.replace(cfg, anchored=True))
    assert {s.is_start for s in anchored} == {spans[0].is_start}
    assert anchored[-1].is_end == spans[-1].is_end
    with pytest.raises(ConfigError, match="do not fit between"):
        window_spans(msgspec.structs.replace(cfg, in_sample="30d"))


def test_walk_forward_is_reproducible_bit_for_bit(tmp_path: Path, research_catalog: Path) -> None:
    a = run_walk_forward(_write(tmp_path, research_catalog, "a"))
    # The second run as a real process through the CLI.
    subprocess.run(
        [sys.executable, "-m", "tradefabric", "research", "walk-forward",
         "-c", str(_write(tmp_path, research_catalog, "b"))],
        check=True, capture_output=True,
    )  # fmt: skip
    assert _hashes(tmp_path / "a" / "out") == _hashes(tmp_path / "b" / "out")
    assert set(_hashes(tmp_path / "a" / "out")) == {
        "walk_forward.json",
        "trials.parquet",
        "report.html",
    }
    r = a.result
    assert len(r.windows) == 7 and all(w.trials == 6 for w in r.windows)
    traded = [w for w in r.windows if w.params is not None]
    assert traded, "some in-sample window must have a feasible trial"
    # The stitched curve: 3 days of hourly samples per traded window, chained.
    assert len(r.oos_equity) == 72 * len(traded)
    assert r.oos_ts == sorted(r.oos_ts) and len(set(r.oos_ts)) == len(r.oos_ts)
    product = 1.0
    for w in traded:
        product *= 1 + w.oos_return
    assert product - 1 == pytest.approx(r.oos_return, rel=1e-9)
    assert 0.0 <= r.dsr.dsr <= 1.0 and r.dsr.trials == sum(w.trials for w in traded)
    assert all(w.pbo is not None and 0 <= w.pbo.pbo <= 1 and w.pbo.splits == 70 for w in traded)
    mean_is = sum(w.is_score for w in traded) / len(traded)
    assert r.mean_is_score == pytest.approx(mean_is)
    assert r.degradation == pytest.approx(mean_is - r.mean_oos_score)
    rows = pq.read_table(a.table).to_pylist()
    assert len(rows) == 42 and len({row["window"] for row in rows}) == 7
    # A different seed picks different trials.
    c = run_walk_forward(_write(tmp_path, research_catalog, "c", seed=12))
    assert c.result.windows[0].params != r.windows[0].params or (
        c.result.mean_is_score != r.mean_is_score
    )


def test_windows_without_a_feasible_trial_are_not_traded(
    tmp_path: Path, research_catalog: Path
) -> None:
    path = _write(tmp_path, research_catalog, "none", constraints={"min_trades": 10**6},
                  trials=2, end="2024-08-06")  # fmt: skip
    r = run_walk_forward(path).result
    assert len(r.windows) == 1 and r.windows[0].params is None and r.windows[0].trials == 2
    assert r.oos_equity == [] and r.oos_return == 0.0 and r.dsr.trials == 0
    assert "(no feasible trial)" in (tmp_path / "none" / "out" / "report.html").read_text()


def test_cli_bad_config_is_one_error_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tradefabric", "research", "walk-forward",
         "-c", str(tmp_path / "missing.yaml")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "missing.yaml: cannot read" in proc.stderr
    assert "Traceback" not in proc.stderr
