"""Confirmation buttons for the dangerous commands (/flatall, /reset): one use, one chat
and user, and an expiry; a press that is late, foreign or repeated does nothing."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import msgspec

FORGET_AFTER_S = 3600.0


class Pending(msgspec.Struct, frozen=True, kw_only=True):
    """A command waiting for its button press."""

    command: str
    argument: str
    chat_id: int
    user_id: int
    expires: float
    """``monotonic()`` seconds after which a press does nothing."""


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    """What a press may do: ``pending`` when it may act, else ``refusal`` says why not."""

    pending: Pending | None
    refusal: str
    expired: bool = False


class Confirmations:
    """The commands awaiting confirmation, by the nonce in their button's data."""

    def __init__(self, timeout_s: float, now: Callable[[], float] = time.monotonic) -> None:
        """Let each confirmation stand for ``timeout_s`` seconds."""
        self.timeout_s = timeout_s
        self._now = now
        self._pending: dict[str, Pending] = {}

    def ask(self, command: str, argument: str, chat_id: int, user_id: int) -> str:
        """Record a command to confirm; return the nonce of its button."""
        self._forget_expired()
        nonce = secrets.token_urlsafe(9)
        expires = self._now() + self.timeout_s
        self._pending[nonce] = Pending(command=command, argument=argument, chat_id=chat_id,
                                       user_id=user_id, expires=expires)  # fmt: skip
        return nonce

    def press(self, nonce: str, chat_id: int, user_id: int) -> Verdict:
        """Decide on a press of ``nonce``'s button by ``user_id`` in ``chat_id``."""
        pending = self._pending.get(nonce)
        if pending is None:
            return Verdict(
                pending=None, refusal="unknown or already used confirmation: nothing done"
            )
        if pending.chat_id != chat_id or pending.user_id != user_id:
            return Verdict(pending=None, refusal="not your confirmation: nothing done")
        del self._pending[nonce]
        if self._now() > pending.expires:
            refusal = f"confirmation expired after {self.timeout_s:g} s: nothing done"
            return Verdict(pending=None, refusal=refusal, expired=True)
        return Verdict(pending=pending, refusal="")

    def cancel(self, nonce: str, chat_id: int, user_id: int) -> bool:
        """Drop ``nonce``'s command when its own asker cancels; return True if dropped."""
        pending = self._pending.get(nonce)
        if pending is None or pending.chat_id != chat_id or pending.user_id != user_id:
            return False
        del self._pending[nonce]
        return True

    def _forget_expired(self) -> None:
        now = self._now()
        # Kept a while past expiry, so a late press still hears "expired", not "unknown".
        for nonce in [n for n, p in self._pending.items() if now > p.expires + FORGET_AFTER_S]:
            del self._pending[nonce]
