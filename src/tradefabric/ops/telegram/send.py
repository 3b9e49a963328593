"""Send to Telegram without ever raising: a 429 waits its ``retry_after``, a network error
backs off, a refused request (bad chat, blocked bot) is given up and logged.

Runs on the bot's own loop and thread; the node never waits on it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import warnings
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from tradefabric.ops.telegram.secret import redact

T = TypeVar("T")
log = structlog.get_logger(__name__)
MAX_BACKOFF_S = 30.0
MAX_RETRY_AFTER_S = 300.0
"""A flood wait longer than this is cut short (the message may then be refused again)."""


def retry_after_s(error: RetryAfter) -> float:
    """Return the wait a 429 asked for, in seconds."""
    with warnings.catch_warnings():  # int today, timedelta in a later major: both read
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


class Sender:
    """Call the Bot API with retries; count what was sent, retried and lost."""

    def __init__(self, bot: Bot, attempts: int, token: str) -> None:
        """Send through ``bot``, trying each call up to ``attempts`` times."""
        self.bot = bot
        self._attempts = attempts
        self._token = token
        self.sent = 0
        self.retried = 0
        self.failed = 0

    def redact(self, text: str) -> str:
        """Return ``text`` without the bot token (for logs of library errors)."""
        return redact(text, self._token)

    async def send(
        self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> Message | None:
        """Send ``text`` to ``chat_id``; return the message, None when it could not go."""
        return await self.call(
            "sendMessage", lambda: self.bot.send_message(chat_id, text, reply_markup=markup)
        )

    async def edit(self, chat_id: int, message_id: int, text: str) -> None:
        """Replace the text of a sent message (its buttons go)."""
        await self.call(
            "editMessageText",
            lambda: self.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id),
        )

    async def answer(self, query_id: str, text: str) -> None:
        """Answer a button press (the little notice the presser sees)."""
        await self.call(
            "answerCallbackQuery", lambda: self.bot.answer_callback_query(query_id, text)
        )

    async def call(self, what: str, make: Callable[[], Awaitable[T]]) -> T | None:
        """Return ``await make()``, retried per the module docstring; None if it failed."""
        backoff = 0.5
        for attempt in range(1, self._attempts + 1):
            try:
                result = await make()
            except RetryAfter as exc:
                wait = retry_after_s(exc)
                log.warning("telegram_flood_wait", method=what, retry_after_s=wait)
            except (BadRequest, Forbidden) as exc:
                self._give_up(what, exc)
                return None
            except NetworkError as exc:
                wait = backoff
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                log.warning("telegram_network_error", method=what, attempt=attempt,
                            error=redact(str(exc), self._token))  # fmt: skip
            except TelegramError as exc:
                self._give_up(what, exc)
                return None
            else:
                self.sent += 1
                return result
            if attempt < self._attempts:
                self.retried += 1
                await asyncio.sleep(wait)
        self.failed += 1
        log.error("telegram_send_failed", method=what, attempts=self._attempts)
        return None

    def _give_up(self, what: str, error: TelegramError) -> None:
        self.failed += 1
        log.error("telegram_refused", method=what, error_type=type(error).__name__,
                  error=redact(str(error), self._token))  # fmt: skip
