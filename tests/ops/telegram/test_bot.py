"""The bot with the real python-telegram-bot against the fake Bot API (real HTTP), over a
real node's control service: allow-list, confirmations, throttling, 429s."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from tests.ops.telegram.fake_bot_api import FakeBotApi
from tests.ops.telegram.harness import (
    BOT_TOKEN,
    CHAT,
    OTHER_CHAT,
    IdleNode,
    bot_config,
    command,
    wait_until,
)  # fmt: skip
from tradefabric.ops.alerts import ALERTS, Alert, AlertLevel
from tradefabric.ops.telegram.bot import TelegramBot
from tradefabric.ops.telegram.config import QuietHours, ThrottleConfig
from tradefabric.risk.audit import read_audit


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    server = FakeBotApi(BOT_TOKEN).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def idle(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[IdleNode]:
    monkeypatch.setenv("TG_TEST_TOKEN", BOT_TOKEN)
    node = IdleNode(shared_data, tmp_path / "audit.jsonl")
    try:
        yield node
    finally:
        node.stop()


def _alert(kind: str, i: int, level: AlertLevel = AlertLevel.WARNING) -> Alert:
    return Alert(kind=kind, level=level, component="test", message=f"{kind} number {i}", ts=i)


def test_status_and_help_answer_from_the_service(fake: FakeBotApi, idle: IdleNode) -> None:
    idle.start_bot(bot_config(fake))
    assert [c.method for c in fake.calls[:3]] == ["getMe", "setMyCommands", "deleteWebhook"]
    menu = fake.calls[1].params["commands"]
    assert {c["command"] for c in menu} >= {"status", "flatall", "reset", "report"}
    reply = command(fake, "/status", contains="equity")
    assert "mode backtest, trading" in reply.params["text"]
    assert "equity 100,000.00" in reply.params["text"] and "strategies: ema" in reply.params["text"]
    assert "/flatall" in command(fake, "/help").params["text"]
    assert command(fake, "/positions").params["text"] == "no open positions"
    assert command(fake, "/pause nope").params["text"].startswith("refused: pause: no strategy")


def test_pause_and_halt_go_through_the_service_and_are_audited(
    fake: FakeBotApi, idle: IdleNode
) -> None:
    idle.start_bot(bot_config(fake))
    reply = command(fake, "/pause ema news soon", contains="pause: strategy")
    assert reply.params["text"].startswith("pause: strategy ema paused")
    assert idle.on_loop(lambda: dict(idle.node.kernel.risk.paused)) == {"ema": "news soon"}
    command(fake, "/resume ema", contains="resume: strategy")
    assert idle.on_loop(lambda: dict(idle.node.kernel.risk.paused)) == {}
    assert "usage: /halt" in command(fake, "/halt").params["text"]
    command(fake, "/halt fat finger", contains="halt: trading halted")
    assert idle.on_loop(lambda: idle.node.kernel.risk.halted)
    # The halt is also an alert to every allow-listed chat (once, from the risk engine).
    fake.reply_to(CHAT, 0, "HALT by telegram:@user4242: fat finger")
    records = [(r.kind, msgspec.json.decode(r.data)) for r in read_audit(idle.audit_path)]
    commands = [(d["command"], d["operator"]) for k, d in records if k == "control"]
    assert commands == [("pause", "telegram:@user4242"), ("resume", "telegram:@user4242"),
                        ("halt", "telegram:@user4242")]  # fmt: skip


def test_a_chat_not_allow_listed_is_refused_and_audited(fake: FakeBotApi, idle: IdleNode) -> None:
    bot = idle.start_bot(bot_config(fake))
    reply = command(fake, "/halt take over", chat=OTHER_CHAT)
    assert reply.params["text"].startswith("This chat is not allowed")
    reply = command(fake, "/status", chat=OTHER_CHAT)
    assert "not allowed" in reply.params["text"] and "equity" not in reply.params["text"]
    command(fake, "/flatall", chat=OTHER_CHAT, contains="not allowed")
    assert not idle.on_loop(lambda: idle.node.kernel.risk.halted)
    assert bot.commands is not None and bot.commands.refused == 3
    denied = [msgspec.json.decode(r.data) for r in read_audit(idle.audit_path)
              if r.kind == "control_denied"]  # fmt: skip
    assert [(d["command"], d["operator"]) for d in denied] == [
        ("halt", "telegram:@user9999 (refused chat)"),
        ("flat_all", "telegram:@user9999 (refused chat)"),
    ]
    assert not any(r.kind == "control" for r in read_audit(idle.audit_path))
    # Nothing the foreign chat did reached the allow-listed chat, and no alert went to it.
    foreign = [c for c in fake.sent() if c.params["chat_id"] != CHAT]
    assert {c.params["chat_id"] for c in foreign} == {OTHER_CHAT}
    assert all(c.params["text"].startswith("This chat is not allowed") for c in foreign)


def test_an_expired_confirmation_does_nothing(fake: FakeBotApi, idle: IdleNode) -> None:
    idle.start_bot(bot_config(fake, confirm_timeout_s=0.5))
    command(fake, "/halt for the reset test", contains="halt: trading halted")
    asked = command(fake, "/reset all checked", contains="Confirm within 0.5 s")
    buttons = asked.params["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["Confirm", "Cancel"]
    asked_at = asked.at
    wait_until("the confirmation to expire", lambda: time.monotonic() > asked_at + 0.6)
    mark = fake.mark()
    fake.press(CHAT, asked.params["message_id"], buttons[0]["callback_data"])
    reply = fake.reply_to(CHAT, mark, "expired")
    assert reply.params["text"] == "confirmation expired after 0.5 s: nothing done"
    answered = fake.wait_for("the press to be answered",
                             lambda c: c.method == "answerCallbackQuery", after=mark)  # fmt: skip
    assert "expired" in answered.params["text"]
    assert idle.on_loop(lambda: idle.node.kernel.risk.halted), "an expired reset acted"
    # Pressed again, the same button is now unknown: still nothing.
    mark = fake.mark()
    fake.press(CHAT, asked.params["message_id"], buttons[0]["callback_data"])
    fake.reply_to(CHAT, mark, "unknown or already used")
    assert idle.on_loop(lambda: idle.node.kernel.risk.halted)


def test_a_foreign_press_does_nothing_the_askers_press_acts(
    fake: FakeBotApi, idle: IdleNode
) -> None:
    idle.start_bot(bot_config(fake))
    command(fake, "/halt before reset", contains="halt: trading halted")
    asked = command(fake, "/reset checked twice", contains="Confirm within 30 s")
    data = asked.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    mark = fake.mark()
    fake.press(CHAT, asked.params["message_id"], data, user_id=555)  # someone else in the chat
    assert fake.reply_to(CHAT, mark, "not your").params["text"] == (
        "not your confirmation: nothing done"
    )
    assert idle.on_loop(lambda: idle.node.kernel.risk.halted)
    mark = fake.mark()
    fake.press(CHAT, asked.params["message_id"], data)
    fake.reply_to(CHAT, mark, "reset: halt reset")
    assert not idle.on_loop(lambda: idle.node.kernel.risk.halted)
    edited = fake.sent(CHAT, "editMessageText")[-1]
    assert edited.params["text"] == "reset: confirmed by telegram:@user4242, running"


def test_a_burst_of_alerts_is_throttled_and_summarized(fake: FakeBotApi, idle: IdleNode) -> None:
    bot = idle.start_bot(bot_config(fake, throttle=ThrottleConfig(max_per_window=3, window_s=2.0)))
    mark = fake.mark()
    idle.on_loop(lambda: [idle.node.bus.publish(ALERTS, _alert("trade_gap", i)) for i in range(50)])
    summary = fake.reply_to(CHAT, mark, "more trade_gap alerts", timeout_s=10)
    assert summary.params["text"] == "47 more trade_gap alerts in 2 s (throttled)"
    texts = [t for t in fake.texts(CHAT)[-4:]]
    assert texts == [
        "[warning] trade_gap number 0 [test]", "[warning] trade_gap number 1 [test]",
        "[warning] trade_gap number 2 [test]", summary.params["text"],
    ]  # fmt: skip
    assert bot.inbox.received == 50 and bot.inbox.dropped == 0


def test_a_429_is_retried_after_retry_after(fake: FakeBotApi, idle: IdleNode) -> None:
    bot = idle.start_bot(bot_config(fake))
    fake.fail_next("sendMessage", 429, retry_after=1)
    mark = fake.mark()
    idle.on_loop(
        lambda: idle.node.bus.publish(ALERTS, _alert("feed_failed", 1, AlertLevel.CRITICAL))
    )
    delivered = fake.reply_to(CHAT, mark, "feed_failed number 1")
    refused = [c for c in fake.calls[mark:] if c.method == "sendMessage" and c.status == 429]
    assert len(refused) == 1
    waited = delivered.at - refused[0].at
    assert waited >= 1.0, f"retried after {waited:.3f} s, before retry_after"
    assert bot.sender is not None and bot.sender.retried == 1 and bot.sender.failed == 0


def test_an_outage_never_blocks_the_node(fake: FakeBotApi, idle: IdleNode) -> None:
    bot = idle.start_bot(bot_config(fake, queue_size=20, send_attempts=2))
    fake.fail_next("sendMessage", 500, times=1000)
    started = time.perf_counter()
    idle.on_loop(lambda: [idle.node.bus.publish(ALERTS, _alert("book_invalid", i))
                          for i in range(500)])  # fmt: skip
    publish_s = time.perf_counter() - started
    assert publish_s < 1.0, f"publishing 500 alerts took {publish_s:.3f} s"
    assert bot.inbox.received == 500
    wait_until("the queue to overflow", lambda: bot.inbox.dropped > 0)
    assert len(bot.inbox) <= 20
    # The node still answers at once while Telegram fails.
    assert idle.service.status().mode == "backtest"


def test_quiet_hours_hold_alerts_but_never_a_halt(fake: FakeBotApi, idle: IdleNode) -> None:
    night = dt.datetime(2026, 12, 4, 23, 0, tzinfo=dt.UTC).timestamp()
    clock = [night]
    quiet = QuietHours(start="22:00", end="07:00")
    idle.start_bot(bot_config(fake, quiet_hours=quiet), now=lambda: clock[0])
    mark = fake.mark()
    idle.on_loop(lambda: [idle.node.bus.publish(ALERTS, _alert("trade_gap", i)) for i in range(4)])
    command(fake, "/halt night halt", contains="halt: trading halted")
    fake.reply_to(CHAT, mark, "[critical] HALT by telegram:@user4242: night halt")
    assert not [t for t in fake.texts(CHAT) if "trade_gap" in t]
    clock[0] = night + 8.5 * 3600  # 07:30 UTC
    summary = fake.reply_to(CHAT, mark, "quiet hours over")
    assert summary.params["text"] == (
        "quiet hours over: 4 alerts held (4 trade_gap); last: [warning] trade_gap number 3 [test]"
    )


def test_the_daily_report_goes_out_at_its_time(fake: FakeBotApi, idle: IdleNode) -> None:
    early = dt.datetime(2026, 12, 4, 6, 59, 30, tzinfo=dt.UTC).timestamp()
    clock = [early]
    idle.start_bot(bot_config(fake, daily_report_utc="07:00"), now=lambda: clock[0])
    mark = fake.mark()
    assert "report" in command(fake, "/report", contains="report (backtest)").params["text"]
    assert not [t for t in fake.texts(CHAT) if t.startswith("daily report")]
    clock[0] = early + 31
    daily = fake.reply_to(CHAT, mark, "daily report (backtest)")
    assert "equity 100,000.00" in daily.params["text"]
    assert "balance binance USDT 100,000.0000" in daily.params["text"]
    clock[0] += 3600  # an hour later: not again
    command(fake, "/help")
    assert len([t for t in fake.texts(CHAT) if t.startswith("daily report")]) == 1


def test_telegram_down_at_start_is_retried_and_a_wrong_token_gives_up(
    fake: FakeBotApi, idle: IdleNode
) -> None:
    fake.fail_next("getMe", 502, times=2)
    idle.start_bot(bot_config(fake))  # ready once getMe answers: after 1 s and 2 s of backoff
    attempts = [c for c in fake.calls if c.method == "getMe"]
    assert [c.status for c in attempts] == [502, 502, 200]
    assert attempts[2].at - attempts[0].at >= 3.0
    assert "equity" in command(fake, "/status", contains="equity").params["text"]


def test_a_refused_token_leaves_the_node_running(
    fake: FakeBotApi, shared_data: Path, tmp_path: Path
) -> None:
    node = IdleNode(shared_data, tmp_path / "audit.jsonl")
    try:
        bot = TelegramBot(node.service, bot_config(fake), "control-token-for-telegram",
                          "1:wrong-token")  # fmt: skip
        node.on_loop(bot.start)
        wait_until("getMe to be refused", lambda: [c for c in fake.calls if c.status == 401])
        wait_until("the bot thread to give up", lambda: not bot.alive())
        assert not bot.ready.is_set()
        assert node.service.status().mode == "backtest"
        bot.stop()
    finally:
        node.stop()
