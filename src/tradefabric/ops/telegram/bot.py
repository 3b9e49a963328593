"""The Telegram bot of a running node: python-telegram-bot on a thread and loop of its own.

The node's loop only appends events to a bounded ``Inbox`` (``notices.subscribe``);
everything Telegram (long polling, commands, alert sending with its retries and
flood waits) runs here, so a Telegram outage or a 429 never blocks or stops the node.
Commands go through the control service only.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable

import msgspec
import structlog
from telegram import BotCommand, Update
from telegram.error import InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, TypeHandler

from tradefabric.core.errors import RetryableError
from tradefabric.ops.control.service import ControlService
from tradefabric.ops.telegram.commands import Commands, build_report, commands_menu
from tradefabric.ops.telegram.config import (
    QuietHours,
    TelegramConfig,
    ThrottleConfig,
    minute_of_day,
)
from tradefabric.ops.telegram.confirm import Confirmations
from tradefabric.ops.telegram.gate import AlertGate, Daily
from tradefabric.ops.telegram.notices import OWNER, Inbox, notice_of, subscribe
from tradefabric.ops.telegram.secret import read_token, redact, redact_logs
from tradefabric.ops.telegram.send import Sender, retry_after_s

log = structlog.get_logger(__name__)
TICK_S = 0.25
"""How often the alert pump looks for due summaries when nothing arrives."""
DRAIN_S = 5.0
"""On stop, how long queued alerts may still take to go out."""


class TelegramBot:
    """Serve ``config.chats`` over ``service``; ``start`` on the node's loop, ``stop`` from
    any other thread."""

    def __init__(
        self, service: ControlService, config: TelegramConfig, control_token: str, token: str,
        *, now: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        """Build the bot (nothing runs until ``start``); ``now`` is the gate's wall clock."""
        self._service = service
        self._config = config
        self._control_token = control_token
        self._token = token
        self._gate = AlertGate(config.throttle, config.quiet_hours, now)
        self._daily = (
            Daily(minute_of_day(config.daily_report_utc, "daily_report_utc"), now)
            if config.daily_report_utc
            else None
        )
        self.inbox = Inbox(config.queue_size, self._wake)
        self.ready = threading.Event()
        self.sender: Sender | None = None
        self.commands: Commands | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._woken: asyncio.Event | None = None
        self._wake_asked = False
        self._stopping: asyncio.Event | None = None
        self._stop_asked = threading.Event()
        self._dropped_told = 0
        self._undo_redaction: Callable[[], None] = lambda: None
        self._thread = threading.Thread(target=self._run, name="telegram", daemon=True)

    # --- lifecycle ---

    def start(self) -> None:
        """Subscribe to the node's events (call on its loop) and start the bot's thread."""
        self._undo_redaction = redact_logs(self._token)
        self._service.read(lambda node: subscribe(node.bus, self.inbox))
        self._thread.start()

    def stop(self, timeout_s: float = 15.0) -> None:
        """Unsubscribe, send what is queued (briefly), stop polling; call off the node's loop."""
        with contextlib.suppress(RetryableError):  # the node's loop is gone: nothing publishes
            self._service.read(lambda node: node.bus.unsubscribe_owner(OWNER))
        self._stop_asked.set()  # before reading the loop: a bot still starting sees it
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the bot's loop ended on its own
                loop.call_soon_threadsafe(stopping.set)
        self._thread.join(timeout_s)
        self._undo_redaction()

    def alive(self) -> bool:
        """Return True while the bot's thread runs (it ends on stop or a refused token)."""
        return self._thread.is_alive()

    def _wake(self) -> None:
        # On the node's loop: one cheap wake-up per batch, never a wait.
        loop, woken = self._loop, self._woken
        if loop is None or woken is None or self._wake_asked:
            return
        self._wake_asked = True
        with contextlib.suppress(RuntimeError):  # the bot's loop is closed: the event stays queued
            loop.call_soon_threadsafe(woken.set)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as exc:  # the bot is an operator channel: it never takes the node down
            log.error("telegram_bot_failed", error=redact(repr(exc), self._token))

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._woken = asyncio.Event()
        self._stopping = asyncio.Event()
        if self._stop_asked.is_set():
            self._stopping.set()
        app = self._application()
        pump = asyncio.create_task(self._pump())
        try:
            if await self._connect(app):
                await self._stopping.wait()
        finally:
            await self._drain()
            pump.cancel()
            await self._shutdown(app)

    def _application(self) -> Application:  # type: ignore[type-arg]
        config = self._config
        app = (
            Application.builder().token(self._token).base_url(config.base_url)
            .base_file_url(config.base_file_url).build()
        )  # fmt: skip
        self.sender = Sender(app.bot, config.send_attempts, self._token)
        confirmations = Confirmations(config.confirm_timeout_s)
        commands = Commands(self._service, self._control_token, config.chats, self.sender,
                            confirmations, flat_wait_s=config.flat_wait_s)  # fmt: skip
        self.commands = commands
        app.add_handler(TypeHandler(Update, commands.guard), group=-1)
        for name, callback in commands.table().items():
            app.add_handler(CommandHandler(name, callback))
        app.add_handler(CallbackQueryHandler(commands.on_button))
        app.add_error_handler(commands.on_error)
        return app

    async def _connect(self, app: Application) -> bool:  # type: ignore[type-arg]
        """Initialize (getMe) until it works or the bot stops; then poll. False: stopped."""
        assert self._stopping is not None and self.sender is not None
        backoff = 1.0
        while not self._stopping.is_set():
            try:
                await app.initialize()
                break
            except InvalidToken:
                log.error("telegram_token_refused")
                return False
            except RetryAfter as exc:
                wait = retry_after_s(exc)
            except TelegramError as exc:
                wait, backoff = backoff, min(backoff * 2, 60.0)
                log.warning("telegram_unreachable", error=redact(str(exc), self._token),
                            retry_in_s=wait)  # fmt: skip
            if await self._stopped_within(wait):
                return False
        else:
            return False
        menu = [BotCommand(name, description) for name, description in commands_menu()]
        await self.sender.call("setMyCommands", lambda: app.bot.set_my_commands(menu))
        assert app.updater is not None
        await app.updater.start_polling(timeout=dt.timedelta(seconds=self._config.poll_timeout_s),
                                        error_callback=self._poll_error)  # fmt: skip
        await app.start()
        self.ready.set()
        self._wake_asked = False
        assert self._woken is not None
        self._woken.set()  # send what queued up while connecting
        log.info("telegram_bot_polling", chats=len(self._config.chats))
        return True

    def _poll_error(self, error: TelegramError) -> None:
        # python-telegram-bot retries the poll itself; say so without the token.
        log.warning("telegram_poll_error", error_type=type(error).__name__,
                    error=redact(str(error), self._token))  # fmt: skip

    async def _stopped_within(self, seconds: float) -> bool:
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _shutdown(self, app: Application) -> None:  # type: ignore[type-arg]
        try:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await app.shutdown()
        except TelegramError as exc:
            log.warning("telegram_shutdown_error", error=redact(str(exc), self._token))

    # --- alerts ---

    async def _pump(self) -> None:
        assert self._woken is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), TICK_S)
            self._woken.clear()
            self._wake_asked = False
            if not self.ready.is_set():
                continue
            try:
                await self._send_due()
            except Exception as exc:  # one bad alert must not silence every later one
                log.error("telegram_alert_failed", error=redact(repr(exc), self._token))

    def set_alert_limits(
        self, throttle: ThrottleConfig, quiet: QuietHours | None, kinds: tuple[str, ...]
    ) -> None:
        """Apply a reloaded config's throttle, quiet hours and alert kinds (any thread:
        the bot's thread reads each as one attribute)."""
        self._config = msgspec.structs.replace(
            self._config, throttle=throttle, quiet_hours=quiet, alert_kinds=kinds
        )
        self._gate.configure(throttle, quiet)

    async def _send_due(self) -> None:
        texts: list[str] = []
        kinds = self._config.alert_kinds
        for event in self.inbox.take():
            notice = notice_of(event)
            if not kinds or notice.kind in kinds or notice.always:
                texts += self._gate.admit(notice)
        texts += self._gate.due()
        dropped = self.inbox.dropped
        if dropped > self._dropped_told:
            texts.append(f"{dropped - self._dropped_told} alerts dropped: the Telegram queue "
                         f"({self._config.queue_size}) was full")  # fmt: skip
            self._dropped_told = dropped
        if self._daily is not None and self._daily.due():
            try:
                texts.append("daily " + await asyncio.to_thread(build_report, self._service))
            except RetryableError as exc:
                texts.append(f"daily report: the node did not answer: {exc}")
        for message in texts:
            await self._broadcast(message)

    async def _broadcast(self, message: str) -> None:
        assert self.sender is not None
        for chat_id in self._config.chats:
            await self.sender.send(chat_id, message)

    async def _drain(self) -> None:
        if not self.ready.is_set() or not len(self.inbox):
            return
        try:
            await asyncio.wait_for(self._send_due(), DRAIN_S)
        except TimeoutError:
            log.warning("telegram_alerts_unsent", queued=len(self.inbox))


def start_telegram(
    service: ControlService, config: TelegramConfig, control_token: str, token: str = ""
) -> TelegramBot:
    """Start the bot of ``service``'s node (call on its loop); the bot token is ``token``,
    or read as ``config`` says when empty."""
    bot = TelegramBot(service, config, control_token, token or read_token(config))
    bot.start()
    return bot
