"""Test side of the Telegram bot: a real node (idle, on a loop thread of its own) with its
control service and bot, talking to the fake Bot API over HTTP."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TypeVar

from tests.ops.telegram.fake_bot_api import Call, FakeBotApi
from tradefabric.core.clock import SimClock
from tradefabric.node.kernel import DataConfig, TradingConfig
from tradefabric.node.trading_node import RunMode, TradingNode
from tradefabric.ops.control.bridge import LoopBridge
from tradefabric.ops.control.service import ControlService
from tradefabric.ops.telegram.bot import TelegramBot
from tradefabric.ops.telegram.config import TelegramConfig
from tradefabric.risk.audit import AuditLog
from tradefabric.strategies.ema_cross import EmaCrossConfig

T = TypeVar("T")
BOT_TOKEN = "7000001:AAH-fake-telegram-bot-token-xyz"
CONTROL_TOKEN = "control-token-for-telegram"
CHAT = 4242
OTHER_CHAT = 9999
RECORDING = "spot_btcusdt_20240808.gz"
ALERT_PREFIXES = ("[info] ", "[warning] ", "[critical] ")
"""How alerts start (``gate.render``); a command's reply never does."""


def wait_until(what: str, condition: Callable[[], T | None], timeout_s: float = 20.0) -> T:
    """Return ``condition()``'s first truthy value; fail naming ``what`` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.02)


def bot_config(fake: FakeBotApi, **overrides: object) -> TelegramConfig:
    """Return a ``telegram:`` section for ``fake`` (token from ``TG_TEST_TOKEN``)."""
    fields: dict[str, object] = {
        "token_env": "TG_TEST_TOKEN", "chats": (CHAT,), "base_url": fake.base_url,
        "base_file_url": f"{fake.url}/file/bot", "poll_timeout_s": 1.0,
    }  # fmt: skip
    fields.update(overrides)
    return TelegramConfig(**fields)  # type: ignore[arg-type]


class IdleNode:
    """A node built (not replaying) on a loop thread, its control service and its bot."""

    def __init__(self, shared_data: Path, audit_path: Path) -> None:
        self._shared_data = shared_data
        self.audit_path = audit_path
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="idle-node", daemon=True)
        self._thread.start()
        self.node: TradingNode = self.on_loop(self._build_node)
        self.service: ControlService = self.on_loop(
            lambda: ControlService(self.node, CONTROL_TOKEN, LoopBridge(self.loop))
        )
        self.bot: TelegramBot | None = None

    def _build_node(self) -> TradingNode:
        config = TradingConfig(
            data=DataConfig(recording=self._shared_data / "binance_ws" / RECORDING),
            strategies=(
                EmaCrossConfig(id="ema", interval="1s", fast=3, slow=12, notional=1_000.0),
            ),
        )
        return TradingNode(config, RunMode.BACKTEST, SimClock(), None,
                           audit=AuditLog(self.audit_path))  # fmt: skip

    def on_loop(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the node's loop and return its result."""
        future: Future[T] = Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return future.result(10)

    def start_bot(
        self, config: TelegramConfig, now: Callable[[], float] = time.time
    ) -> TelegramBot:
        """Start a bot over the service (subscribed on the node's loop); wait until it polls."""
        bot = TelegramBot(self.service, config, CONTROL_TOKEN, BOT_TOKEN, now=now)
        self.on_loop(bot.start)
        self.bot = bot
        wait_until("the bot to poll", bot.ready.is_set)
        return bot

    def stop(self) -> None:
        """Stop the bot, then the node's loop."""
        if self.bot is not None:
            self.bot.stop()
        self.on_loop(self.node.kernel.audit.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


def command(fake: FakeBotApi, text: str, *, chat: int = CHAT, contains: str = "",
            user: int | None = None) -> Call:  # fmt: skip
    """Send ``text`` from ``chat`` and return the bot's reply (containing ``contains``),
    not an alert sent meanwhile."""
    mark = fake.mark()
    fake.user_says(chat, text, user_id=user)

    def reply(call: Call) -> bool:
        said = str(call.params.get("text", ""))
        return (call.method == "sendMessage" and call.status == 200
                and call.params.get("chat_id") == chat and contains in said
                and not said.startswith(ALERT_PREFIXES))  # fmt: skip

    return fake.wait_for(f"the reply to {text!r}", reply, after=mark)
