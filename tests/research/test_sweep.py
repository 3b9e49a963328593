"""Sweeps on the real month: grid via the CLI as a process, random and TPE seeded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pyarrow.parquet as pq
import pytest
import yaml

from tradefabric.core.errors import ConfigError
from tradefabric.research.config import SweepConfig, load, resolve
from tradefabric.research.sweep import run_sweep, sweep_records

BASE = {"seed": 1, "strategies": [{"kind": "ema_cross", "id": "ema", "symbol": "BTC/USDT"}]}


def _write(tmp_path: Path, catalog: Path, **extra: object) -> Path:
    cfg = {
        "base": BASE,
        "catalog": str(catalog),
        "catalog_version": 1,
        "start": "2024-07-27",
        "end": "2024-08-03",
        "params": {"ema.fast": {"low": 5, "high": 20, "step": 5},
                   "ema.slow": {"values": [30, 60, 90]}},
        "constraints": {"min_trades": 5},
        "out": "out",
        **extra,
    }  # fmt: skip
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_grid_sweep_cli_writes_table_and_report(research_catalog: Path, tmp_path: Path) -> None:
    path = _write(tmp_path, research_catalog, report={"top": 3})
    proc = subprocess.run(
        [sys.executable, "-m", "tradefabric", "research", "sweep", "-c", str(path), "--json"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    outcome = msgspec.json.decode(proc.stdout)
    assert outcome["trials"] == 12 and outcome["catalog_version"] == 1
    table = pq.read_table(tmp_path / "out" / "trials.parquet").to_pylist()
    assert [(r["param.ema.fast"], r["param.ema.slow"]) for r in table][:4] == [
        (5, 30), (5, 60), (5, 90), (10, 30)
    ]  # fmt: skip
    best = outcome["best"][0]
    feasible = [r for r in table if r["feasible"]]
    assert (
        best["score"]
        == max(r["score"] for r in feasible)
        == pytest.approx(max(r["sharpe"] for r in feasible))
    )
    assert all(r["closing_trades"] >= 5 for r in feasible)
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.count("<svg") == 2 and html.count("<polyline") == 3
    assert "mean score: ema.fast (x) by ema.slow (y)" in html
    assert html.count("<rect") == 12  # every grid cell of the heatmap
    assert "Parameter importance" in html


def test_importance_finds_the_parameter_that_matters() -> None:
    from tradefabric.research.report import importance
    from tradefabric.research.search import TrialRecord
    from tradefabric.research.trial import ParamSet

    records = [
        TrialRecord(index=i, params=ParamSet(("a", "b"), (i % 3, i % 2)), result=None,
                    score=float(i % 3) * 10 + (i % 2) * 0.1)
        for i in range(12)
    ]  # fmt: skip
    (first, high), (second, low) = importance(records)
    assert (first, second) == ("a", "b") and high > 0.99 and low < 0.01


def test_tpe_and_random_are_seeded(research_catalog: Path, tmp_path: Path) -> None:
    for sampler in ("tpe", "random"):
        params = {"ema.fast": {"low": 3, "high": 30}, "ema.slow": {"low": 31, "high": 120}}
        path = _write(tmp_path, research_catalog, sampler=sampler, trials=8, seed=5,
                      params=params, batch=3)  # fmt: skip
        sweep = load(path, SweepConfig)
        where = resolve(path, sweep)
        a = sweep_records(sweep, where)
        b = sweep_records(sweep, where)
        assert len(a) == 8
        assert msgspec.json.encode(a) == msgspec.json.encode(b)
        assert len({r.params for r in a}) == 8
        other = sweep_records(msgspec.structs.replace(sweep, seed=6), where)
        assert [r.params for r in other] != [r.params for r in a]


def test_invalid_params_are_recorded_not_fatal(research_catalog: Path, tmp_path: Path) -> None:
    params = {"ema.fast": {"values": [10, 50]}, "ema.slow": {"values": [40]}}
    outcome = run_sweep(_write(tmp_path, research_catalog, params=params))
    table = pq.read_table(outcome.table).to_pylist()
    assert table[1]["score"] is None and "fast < slow" in table[1]["error"]
    assert outcome.feasible == 1 and outcome.best[0].params.values == (10, 40)


def test_bad_config_names_file_and_key(research_catalog: Path, tmp_path: Path) -> None:
    path = _write(tmp_path, research_catalog, objective={"metric": "sharp"})
    with pytest.raises(ConfigError, match=r"sweep.yaml: .*'sharp' is not one of"):
        load(path, SweepConfig)
    path = _write(tmp_path, research_catalog, params={"ema.fast": {"low": 9, "high": 3}})
    with pytest.raises(ConfigError, match=r"sweep.yaml: params.ema.fast: need low <= high"):
        load(path, SweepConfig)


def test_a_window_without_candles_fails_the_sweep(research_catalog: Path, tmp_path: Path) -> None:
    # Only the params' errors are a trial's outcome; an empty window is the sweep's error.
    path = _write(tmp_path, research_catalog, start="2025-01-01", end="2025-01-02")
    with pytest.raises(ConfigError, match=r"no candles for binance BTC/USDT 1m from 2025-01-01"):
        run_sweep(path)
