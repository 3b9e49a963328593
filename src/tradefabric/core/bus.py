"""The message bus: typed topics, synchronous in-process dispatch.

A ``Topic[T]`` names a stream of messages of type ``T``; ``publish`` calls every
subscriber in subscription order before returning. There is no global bus: the
node builds one and hands it to each component.

Fault isolation happens here, at the component boundary: a handler subscribed
with an ``owner`` (``strategy:ema_btc``, ``analytics``...) that raises is
reported to the bus's ``on_fault`` callback (the node stops that component and
raises an alert) and the remaining handlers still receive the message. Without
``on_fault`` (unit tests, tools) an exception propagates as before. In Python
3.11 a ``try`` costs nothing until something raises, so the hot path pays nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

import msgspec

T = TypeVar("T")

Handler = Callable[[T], None]


class HandlerFault(msgspec.Struct, frozen=True, kw_only=True):
    """A subscriber raised: which topic, which component, and the exception."""

    topic: str
    owner: str | None
    """The component the handler belongs to (``None``: subscribed without an owner)."""
    error: BaseException
    handler: Any


class Topic(Generic[T]):
    """A named, typed message channel; two topics with the same name are the same channel."""

    __slots__ = ("message_type", "name")

    def __init__(self, name: str, message_type: type[T]) -> None:
        self.name = name
        self.message_type = message_type

    def __repr__(self) -> str:
        return f"Topic({self.name!r}, {self.message_type.__name__})"

    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Topic) and other.name == self.name


class MessageBus:
    """Synchronous publish/subscribe over typed topics."""

    def __init__(self, on_fault: Callable[[HandlerFault], None] | None = None) -> None:
        """Build a bus; ``on_fault`` receives every exception a subscriber raises."""
        # Handlers of every topic share one dict; Topic[T] keeps publish/subscribe typed.
        self._handlers: dict[str, list[Callable[[Any], None]]] = {}
        self._owners: dict[tuple[str, Any], str] = {}
        self.on_fault = on_fault
        self._building: str | None = None
        self.faults = 0
        """Exceptions raised by subscribers and reported to ``on_fault``."""

    def subscribe(self, topic: Topic[T], handler: Handler[T], owner: str | None = None) -> None:
        """Call ``handler`` with every message later published on ``topic``.

        ``owner`` names the component the handler belongs to: its faults are reported
        under that name and ``unsubscribe_owner`` removes all its handlers at once.
        """
        # Lists are replaced, never changed in place, so a handler that (un)subscribes
        # during a publish does not disturb the loop running over the old list.
        handlers = self._handlers.get(topic.name, [])
        self._handlers[topic.name] = [*handlers, handler]
        owner = owner or self._building
        if owner is not None:
            self._owners[(topic.name, handler)] = owner

    @contextlib.contextmanager
    def owned_by(self, owner: str) -> Iterator[None]:
        """Give every subscription made inside the block the owner ``owner``.

        The node builds each component inside one (``with bus.owned_by("analytics"):``),
        so components need not know about ownership to be isolated.
        """
        previous, self._building = self._building, owner
        try:
            yield
        finally:
            self._building = previous

    def unsubscribe_owner(self, owner: str) -> int:
        """Remove every handler of component ``owner``; return how many were removed."""
        mine = [key for key, name in self._owners.items() if name == owner]
        for topic_name, handler in mine:
            del self._owners[(topic_name, handler)]
            remaining = list(self._handlers.get(topic_name, []))
            if handler in remaining:
                remaining.remove(handler)
                self._handlers[topic_name] = remaining
        return len(mine)

    def unsubscribe(self, topic: Topic[T], handler: Handler[T]) -> None:
        """Stop calling ``handler`` for ``topic``; unknown handlers are ignored."""
        handlers = self._handlers.get(topic.name, [])
        if handler in handlers:
            remaining = list(handlers)
            remaining.remove(handler)
            self._handlers[topic.name] = remaining

    def publish(self, topic: Topic[T], message: T) -> None:
        """Deliver ``message`` to every subscriber of ``topic``, in subscription order."""
        for handler in self._handlers.get(topic.name, ()):
            try:
                handler(message)
            except Exception as exc:
                if self.on_fault is None:
                    raise
                self._fault(topic.name, handler, exc)

    def _fault(self, topic_name: str, handler: Any, exc: Exception) -> None:
        self.report_fault(topic_name, self._owners.get((topic_name, handler)), exc, handler)

    def report_fault(
        self, topic_name: str, owner: str | None, error: Exception, handler: Any = None
    ) -> None:
        """Report an exception a component raised outside a plain subscription.

        For dispatchers that call a component themselves (the kernel routing a fill to
        its strategy): the fault is the component's, not the dispatcher's. Without
        ``on_fault`` the exception is raised again.
        """
        if self.on_fault is None:
            raise error
        self.faults += 1
        self.on_fault(HandlerFault(topic=topic_name, owner=owner, error=error, handler=handler))

    def subscriber_count(self, topic: Topic[T]) -> int:
        """Return how many handlers listen on ``topic``."""
        return len(self._handlers.get(topic.name, ()))
