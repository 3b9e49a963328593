"""Audit log and daily reports copied to S3 (moto's server on a real socket, reached by
boto3): each upload verified by its SHA-256, unchanged files skipped, credentials from the
environment only; by hand (`report s3-copy`) and as the node's scheduled `s3_copy` job."""

from __future__ import annotations

import base64
import hashlib
import http.client
import http.server
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import msgspec
import pytest
from moto.server import ThreadedMotoServer

from tests.feed_waits import until
from tests.node.sched_harness import Node, entry
from tests.ops.run_folder import write_run
from tradefabric.core.errors import ConfigError, RetryableError
from tradefabric.ops.s3_copy import S3Target, copy_run

BUCKET = "tradefabric-audit"
KEY, SECRET = "AKIDTESTCOPY", "s3cr3t-never-printed"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    _client(url).create_bucket(Bucket=BUCKET)
    yield url
    server.stop()


@pytest.fixture(scope="module")
def run_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_run(shared_data, tmp_path_factory.mktemp("s3") / "run-1", rotate_audit=True)


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


def _client(url: str) -> Any:
    return boto3.client("s3", endpoint_url=url, aws_access_key_id=KEY,
                        aws_secret_access_key=SECRET, region_name="us-east-1")  # fmt: skip


def _stored(url: str, key: str) -> bytes:
    body: bytes = _client(url).get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return body


EXPECTED = [
    "audit-2024-08-01.jsonl", "audit-2024-08-02.jsonl", "audit.head",
    "reports/daily-2024-08-01.html", "reports/daily-2024-08-01.json",
    "reports/daily-2024-08-02.html", "reports/daily-2024-08-02.json",
]  # fmt: skip


@pytest.mark.usefixtures("credentials")
def test_a_copy_is_verified_and_a_second_sends_only_what_changed(
    endpoint: str, run_dir: Path, tmp_path: Path
) -> None:
    target = S3Target(bucket=BUCKET, prefix="nodes/a/", endpoint_url=endpoint)
    first = copy_run(run_dir, target)
    assert [f.path for f in first.files] == EXPECTED
    assert first.uploaded == len(EXPECTED)
    head = _client(endpoint).head_object(
        Bucket=BUCKET, Key="nodes/a/run-1/audit-2024-08-01.jsonl", ChecksumMode="ENABLED"
    )
    for copied in first.files:
        local = (run_dir / copied.path).read_bytes()
        assert copied.key == f"nodes/a/run-1/{copied.path}"
        assert _stored(endpoint, copied.key) == local
        assert copied.sha256 == base64.b64encode(hashlib.sha256(local).digest()).decode()
    assert head["ChecksumSHA256"] == first.files[0].sha256
    again = copy_run(run_dir, target)
    assert again.uploaded == 0 and [f.sha256 for f in again.files] == [
        f.sha256 for f in first.files
    ]
    # A day's report written again (another run of the job) is sent again; nothing else is.
    report = run_dir / "reports" / "daily-2024-08-02.json"
    report.write_bytes(report.read_bytes() + b"\n")
    third = copy_run(run_dir, target, audit=False)
    assert [f.path for f in third.files if f.uploaded] == ["reports/daily-2024-08-02.json"]
    assert _stored(endpoint, "nodes/a/run-1/reports/daily-2024-08-02.json") == report.read_bytes()


def test_credentials_come_from_the_environment_only(
    endpoint: str, run_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    # A credentials file boto3 would read by default is ignored.
    aws = tmp_path / "credentials"
    aws.write_text(f"[default]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws))
    with pytest.raises(ConfigError) as info:
        copy_run(run_dir, S3Target(bucket=BUCKET, endpoint_url=endpoint))
    assert "environment only: set AWS_ACCESS_KEY_ID" in str(info.value)
    assert SECRET not in str(info.value)
    with pytest.raises(msgspec.ValidationError, match="unknown field `secret_key`"):
        msgspec.convert({"bucket": BUCKET, "secret_key": SECRET}, S3Target)


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tradefabric", "report", "s3-copy", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120,
                          check=False)  # fmt: skip


def test_report_s3_copy_command(endpoint: str, run_dir: Path) -> None:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET}
    # --help: tests/cli/test_cli.py
    base = ("--run", str(run_dir), "--endpoint-url", endpoint, "--prefix", "cli")
    done = _cli(*base, "--bucket", BUCKET, "--no-reports", "--json", env=env)
    assert done.returncode == 0, done.stderr
    copied = msgspec.json.decode(done.stdout)
    assert [f["path"] for f in copied["files"]] == EXPECTED[:3]
    assert _stored(endpoint, "cli/run-1/audit.head") == (run_dir / "audit.head").read_bytes()
    text = _cli(*base, "--bucket", BUCKET, env=env)
    assert text.returncode == 0 and "4 uploaded, 3 unchanged, all verified" in text.stdout
    missing = _cli(*base, "--bucket", "no-such-bucket", env=env)
    assert missing.returncode == 2 and "NoSuchBucket" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert SECRET not in missing.stdout + missing.stderr + text.stdout + text.stderr


@pytest.mark.usefixtures("credentials")
async def test_the_scheduled_s3_copy_job_copies_the_nodes_run(
    endpoint: str, run_dir: Path, tmp_path: Path
) -> None:
    args = {"bucket": BUCKET, "prefix": "sched", "endpoint_url": endpoint}
    node = Node(tmp_path, entry("s3_copy", "15 0 * * *", args=args), run_dir=run_dir)
    node.to_minute(15)
    assert node.flushes == 1
    await until(lambda: node.kinds("s3_copy") == ["job_finished"], timeout_s=30)
    summary = node.stats("s3_copy").last_summary
    assert [f["path"] for f in summary["files"]] == EXPECTED
    assert (
        _stored(endpoint, "sched/run-1/audit-2024-08-02.jsonl")
        == (run_dir / "audit-2024-08-02.jsonl").read_bytes()
    )


class _Corrupting(http.server.BaseHTTPRequestHandler):
    """An S3-compatible endpoint in front of moto whose stored checksums do not match what
    was sent (a store that lost or mangled the upload): HEAD answers another SHA-256."""

    upstream = ""

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        host = self.upstream.removeprefix("http://")
        connection = http.client.HTTPConnection(host, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "expect"}
        connection.request(self.command, self.path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        self.send_response(response.status)
        wrong = base64.b64encode(hashlib.sha256(b"not the file").digest()).decode()
        for key, value in response.getheaders():
            lost = key.lower() == "x-amz-checksum-sha256" and self.command == "HEAD"
            if key.lower() not in ("transfer-encoding", "connection"):
                self.send_header(key, wrong if lost else value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_HEAD = do_POST = _forward  # noqa: N815 - http.server's names

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.mark.usefixtures("credentials")
def test_an_upload_whose_stored_checksum_differs_fails_naming_the_key(
    endpoint: str, run_dir: Path
) -> None:
    _Corrupting.upstream = endpoint
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Corrupting)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{proxy.server_address[1]}"
        target = S3Target(bucket=BUCKET, prefix="corrupt", endpoint_url=url)
        with pytest.raises(RetryableError) as info:
            copy_run(run_dir, target, reports=False)
        assert "s3://tradefabric-audit/corrupt/run-1/audit-2024-08-01.jsonl: stored checksum" in (
            str(info.value)
        )
    finally:
        proxy.shutdown()
        proxy.server_close()
