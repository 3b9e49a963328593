"""Per-kind throttling and quiet hours: which notices go out now, and the summaries of the rest.

Plain logic over a wall clock (``now``, seconds since the epoch), so it is tested with
any time of day. Throttling: within a window of ``window_s`` from a kind's first
notice, at most ``max_per_window`` of it go out; the rest are counted and summarized
("k more <kind> alerts") once the window ends. Quiet hours: non-critical notices are
held, counted per kind and summarized when the quiet hours end; ``Notice.always``
ones (halts, FLAT ALL, critical) go out at once and are never throttled.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from tradefabric.ops.telegram.config import QuietHours, ThrottleConfig
from tradefabric.ops.telegram.notices import Notice

SECONDS_PER_DAY = 86_400


class _Window:
    def __init__(self, start: float) -> None:
        self.start = start
        self.sent = 0
        self.suppressed = 0


def render(notice: Notice) -> str:
    """Return a notice as the text of its message."""
    return f"[{notice.level}] {notice.text}"


class AlertGate:
    """Decide what to send; see the module docstring."""

    def __init__(
        self,
        throttle: ThrottleConfig,
        quiet: QuietHours | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        """Throttle per ``throttle``, hold during ``quiet`` (UTC), reading time from ``now``."""
        self._throttle = throttle
        self._quiet = quiet
        self._now = now
        self._windows: dict[str, _Window] = {}
        self._held: Counter[str] = Counter()
        self._last_held = ""
        self.suppressed = 0
        self.held = 0

    def configure(self, throttle: ThrottleConfig, quiet: QuietHours | None) -> None:
        """Throttle and hold by these from now on (a config reload); open windows stay."""
        self._throttle = throttle
        self._quiet = quiet

    def quiet_now(self) -> bool:
        """Return True during the quiet hours."""
        if self._quiet is None:
            return False
        minute = int(self._now() // 60) % (24 * 60)
        return self._quiet.contains(minute)

    def admit(self, notice: Notice) -> list[str]:
        """Return the texts to send now for ``notice`` (after any summary that is due)."""
        out = self.due()
        if notice.always:
            out.append(render(notice))
        elif self.quiet_now():
            self._held[notice.kind] += 1
            self._last_held = render(notice)
            self.held += 1
        elif self._pass(notice.kind):
            out.append(render(notice))
        return out

    def _pass(self, kind: str) -> bool:
        now = self._now()
        window = self._windows.get(kind)
        if window is None:
            window = self._windows[kind] = _Window(now)
        if window.sent < self._throttle.max_per_window:
            window.sent += 1
            return True
        window.suppressed += 1
        self.suppressed += 1
        return False

    def due(self) -> list[str]:
        """Return the summaries due now: ended throttle windows, ended quiet hours."""
        now = self._now()
        out = []
        for kind, window in list(self._windows.items()):
            if now >= window.start + self._throttle.window_s:
                del self._windows[kind]
                if window.suppressed:
                    out.append(f"{window.suppressed} more {kind} alerts "
                               f"in {self._throttle.window_s:g} s (throttled)")  # fmt: skip
        if self._held and not self.quiet_now():
            counts = ", ".join(f"{n} {kind}" for kind, n in self._held.most_common())
            total = sum(self._held.values())
            out.append(f"quiet hours over: {total} alerts held ({counts}); last: {self._last_held}")
            self._held.clear()
        return out


class Daily:
    """Due once a day at ``minute`` (minutes since UTC midnight) of the wall clock ``now``."""

    def __init__(self, minute: int, now: Callable[[], float] = time.time) -> None:
        """Fall due first at the next ``minute`` after now."""
        self._now = now
        start = now()
        self._next = start - start % SECONDS_PER_DAY + minute * 60
        if self._next <= start:
            self._next += SECONDS_PER_DAY

    def due(self) -> bool:
        """Return True once when the time has come (then wait for the next day)."""
        now = self._now()
        if now < self._next:
            return False
        while self._next <= now:
            self._next += SECONDS_PER_DAY
        return True
