"""End to end: a paper node on the fake Binance venue (real sockets) with its control
service and a Telegram bot (python-telegram-bot against the fake Bot API, real HTTP);
everything below goes through Telegram as an operator would, with logs at DEBUG.

The tests share one node and run in file order: read, pause, FLAT ALL (an expired
press first), then the logs and the audit once the node has stopped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
import structlog

from tests.ops.control.harness import Api, PaperNodeThread, control_config, wait_for
from tests.ops.telegram.fake_bot_api import FakeBotApi
from tests.ops.telegram.harness import BOT_TOKEN, CHAT, bot_config, command
from tradefabric.core.logging import configure_logging
from tradefabric.risk.audit import read_audit
from tradefabric.risk.audit_verify import verify_audit

pytestmark = pytest.mark.slow
STRATEGY = "ema_btc_1s"
CONFIRM_S = 3.0


class Running(msgspec.Struct):
    node: PaperNodeThread
    api: Api
    fake: FakeBotApi
    logs: list[Path]


@pytest.fixture(scope="module")
def running(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    base = tmp_path_factory.mktemp("telegram")
    logs = [base / "structlog.jsonl", base / "stdlib.log"]
    # Everything at DEBUG: the project's structlog lines and every library's stdlib records.
    handler = logging.FileHandler(logs[1])
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    old_structlog = structlog.get_config()
    structlog_file = logs[0].open("w")
    configure_logging("DEBUG", json_logs=True, stream=structlog_file)
    os.environ["TG_TEST_TOKEN"] = BOT_TOKEN
    fake = FakeBotApi(BOT_TOKEN).start()
    recording = shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
    config = msgspec.structs.replace(
        control_config(recording),
        telegram=bot_config(fake, confirm_timeout_s=CONFIRM_S, flat_wait_s=15.0),
    )
    node = PaperNodeThread(config, recording, base / "run", speed=10.0)
    try:
        url = node.start()
        yield Running(node=node, api=Api(url), fake=fake, logs=logs)
    finally:
        if node.result is None and node.error is None:
            node.stop()
        fake.stop()
        os.environ.pop("TG_TEST_TOKEN", None)
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
        structlog.configure(**old_structlog)
        structlog_file.close()


def _number(text: str, label: str) -> int:
    match = re.search(rf"{label} (\d+)", text)
    assert match, (label, text)
    return int(match.group(1))


def test_status_answers_with_the_nodes_numbers(running: Running) -> None:
    api, fake = running.api, running.fake
    wait_for("the node to trade", lambda: api.get("/api/status")["trades"] > 0)
    before = api.get("/api/status")
    text = command(fake, "/status", contains="equity").params["text"]
    after = api.get("/api/status")
    assert text.startswith("mode paper, trading")
    assert f"strategies: {STRATEGY}" in text
    assert before["trades"] <= _number(text, "trades") <= after["trades"]
    parsed = _number(text, "feed binance: parsed")
    assert before["data"]["venues"][0]["parsed"] <= parsed <= after["data"]["venues"][0]["parsed"]
    equity = float(re.search(r"equity ([\d,.]+)", text).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert equity == pytest.approx(after["equity"], abs=50.0)  # marked a moment apart
    assert "PnL total" in command(fake, "/pnl").params["text"]
    assert "balance binance USDT" in command(fake, "/report", contains="report").params["text"]


def test_pause_makes_the_risk_engine_reject_the_strategys_orders(running: Running) -> None:
    api, fake = running.api, running.fake
    wait_for("the strategy to open a position", lambda: api.get("/api/positions"), timeout_s=40)
    reply = command(fake, f"/pause {STRATEGY} from telegram", contains="pause: strategy")
    assert reply.params["text"] == (
        f"pause: strategy {STRATEGY} paused: its new orders are rejected until resumed"
    )
    assert api.get("/api/risk")["paused"] == {STRATEGY: "from telegram"}
    wait_for("a paused order to be rejected", lambda: api.get("/api/risk")["rejected"] > 0,
             timeout_s=30)  # fmt: skip
    assert set(api.get("/api/risk")["rejected_by_rule"]) == {"strategy_paused"}
    alert = fake.reply_to(CHAT, 0, f"order rejected {STRATEGY}")
    assert "paused" in alert.params["text"]
    assert api.get("/api/positions"), "the paused strategy closed its position"


def test_a_feed_outage_is_told_and_so_is_the_recovery(running: Running) -> None:
    fake, node = running.fake, running.node
    assert node.server is not None and node.node is not None and node.node.control is not None
    loop = node.node.control[0].bridge.loop  # the node's loop, where the fake venue runs too
    mark = fake.mark()
    asyncio.run_coroutine_threadsafe(node.server.drop_connections(), loop).result(10)
    down = fake.reply_to(CHAT, mark, "book invalid: connection lost")
    assert down.params["text"].startswith("[warning] binance BTC/USDT book invalid")
    fake.reply_to(CHAT, mark, "[info] binance BTC/USDT book synced again")


def test_an_expired_flatall_does_nothing_then_a_confirmed_one_ends_flat(running: Running) -> None:
    api, fake = running.api, running.fake

    def held() -> list[tuple[str, float]]:
        return [(p["symbol"], p["quantity"]) for p in api.get("/api/positions")]

    before = held()
    assert before
    asked = command(fake, "/flatall", contains="FLAT ALL")
    data = asked.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    wait_for("the confirmation to expire", lambda: time.monotonic() > asked.at + CONFIRM_S + 0.2)
    mark = fake.mark()
    fake.press(CHAT, asked.params["message_id"], data)
    fake.reply_to(CHAT, mark, "confirmation expired after 3 s: nothing done")
    assert held() == before and api.get("/api/risk")["paused"] == {STRATEGY: "from telegram"}
    asked = command(fake, "/flatall", contains="FLAT ALL")
    data = asked.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    mark = fake.mark()
    fake.press(CHAT, asked.params["message_id"], data)
    done = fake.reply_to(CHAT, mark, "FLAT ALL done", timeout_s=40)
    assert done.params["text"].startswith("FLAT ALL done: flat")
    assert api.get("/api/positions") == [] and api.get("/api/orders") == []
    assert api.get("/api/fills?limit=5")[-1]["strategy_id"] == "control"
    fake.reply_to(CHAT, mark, "FLAT ALL: flat [control]")  # the alert every chat gets


def test_the_token_is_in_no_log_and_the_audit_verifies(running: Running) -> None:
    running.node.stop()
    run_dir = running.node.run_dir
    structlog_text, stdlib_text = (p.read_text() for p in running.logs)
    # DEBUG really was on: the libraries logged the URLs (redacted) and every call.
    assert "Calling Bot API endpoint `sendMessage`" in stdlib_text
    assert "/bot<telegram-token>" in stdlib_text
    assert "telegram_bot_polling" in structlog_text
    for path in [*running.logs, *run_dir.rglob("*")]:
        if path.is_file():
            assert BOT_TOKEN.encode() not in path.read_bytes(), f"the bot token is in {path}"
    texts = running.fake.texts(CHAT)
    once = ["FLAT ALL: flat [control]", f"strategy {STRATEGY} paused", "book synced again"]
    for told in once:  # each alert arrived once
        assert len([t for t in texts if told in t and t.startswith("[")]) == 1, told
    assert verify_audit(run_dir).ok
    records = read_audit(run_dir / "audit.jsonl")
    commands = [msgspec.json.decode(r.data) for r in records if r.kind == "control"]
    assert [(c["command"], c["operator"]) for c in commands] == [
        ("pause", "telegram:@user4242"),
        ("flat_all", "telegram:@user4242"),
    ]
