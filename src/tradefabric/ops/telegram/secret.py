"""The bot token: read from the environment or an owner-only file, and kept out of logs.

The token is part of every Bot API URL (``/bot<token>/sendMessage``), and the HTTP
library logs URLs; ``redact_logs`` rewrites any log record that carries it, whatever
library made it, so no handler ever sees it.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tradefabric.core.errors import ConfigError
from tradefabric.ops.telegram.config import TelegramConfig

REDACTED = "<telegram-token>"


def read_token(config: TelegramConfig) -> str:
    """Return the bot token named by ``config`` (raise ``ConfigError`` naming the source)."""
    if config.token_file is None:
        token = os.environ.get(config.token_env, "").strip()
        if not token:
            raise ConfigError(f"telegram.token_env: the variable {config.token_env} is not set")
        return token
    return _read_file(config.token_file.expanduser())


def _read_file(path: Path) -> str:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError(f"telegram.token_file: cannot read {path}: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"telegram.token_file: {path} is readable by others (mode {stat.S_IMODE(mode):o}); "
            "chmod 600 it"
        )
    token = path.read_text().strip()
    if not token:
        raise ConfigError(f"telegram.token_file: {path} is empty")
    return token


def redact(text: str, token: str) -> str:
    """Return ``text`` with ``token`` replaced."""
    return text.replace(token, REDACTED) if token else text


def redact_logs(token: str) -> Callable[[], None]:
    """Rewrite every stdlib log record carrying ``token``; return the undo."""
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record fails where logging itself reports it
            return record
        if token in message:
            record.msg = redact(message, token)
            record.args = None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text, token)
        return record

    logging.setLogRecordFactory(factory)

    def undo() -> None:
        if logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(previous)

    return undo
