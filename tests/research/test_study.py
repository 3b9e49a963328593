"""A TPE study kept in the local PostgreSQL: a second sweep continues the first's study."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import msgspec
import optuna
import psycopg
import pytest
import yaml

from tests.conftest import missing_resource
from tradefabric.research.config import SweepConfig, load, resolve
from tradefabric.research.study import StudyConfig, storage_url
from tradefabric.research.sweep import sweep_records
from tradefabric.state.postgres import DEFAULT_DSN


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """Yield a PostgreSQL URL whose tables land in a fresh schema of their own."""
    schema = f"optuna_{uuid.uuid4().hex[:12]}"
    try:
        con = psycopg.connect(DEFAULT_DSN, autocommit=True)
    except psycopg.OperationalError as exc:
        missing_resource(f"PostgreSQL at {DEFAULT_DSN} is not reachable: {exc}")
    con.execute(f"CREATE SCHEMA {schema}")
    yield f"{DEFAULT_DSN}?options=-csearch_path%3D{schema}"
    con.execute(f"DROP SCHEMA {schema} CASCADE")
    con.close()


def test_storage_url_uses_psycopg() -> None:
    assert storage_url("postgresql://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"
    assert storage_url("sqlite:///x.db") == "sqlite:///x.db"


def test_two_sweeps_share_one_study(research_catalog: Path, tmp_path: Path, pg_schema: str) -> None:
    cfg = {
        "base": {"seed": 1, "strategies": [{"kind": "ema_cross", "id": "ema"}]},
        "catalog": str(research_catalog), "catalog_version": 1,
        "start": "2024-08-01", "end": "2024-08-03", "sampler": "tpe", "trials": 5, "seed": 2,
        "params": {"ema.fast": {"low": 3, "high": 30}, "ema.slow": {"low": 31, "high": 150}},
        "study": {"storage": pg_schema, "name": "ema-btc"},
    }  # fmt: skip
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(cfg))
    sweep = load(path, SweepConfig)
    assert sweep.study == StudyConfig(storage=pg_schema, name="ema-btc")
    where = resolve(path, sweep)
    first = sweep_records(sweep, where)
    # Another machine sharing the study: its own seed (TPE's first trials are seeded random).
    second = sweep_records(msgspec.structs.replace(sweep, seed=3), where)
    study = optuna.load_study(study_name="ema-btc", storage=storage_url(pg_schema))
    done = [t for t in study.trials if t.state is optuna.trial.TrialState.COMPLETE]
    assert len(study.trials) == 10
    scores = [r.score for r in first + second if r.feasible]
    assert sorted(t.value or 0.0 for t in done) == sorted(s or 0.0 for s in scores)
    assert [r.params for r in second] != [r.params for r in first]
    assert {t.params["ema.fast"] for t in study.trials} == {
        r.params.get("ema.fast") for r in first + second
    }
