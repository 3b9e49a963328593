"""The REST weight limiter keeps every window under the venue's limit, bursts included."""

from __future__ import annotations

import time

import pytest

from tradefabric.core.errors import ConfigError
from tradefabric.data.feed.rest import WeightLimiter


async def test_no_window_ever_holds_more_than_the_limit() -> None:
    limit, window = 20, 0.5
    limiter = WeightLimiter(limit, window_s=window, burst=5)
    taken: list[float] = []
    start = time.monotonic()
    for _ in range(60):
        await limiter.acquire(1)
        taken.append(time.monotonic())
    # Slide a window over every acquisition: a fixed-window venue never sees more than the limit.
    for i, t in enumerate(taken):
        in_window = sum(1 for u in taken[i:] if u - t < window)
        assert in_window <= limit
    # 5 at once, then 55 at (20 - 5) / 0.5 = 30 per second: about 1.8 s, not 60 at once.
    assert time.monotonic() - start >= 55 / 30 * 0.95
    assert taken[4] - start < 0.05  # the burst itself is not paced


async def test_a_request_heavier_than_the_burst_is_a_config_error() -> None:
    limiter = WeightLimiter(100, burst=10)
    with pytest.raises(ConfigError, match="request weight 11 exceeds the limiter's burst 10"):
        await limiter.acquire(11)


@pytest.mark.parametrize(("limit", "burst"), [(10, 10), (10, 0), (10, 11)])
def test_burst_must_be_below_the_limit(limit: int, burst: int) -> None:
    with pytest.raises(ConfigError, match="0 < burst < limit"):
        WeightLimiter(limit, burst=burst)
