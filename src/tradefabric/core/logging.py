"""Structured logging: JSON lines (or readable console lines) on stderr.

Standard output stays free for command results (tables and ``--json`` output).
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(level: str = "WARNING", json_logs: bool = True) -> None:
    """Send structlog output to stderr at ``level``, as JSON lines or console text."""
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.WARNING)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


class WarningThrottle:
    """Log the first ``limit`` warnings of each kind, then one notice; count all of them.

    Bad input can arrive by the thousand (a corrupted file, a replayed outage);
    every occurrence is counted, but the log keeps only enough to diagnose it.
    """

    def __init__(self, logger: structlog.typing.FilteringBoundLogger, limit: int = 50) -> None:
        self._logger = logger
        self._limit = limit
        self._counts: dict[str, int] = {}

    def warn(self, kind: str, event: str, **fields: object) -> None:
        """Count one ``kind`` occurrence and log it while under the limit."""
        count = self._counts.get(kind, 0) + 1
        self._counts[kind] = count
        if count <= self._limit:
            self._logger.warning(event, kind=kind, **fields)
        elif count == self._limit + 1:
            self._logger.warning(
                "further warnings of this kind are counted, not logged",
                kind=kind,
                limit=self._limit,
            )

    def count(self, kind: str) -> int:
        """Return how many ``kind`` warnings were seen."""
        return self._counts.get(kind, 0)
