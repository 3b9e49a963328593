"""In CI a test that needs real data, Redis or a venue fails when it is missing; it never skips.

Each case runs a slice of the suite in a child pytest with the resource taken away
and ``CI=1``, and reads the outcome from a JUnit XML report.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow


def _outcomes(tmp_path: Path, env: dict[str, str], *args: str) -> dict[str, int]:
    report = tmp_path / "report.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
         *args],
        cwd=REPO_ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    return {key: int(suite.get(key, "0")) for key in ("tests", "failures", "errors", "skipped")}


def test_ci_script_exports_ci() -> None:
    script = (REPO_ROOT / ".ci" / "run").read_text()
    assert "export CI=1" in script


def test_missing_shared_data_fails_in_ci(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    outcome = _outcomes(
        tmp_path, {"CI": "1", "TRADEFABRIC_SHARED_DATA": str(empty)},
        "tests/data/test_candles.py::test_real_binance_trades_rebuild_the_reference_1m_candles",
        "tests/integrity/test_real_data.py",
    )  # fmt: skip
    assert outcome["skipped"] == 0, outcome
    assert outcome["errors"] + outcome["failures"] == outcome["tests"] > 1, outcome


def test_missing_shared_data_skips_outside_ci(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    outcome = _outcomes(
        tmp_path, {"CI": "", "TRADEFABRIC_SHARED_DATA": str(empty)},
        "tests/data/test_candles.py::test_real_binance_trades_rebuild_the_reference_1m_candles",
    )  # fmt: skip
    assert outcome == {"tests": 1, "failures": 0, "errors": 0, "skipped": 1}


def test_missing_redis_fails_in_ci(tmp_path: Path) -> None:
    # Port 9 (discard) has no Redis on any machine this runs on.
    outcome = _outcomes(
        tmp_path, {"CI": "1", "TRADEFABRIC_TEST_REDIS_URL": "redis://127.0.0.1:9/0"},
        "tests/streams/test_publisher.py",
    )  # fmt: skip
    assert outcome["skipped"] == 0, outcome
    assert outcome["errors"] + outcome["failures"] == outcome["tests"] > 0, outcome


def test_a_venue_that_fails_to_import_fails_the_conformance_suite(tmp_path: Path) -> None:
    outcome = _outcomes(
        tmp_path, {"CI": "1"}, "-p", "tests.conformance.broken_venue_plugin",
        "tests/conformance/test_registry.py",
    )  # fmt: skip
    assert outcome["skipped"] == 0, outcome
    # kraken's registration case and the no-failed-import check.
    assert outcome["failures"] == 2, outcome


def test_no_test_skips_except_through_the_one_helper() -> None:
    # Skipping is decided in one place (tests/conftest.py: fail in CI, skip elsewhere).
    words = ("pytest.skip(", "importorskip(", "mark.skip", "mark.skipif")
    offenders = [
        f"{path.relative_to(REPO_ROOT)}:{n}"
        for path in sorted((REPO_ROOT / "tests").rglob("*.py"))
        if path.name != "conftest.py" or path.parent.name != "tests"
        if path != Path(__file__)
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if any(word in line for word in words)
    ]
    assert offenders == [], "use tests.conftest.missing_resource instead"
