"""User-event fan-out: every open user stream session gets every event of the account."""

from __future__ import annotations

from collections.abc import Callable

from tradefabric.venues.fakevenue.private.model import UserEvent

Listener = Callable[[UserEvent], None]


class UserEvents:
    """Subscribers to the account's events, called in order of subscription."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self.published = 0

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add ``listener``; return the function that removes it again."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def publish(self, event: UserEvent) -> None:
        """Hand ``event`` to every listener (a listener must not block: it queues)."""
        self.published += 1
        for listener in list(self._listeners):
            listener(event)

    @property
    def listeners(self) -> int:
        """Return how many sessions listen."""
        return len(self._listeners)
