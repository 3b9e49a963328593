"""The control service: one typed API over a running node for every operator front end.

Reads (status, balances, positions, PnL, orders, fills, risk, feeds, alerts) and
commands (pause/resume a strategy, cancel all, FLAT ALL, halt, reset, reload config) are methods
callable from any thread: each runs on the node's event loop through a
``LoopBridge``, where the components live. Every command is authorized by the
control token, and written to the kernel's audit log (``control`` record, with
the operator's name) before it acts; a refused token is audited as
``control_denied``. The HTTP API, the CLI and any later front end use only this.
"""

from __future__ import annotations

import asyncio
import bisect
import hmac
import math
from collections import deque
from collections.abc import Callable
from typing import TypeVar

from tradefabric.core.errors import ConfigError, FatalError
from tradefabric.core.time import NS_PER_DAY
from tradefabric.execution import topics as exec_topics
from tradefabric.execution.portfolio import BalanceSnapshot, PositionSnapshot
from tradefabric.integrity import topics as integrity_topics
from tradefabric.integrity.events import ConsensusPrice, VenueDeviation
from tradefabric.model.orders import Fill, OrderSnapshot
from tradefabric.ops.alerts import ALERTS, Alert, AlertLevel
from tradefabric.ops.control.bridge import LoopBridge
from tradefabric.ops.control.flat import close_positions
from tradefabric.ops.control.ports import DataStats, Node
from tradefabric.ops.control.views import (
    BookView,
    CommandResult,
    ControlCommand,
    ControlDenied,
    Credentials,
    DataView,
    EquityCurveView,
    FaultView,
    FlatAllReport,
    IntegrityView,
    JobView,
    PnlView,
    PositionLeft,
    RiskView,
    StatusView,
    VenueFeedView,
    job_views,
)

T = TypeVar("T")
MAX_FLAT_WAIT_S = 60.0
"""FLAT ALL waits at most this long for fills (then reports what is left)."""


class ControlError(FatalError):
    """A control request cannot be done as asked (unknown strategy, missing reason)."""


class ControlAuthError(ControlError):
    """The control token was wrong or missing."""


class ControlService:
    """Read and command one running node; see the module docstring."""

    def __init__(
        self,
        node: Node,
        token: str,
        bridge: LoopBridge,
        *,
        flat_slippage_bps: float = 50.0,
        fills_kept: int = 500,
    ) -> None:
        """Serve ``node`` (built on ``bridge.loop``); build it on that loop's thread."""
        self._node = node
        self._token = token.encode()
        self.bridge = bridge
        self._slippage_bps = flat_slippage_bps
        self._fills: deque[Fill] = deque(maxlen=fills_kept)
        node.bus.subscribe(exec_topics.FILLS, self._fills.append, owner="control")
        # The latest consensus per asset and deviation per series (integrity publishes them).
        self._consensus: dict[str, ConsensusPrice] = {}
        self._deviations: dict[tuple[str, str], VenueDeviation] = {}
        node.bus.subscribe(integrity_topics.CONSENSUS, self._on_consensus, owner="control")
        node.bus.subscribe(integrity_topics.DEVIATIONS, self._on_deviation, owner="control")
        self._initial_equity = node.kernel.portfolio.equity()

    # --- authorization ---

    def authorized(self, credentials: Credentials) -> bool:
        """Return True when ``credentials`` carry the control token."""
        return hmac.compare_digest(credentials.token.encode(), self._token)

    def check(self, credentials: Credentials) -> None:
        """Raise ``ControlAuthError`` unless ``credentials`` carry the token (reads)."""
        if not self.authorized(credentials):
            raise ControlAuthError("wrong or missing control token")

    # --- reads ---

    def status(self) -> StatusView:
        """Return progress, money, risk and health in one view."""
        return self.bridge.call(self._status)

    def balances(self) -> list[BalanceSnapshot]:
        """Return every balance."""
        return self.bridge.call(self._node.kernel.portfolio.balances)

    def positions(self) -> list[PositionSnapshot]:
        """Return the open positions, marked at the latest prices."""
        return self.bridge.call(self._positions)

    def pnl(self) -> PnlView:
        """Return the PnL since start and since UTC midnight."""
        return self.bridge.call(self._pnl)

    def open_orders(self) -> list[OrderSnapshot]:
        """Return the open orders."""
        return self.bridge.call(self._node.kernel.execution.open_order_snapshots)

    def fills(self, limit: int = 50) -> list[Fill]:
        """Return the most recent fills, oldest first."""
        return self.bridge.call(lambda: list(self._fills)[-limit:] if limit > 0 else [])

    def risk(self) -> RiskView:
        """Return the risk engine's state."""
        return self.bridge.call(self._risk)

    def data(self) -> DataView | None:
        """Return the data engine's queue and per-venue frames (None: no live feeds)."""
        return self.bridge.call(lambda: _data_view(self._node.status().data))

    def books(self) -> list[BookView]:
        """Return each traded instrument's top of book (book health) and last price."""
        return self.bridge.call(self._books)

    def alerts(self, limit: int = 50) -> list[Alert]:
        """Return the most recent alerts, oldest first."""
        return self.bridge.call(lambda: list(self._node.alerts)[-limit:] if limit > 0 else [])

    def equity_curve(self, limit: int = 500) -> EquityCurveView:
        """Return the equity curve's last ``limit`` samples and the equity marked now."""
        return self.bridge.call(lambda: self._equity_curve(limit))

    def integrity(self) -> IntegrityView:
        """Return the latest consensus per asset and each series' deviation from it."""
        return self.bridge.call(lambda: IntegrityView(
            configured=self._node.integrity is not None,
            consensus=[self._consensus[a] for a in sorted(self._consensus)],
            deviations=[self._deviations[k] for k in sorted(self._deviations)],
        ))  # fmt: skip

    def jobs(self) -> list[JobView]:
        """Return the node's scheduled jobs."""
        return self.bridge.call(lambda: job_views(self._node))

    def read(self, fn: Callable[[Node], T]) -> T:
        """Run ``fn(node)`` on the node's loop (metrics, other read-only views)."""
        return self.bridge.call(lambda: fn(self._node))

    # --- commands ---

    def deny(self, command: str, operator: str, reason: str) -> None:
        """Audit ``command`` as refused by a front end's own check (``control_denied``)."""

        def write() -> None:
            now = self._node.clock.timestamp_ns()
            record = ControlDenied(command=command, operator=operator or "operator", ts=now,
                                   reason=reason)  # fmt: skip
            self._node.kernel.audit.write("control_denied", now, record)

        self.bridge.call(write)

    def pause(self, credentials: Credentials, strategy_id: str, reason: str) -> CommandResult:
        """Reject every new order of ``strategy_id`` until resumed (its data keeps coming)."""
        return self._command(credentials, "pause", strategy_id, reason, self._pause)

    def resume(self, credentials: Credentials, strategy_id: str) -> CommandResult:
        """Let a paused strategy trade again."""
        return self._command(credentials, "resume", strategy_id, "", self._resume)

    def cancel_all(self, credentials: Credentials, strategy_id: str = "") -> CommandResult:
        """Cancel every open order (of one strategy when given)."""
        return self._command(credentials, "cancel_all", strategy_id, "", self._cancel_all)

    def rearm(self, credentials: Credentials, venue: str, reason: str) -> CommandResult:
        """Re-arm a venue whose circuit breaker tripped: its orders pass the risk engine again."""
        return self._command(credentials, "rearm", venue, reason, self._rearm)

    def halt(self, credentials: Credentials, reason: str) -> CommandResult:
        """Halt trading (the risk engine's halt: open orders cancelled, audited)."""
        return self._command(credentials, "halt", "", reason, self._halt)

    def reset(self, credentials: Credentials, reason: str) -> CommandResult:
        """Reset a halt; the reason is required and audited with the operator."""
        return self._command(credentials, "reset", "", reason, self._reset)

    def reload_config(self, credentials: Credentials, reason: str = "") -> CommandResult:
        """Re-read the node's config file: risk limits, the schedule and the alert throttles
        change at once; a file that changes venues, symbols or anything else wired at
        start is refused naming each key, and nothing is applied."""
        return self._command(credentials, "reload_config", "", reason, self._reload)

    def run_job(self, credentials: Credentials, name: str, reason: str = "") -> CommandResult:
        """Start scheduled job ``name`` now, in its worker (its end is alerted as usual)."""
        return self._command(credentials, "run_job", name, reason, self._run_job)

    def flat_all(self, credentials: Credentials, wait_s: float = 5.0) -> FlatAllReport:
        """Pause every strategy, cancel every order, close every position (guarded);
        wait up to ``wait_s`` for the node to be flat; report what is left."""
        if not 0 <= wait_s <= MAX_FLAT_WAIT_S:
            raise ControlError(f"flat_all: wait_s must be within 0..{MAX_FLAT_WAIT_S:g} s")
        return self.bridge.run(
            lambda: self.flat_all_async(credentials, wait_s), self.bridge.timeout_s + wait_s
        )

    async def flat_all_async(self, credentials: Credentials, wait_s: float) -> FlatAllReport:
        """FLAT ALL on the node's loop (``flat_all`` from other threads)."""
        paused, cancelled, refused = self._authorized_command(
            credentials, "flat_all", "", "", self._flatten
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while loop.time() < deadline and not self._flat():
            await asyncio.sleep(0.02)  # fills arrive with the market data on this loop
        report = self._flat_report(credentials.operator, paused, cancelled, refused)
        left = "flat" if report.flat else f"{len(report.left)} positions, "
        left += "" if report.flat else f"{len(report.open_orders)} open orders left"
        self._alert("flat_all", report.operator, f"FLAT ALL: {left}", report.flat)
        return report

    def _alert(self, name: str, operator: str, message: str, ok: bool = True) -> None:
        """Tell every operator channel what a person did (one alert per command)."""
        level = AlertLevel.INFO if name in ("pause", "resume", "cancel_all") else AlertLevel.WARNING
        level = level if ok else AlertLevel.CRITICAL
        self._node.bus.publish(ALERTS, Alert(
            kind=f"control_{name}", level=level, component="control",
            message=f"{operator}: {message}", ts=self._node.clock.timestamp_ns(),
        ))  # fmt: skip

    # --- on the loop ---

    def _command(
        self, credentials: Credentials, name: str, target: str, reason: str,
        act: Callable[[str, str, str], str],
    ) -> CommandResult:  # fmt: skip
        def run() -> CommandResult:
            message = self._authorized_command(credentials, name, target, reason, act)
            self._alert(name, credentials.operator, message)
            ts = self._node.clock.timestamp_ns()
            return CommandResult(command=name, operator=credentials.operator, message=message,
                                 ts=ts)  # fmt: skip

        return self.bridge.call(run)

    def _authorized_command(
        self, credentials: Credentials, name: str, target: str, reason: str,
        act: Callable[[str, str, str], T],
    ) -> T:  # fmt: skip
        audit = self._node.kernel.audit
        now = self._node.clock.timestamp_ns()
        operator = credentials.operator or "operator"
        if not self.authorized(credentials):
            audit.write("control_denied", now, ControlDenied(command=name, operator=operator,
                                                             ts=now))  # fmt: skip
            raise ControlAuthError(f"{name}: wrong or missing control token")
        self._validate(name, target, reason)
        # Audited before it acts: an unwritable log raises here and nothing is done.
        record = ControlCommand(command=name, operator=operator, target=target, reason=reason,
                                ts=now)  # fmt: skip
        audit.write("control", now, record)
        return act(operator, target, reason)

    def _validate(self, name: str, target: str, reason: str) -> None:
        if name in ("halt", "reset") and not reason.strip():
            raise ControlError(f"{name}: give a reason (it is audited)")
        if name in ("pause", "resume") or (name == "cancel_all" and target):
            known = self._strategy_ids()
            if target not in known:
                raise ControlError(f"{name}: no strategy {target!r} (running: {sorted(known)})")

    def _strategy_ids(self) -> set[str]:
        return {sid for s in self._node.kernel.strategies for sid in s.strategy_ids()}

    def _pause(self, operator: str, target: str, reason: str) -> str:
        self._node.kernel.risk.pause(target, reason or f"paused by {operator}")
        return f"strategy {target} paused: its new orders are rejected until resumed"

    def _resume(self, _operator: str, target: str, _reason: str) -> str:
        self._node.kernel.risk.resume(target)
        return f"strategy {target} resumed"

    def _rearm(self, operator: str, target: str, reason: str) -> str:
        if self._node.kernel.risk.breakers.rearm(target, operator, reason or "re-armed"):
            return f"venue {target} re-armed: its orders pass the risk engine again"
        return f"venue {target}: its breaker was not tripped, nothing to re-arm"

    def _cancel_all(self, _operator: str, target: str, _reason: str) -> str:
        execution = self._node.kernel.execution
        orders = [o for o in execution.open_order_snapshots()
                  if not target or o.strategy_id == target]  # fmt: skip
        execution.cancel_all(target or None)
        return f"cancel asked for {len(orders)} open orders"

    def _reload(self, _operator: str, _target: str, _reason: str) -> str:
        try:
            return self._node.reload_config()
        except ConfigError as exc:  # the file's fault, not the node's: a refused request
            raise ControlError(str(exc)) from exc

    def _run_job(self, _operator: str, target: str, _reason: str) -> str:
        try:
            return self._node.run_job(target)
        except ConfigError as exc:
            raise ControlError(str(exc)) from exc

    def _halt(self, operator: str, _target: str, reason: str) -> str:
        kernel = self._node.kernel
        kernel.risk.halt(reason, kernel.mark_to_market(), operator=operator)
        return f"trading halted: {kernel.risk.halt_reason}"

    def _reset(self, operator: str, _target: str, reason: str) -> str:
        risk = self._node.kernel.risk
        if not risk.halted:
            return "trading was not halted: nothing to reset"
        risk.reset(operator, reason)
        return "halt reset: trading may resume"

    def _flatten(
        self, operator: str, _target: str, _reason: str
    ) -> tuple[list[str], list[str], list[PositionLeft]]:
        kernel = self._node.kernel
        paused = sorted(self._strategy_ids() - set(kernel.risk.paused))
        for strategy_id in paused:
            kernel.risk.pause(strategy_id, f"flat all by {operator}")
        cancelled = [o.client_order_id for o in kernel.execution.open_order_snapshots()]
        kernel.execution.cancel_all()
        kernel.mark_to_market()
        _, refused = close_positions(kernel.execution, self._node.cache, self._slippage_bps)
        return paused, cancelled, refused

    def _flat(self) -> bool:
        kernel = self._node.kernel
        return not kernel.execution.open_order_snapshots() and not self._positions()

    def _flat_report(
        self, operator: str, paused: list[str], cancelled: list[str], refused: list[PositionLeft]
    ) -> FlatAllReport:
        execution = self._node.kernel.execution
        closing = [o for o in execution.orders() if o.tag == "flat all"
                   and o.client_order_id not in cancelled]  # fmt: skip
        reasons = {(p.venue, p.symbol): p.reason for p in refused}
        left = [
            PositionLeft(venue=p.venue, symbol=p.symbol, quantity=p.quantity,
                         reason=reasons.get((p.venue, p.symbol), "closing order not filled yet"))
            for p in self._positions()
        ]  # fmt: skip
        open_orders = execution.open_order_snapshots()
        return FlatAllReport(
            operator=operator, paused=paused, cancelled=cancelled, closing=closing, left=left,
            open_orders=open_orders, flat=not left and not open_orders,
            ts=self._node.clock.timestamp_ns(),
        )  # fmt: skip

    def _on_consensus(self, price: ConsensusPrice) -> None:
        self._consensus[price.asset] = price

    def _on_deviation(self, deviation: VenueDeviation) -> None:
        self._deviations[(deviation.venue, deviation.symbol)] = deviation

    def _equity_curve(self, limit: int) -> EquityCurveView:
        curve = self._node.kernel.equity_curve
        start = max(len(curve.ts) - max(limit, 0), 0)
        equity = self._node.kernel.mark_to_market()
        # The curve is sampled in market time (a replay's is not the wall clock's).
        now = self._node.status().last_market_ts or self._node.clock.timestamp_ns()
        return EquityCurveView(ts=list(curve.ts[start:]), equity=list(curve.equity[start:]),
                               now_ts=now, now_equity=equity)  # fmt: skip

    def _positions(self) -> list[PositionSnapshot]:
        self._node.kernel.mark_to_market()
        return [p for p in self._node.kernel.portfolio.positions() if p.quantity != 0.0]

    def _pnl(self) -> PnlView:
        kernel = self._node.kernel
        equity = kernel.mark_to_market()
        now = self._node.clock.timestamp_ns()
        curve = kernel.equity_curve
        # The last sample at or before midnight is the day's opening equity.
        index = bisect.bisect_right(curve.ts, now - now % NS_PER_DAY)
        day_open = curve.equity[index - 1] if index else self._initial_equity
        totals = kernel.portfolio.totals()
        positions = kernel.portfolio.positions()
        return PnlView(
            total=equity - self._initial_equity,
            day=equity - day_open,
            realized=totals.realized_pnl,
            unrealized=sum(p.unrealized_pnl for p in positions),
            fees=totals.fees,
        )

    def _books(self) -> list[BookView]:
        cache = self._node.cache
        views = []
        for instrument in cache.instruments():
            book = cache.book(instrument)
            last = cache.latest_price(instrument)
            views.append(BookView(
                venue=instrument.venue, symbol=instrument.symbol,
                valid=book is not None and book.valid,
                best_bid=book.best_bid() if book is not None else math.nan,
                best_ask=book.best_ask() if book is not None else math.nan,
                last_price=math.nan if last is None else last,
            ))  # fmt: skip
        return views

    def _risk(self) -> RiskView:
        risk = self._node.kernel.risk
        return RiskView(
            halted=risk.halted, halt_reason=risk.halt_reason, paused=dict(risk.paused),
            accepted=risk.accepted, rejected=risk.rejected,
            rejected_by_rule=dict(risk.rejected_by_rule), day_high=risk.day_high,
            tripped=risk.breakers.open_venues(),
        )  # fmt: skip

    def _status(self) -> StatusView:
        node = self._node
        status = node.status()
        kernel = node.kernel
        pnl = self._pnl()
        return StatusView(
            mode=str(status.mode), ts=node.clock.timestamp_ns(), trades=status.trades,
            candles=status.candles, orders=status.orders,
            open_orders=len(kernel.execution.open_order_snapshots()), fills=status.fills,
            equity=kernel.portfolio.equity(), pnl=pnl, risk=self._risk(),
            strategies=sorted(self._strategy_ids()),
            faults=[FaultView(component=f.component, error_type=f.error_type, error=f.error,
                              action=f.action, ts=f.ts) for f in status.faults],
            alerts=len(node.alerts), last_market_ts=status.last_market_ts,
            data=_data_view(status.data),
        )  # fmt: skip


def _data_view(stats: DataStats | None) -> DataView | None:
    if stats is None:
        return None
    venues = [
        VenueFeedView(venue=v.venue, queued=v.queued, parsed=v.parsed, dropped=v.dropped,
                      duplicates=v.duplicates, rejected=sum(v.rejected.values()),
                      parse_errors=v.parse_errors)
        for v in stats.venues
    ]  # fmt: skip
    return DataView(capacity=stats.capacity, depth=stats.depth, high_water=stats.high_water,
                    venues=venues)  # fmt: skip
