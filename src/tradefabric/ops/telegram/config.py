"""The ``telegram:`` section of a trading config: bot token source, chats, alert limits.

Sample::

    telegram:
      token_env: TRADEFABRIC_TELEGRAM_TOKEN   # or token_file: ~/.config/tradefabric/bot-token
      chats: [123456789]
      confirm_timeout_s: 30
      throttle: {max_per_window: 5, window_s: 60}
      quiet_hours: {start: "22:00", end: "07:00"}   # UTC
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from tradefabric.core.errors import ConfigError

MINUTES_PER_DAY = 24 * 60


def minute_of_day(text: str, field: str) -> int:
    """Return the minutes since midnight of an ``HH:MM`` time (raise ``ConfigError``)."""
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit():
        raise ConfigError(f"telegram.{field}: {text!r} is not HH:MM")
    value = int(hours) * 60 + int(minutes)
    if int(hours) > 23 or int(minutes) > 59:
        raise ConfigError(f"telegram.{field}: {text!r} is not a time of day")
    return value


class ThrottleConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """At most ``max_per_window`` alerts of one kind per ``window_s``; the rest are counted
    and summarized ("k more <kind> alerts") when the window ends."""

    max_per_window: int = 5
    window_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_per_window < 1:
            raise ConfigError("telegram.throttle.max_per_window: must be >= 1")
        if not self.window_s > 0:
            raise ConfigError("telegram.throttle.window_s: must be > 0")


class QuietHours(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """UTC hours when non-critical alerts are held and summarized after; ``start`` after
    ``end`` spans midnight. Halts, FLAT ALL and critical alerts always go out."""

    start: str
    end: str

    def __post_init__(self) -> None:
        start = minute_of_day(self.start, "quiet_hours.start")
        if start == minute_of_day(self.end, "quiet_hours.end"):
            raise ConfigError("telegram.quiet_hours: start and end must differ")

    def contains(self, minute: int) -> bool:
        """Return True when ``minute`` (minutes since UTC midnight) is quiet."""
        start = minute_of_day(self.start, "quiet_hours.start")
        end = minute_of_day(self.end, "quiet_hours.end")
        if start < end:
            return start <= minute < end
        return minute >= start or minute < end


class TelegramConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Run a Telegram bot over the node's control service (needs ``control:``).

    The bot token comes from the environment variable ``token_env`` or from
    ``token_file`` (readable by its owner only); it is never written to a log.
    """

    token_env: str = ""
    token_file: Path | None = None
    chats: tuple[int, ...]
    """The allow-listed chat ids: only they may read or command, only they get alerts."""
    confirm_timeout_s: float = 30.0
    """How long the confirmation button of /flatall and /reset stays valid."""
    flat_wait_s: float = 10.0
    """How long /flatall waits for the node to be flat before it reports."""
    throttle: ThrottleConfig = ThrottleConfig()
    quiet_hours: QuietHours | None = None
    daily_report_utc: str = ""
    """``HH:MM`` (UTC) at which /report's message goes to every chat each day ("": never)."""
    alert_kinds: tuple[str, ...] = ()
    """Only these kinds are sent (empty: every kind); halts, FLAT ALL and critical alerts
    always are."""
    queue_size: int = 1000
    """Alerts waiting to be sent; past it the newest are dropped (and counted), the node
    never waits for Telegram."""
    base_url: str = "https://api.telegram.org/bot"
    """The Bot API root the token is appended to (a local server in tests)."""
    base_file_url: str = "https://api.telegram.org/file/bot"
    poll_timeout_s: float = 10.0
    """The long poll of ``getUpdates``."""
    send_attempts: int = 5
    """Tries per message (a 429 waits its ``retry_after``; network errors back off)."""

    def __post_init__(self) -> None:
        if bool(self.token_env) == (self.token_file is not None):
            raise ConfigError("telegram: give exactly one of token_env and token_file")
        if not self.chats:
            raise ConfigError("telegram.chats: allow-list at least one chat id")
        if not self.confirm_timeout_s > 0:
            raise ConfigError("telegram.confirm_timeout_s: must be > 0")
        if not 0 <= self.flat_wait_s <= 60:
            raise ConfigError("telegram.flat_wait_s: must be within 0..60")
        if self.queue_size < 1 or self.send_attempts < 1:
            raise ConfigError("telegram.queue_size and send_attempts: must be >= 1")
        if self.daily_report_utc:
            minute_of_day(self.daily_report_utc, "daily_report_utc")
        if not self.poll_timeout_s >= 0:
            raise ConfigError("telegram.poll_timeout_s: must be >= 0")
