"""A paper node on the fake Binance venue with its control API on, run in a thread the test
stops; and a small HTTP client for the API (the test side of the wire)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from tests.conftest import REPO_ROOT
from tradefabric.node.kernel import TradingConfig, load_config
from tradefabric.node.paper import PaperRunner
from tradefabric.node.run import BacktestResult
from tradefabric.node.trading_node import TradingNode
from tradefabric.ops.control.config import ControlConfig
from tradefabric.venues.fakevenue.scripts import script_for
from tradefabric.venues.fakevenue.server import FakeVenueServer

T = TypeVar("T")
TOKEN = "test-control-token"
EXAMPLE = REPO_ROOT / "examples" / "paper_ema_cross.yaml"


def wait_for(what: str, condition: Callable[[], T | None], timeout_s: float = 30.0) -> T:
    """Return ``condition()``'s first truthy value; fail naming ``what`` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.05)


def control_config(recording: Path) -> TradingConfig:
    """Return the paper EMA-cross example with the control API on a free port."""
    config = load_config(EXAMPLE)
    data = msgspec.structs.replace(config.data, recording=recording)
    return msgspec.structs.replace(
        config, data=data, control=ControlConfig(port=0, token=TOKEN, flat_slippage_bps=50.0)
    )


class PaperNodeThread:
    """Run a paper node against a fake venue on its own loop and thread until ``stop``."""

    def __init__(
        self, config: TradingConfig, recording: Path, run_dir: Path, speed: float,
        config_file: Path | None = None,
    ) -> None:  # fmt: skip
        """``config_file``: what ``config`` was loaded from; the node can reload it (the fake
        venue's URLs are then given as overrides, as ``--ws-url`` does)."""
        self._config = config
        self._config_file = config_file
        self._recording = recording
        self.run_dir = run_dir
        self._speed = speed
        self.node: TradingNode | None = None
        self.server: FakeVenueServer | None = None
        self.result: BacktestResult | None = None
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="paper-node", daemon=True)

    def start(self) -> str:
        """Start the node; return its control API's URL once it listens."""
        self._thread.start()

        def url() -> str:
            if self.error is not None:
                raise AssertionError(f"the paper node failed: {self.error!r}")
            control = self.node.control if self.node is not None else None
            return control[1].url if control is not None else ""

        return wait_for("the control API to listen", url, timeout_s=60)

    def stop(self) -> BacktestResult:
        """Stop the node, wait for its run folder, and return the result."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(120)
        if self.error is not None:
            raise AssertionError(f"the paper node failed: {self.error!r}")
        assert self.result is not None, "the paper node did not finish"
        return self.result

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the test thread
            self.error = exc

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        script = script_for("binance", self._recording)
        async with FakeVenueServer(script, speed=self._speed) as server:
            self.server = server
            if self._config_file is not None:
                runner = PaperRunner(
                    self._config, ws_url=server.ws_url, rest_url=server.http_url,
                    on_node=self._on_node, config_file=self._config_file,
                )  # fmt: skip
                self.result = await runner.run(self.run_dir, self._stop)
                return
            feeds = {
                venue: msgspec.structs.replace(feed, ws_url=server.ws_url, rest_url=server.http_url)
                for venue, feed in self._config.feeds.items()
            }
            config = msgspec.structs.replace(self._config, feeds=feeds)
            runner = PaperRunner(config, on_node=self._on_node)
            self.result = await runner.run(self.run_dir, self._stop)

    def _on_node(self, node: TradingNode) -> None:
        self.node = node


class Api:
    """Call the control API as any client would: JSON over HTTP."""

    def __init__(self, url: str, token: str = TOKEN, operator: str = "tester") -> None:
        self.url = url
        self.token = token
        self.operator = operator

    def call(self, path: str, body: object = None, *, token: str | None = None) -> tuple[int, Any]:
        """Return (HTTP status, decoded JSON) of GET ``path`` (POST when ``body`` is given)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data,
                                         method="GET" if data is None else "POST")  # fmt: skip
        request.add_header("Authorization", f"Bearer {self.token if token is None else token}")
        request.add_header("X-Operator", self.operator)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def get(self, path: str) -> Any:
        """Return the JSON of GET ``path``; fail on any status but 200."""
        status, doc = self.call(path)
        assert status == 200, (path, status, doc)
        return doc

    def post(self, path: str, body: object) -> Any:
        """Return the JSON of POST ``path``; fail on any status but 200."""
        status, doc = self.call(path, body)
        assert status == 200, (path, status, doc)
        return doc
