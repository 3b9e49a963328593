"""Logging: WarningThrottle keeps the log short but counts everything; stderr JSON lines."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import structlog
from structlog.testing import capture_logs

from tradefabric.core.errors import ConfigError
from tradefabric.core.logging import WarningThrottle, configure_logging

NOTICE = "further warnings of this kind are counted, not logged"


@pytest.fixture
def restore_structlog() -> Iterator[None]:
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def test_throttle_logs_first_n_then_one_notice_and_counts_all() -> None:
    throttle = WarningThrottle(structlog.get_logger(), limit=3)
    with capture_logs() as logs:
        for line in range(10):
            throttle.warn("bad_line", "rejected line", line=line)
    assert throttle.count("bad_line") == 10
    assert [entry["event"] for entry in logs] == ["rejected line"] * 3 + [NOTICE]
    assert [entry.get("line") for entry in logs[:3]] == [0, 1, 2]
    assert all(entry["log_level"] == "warning" for entry in logs)
    assert all(entry["kind"] == "bad_line" for entry in logs)
    assert logs[3]["limit"] == 3


def test_throttle_limits_each_kind_separately() -> None:
    throttle = WarningThrottle(structlog.get_logger(), limit=2)
    with capture_logs() as logs:
        for _ in range(5):
            throttle.warn("nan", "nan price")
        throttle.warn("stale", "stale id")
    assert throttle.count("nan") == 5
    assert throttle.count("stale") == 1
    assert throttle.count("never") == 0
    assert [(entry["kind"], entry["event"]) for entry in logs] == [
        ("nan", "nan price"),
        ("nan", "nan price"),
        ("nan", NOTICE),
        ("stale", "stale id"),
    ]


def test_throttle_at_exactly_the_limit_logs_no_notice() -> None:
    throttle = WarningThrottle(structlog.get_logger(), limit=4)
    with capture_logs() as logs:
        for _ in range(4):
            throttle.warn("k", "event")
    assert len(logs) == 4
    assert all(entry["event"] == "event" for entry in logs)


def test_throttle_default_limit_is_fifty() -> None:
    throttle = WarningThrottle(structlog.get_logger())
    with capture_logs() as logs:
        for _ in range(200):
            throttle.warn("k", "event")
    assert len(logs) == 51
    assert logs[-1]["event"] == NOTICE
    assert throttle.count("k") == 200


@pytest.mark.usefixtures("restore_structlog")
def test_configure_logging_writes_json_lines_at_level_to_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("WARNING", json_logs=True)
    log = structlog.get_logger("test")
    log.info("hidden")
    log.warning("shown", venue="binance")
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["event"] == "shown"
    assert record["venue"] == "binance"
    assert record["level"] == "warning"
    assert record["timestamp"].endswith("Z")


@pytest.mark.usefixtures("restore_structlog")
def test_configure_logging_unknown_level_falls_back_to_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("chatty", json_logs=False)
    log = structlog.get_logger("test")
    log.info("hidden")
    log.error("boom")
    err = capsys.readouterr().err
    assert "hidden" not in err
    assert "boom" in err


@pytest.mark.usefixtures("restore_structlog")
def test_ecs_format_uses_elastic_field_names(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", log_format="ecs")
    structlog.get_logger("test").warning(
        "connection_lost", connection="binance", error="ConnectionClosedError: no close frame"
    )
    record = json.loads(capsys.readouterr().err.strip())
    assert record["message"] == "connection_lost" and record["log.level"] == "warning"
    assert record["@timestamp"].endswith("Z") and record["ecs.version"] == "8.11.0"
    assert record["error.message"] == "ConnectionClosedError: no close frame"
    assert record["tradefabric"] == {"connection": "binance"}
    assert record["service.name"] == "tradefabric"


def test_an_unknown_log_format_is_refused_naming_the_choices() -> None:
    with pytest.raises(ConfigError, match="json, console, ecs"):
        configure_logging("INFO", log_format="xml")
