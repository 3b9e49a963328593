"""A kernel trading on the reference venue through the live engine (``LiveVenue``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec

from tests import feed_waits
from tests.execution.live.refvenue import RefClient, RefVenue
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.execution.live.config import LiveSettings
from tradefabric.execution.live.engine import LiveVenue
from tradefabric.execution.live.events import LIVE_EVENTS, LiveEvent
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import OrderRequest, OrderSide, OrderSnapshot, OrderType
from tradefabric.node.kernel import ExecutionConfig, InstrumentConfig, TradingConfig, TradingKernel
from tradefabric.risk.audit import AuditLog, AuditRecord

T0 = 1_722_470_400_000_000_000
VENUE = "refvenue"
SYMBOL = "BTC/USDT"
FAST = LiveSettings(query_backoff_s=(0.0, 0.01), query_attempts=6, absent_after=2)
SLOW_QUERY = LiveSettings(query_backoff_s=(0.3,), query_attempts=3, absent_after=2)
"""The first query waits: the stream's reports, reordered by a test, come first."""


class Live:
    """Kernel + ``LiveVenue`` + reference venue; call ``await start()`` first."""

    def __init__(
        self,
        tmp: Path,
        *,
        venue: RefVenue | None = None,
        settings: LiveSettings = FAST,
        balances: dict[str, float] | None = None,
    ) -> None:
        self.ref = venue or RefVenue(VENUE)
        self.client = RefClient(self.ref)
        self.config = TradingConfig(
            execution={VENUE: ExecutionConfig()},
            balances={VENUE: dict(balances or {"USDT": 100_000.0, "BTC": 0.0})},
            instruments=(
                InstrumentConfig(venue=VENUE, symbol=SYMBOL, price_increment="0.01",
                                 size_increment="0.00001"),
            ),
        )  # fmt: skip
        self.clock = SimClock(T0)
        self.bus = MessageBus()
        self.audit_path = tmp / "audit.jsonl"
        self.audit = AuditLog(self.audit_path)
        self.live = LiveVenue(self.client, settings)
        self.kernel = TradingKernel(
            self.config, self.bus, self.clock, {VENUE: self.live}, audit=self.audit
        )
        self.execution = self.kernel.execution
        self.execution.update_price(InstrumentId(VENUE, SYMBOL), 60_000.0)
        self.events: list[LiveEvent] = []
        self.bus.subscribe(LIVE_EVENTS, self.events.append)

    async def start(self) -> None:
        await self.live.start()

    def buy(self, qty: float = 0.1, price: float = 60_000.0, cid: str = "") -> OrderSnapshot:
        return self.order(OrderSide.BUY, qty, price, cid)

    def order(self, side: OrderSide, qty: float, price: float, cid: str = "") -> OrderSnapshot:
        request = OrderRequest(
            strategy_id="s1", venue=VENUE, symbol=SYMBOL, side=side, quantity=qty,
            order_type=OrderType.LIMIT, price=price, client_order_id=cid,
        )  # fmt: skip
        return self.execution.submit(request)

    def state(self, cid: str) -> OrderSnapshot:
        order = self.execution.order(cid)
        assert order is not None
        return order

    def audited(self, kind: str) -> list[AuditRecord]:
        decoder = msgspec.json.Decoder(AuditRecord)
        lines = self.audit_path.read_bytes().splitlines()
        return [r for r in map(decoder.decode, lines) if r.kind == kind]

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait on a condition (never a fixed sleep), polled every millisecond."""
    await feed_waits.until(condition, timeout, poll_s=0.001)
