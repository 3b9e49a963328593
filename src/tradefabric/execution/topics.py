"""Execution topics: every order transition and every fill is published here."""

from __future__ import annotations

from tradefabric.core.bus import Topic
from tradefabric.model.orders import Fill, OrderEvent, OrderSnapshot, ParentSnapshot

ORDER_EVENTS: Topic[OrderEvent] = Topic("execution.order_events", OrderEvent)
FILLS: Topic[Fill] = Topic("execution.fills", Fill)
ORDERS_CLOSED: Topic[OrderSnapshot] = Topic("execution.orders_closed", OrderSnapshot)
"""An order's final state, published once when it becomes terminal (the run record keeps it;
the execution engine keeps only the most recent finished orders)."""
PARENT_EVENTS: Topic[ParentSnapshot] = Topic("execution.parent_events", ParentSnapshot)
"""A parent order's state after every change (``execution.algorithms``): the strategy's view
of its progress."""
