"""The control service on a real node: calls from other threads run on the node's loop, a
command is audited before it acts (an unwritable log: nothing done), FLAT ALL's slippage
guard, and the ``control:`` config section."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
from fastapi import FastAPI

from tradefabric.core.clock import SimClock
from tradefabric.core.errors import AuditWriteError, ConfigError
from tradefabric.data.order_book import OrderBook
from tradefabric.execution.portfolio import PositionSnapshot
from tradefabric.model.data import OrderBookSnapshot
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import OrderRequest, OrderSide, OrderType, TimeInForce
from tradefabric.node.kernel import DataConfig, TradingConfig, load_config
from tradefabric.node.trading_node import RunMode, TradingNode
from tradefabric.ops.control.bridge import LoopBridge, NodeUnavailableError
from tradefabric.ops.control.config import ControlConfig
from tradefabric.ops.control.flat import closing_request
from tradefabric.ops.control.http import ControlServer
from tradefabric.ops.control.service import ControlAuthError, ControlError, ControlService
from tradefabric.ops.control.views import Credentials, PositionLeft
from tradefabric.risk.audit import AuditLog, read_audit
from tradefabric.risk.venue_breaker import VENUE_FAULTS, VenueFault
from tradefabric.strategies.ema_cross import EmaCrossConfig

RECORDING = "spot_btcusdt_20240808.gz"
TOKEN = "a-long-enough-token"
ANA = Credentials(token=TOKEN, operator="ana")


def _node(shared_data: Path, audit: AuditLog) -> TradingNode:
    config = TradingConfig(
        data=DataConfig(recording=shared_data / "binance_ws" / RECORDING),
        strategies=(EmaCrossConfig(id="ema", interval="1s", fast=3, slow=12, notional=1_000.0),),
    )
    return TradingNode(config, RunMode.BACKTEST, SimClock(), None, audit=audit)


def test_calls_from_other_threads_run_on_the_loop_and_are_audited_first(
    shared_data: Path, tmp_path: Path
) -> None:
    audit_path = tmp_path / "audit.jsonl"

    async def main() -> None:
        node = _node(shared_data, AuditLog(audit_path))
        service = ControlService(node, TOKEN, LoopBridge(asyncio.get_running_loop()))
        loop_thread = threading.get_ident()
        ran_on = await asyncio.to_thread(service.read, lambda _n: threading.get_ident())
        assert ran_on == loop_thread
        result = await asyncio.to_thread(service.pause, ANA, "ema", "news")
        assert result.operator == "ana" and node.kernel.risk.paused == {"ema": "news"}
        await asyncio.to_thread(service.resume, ANA, "ema")
        assert node.kernel.risk.paused == {}
        with pytest.raises(ControlAuthError):
            await asyncio.to_thread(service.halt, Credentials(token="x", operator="eve"), "no")
        assert not node.kernel.risk.halted
        with pytest.raises(ControlError, match="no strategy 'other'"):
            await asyncio.to_thread(service.pause, ANA, "other", "")
        halted = await asyncio.to_thread(service.halt, ANA, "operator halt")
        assert "halted" in halted.message and node.kernel.risk.halted
        await asyncio.to_thread(service.reset, ANA, "checked")
        assert not node.kernel.risk.halted
        node.kernel.audit.close()

    asyncio.run(main())
    kinds = [(r.kind, msgspec.json.decode(r.data).get("command")) for r in read_audit(audit_path)]
    assert kinds == [
        ("control", "pause"), ("control", "resume"), ("control_denied", "halt"),
        ("control", "halt"), ("halt", None), ("control", "reset"), ("reset", None),
    ]  # fmt: skip


def test_rearm_reopens_a_tripped_venue_and_the_risk_view_lists_it(
    shared_data: Path, tmp_path: Path
) -> None:
    audit_path = tmp_path / "audit.jsonl"

    async def main() -> None:
        node = _node(shared_data, AuditLog(audit_path))
        service = ControlService(node, TOKEN, LoopBridge(asyncio.get_running_loop()))
        now = node.clock.timestamp_ns()
        for _ in range(3):  # the default breaker: 3 failures within 10 minutes
            node.bus.publish(VENUE_FAULTS, VenueFault(venue="binance", kind="feed_failed",
                                                      detail="crash", ts=now))  # fmt: skip
        risk = await asyncio.to_thread(service.risk)
        assert list(risk.tripped) == ["binance"]
        result = await asyncio.to_thread(service.rearm, ANA, "binance", "venue is back")
        assert "binance re-armed" in result.message
        assert (await asyncio.to_thread(service.risk)).tripped == {}
        again = await asyncio.to_thread(service.rearm, ANA, "binance", "twice")
        assert "was not tripped" in again.message
        kinds = [a.kind for a in node.alerts if a.kind.startswith(("venue_", "control_"))]
        assert kinds == ["venue_tripped", "venue_rearmed", "control_rearm", "control_rearm"]
        node.kernel.audit.close()

    asyncio.run(main())
    kinds = [(r.kind, msgspec.json.decode(r.data).get("operator")) for r in read_audit(audit_path)]
    assert kinds[:3] == [("venue_breaker", "breaker"), ("control", "ana"),
                         ("venue_breaker", "ana")]  # fmt: skip


def test_an_unwritable_audit_log_stops_the_command_before_it_acts(shared_data: Path) -> None:
    async def main() -> None:
        node = _node(shared_data, AuditLog(Path("/dev/full")))  # every write fails: ENOSPC
        service = ControlService(node, TOKEN, LoopBridge(asyncio.get_running_loop()))
        with pytest.raises(AuditWriteError):
            await asyncio.to_thread(service.pause, ANA, "ema", "news")
        assert node.kernel.risk.paused == {}
        with pytest.raises(AuditWriteError):
            await asyncio.to_thread(service.flat_all, ANA, 0.0)
        assert node.kernel.risk.paused == {}  # FLAT ALL paused nothing either

    asyncio.run(main())


def test_a_busy_loop_answers_node_unavailable() -> None:
    async def main() -> None:
        bridge = LoopBridge(asyncio.get_running_loop(), timeout_s=0.2)
        errors: list[BaseException] = []

        def ask() -> None:
            try:
                bridge.call(lambda: 1)
            except NodeUnavailableError as exc:
                errors.append(exc)

        asker = threading.Thread(target=ask)
        asker.start()
        asker.join(5)  # the loop is blocked here (a sync join): the call cannot run
        assert [type(e) for e in errors] == [NodeUnavailableError]
        assert await asyncio.to_thread(bridge.call, lambda: 2) == 2  # free again: answered

    asyncio.run(main())
    # A closed loop refuses at once.
    loop = asyncio.new_event_loop()
    bridge = LoopBridge(loop)
    loop.close()
    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: _catch(errors, lambda: bridge.call(lambda: 1)))
    thread.start()
    thread.join(5)
    assert [type(e) for e in errors] == [NodeUnavailableError]


def _catch(errors: list[BaseException], fn: Callable[[], object]) -> None:
    try:
        fn()
    except BaseException as exc:
        errors.append(exc)


class _Cache:
    """The two reads the guard makes, over a real book."""

    def __init__(self, book: OrderBook | None, last: float | None) -> None:
        self._book = book
        self._last = last

    def instruments(self) -> list[InstrumentId]:
        return [InstrumentId("binance", "BTC/USDT")]

    def book(self, instrument: InstrumentId) -> OrderBook | None:
        return self._book

    def latest_price(self, instrument: InstrumentId) -> float | None:
        return self._last


def _book(bid_size: float) -> OrderBook:
    book = OrderBook("binance", "BTC/USDT")
    book.apply_snapshot(OrderBookSnapshot(
        venue="binance", symbol="BTC/USDT", bids=((60_000.0, bid_size), (59_000.0, 100.0)),
        asks=((60_010.0, 5.0),), sequence=1, ts_event=1, ts_recv=1,
    ))  # fmt: skip
    return book


LONG = PositionSnapshot(venue="binance", symbol="BTC/USDT", quantity=0.5, avg_price=59_000.0,
                        realized_pnl=0.0, unrealized_pnl=0.0, fees=0.0, mark=60_000.0,
                        traded_notional=0.0)  # fmt: skip


def test_flat_all_closes_with_a_market_order_when_the_book_is_deep_enough() -> None:
    request = closing_request(LONG, _Cache(_book(bid_size=2.0), 60_000.0), bps=50.0)
    assert isinstance(request, OrderRequest)
    assert (request.side, request.order_type, request.reduce_only) == (
        OrderSide.SELL, OrderType.MARKET, True,
    )  # fmt: skip
    assert request.quantity == 0.5


def test_the_slippage_guard_leaves_a_position_the_book_cannot_take() -> None:
    # 0.1 within 50 bps of the mid; the next bid is 1.7% lower.
    left = closing_request(LONG, _Cache(_book(bid_size=0.1), 60_000.0), bps=50.0)
    assert isinstance(left, PositionLeft)
    assert left.quantity == 0.5 and "slippage guard" in left.reason and "0.1" in left.reason


def test_without_a_book_the_close_is_an_ioc_limit_at_the_guard() -> None:
    request = closing_request(LONG, _Cache(None, 60_000.0), bps=50.0)
    assert isinstance(request, OrderRequest)
    assert request.order_type is OrderType.LIMIT and request.time_in_force is TimeInForce.IOC
    assert request.price == pytest.approx(59_700.0)  # sells no lower than 50 bps under
    short = msgspec.structs.replace(LONG, quantity=-0.5)
    buy = closing_request(short, _Cache(None, 60_000.0), bps=50.0)
    assert isinstance(buy, OrderRequest) and buy.price == pytest.approx(60_300.0)
    left = closing_request(LONG, _Cache(None, None), bps=50.0)
    assert isinstance(left, PositionLeft) and "no price" in left.reason


def test_the_control_section_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"control\.token"):
        ControlConfig(token="short")
    with pytest.raises(ConfigError, match=r"control\.host"):
        ControlConfig(token=TOKEN, host="localhost")
    config = tmp_path / "c.yaml"
    config.write_text(f"control: {{port: 9999, token: {TOKEN}}}\n")
    assert load_config(config).control == ControlConfig(port=9999, token=TOKEN)
    config.write_text(f"control: {{port: 9999, token: {TOKEN}, tokn: x}}\n")
    with pytest.raises(ConfigError, match="tokn"):
        load_config(config)


def test_reads_report_the_node(shared_data: Path) -> None:
    async def main() -> None:
        node = _node(shared_data, AuditLog(None))
        service = ControlService(node, TOKEN, LoopBridge(asyncio.get_running_loop()))
        node.replay_recording(shared_data / "binance_ws" / RECORDING)
        status = await asyncio.to_thread(service.status)
        assert status.trades == node.tally.trades > 0 and status.strategies == ["ema"]
        assert status.fills == node.status().fills
        fills = await asyncio.to_thread(service.fills, 1000)
        assert len(fills) == status.fills
        pnl = await asyncio.to_thread(service.pnl)
        assert pnl.total == pytest.approx(node.kernel.mark_to_market() - 100_000.0)
        assert status.data is None  # a backtest has no live data engine
        books = await asyncio.to_thread(service.books)
        btc = next(b for b in books if b.symbol == "BTC/USDT")
        assert btc.valid and btc.best_bid < btc.best_ask
        assert btc.last_price == node.cache.latest_price(InstrumentId("binance", "BTC/USDT"))

    asyncio.run(main())


def test_a_port_in_use_fails_naming_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ControlServer(FastAPI(), "127.0.0.1", port)
        with pytest.raises(NodeUnavailableError, match=f"127.0.0.1:{port}"):
            server.start()
