"""Structured logging: JSON lines (or readable console lines) on stderr.

Standard output stays free for command results (tables and ``--json`` output).
Three formats: ``json`` (our field names), ``console`` (for people) and ``ecs``
(Elastic Common Schema: ``@timestamp``, ``log.level``, ``message``, ``error.message``,
our own fields under ``tradefabric``), which Filebeat/Elastic ingest as they are.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Final, TextIO, cast

import structlog

from tradefabric.core.errors import ConfigError

LOG_FORMATS: Final = ("json", "console", "ecs")
ECS_VERSION: Final = "8.11.0"


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is written, not when logging was configured.

    Binding the stream at configure time breaks once it is swapped and closed (a test's
    capture ending, a daemon detaching): a late log line would raise inside the caller.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def ecs_fields(
    _logger: object, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Rename one event's fields to ECS (a structlog processor, after level and time)."""
    out: dict[str, Any] = {
        "@timestamp": event.pop("timestamp", None),
        "log.level": event.pop("level", None),
        "message": event.pop("event", ""),
        "ecs.version": ECS_VERSION,
        "service.name": "tradefabric",
    }
    if "error" in event:
        out["error.message"] = str(event.pop("error"))
    if event:
        out["tradefabric"] = dict(event)  # custom fields in a namespace of their own (ECS)
    return out


def configure_logging(
    level: str = "WARNING",
    json_logs: bool = True,
    log_format: str | None = None,
    stream: TextIO | None = None,
) -> None:
    """Send structlog output at ``level`` in ``log_format`` (one of ``LOG_FORMATS``; None:
    JSON lines when ``json_logs``, else console text) to ``stream``, or, by default, to
    whatever ``sys.stderr`` is when each line is written."""
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.WARNING)
    chosen = log_format or ("json" if json_logs else "console")
    if chosen not in LOG_FORMATS:
        raise ConfigError(f"--log-format {chosen!r}: expected one of {', '.join(LOG_FORMATS)}")
    processors: list[structlog.typing.Processor] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if chosen == "ecs":
        processors.append(ecs_fields)
    processors.append(
        structlog.dev.ConsoleRenderer()
        if chosen == "console"
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(
            file=stream if stream is not None else cast(TextIO, _CurrentStderr())
        ),
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
