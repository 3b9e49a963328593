"""Shared fixtures: where the real exchange data lives."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """Return ``../shared/data`` beside the repo, or ``$TRADEFABRIC_SHARED_DATA``."""
    override = os.environ.get("TRADEFABRIC_SHARED_DATA")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "data"


def in_ci() -> bool:
    """Return whether the session runs in CI (``CI`` set and not ``0``/``false``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing_resource(message: str) -> NoReturn:
    """Fail the test in CI and skip it elsewhere: a needed file or service is not there.

    Every test that needs real data or a local service goes through here, so that
    CI can never pass by skipping.
    """
    if in_ci():
        pytest.fail(f"{message} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Return the real data directory; fail in CI and skip elsewhere when it is missing."""
    path = shared_data_dir()
    if not (path / "binance_ws").is_dir():
        missing_resource(
            f"real exchange data not found at {path}: check out the shared data beside the repo "
            "or set TRADEFABRIC_SHARED_DATA"
        )
    return path


_FIGURES: list[str] = []


def report_figure(line: str) -> None:
    """Record a measured figure to print in the test session summary."""
    _FIGURES.append(line)


HEAVIEST_FILES = (
    "tests/integration/test_recovery_soak.py",
    "tests/research/test_ray.py",
    "tests/state/test_kill_restart.py",
    "tests/test_code_quality.py",
    "tests/integrity/test_frozen_feeds.py",
    "tests/node/test_live_kill9.py",
    "tests/node/test_live_kill9_binance.py",
    "tests/node/test_backtest.py",
    "tests/research/test_model_ops.py",
    "tests/integration/test_feed_soak.py",
    "tests/cli/test_cli.py",
)
"""The files that take longest (``--durations``), longest first: they start first."""


def _start_rank(item: pytest.Item, slow_files: set[Path]) -> tuple[int, int]:
    name = item.path.relative_to(REPO_ROOT).as_posix()
    if name in HEAVIEST_FILES:
        return 0, HEAVIEST_FILES.index(name)
    return (1 if item.path in slow_files else 2), 0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the longest files first, then the other files with slow tests.

    The suite runs on pytest-xdist workers a file at a time (``--dist loadfile``: a
    module fixture is built once). Each file is kept whole and in its own order; one
    long file must not be the tail of the run. (``loadgroup`` would spread a file's
    tests, but xdist 3.8 cannot tag groups under pytest 9: its ``xdist_group`` is
    ignored.)
    """
    slow_files = {i.path for i in items if i.get_closest_marker("slow") is not None}
    items.sort(key=lambda i: _start_rank(i, slow_files))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On a parallel worker, hand the figures measured here to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["figures"] = list(_FIGURES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """Collect the figures a parallel worker measured (pytest-xdist calls this)."""
    _FIGURES.extend(node.workeroutput.get("figures", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures tests measured on real data (match rates, counts)."""
    if _FIGURES:
        terminalreporter.section("figures measured on real data")
        for line in _FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def month_catalog(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Import the real month (BTC/USDT and ETH/USDT 1m) into a new catalog once; its root."""
    root = tmp_path_factory.mktemp("month_catalog")
    subprocess.run(
        [sys.executable, "-m", "tradefabric", "data", "import", str(shared_data / "candles_1m"),
         "--format", "freqtrade", "--venue", "binance", "--catalog", str(root)],
        check=True, capture_output=True,
    )  # fmt: skip
    return root
