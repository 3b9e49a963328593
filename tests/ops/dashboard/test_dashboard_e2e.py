"""End to end in a real browser: a paper node on the fake Binance venue (real sockets,
the real recording) serves its dashboard; headless Chromium signs in, reads, clicks.

The tests share one node and one page and run in file order: refusals, the page's
numbers against the control service's, a live fill, pause, FLAT ALL, then the audit
log once the node has stopped. Screenshots are written under each test's tmp_path.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import msgspec
import pytest
from playwright.sync_api import Page

from tests.ops.control.harness import PaperNodeThread, control_config, wait_for
from tests.ops.dashboard.browser import chromium, money, qty
from tradefabric.ops.control.service import ControlService
from tradefabric.ops.dashboard.config import DashboardConfig
from tradefabric.risk.audit import read_audit
from tradefabric.risk.audit_verify import verify_audit

pytestmark = pytest.mark.slow
STRATEGY = "ema_btc_1s"
DASHBOARD_TOKEN = "dashboard-token-of-the-test"


class Running(msgspec.Struct):
    node: PaperNodeThread
    url: str
    service: ControlService
    page: Page
    clicks: list[str] = msgspec.field(default_factory=list)
    """The commands clicked, in order (the audit log must hold exactly these)."""


@pytest.fixture(scope="module")
def running(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    recording = shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
    base = tmp_path_factory.mktemp("dashboard")
    token_file = base / "dashboard.token"
    token_file.write_text(DASHBOARD_TOKEN + "\n")
    os.chmod(token_file, 0o600)
    config = msgspec.structs.replace(
        control_config(recording),
        dashboard=DashboardConfig(port=0, token_file=str(token_file), refresh_s=0.25),
    )
    # Six minutes of data at 6x: about a minute of wall time to operate the node in.
    node = PaperNodeThread(config, recording, base / "run", speed=6.0)
    node.start()
    dashboard = wait_for("the dashboard to listen", lambda: node.node and node.node.dashboard)
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        try:
            yield Running(node=node, url=dashboard.url, service=dashboard.service, page=page)
        finally:
            page.close()
            if node.result is None and node.error is None:
                node.stop()


def _post(url: str, body: object, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers=headers)  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _shot(page: Page, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def _text(page: Page, selector: str) -> str:
    return (page.text_content(selector) or "").strip()


def test_requests_without_token_or_from_another_origin_are_refused(running: Running) -> None:
    url = running.url
    auth = {"Authorization": f"Bearer {DASHBOARD_TOKEN}", "Content-Type": "application/json"}
    status, doc = _post(url + "/api/halt", {"reason": "no token"},
                        {"Content-Type": "application/json", "Origin": url})  # fmt: skip
    assert status == 403 and "no token" in doc["error"], doc
    status, doc = _post(
        url + "/api/halt", {"reason": "csrf"}, {**auth, "Origin": "http://evil.test"}
    )
    assert status == 403 and "cross-origin" in doc["error"], doc
    wrong = {**auth, "Authorization": "Bearer not-the-token", "Origin": url}
    status, doc = _post(url + "/api/halt", {"reason": "wrong"}, wrong)
    assert status == 403 and "wrong token" in doc["error"], doc
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url + "/api/snapshot", timeout=30)
    assert refused.value.code == 403
    # The control API's token is not the dashboard's (it has its own, from an owner-only file).
    control = {**auth, "Authorization": "Bearer test-control-token", "Origin": url}
    status, _ = _post(url + "/api/halt", {"reason": "x"}, control)
    assert status == 403
    assert running.service.risk().halted is False


def test_the_page_shows_the_nodes_numbers(running: Running, tmp_path: Path) -> None:
    page, service = running.page, running.service
    page.goto(running.url + "/")
    page.wait_for_selector("#login:not([hidden])")
    page.fill("#token", "not-the-token")
    page.click("#login-form button[type=submit]")
    wait_for("the refusal", lambda: _text(page, "#login-error") == "refused (403)")
    page.fill("#token", DASHBOARD_TOKEN)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login", state="hidden")
    page.fill("#operator", "tester")
    page.dispatch_event("#operator", "change")
    wait_for("the stream to be live", lambda: _text(page, "#conn") == "live")
    assert _text(page, "#mode") == "paper"
    wait_for("the page's equity to be the service's", lambda: _text(
        page, "[data-field=equity]") == money(service.status().equity))  # fmt: skip
    assert _text(page, "[data-strategy-state=ema_btc_1s]") == "active"
    balances = {b.currency: b.amount for b in service.balances()}
    shown = page.eval_on_selector_all("#balances tr", "rows => rows.map(r => r.innerText)")
    assert any("USDT" in row and qty(balances["USDT"]) in row for row in shown), shown

    # The top of book moves every trade: compare a moment where page and service agree.
    def book_agrees() -> bool:
        cells = page.eval_on_selector_all(
            "#books tr:first-child td", "c => c.map(x => x.innerText)"
        )
        btc = next(b for b in service.books() if b.symbol == "BTC/USDT")
        return cells[:3] == ["binance", "BTC/USDT", "valid"] and cells[3] == money(btc.best_bid)

    wait_for("the page's BTC/USDT bid to be the service's", book_agrees)
    parsed = int(_text(page, "#feeds tr:first-child td:nth-child(2)").replace(",", ""))
    data = service.data()
    assert data is not None and 0 < parsed <= data.venues[0].parsed
    assert "not configured" in _text(page, "#integrity-note")
    _shot(page, tmp_path, "dashboard_first")


FOREIGN_PAGE = """<!doctype html><title>waiting</title><script>
const dashboard = "DASHBOARD";
const post = (path, body, headers) => fetch(dashboard + path, {method: "POST", mode: "no-cors",
  headers, body}).then(() => "sent", () => "blocked");
(async () => {
  const halt = await post("/api/halt", JSON.stringify({reason: "csrf"}), {});
  const flat = await post("/api/flat_all", '{"confirm": "FLAT ALL"}',
    {"Content-Type": "text/plain"});
  // A JSON body needs a CORS preflight the dashboard never grants: never sent at all.
  const json = await fetch(dashboard + "/api/halt", {method: "POST", body: "{}",
    headers: {"Content-Type": "application/json"}}).then(() => "sent", () => "blocked");
  document.title = [halt, flat, json].join(" ");
})();
</script>"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_foreign_page_in_the_browser_cannot_command(running: Running, tmp_path: Path) -> None:
    (tmp_path / "foreign.html").write_text(FOREIGN_PAGE.replace("DASHBOARD", running.url))
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_Quiet, directory=str(tmp_path)))  # fmt: skip
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # Another origin (another port) in the same browser the operator is signed in with.
        page = running.page.context.new_page()
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/foreign.html")
        page.wait_for_function("document.title !== 'waiting'")
        assert page.title() == "sent sent blocked"
        page.close()
    finally:
        server.shutdown()
        server.server_close()
    assert running.service.risk().halted is False
    assert running.service.risk().paused == {}


def test_the_page_updates_live_as_fills_arrive(running: Running, tmp_path: Path) -> None:
    page, service = running.page, running.service
    fill = wait_for("the strategy's first fill", service.fills, timeout_s=60)[-1]
    row = page.wait_for_selector(f"[data-fill-id='{fill.fill_id}']", timeout=15_000)
    assert row is not None
    cells = page.eval_on_selector_all("#fills tr:first-child td", "c => c.map(x => x.innerText)")
    assert cells[1:5] == [fill.strategy_id, fill.venue, fill.symbol, str(fill.side)]
    assert cells[5:7] == [money(fill.price), qty(fill.quantity)]
    wait_for("the fill count shown to be the service's", lambda: _text(
        page, "[data-field=fills]") == str(service.status().fills))  # fmt: skip

    def position_shown() -> bool:
        held = service.positions()
        shown = _text(page, "#positions tr:first-child td:nth-child(3)")
        return bool(held) and shown == qty(held[0].quantity)

    wait_for("the position to show", position_shown)
    points = int(page.get_attribute("#equity-chart", "data-points") or "0")
    wait_for("the equity chart to grow", lambda: int(
        page.get_attribute("#equity-chart", "data-points") or "0") > points)  # fmt: skip
    _shot(page, tmp_path, "dashboard_fill")


def _click(running: Running, selector: str, command: str) -> None:
    running.page.click(selector)
    running.clicks.append(command)


def _pause_while_holding(running: Running) -> int:
    """Click pause while the strategy holds a position; return the rejections before.

    The strategy may close its position just before the pause lands (its order was
    already accepted): then resume and try again on its next position.
    """
    page, service = running.page, running.service
    pause = f"button[data-strategy={STRATEGY}][data-action=pause]"
    resume = f"button[data-strategy={STRATEGY}][data-action=resume]"
    for _ in range(4):
        wait_for("an open position", service.positions, timeout_s=40)
        rejected = service.risk().rejected
        _click(running, pause, "pause")
        wait_for("the node to pause", lambda: service.risk().paused.get(STRATEGY))
        wait_for("no order in flight", lambda: not service.open_orders())
        if service.positions():
            return rejected
        print("the strategy's close landed before the pause: resume, try its next position")
        page.wait_for_selector(resume)
        _click(running, resume, "resume")
        wait_for("the node to resume", lambda: STRATEGY not in service.risk().paused)
        page.wait_for_selector(pause)
    raise AssertionError("the strategy closed every position before the pause landed")


def test_a_click_on_pause_pauses_the_strategy(running: Running, tmp_path: Path) -> None:
    page, service = running.page, running.service
    page.fill("#reason", "paused in the browser")
    rejected = _pause_while_holding(running)
    assert service.risk().paused == {STRATEGY: "paused in the browser"}
    page.wait_for_selector(f"button[data-strategy={STRATEGY}][data-action=resume]")
    assert _text(page, f"[data-strategy-state={STRATEGY}]") == "paused: paused in the browser"
    assert "pause ema_btc_1s: strategy ema_btc_1s paused" in _text(page, "#command-log")
    # Its next order (the cross that would close the position) is rejected by the pause.
    wait_for("a paused order to be rejected", lambda: service.risk().rejected > rejected,
             timeout_s=45)  # fmt: skip
    assert set(service.risk().rejected_by_rule) == {"strategy_paused"}
    wait_for("the page's rejected count to be the service's", lambda: _text(
        page, "[data-field=risk-rejected]") == str(service.risk().rejected))  # fmt: skip
    assert "strategy_paused" in _text(page, "[data-field=risk-by-rule]")
    assert service.positions(), "the paused strategy could not close its position"
    _shot(page, tmp_path, "dashboard_paused")


def test_flat_all_needs_the_confirmation_then_the_node_is_flat(
    running: Running, tmp_path: Path
) -> None:
    page, service = running.page, running.service
    held = service.positions()
    assert held
    page.click("#flat-all")
    page.wait_for_selector("#flat-dialog[open]")
    assert page.is_disabled("#flat-go")
    page.fill("#flat-confirm", "flat all")  # not the words asked for
    assert page.is_disabled("#flat-go")
    _shot(page, tmp_path, "dashboard_flat_dialog")
    page.click("#flat-cancel")
    page.wait_for_selector("#flat-dialog", state="hidden")
    assert [p.quantity for p in service.positions()] == [p.quantity for p in held]
    page.click("#flat-all")
    page.fill("#flat-confirm", "FLAT ALL")
    _click(running, "#flat-go", "flat_all")
    wait_for("FLAT ALL's answer", lambda: "FLAT ALL: flat" in _text(page, "#command-log"),
             timeout_s=30)  # fmt: skip
    assert service.positions() == [] and service.open_orders() == []
    page.wait_for_selector("#positions td.empty")
    assert _text(page, "#positions") == "flat: no open positions"
    status = service.status()
    expected = [money(v) for v in (status.equity, status.pnl.total, status.pnl.realized,
                                   status.pnl.fees)]  # fmt: skip
    fields = ("equity", "pnl-total", "pnl-realized", "pnl-fees")
    wait_for("the page's money to be the service's",
             lambda: [_text(page, f"[data-field={f}]") for f in fields] == expected)  # fmt: skip
    assert _text(page, "#fills tr:first-child td:nth-child(2)") == "control"
    _shot(page, tmp_path, "dashboard_flat")


def test_halt_reset_and_resume_clicks_change_the_node(running: Running, tmp_path: Path) -> None:
    page, service = running.page, running.service
    page.fill("#reason", "")
    _click(running, "#halt", "halt_refused")  # no reason: the service refuses, nothing audited
    running.clicks.pop()
    wait_for("the refusal shown", lambda: "halt: refused (400)" in _text(page, "#command-log"))
    assert service.risk().halted is False
    page.fill("#reason", "browser drill")
    _click(running, "#halt", "halt")
    wait_for("the node to halt", lambda: service.risk().halted)
    assert service.risk().halt_reason.endswith("browser drill")
    wait_for("the page to show the halt", lambda: _text(page, "#trading") == "HALTED")
    _shot(page, tmp_path, "dashboard_halted")
    _click(running, "#reset", "reset")
    wait_for("the halt to be reset", lambda: not service.risk().halted)
    wait_for("the page to show trading", lambda: _text(page, "#trading") == "trading")
    _click(running, f"button[data-strategy={STRATEGY}][data-action=resume]", "resume")
    wait_for("the strategy to resume", lambda: service.risk().paused == {})
    wait_for("the page to show it active",
             lambda: _text(page, f"[data-strategy-state={STRATEGY}]") == "active")  # fmt: skip


def test_the_audit_log_holds_the_clicks_and_the_refusals(running: Running) -> None:
    running.node.stop()
    run_dir = running.node.run_dir
    assert verify_audit(run_dir).ok
    records = read_audit(run_dir / "audit.jsonl")
    commands = [msgspec.json.decode(r.data) for r in records if r.kind == "control"]
    assert [(c["command"], c["operator"]) for c in commands] == [
        (click, "web:tester") for click in running.clicks
    ]
    assert running.clicks[-5:] == ["pause", "flat_all", "halt", "reset", "resume"]
    denied = [msgspec.json.decode(r.data) for r in records if r.kind == "control_denied"]
    assert [(d["command"], d["reason"].split(" ")[1]) for d in denied] == [
        ("halt", "no"), ("halt", "cross-origin"), ("halt", "wrong"), ("halt", "wrong"),
        ("halt", "cross-origin"), ("flat_all", "cross-origin"),  # the foreign page's
    ]  # fmt: skip
    assert "'http://127.0.0.1:" in denied[-1]["reason"]
