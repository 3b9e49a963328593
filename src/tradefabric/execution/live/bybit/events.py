"""Bybit v5 private stream frames, parsed into reports for the live execution engine.

A topic frame is ``{"id":"...","topic":"order.spot","creationTime":1723161255013,
"data":[...]}``; op answers (``auth``, ``subscribe``, ``pong``) carry ``op`` instead.
A frame that cannot be read is counted and logged, never raised into the socket loop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import msgspec
import structlog

from tradefabric.core.errors import DataError, MalformedMessageError
from tradefabric.execution.live.bybit.wire import (
    WireExecution,
    WireOrder,
    WirePosition,
    WireWallet,
    balance_reports,
    order_report,
    position_report,
    trade_report,
)
from tradefabric.execution.live.protocol import LiveReports
from tradefabric.venues.bybit.private.categories import PrivateCategory

log = structlog.get_logger(__name__)
_MS = 1_000_000


class Frame(msgspec.Struct, frozen=True, kw_only=True):
    """Either a topic push or an op answer of the private stream.

    ``{"success":true,"ret_msg":"","op":"auth","conn_id":"cejreaspqfh3sjdnldmg-p"}``
    """

    topic: str = ""
    creationTime: int = 0  # noqa: N815  (Bybit's field names)
    data: msgspec.Raw = msgspec.Raw(b"[]")
    op: str = ""
    success: bool = True
    ret_msg: str = ""
    req_id: str = ""


class DcpStatus(msgspec.Struct, frozen=True, kw_only=True):
    """One ``dcp`` push: ``{"product":"SPOT","dcpStatus":"ON","timeWindow":"10"}``."""

    product: str = ""
    dcpStatus: str = ""  # noqa: N815
    timeWindow: str = ""  # noqa: N815


class PrivateStreamParser:
    """Route each topic frame of one category to ``reports``."""

    def __init__(self, category: PrivateCategory, reports: LiveReports) -> None:
        self._category = category
        self._reports = reports
        self._decoder = msgspec.json.Decoder(Frame)
        self.rejected: Counter[str] = Counter()
        self.frames = 0
        self.dcp: DcpStatus | None = None
        self._routes: dict[str, Callable[[Frame], None]] = {
            "order": self._orders,
            "execution": self._executions,
            "wallet": self._wallet,
            "position": self._positions,
            "dcp": self._dcp,
        }

    def decode(self, raw: bytes | str) -> Frame:
        """Return one frame decoded (raises ``MalformedMessageError``)."""
        try:
            return self._decoder.decode(raw)
        except msgspec.DecodeError as exc:
            raise MalformedMessageError(f"private frame: {exc}") from exc

    def on_frame(self, frame: Frame) -> None:
        """Apply one topic frame; an unreadable one is counted and skipped."""
        route = self._routes.get(frame.topic.split(".", 1)[0])
        if route is None:
            return
        self.frames += 1
        try:
            route(frame)
        except (msgspec.DecodeError, msgspec.ValidationError, DataError, KeyError) as exc:
            self.rejected[frame.topic] += 1
            log.warning("bybit_private_frame_rejected", topic=frame.topic, error=str(exc))

    def _orders(self, frame: Frame) -> None:
        for order in msgspec.json.decode(frame.data, type=list[WireOrder]):
            self._reports.on_order_status(order_report(order, self._category))

    def _executions(self, frame: Frame) -> None:
        for execution in msgspec.json.decode(frame.data, type=list[WireExecution]):
            if execution.execType == "Trade":  # funding, settlement... are not our fills
                self._reports.on_trade(trade_report(execution, self._category))

    def _wallet(self, frame: Frame) -> None:
        ts = frame.creationTime * _MS
        for wallet in msgspec.json.decode(frame.data, type=list[WireWallet]):
            for balance in balance_reports(wallet, self._category.venue, ts):
                self._reports.on_balance(balance)

    def _positions(self, frame: Frame) -> None:
        for position in msgspec.json.decode(frame.data, type=list[WirePosition]):
            self._reports.on_position(position_report(position, self._category))

    def _dcp(self, frame: Frame) -> None:
        for status in msgspec.json.decode(frame.data, type=list[DcpStatus]):
            self.dcp = status
