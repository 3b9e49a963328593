"""Copy a run's audit log and daily reports to S3, each upload verified by its checksum.

The keys are ``<prefix>/<run folder name>/<path in the run folder>``. A file whose
stored copy already has the same SHA-256 is skipped, so a copy may run every day
(or every hour) over the same folder and send only what changed: the audit file of
the day that is still being written, new reports, newly rotated days. Each upload
sends the SHA-256 with the object (``ChecksumAlgorithm``: S3 refuses a body that
does not match it) and is then read back: the checksum S3 keeps, or where a store
keeps none the object's bytes, must equal the file's, else the copy fails naming
the key.

Credentials come from the environment only (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, optional ``AWS_SESSION_TOKEN``, or the variables the
target names): never from the config, a credentials file or instance metadata,
and they are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import structlog

from tradefabric.core.errors import ConfigError, DataSourceError, RetryableError

S3Client = Any
"""boto3's S3 client (boto3 ships no type information)."""

log = structlog.get_logger(__name__)

REPORTS_GLOB = "reports/daily-*.*"
AUDIT_GLOBS = ("audit.jsonl", "audit-????-??-??.jsonl", "audit.head")
_REFUSALS = frozenset(
    {"NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"}
)
"""S3 answers that retrying cannot change (the target or the credentials are wrong)."""


class S3Target(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where copies go: a bucket, a key prefix, and optionally an S3-compatible endpoint."""

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    """An S3-compatible endpoint (MinIO, a local test server); None: AWS."""
    region: str = "us-east-1"
    access_key_env: str = "AWS_ACCESS_KEY_ID"
    secret_key_env: str = "AWS_SECRET_ACCESS_KEY"
    session_token_env: str = "AWS_SESSION_TOKEN"
    """Read when set (temporary credentials); optional."""

    def __post_init__(self) -> None:
        if not self.bucket:
            raise ConfigError("s3: bucket must not be empty")

    def key(self, run_dir: Path, relative: str) -> str:
        """Return the object key of ``relative`` (a path in ``run_dir``)."""
        parts = [p for p in (self.prefix.strip("/"), run_dir.resolve().name, relative) if p]
        return "/".join(parts)


class CopiedFile(msgspec.Struct, frozen=True, kw_only=True):
    """One file of a copy: where it went and whether it was sent."""

    path: str
    key: str
    bytes: int
    sha256: str
    uploaded: bool
    """False: the stored copy already had this checksum."""


class CopyReport(msgspec.Struct, frozen=True, kw_only=True):
    """What one copy did."""

    bucket: str
    files: list[CopiedFile]

    @property
    def uploaded(self) -> int:
        """Return how many files were sent."""
        return sum(1 for f in self.files if f.uploaded)


def run_files(run_dir: Path, *, audit: bool = True, reports: bool = True) -> list[str]:
    """Return the audit files and daily reports of ``run_dir``, relative to it, sorted."""
    globs = (AUDIT_GLOBS if audit else ()) + ((REPORTS_GLOB,) if reports else ())
    found = {p.relative_to(run_dir).as_posix() for g in globs for p in run_dir.glob(g)}
    return sorted(f for f in found if (run_dir / f).is_file())


def _credentials(target: S3Target) -> dict[str, str]:
    key, secret = os.environ.get(target.access_key_env), os.environ.get(target.secret_key_env)
    if not key or not secret:
        pairs = ((target.access_key_env, key), (target.secret_key_env, secret))
        missing = [name for name, value in pairs if not value]
        raise ConfigError(
            f"s3: credentials come from the environment only: set {' and '.join(missing)}"
        )
    out = {"aws_access_key_id": key, "aws_secret_access_key": secret}
    token = os.environ.get(target.session_token_env)
    if token:
        out["aws_session_token"] = token
    return out


def s3_client(target: S3Target) -> S3Client:
    """Return a boto3 S3 client for ``target`` with the environment's credentials only."""
    import boto3  # noqa: PLC0415 - only a copy needs boto3 (a second of import)

    session = boto3.session.Session(**_credentials(target), region_name=target.region)
    client: S3Client = session.client("s3", endpoint_url=target.endpoint_url)
    return client


def _sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _stored_checksum(client: S3Client, bucket: str, key: str) -> str | None:
    """Return the SHA-256 S3 keeps for ``key``; None when absent or not kept."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    try:
        head = client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    stored = head.get("ChecksumSHA256")
    return str(stored) if stored else None


def _read_back_checksum(client: S3Client, bucket: str, key: str) -> str:
    stored = _stored_checksum(client, bucket, key)
    if stored is not None:
        return stored
    body = client.get_object(Bucket=bucket, Key=key)["Body"]  # a store keeping no checksum
    digest = hashlib.sha256()
    for chunk in iter(lambda: body.read(1 << 20), b""):
        digest.update(chunk)
    return base64.b64encode(digest.digest()).decode()


def _copy_one(client: S3Client, target: S3Target, run_dir: Path, relative: str) -> CopiedFile:
    # One read: the bytes hashed are the bytes sent, even while the audit file grows.
    data = (run_dir / relative).read_bytes()
    checksum = _sha256_b64(data)
    key = target.key(run_dir, relative)
    done = CopiedFile(path=relative, key=key, bytes=len(data), sha256=checksum, uploaded=False)
    if _stored_checksum(client, target.bucket, key) == checksum:
        return done
    client.put_object(Bucket=target.bucket, Key=key, Body=data, ChecksumAlgorithm="SHA256")
    stored = _read_back_checksum(client, target.bucket, key)
    if stored != checksum:
        raise RetryableError(
            f"s3://{target.bucket}/{key}: stored checksum {stored} != file's {checksum}"
        )
    log.info("s3_copied", key=key, bytes=len(data))
    return msgspec.structs.replace(done, uploaded=True)


def _files(run_dir: Path, audit: bool, reports: bool) -> Iterator[str]:
    if not run_dir.is_dir():
        raise DataSourceError(f"{run_dir}: no such run folder")
    yield from run_files(run_dir, audit=audit, reports=reports)


def copy_run(
    run_dir: Path,
    target: S3Target,
    *,
    audit: bool = True,
    reports: bool = True,
    client: S3Client | None = None,
) -> CopyReport:
    """Copy ``run_dir``'s audit files and daily reports to ``target``; verify each upload."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    files = list(_files(run_dir, audit, reports))
    s3 = client if client is not None else s3_client(target)
    try:
        copied = [_copy_one(s3, target, run_dir, relative) for relative in files]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        error = ConfigError if code in _REFUSALS else RetryableError
        raise error(f"s3://{target.bucket}: {exc}") from exc
    except BotoCoreError as exc:  # unreachable endpoint, timeouts: may work later
        raise RetryableError(f"s3://{target.bucket}: {exc}") from exc
    return CopyReport(bucket=target.bucket, files=copied)
