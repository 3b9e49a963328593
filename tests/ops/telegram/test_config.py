"""The ``telegram:`` section, the bot token's sources (an owner-only file, the environment),
its redaction from every log record, and the alert gate's throttling and quiet hours."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

import pytest

from tradefabric.core.errors import ConfigError
from tradefabric.node.kernel import load_config
from tradefabric.ops.alerts import AlertLevel
from tradefabric.ops.telegram.config import QuietHours, TelegramConfig, ThrottleConfig
from tradefabric.ops.telegram.gate import AlertGate
from tradefabric.ops.telegram.notices import Notice
from tradefabric.ops.telegram.secret import REDACTED, read_token, redact_logs

TOKEN = "123456:ABC-secret-token"
NIGHT = dt.datetime(2026, 12, 4, 23, 0, tzinfo=dt.UTC).timestamp()
MORNING = dt.datetime(2026, 12, 5, 7, 1, tzinfo=dt.UTC).timestamp()


def _file(tmp_path: Path, mode: int) -> Path:
    path = tmp_path / "bot-token"
    path.write_text(TOKEN + "\n")
    os.chmod(path, mode)
    return path


def test_the_token_file_must_be_owner_only(tmp_path: Path) -> None:
    path = _file(tmp_path, 0o600)
    assert read_token(TelegramConfig(token_file=path, chats=(1,))) == TOKEN
    for mode in (0o640, 0o604, 0o644):
        os.chmod(path, mode)
        with pytest.raises(ConfigError, match=f"readable by others \\(mode {mode:o}\\)"):
            read_token(TelegramConfig(token_file=path, chats=(1,)))
    with pytest.raises(ConfigError, match="cannot read"):
        read_token(TelegramConfig(token_file=tmp_path / "none", chats=(1,)))


def test_the_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    config = TelegramConfig(token_env="TG_CONFIG_TEST", chats=(1,))
    monkeypatch.delenv("TG_CONFIG_TEST", raising=False)
    with pytest.raises(ConfigError, match="TG_CONFIG_TEST is not set") as raised:
        read_token(config)
    monkeypatch.setenv("TG_CONFIG_TEST", TOKEN)
    assert read_token(config) == TOKEN
    assert TOKEN not in str(raised.value)


def test_invalid_sections_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="exactly one of token_env and token_file"):
        TelegramConfig(chats=(1,))
    with pytest.raises(ConfigError, match="allow-list at least one chat"):
        TelegramConfig(token_env="X", chats=())
    with pytest.raises(ConfigError, match="not HH:MM"):
        QuietHours(start="22", end="07:00")
    with pytest.raises(ConfigError, match="max_per_window"):
        ThrottleConfig(max_per_window=0)
    config = tmp_path / "paper.yaml"
    config.write_text("telegram: {token_env: X, chats: [1]}\n")
    with pytest.raises(ConfigError, match="needs a control: section"):
        load_config(config)


def test_the_section_loads_from_yaml(tmp_path: Path) -> None:
    config = tmp_path / "paper.yaml"
    config.write_text(
        "control: {port: 0, token: long-enough-token}\n"
        "telegram:\n  token_env: TG_TOKEN\n  chats: [42, -1001]\n  confirm_timeout_s: 10\n"
        "  throttle: {max_per_window: 2, window_s: 30}\n"
        "  quiet_hours: {start: '22:00', end: '07:00'}\n"
    )
    telegram = load_config(config).telegram
    assert telegram is not None and telegram.chats == (42, -1001)
    assert telegram.throttle == ThrottleConfig(max_per_window=2, window_s=30.0)
    assert telegram.quiet_hours == QuietHours(start="22:00", end="07:00")
    assert telegram.base_url == "https://api.telegram.org/bot"


def test_redaction_rewrites_every_record_carrying_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = logging.getLogRecordFactory()  # Ray, once imported, installs one of its own
    undo = redact_logs(TOKEN)
    try:
        with caplog.at_level(logging.DEBUG):
            logging.getLogger("httpx").info("HTTP Request: POST %s", f"http://x/bot{TOKEN}/getMe")
            try:
                raise RuntimeError(f"failed on /bot{TOKEN}/sendMessage")
            except RuntimeError:
                logging.getLogger("telegram.ext").exception("boom")
    finally:
        undo()
    assert caplog.records[0].getMessage() == f"HTTP Request: POST http://x/bot{REDACTED}/getMe"
    assert TOKEN not in caplog.text and REDACTED in caplog.text
    assert logging.getLogRecordFactory() is before


def _notice(kind: str, level: AlertLevel = AlertLevel.WARNING, text: str = "x") -> Notice:
    return Notice(kind=kind, level=level, text=text)


def test_quiet_hours_span_midnight() -> None:
    quiet = QuietHours(start="22:00", end="07:00")
    assert [quiet.contains(h * 60) for h in (21, 22, 23, 0, 6, 7, 12)] == [
        False, True, True, True, True, False, False,
    ]  # fmt: skip
    day = QuietHours(start="12:00", end="13:30")
    assert [day.contains(m) for m in (719, 720, 809, 810)] == [False, True, True, False]


def test_the_gate_holds_non_critical_alerts_in_quiet_hours_and_summarizes_after() -> None:
    clock = [NIGHT]
    gate = AlertGate(ThrottleConfig(), QuietHours(start="22:00", end="07:00"), lambda: clock[0])
    assert gate.admit(_notice("fill", AlertLevel.INFO, "fill 1")) == []
    assert gate.admit(_notice("fill", AlertLevel.INFO, "fill 2")) == []
    assert gate.admit(_notice("trade_gap")) == []
    assert gate.admit(_notice("feed_failed", AlertLevel.CRITICAL, "down")) == ["[critical] down"]
    assert gate.admit(_notice("control_flat_all", text="FLAT ALL")) == ["[warning] FLAT ALL"]
    assert gate.due() == []
    clock[0] = MORNING
    assert gate.due() == [
        "quiet hours over: 3 alerts held (2 fill, 1 trade_gap); last: [warning] x"
    ]
    assert gate.due() == [] and gate.held == 3


def test_the_gate_throttles_per_kind_per_window() -> None:
    clock = [1000.0]
    gate = AlertGate(ThrottleConfig(max_per_window=2, window_s=60), None, lambda: clock[0])
    sent = [t for i in range(10) for t in gate.admit(_notice("fill", text=f"f{i}"))]
    assert sent == ["[warning] f0", "[warning] f1"]
    assert gate.admit(_notice("halt", AlertLevel.CRITICAL, "halt")) == ["[critical] halt"]
    assert gate.admit(_notice("trade_gap", text="g")) == ["[warning] g"]  # its own window
    clock[0] += 59
    assert gate.due() == []
    clock[0] += 1
    assert gate.due() == ["8 more fill alerts in 60 s (throttled)"]
    assert gate.admit(_notice("fill", text="next")) == ["[warning] next"]


def test_a_reloaded_throttle_and_quiet_hours_apply_to_the_next_alert() -> None:
    clock = [NIGHT]
    gate = AlertGate(ThrottleConfig(max_per_window=5, window_s=60), None, lambda: clock[0])
    assert gate.admit(_notice("fill", text="f0")) == ["[warning] f0"]
    gate.configure(ThrottleConfig(max_per_window=1, window_s=60), None)  # the open window stays
    assert gate.admit(_notice("fill", text="f1")) == []
    gate.configure(ThrottleConfig(), QuietHours(start="22:00", end="07:00"))
    assert gate.admit(_notice("trade_gap", text="g")) == [] and gate.held == 1
