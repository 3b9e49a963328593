"""A real Prometheus (the Debian package's binary) started by a test to scrape a node."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any
from urllib.error import URLError

from tests.conftest import missing_resource
from tests.ops.control.harness import wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Prometheus:
    """Run ``prometheus`` scraping ``target`` (host:port) every second with a bearer token."""

    def __init__(self, target: str, token: str, workdir: Path) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            missing_resource("prometheus not installed (apt-get install -y prometheus)")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: tradefabric\n"
            "    scrape_interval: 1s\n"
            "    scrape_timeout: 1s\n"
            f"    authorization: {{type: Bearer, credentials: {token}}}\n"
            f"    static_configs: [{{targets: ['{target}']}}]\n"
        )
        self._log = (workdir / "prometheus.log").open("wb")
        self._process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def get(self, path: str, **params: str) -> Any:
        """Return the decoded JSON of one HTTP API call."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(self.url + path + query, timeout=10) as response:
            return json.loads(response.read())

    def wait_ready(self) -> None:
        """Wait until Prometheus answers and its one target is up."""

        def target_up() -> bool:
            if self._process.poll() is not None:
                raise AssertionError(f"prometheus exited with {self._process.returncode}")
            try:
                targets = self.get("/api/v1/targets")["data"]["activeTargets"]
            except (URLError, OSError):
                return False
            return bool(targets) and targets[0]["health"] == "up"

        wait_for("prometheus to scrape the node", target_up, timeout_s=60)

    def query(self, expr: str) -> Any:
        """Return the API answer of an instant query (``status``, ``data``, ``error``)."""
        return self.get("/api/v1/query", query=expr)

    def value(self, expr: str) -> float | None:
        """Return the single value of ``expr`` now, or None when it has no sample."""
        result = self.query(expr)["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    def close(self) -> None:
        """Stop Prometheus."""
        self._process.terminate()
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()
