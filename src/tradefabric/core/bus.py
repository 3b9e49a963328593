"""The message bus: typed topics, synchronous in-process dispatch.

A ``Topic[T]`` names a stream of messages of type ``T``; ``publish`` calls every
subscriber in subscription order before returning. There is no global bus: the
kernel builds one and hands it to each component.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

Handler = Callable[[T], None]


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

    def __init__(self) -> None:
        # Handlers of every topic share one dict; Topic[T] keeps publish/subscribe typed.
        self._handlers: dict[str, list[Callable[[Any], None]]] = {}

    def subscribe(self, topic: Topic[T], handler: Handler[T]) -> None:
        """Call ``handler`` with every message later published on ``topic``."""
        # Lists are replaced, never changed in place, so a handler that (un)subscribes
        # during a publish does not disturb the loop running over the old list.
        handlers = self._handlers.get(topic.name, [])
        self._handlers[topic.name] = [*handlers, handler]

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
            handler(message)

    def subscriber_count(self, topic: Topic[T]) -> int:
        """Return how many handlers listen on ``topic``."""
        return len(self._handlers.get(topic.name, ()))
