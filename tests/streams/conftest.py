"""Fixtures for the Redis Streams tests: the local Redis, a private key prefix, recorded events.

Tests marked ``redis`` need the Redis on 127.0.0.1:6379. When it is not reachable
they fail in CI (``CI`` set) and are skipped elsewhere, with the command that
starts it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import missing_resource
from tradefabric.streams.connection import connect
from tradefabric.streams.errors import RedisUnavailableError

REDIS_URL = os.environ.get("TRADEFABRIC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
"""The Redis the tests use; the override lets a test prove a missing Redis fails in CI."""
START_COMMAND = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no'
)


def _check_redis() -> str | None:
    client = connect(REDIS_URL, timeout_s=2.0)
    try:
        client.ping()
    except (redis.exceptions.RedisError, OSError, RedisUnavailableError) as exc:
        return f"Redis at {REDIS_URL} is not reachable ({exc}); start it with: {START_COMMAND}"
    finally:
        client.close()
    return None


@pytest.fixture(scope="session")
def redis_available() -> None:
    """Fail in CI, skip elsewhere, when the local Redis does not answer."""
    problem = _check_redis()
    if problem is not None:
        missing_resource(problem)


@pytest.fixture(scope="session")
def redis_server_binary() -> None:
    """Fail in CI, skip elsewhere, when ``redis-server`` is not installed."""
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        missing_resource(message)


@pytest.fixture(autouse=True)
def _redis_marker(request: pytest.FixtureRequest) -> None:
    # Every test marked ``redis`` gets the reachability check, even without asking for it.
    if request.node.get_closest_marker("redis") is not None:
        request.getfixturevalue("redis_available")


@pytest.fixture
def client(redis_available: None) -> Iterator[redis.Redis]:
    """Return a client of the local Redis."""
    c = connect(REDIS_URL)
    yield c
    c.close()


@pytest.fixture
def prefix(client: redis.Redis) -> Iterator[str]:
    """Return a stream prefix no other test uses; delete its keys afterwards."""
    value = f"tftest{uuid.uuid4().hex[:12]}"
    yield value
    keys = list(client.scan_iter(match=f"{value}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(scope="session")
def spot_btc(shared_data: Path) -> Path:
    """Return the real Binance spot BTC/USDT recording."""
    return shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
