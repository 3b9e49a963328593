"""The longest test files, which start first on the parallel workers, are real files."""

from __future__ import annotations

from tests.conftest import HEAVIEST_FILES, REPO_ROOT


def test_every_heaviest_file_exists() -> None:
    missing = [name for name in HEAVIEST_FILES if not (REPO_ROOT / name).is_file()]
    assert not missing, f"tests/conftest.py HEAVIEST_FILES names files that are gone: {missing}"
    assert len(set(HEAVIEST_FILES)) == len(HEAVIEST_FILES)
