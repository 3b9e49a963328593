"""The audit log is append-only for real: continued, hash-chained, rotated, copied, verified."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import fsspec
import msgspec
import pytest

from tests.conftest import missing_resource
from tradefabric.core.errors import AuditWriteError
from tradefabric.core.time import NS_PER_DAY, NS_PER_HOUR
from tradefabric.risk.audit import AuditLog, read_audit
from tradefabric.risk.audit_verify import verify_audit

T0 = 1_722_470_400_000_000_000  # 2024-08-01 00:00 UTC


class Note(msgspec.Struct, frozen=True):
    """A record's data."""

    text: str
    price: float


def _write(log: AuditLog, n: int, ts: int = T0, step: int = NS_PER_HOUR) -> None:
    for i in range(n):
        log.write("note", ts + i * step, Note(f"n{i}", 100.25 + i))


def test_the_sequence_and_the_chain_continue_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    for _ in range(3):
        log = AuditLog(path)
        _write(log, 4)
        log.close()
    records = read_audit(path)
    assert [r.seq for r in records] == list(range(1, 13))
    assert len({r.hash for r in records}) == 12
    (tmp_path / "orders.jsonl").write_text('{"client_order_id":"a"}\n')  # a run folder's
    (tmp_path / "zz.jsonl").write_text("")
    assert verify_audit(path) == verify_audit(tmp_path)
    verdict = verify_audit(path)
    assert verdict.ok and verdict.records == 12


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_an_edited_line_is_found_with_its_seq_and_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    _write(log, 6)
    log.close()
    lines = _lines(path)
    lines[3] = lines[3].replace(b"103.25", b"903.25")  # same length, other price
    path.write_bytes(b"".join(lines))
    verdict = verify_audit(path)
    assert not verdict.ok
    assert (verdict.line, verdict.seq, verdict.records) == (4, 4, 3)
    assert "hash mismatch" in verdict.problem


def test_a_removed_line_and_a_cut_file_are_found(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    _write(log, 6)
    log.close()
    whole = path.read_bytes()
    lines = _lines(path)
    path.write_bytes(b"".join(lines[:2] + lines[3:]))
    removed = verify_audit(path)
    assert (removed.ok, removed.line, removed.seq) == (False, 3, 3)
    assert "seq 4 where 3 was due" in removed.problem
    path.write_bytes(whole[: len(whole) - 40])  # cut inside the last line
    cut = verify_audit(path)
    assert (cut.ok, cut.line, cut.records) == (False, 6, 5)
    assert cut.problem.startswith("truncated")
    path.write_bytes(b"".join(lines[:4]))  # cut at a line boundary: the .head knows better
    short = verify_audit(path)
    assert not short.ok and short.records == 4
    assert "ends at seq 4 but was closed at seq 6" in short.problem
    path.write_bytes(b"".join(lines[1:]))
    head_cut = verify_audit(path)
    assert (head_cut.ok, head_cut.line) == (False, 1)
    assert "does not start at seq 1" in head_cut.problem


def test_a_torn_last_line_is_kept_ended_and_the_chain_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    _write(log, 3)
    log.close()
    with path.open("ab") as f:
        f.write(b'{"seq":4,"ts":1,"kind":"fi')  # a crash in the middle of a write
    log = AuditLog(path)
    _write(log, 2)
    log.close()
    lines = _lines(path)
    assert lines[3] == b'{"seq":4,"ts":1,"kind":"fi\n'  # kept, never removed
    assert [msgspec.json.decode(line)["seq"] for line in lines[4:]] == [4, 5]
    verdict = verify_audit(path)
    assert (verdict.ok, verdict.line, verdict.records) == (False, 4, 3)


def test_daily_files_chain_on_and_a_missing_day_is_found(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, rotate_daily=True)
    _write(log, 10, step=8 * NS_PER_HOUR)  # 10 records over 4 UTC days
    log.close()
    log = AuditLog(path, rotate_daily=True)  # a restart on the last day appends to its file
    _write(log, 2, ts=T0 + 3 * NS_PER_DAY + 20 * NS_PER_HOUR)
    log.close()
    files = sorted(p.name for p in tmp_path.glob("*.jsonl"))
    assert files == [f"audit-2024-08-0{d}.jsonl" for d in (1, 2, 3, 4)]
    assert [r.seq for r in read_audit(tmp_path / "audit-2024-08-04.jsonl")] == [10, 11, 12]
    verdict = verify_audit(tmp_path)
    assert verdict.ok and verdict.records == 12
    assert verify_audit(tmp_path / "audit-2024-08-02.jsonl").records == 12
    (tmp_path / "audit-2024-08-02.jsonl").unlink()
    gap = verify_audit(tmp_path)
    assert not gap.ok and gap.file.endswith("audit-2024-08-03.jsonl") and gap.line == 1


@pytest.mark.parametrize("target", ["memory", "file"])
def test_closed_files_are_copied_to_an_fsspec_location(tmp_path: Path, target: str) -> None:
    url = "memory://audit-copy/run1" if target == "memory" else f"file://{tmp_path / 'copy'}"
    path = tmp_path / "log" / "audit.jsonl"
    log = AuditLog(path, rotate_daily=True, copy_to=url)
    _write(log, 3, step=NS_PER_DAY)
    log.close()
    assert log.copy_errors == []
    fs, root = fsspec.core.url_to_fs(url)
    for local in sorted(path.parent.glob("audit-*.jsonl")):
        assert fs.cat_file(f"{root}/{local.name}") == local.read_bytes()
    assert len(fs.ls(root)) == 3


def test_a_full_disk_raises_audit_write_error_and_keeps_raising() -> None:
    log = AuditLog(Path("/dev/full"))
    with pytest.raises(AuditWriteError, match="No space left on device"):
        log.write("note", T0, Note("x", 1.0))
    with pytest.raises(AuditWriteError):
        log.write("note", T0, Note("y", 2.0))
    log.close()


def test_a_full_disk_in_a_buffered_log_raises_at_close() -> None:
    log = AuditLog(Path("/dev/full"), buffered=True)
    log.write("note", T0, Note("x", 1.0))
    with pytest.raises(AuditWriteError, match="No space left on device"):
        log.close()


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """Mount a 64 KiB tmpfs (root only) so the disk really fills up."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        missing_resource(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=True)


def test_a_really_full_disk_stops_the_log_with_every_earlier_line_intact(tiny_fs: Path) -> None:
    log = AuditLog(tiny_fs / "audit.jsonl", fsync=True)
    written = 0
    with pytest.raises(AuditWriteError, match="No space left on device"):
        for i in range(10_000):
            log.write("note", T0 + i, Note("x" * 200, float(i)))
            written += 1
    assert written > 100  # 64 KiB held a few hundred lines before it filled
    with pytest.raises(AuditWriteError):
        log.write("note", T0, Note("after", 0.0))
    log.close()
    verdict = verify_audit(tiny_fs / "audit.jsonl")
    assert verdict.records == written  # everything acknowledged is there and chained
