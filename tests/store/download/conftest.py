"""The fake Binance venue on a real socket (its own thread and event loop), and clients of it."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tradefabric.data.feed.backoff import Backoff
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.download import HistoryClient, build_exchange, ccxt_venue
from tradefabric.store.download.retry import Retrier
from tradefabric.venues.binance.markets import market
from tradefabric.venues.fakevenue.binance import BinanceScript
from tradefabric.venues.fakevenue.server import FakeVenueServer

RECORDING = "binance_ws/spot_btcusdt_20240808.gz"
BTC_CANDLES = "candles_1m/binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather"


class ServedVenue:
    """A ``FakeVenueServer`` serving in a background thread, reached over HTTP like a venue."""

    def __init__(self, script: BinanceScript) -> None:
        self.script = script
        self.server = FakeVenueServer(script, speed=0)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return self.server.http_url

    def __enter__(self) -> ServedVenue:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *_exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def inject(self, fault: str) -> None:
        """POST ``/_fault/<fault>`` (e.g. ``http?status=429&count=3``), as an operator would."""
        request = urllib.request.Request(f"{self.url}/_fault/{fault}", method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200

    def status(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_status", timeout=5) as response:
            result: dict[str, Any] = json.loads(response.read())
        return result

    def get(self, path: str) -> tuple[int, dict[str, str], Any]:
        """GET ``path``; return the status, headers and decoded JSON body (errors included)."""
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as response:
                return response.status, dict(response.headers), json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), json.loads(exc.read())


@pytest.fixture
def venue(shared_data: Path) -> Iterator[ServedVenue]:
    script = BinanceScript(shared_data / RECORDING, market("binance"))
    script.history.add_klines(shared_data / "candles_1m")
    with ServedVenue(script) as served:
        yield served


def make_client(url: str, backoff_s: float = 0.05) -> HistoryClient:
    """Return a Binance client of the fake venue: ccxt's rate limiter fast, backoff short."""
    spec = ccxt_venue("binance")
    exchange = build_exchange(spec, url, rate_limit_ms=1)
    retrier = Retrier(exchange, backoff=Backoff(initial_s=backoff_s, maximum_s=1.0))
    return HistoryClient(spec, exchange, retrier)


@pytest.fixture
def client(venue: ServedVenue) -> Iterator[HistoryClient]:
    with make_client(venue.url) as c:
        yield c


@pytest.fixture
def catalog_root(tmp_path: Path) -> Path:
    return tmp_path / "catalog"


@pytest.fixture
def writer(catalog_root: Path) -> CatalogWriter:
    return CatalogWriter(catalog_root)
