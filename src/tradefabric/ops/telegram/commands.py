"""The bot's commands: each one call of the control service, answered in the chat.

Only allow-listed chats are served; any other chat is refused, and a refused
command goes through the service's denied path (audited as ``control_denied``).
/flatall and /reset ask for a button press first (``confirm.Confirmations``).
The service blocks until the node's loop has answered, so it is called from a worker
thread (``asyncio.to_thread``): the bot's loop keeps polling meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, User
from telegram.ext import ApplicationHandlerStop, ContextTypes

from tradefabric.core.errors import RetryableError, TradefabricError
from tradefabric.ops.control.service import ControlService
from tradefabric.ops.control.views import Credentials
from tradefabric.ops.telegram import text
from tradefabric.ops.telegram.confirm import Confirmations, Pending
from tradefabric.ops.telegram.send import Sender

log = structlog.get_logger(__name__)
Context = ContextTypes.DEFAULT_TYPE
Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]
MAX_TEXT = 4000
"""Telegram refuses messages over 4096 characters."""
REFUSAL = "This chat is not allowed to operate this node. Nothing was done."
DENIED: dict[str, Callable[[ControlService, Credentials], object]] = {
    "pause": lambda s, c: s.pause(c, "", ""),
    "resume": lambda s, c: s.resume(c, ""),
    "halt": lambda s, c: s.halt(c, "refused chat"),
    "reset": lambda s, c: s.reset(c, "refused chat"),
    "flatall": lambda s, c: s.flat_all(c, 0.0),
}
"""Commands a refused chat tried, sent with no token: the service audits the refusal."""


def operator_of(user: User | None, chat_id: int) -> str:
    """Return the operator name a Telegram user is audited under."""
    if user is None:
        return f"telegram:chat{chat_id}"
    return f"telegram:{'@' + user.username if user.username else user.id}"


def command_of(message_text: str) -> str:
    """Return the command of ``/pause@bot x`` ("pause"), "" for plain text."""
    if not message_text.startswith("/"):
        return ""
    return message_text.split(maxsplit=1)[0][1:].split("@", maxsplit=1)[0].lower()


class Commands:
    """The handlers python-telegram-bot calls; see the module docstring."""

    def __init__(
        self, service: ControlService, control_token: str, chats: tuple[int, ...],
        sender: Sender, confirmations: Confirmations, *, flat_wait_s: float,
    ) -> None:  # fmt: skip
        """Serve ``chats`` through ``service`` with ``control_token``."""
        self._service = service
        self._token = control_token
        self._chats = frozenset(chats)
        self._sender = sender
        self._confirmations = confirmations
        self._flat_wait_s = flat_wait_s
        self.refused = 0

    def table(self) -> dict[str, Callback]:
        """Return the command name -> handler table."""
        return {
            "start": self.help, "help": self.help, "status": self.status,
            "positions": self.positions, "pnl": self.pnl, "orders": self.orders,
            "report": self.report, "pause": self.pause, "resume": self.resume,
            "halt": self.halt, "reset": self.reset, "flatall": self.flatall,
        }  # fmt: skip

    # --- the guard ---

    async def guard(self, update: Update, _context: Context) -> None:
        """Stop every update from a chat not on the allow-list (refused, audited)."""
        chat = update.effective_chat
        if chat is None or chat.id in self._chats:
            return
        self.refused += 1
        operator = operator_of(update.effective_user, chat.id)
        command = command_of(update.message.text or "") if update.message else ""
        log.warning("telegram_chat_refused", chat_id=chat.id, operator=operator, command=command)
        if command in DENIED:
            await self._deny(command, operator)
        if update.callback_query is not None:
            await self._sender.answer(update.callback_query.id, "not allowed: nothing done")
        await self._sender.send(chat.id, REFUSAL)
        raise ApplicationHandlerStop

    async def _deny(self, command: str, operator: str) -> None:
        credentials = Credentials(token="", operator=f"{operator} (refused chat)")
        # ControlAuthError, after the service wrote ``control_denied``.
        with contextlib.suppress(TradefabricError):
            await asyncio.to_thread(DENIED[command], self._service, credentials)

    # --- reads ---

    async def help(self, update: Update, _context: Context) -> None:
        """Answer the list of commands."""
        await self._reply(update, text.HELP)

    async def status(self, update: Update, _context: Context) -> None:
        """Answer the node's status."""
        await self._answer(update, lambda: text.status_text(self._service.status()))

    async def positions(self, update: Update, _context: Context) -> None:
        """Answer the open positions."""
        await self._answer(update, lambda: text.positions_text(self._service.positions()))

    async def pnl(self, update: Update, _context: Context) -> None:
        """Answer the PnL."""
        await self._answer(update, lambda: "\n".join(text.pnl_lines(self._service.pnl())))

    async def orders(self, update: Update, _context: Context) -> None:
        """Answer the open orders."""
        await self._answer(update, lambda: text.orders_text(self._service.open_orders()))

    async def report(self, update: Update, _context: Context) -> None:
        """Answer the report (money, positions, balances, fills, risk)."""
        await self._answer(update, lambda: build_report(self._service))

    # --- commands ---

    async def pause(self, update: Update, context: Context) -> None:
        """Pause the strategy named first; the rest of the line is the reason."""
        args = context.args or []
        if not args:
            await self._reply(update, "usage: /pause <strategy> [reason]")
            return
        reason = " ".join(args[1:]) or "paused from Telegram"
        creds = self._credentials(update)
        await self._answer(update, lambda: text.command_text(
            self._service.pause(creds, args[0], reason)))  # fmt: skip

    async def resume(self, update: Update, context: Context) -> None:
        """Resume the strategy named."""
        args = context.args or []
        if not args:
            await self._reply(update, "usage: /resume <strategy>")
            return
        creds = self._credentials(update)
        await self._answer(update, lambda: text.command_text(self._service.resume(creds, args[0])))

    async def halt(self, update: Update, context: Context) -> None:
        """Halt trading; the reason is required (it is audited)."""
        reason = " ".join(context.args or [])
        if not reason:
            await self._reply(update, "usage: /halt <reason>")
            return
        creds = self._credentials(update)
        await self._answer(update, lambda: text.command_text(self._service.halt(creds, reason)))

    async def reset(self, update: Update, context: Context) -> None:
        """Ask to confirm a halt reset; the reason is required."""
        reason = " ".join(context.args or [])
        if not reason:
            await self._reply(update, "usage: /reset <reason>")
            return
        await self._ask(update, "reset", reason, f"Reset the halt ({reason})?")

    async def flatall(self, update: Update, _context: Context) -> None:
        """Ask to confirm FLAT ALL."""
        await self._ask(update, "flatall", "",
                        "FLAT ALL: pause every strategy, cancel every order and close every "
                        "position?")  # fmt: skip

    # --- confirmations ---

    async def _ask(self, update: Update, command: str, argument: str, question: str) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return
        nonce = self._confirmations.ask(command, argument, chat.id, user.id)
        seconds = f"{self._confirmations.timeout_s:g}"
        markup = InlineKeyboardMarkup([[
            InlineKeyboardButton("Confirm", callback_data=f"ok:{nonce}"),
            InlineKeyboardButton("Cancel", callback_data=f"no:{nonce}"),
        ]])  # fmt: skip
        await self._sender.send(chat.id, f"{question}\nConfirm within {seconds} s.", markup)

    async def on_button(self, update: Update, _context: Context) -> None:
        """Act on a confirmation press, or say why it does nothing."""
        query, chat, user = update.callback_query, update.effective_chat, update.effective_user
        if query is None or chat is None or user is None or query.message is None:
            return
        action, _, nonce = (query.data or "").partition(":")
        message_id = query.message.message_id
        if action == "no":
            done = self._confirmations.cancel(nonce, chat.id, user.id)
            await self._sender.answer(query.id, "cancelled" if done else "not yours: nothing done")
            if done:
                await self._sender.edit(chat.id, message_id, "cancelled: nothing done")
            return
        verdict = self._confirmations.press(nonce, chat.id, user.id)
        if verdict.pending is None:
            await self._sender.answer(query.id, verdict.refusal)
            await self._sender.send(chat.id, verdict.refusal)
            if verdict.expired:  # the asker's own button: take it away
                await self._sender.edit(chat.id, message_id, verdict.refusal)
            return
        await self._sender.answer(query.id, "confirmed")
        await self._sender.edit(chat.id, message_id, f"{verdict.pending.command}: confirmed by "
                                f"{operator_of(user, chat.id)}, running")  # fmt: skip
        await self._confirmed(update, verdict.pending)

    async def _confirmed(self, update: Update, pending: Pending) -> None:
        creds = self._credentials(update)
        service = self._service
        if pending.command == "flatall":
            wait = self._flat_wait_s
            await self._answer(update, lambda: text.flat_text(service.flat_all(creds, wait)))
        else:
            await self._answer(update, lambda: text.command_text(
                service.reset(creds, pending.argument)))  # fmt: skip

    async def on_error(self, update: object, context: Context) -> None:
        """Log a handler's unexpected exception (no token in it) and tell the chat it failed."""
        error = context.error
        log.error("telegram_handler_failed", error_type=type(error).__name__,
                  error=self._sender.redact(str(error)))  # fmt: skip
        if isinstance(update, Update) and update.effective_chat is not None:
            reply = f"failed: {type(error).__name__} (see the node's log)"
            await self._sender.send(update.effective_chat.id, reply)

    # --- helpers ---

    def _credentials(self, update: Update) -> Credentials:
        chat = update.effective_chat
        operator = operator_of(update.effective_user, chat.id if chat else 0)
        return Credentials(token=self._token, operator=operator)

    async def _answer(self, update: Update, make: Callable[[], str]) -> None:
        """Reply with ``make()`` run off this loop; a refused or failed call says why."""
        try:
            reply = await asyncio.to_thread(make)
        except RetryableError as exc:
            reply = f"the node did not answer: {exc}"
        except TradefabricError as exc:
            reply = f"refused: {exc}"
        await self._reply(update, reply)

    async def _reply(self, update: Update, reply: str) -> None:
        chat = update.effective_chat
        if chat is not None:
            await self._sender.send(chat.id, reply[:MAX_TEXT])


def build_report(service: ControlService) -> str:
    """Return the report message, read through ``service`` (blocks: off the bot's loop)."""
    status, positions = service.status(), service.positions()
    return text.report_text(status, positions, service.balances(), service.fills(20))


def commands_menu() -> list[tuple[str, str]]:
    """Return (command, description) pairs for ``setMyCommands``."""
    pairs = []
    for line in text.HELP.splitlines()[1:]:
        name, _, description = line.partition(" - ")
        pairs.append((name.split()[0].lstrip("/"), description))
    return pairs
