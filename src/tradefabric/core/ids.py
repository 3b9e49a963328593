"""Identifiers: unique, sortable ids for runs, files and (later) orders."""

from __future__ import annotations

import itertools
import os
import time


class IdGenerator:
    """Make ids ``<prefix>-<ms since epoch>-<counter>``, unique within the generator.

    With ``seed_ns`` fixed (backtests) the sequence is reproducible run to run.
    """

    def __init__(self, prefix: str, seed_ns: int | None = None) -> None:
        self._prefix = prefix
        self._base_ms = (time.time_ns() if seed_ns is None else seed_ns) // 1_000_000
        self._counter = itertools.count(1)

    def next_id(self) -> str:
        """Return the next id."""
        return f"{self._prefix}-{self._base_ms}-{next(self._counter)}"


def random_token(n_bytes: int = 8) -> str:
    """Return a random hex token (for temp file names and the like)."""
    return os.urandom(n_bytes).hex()
