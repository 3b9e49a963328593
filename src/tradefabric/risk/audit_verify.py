"""Check an audit log's hash chain: an edited, removed, torn or cut line is found.

Every line must be a record whose ``seq`` follows the previous one (the first
being 1) and whose ``hash`` is the sha256 of the previous hash and the line's
body; the chain runs across a rotated log's daily files. The ``.head`` file the
log writes at each close says where the log ended then: a log ending before it
was cut at a line boundary.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from tradefabric.risk.audit import (
    GENESIS,
    AuditHead,
    AuditRecord,
    chain_hash,
    head_file,
    log_files,
    split_line,
)

_ROTATED_SUFFIX_LEN = len("-YYYY-MM-DD")
DEFAULT_NAME = "audit.jsonl"
"""The log's name in a run folder (``KernelRun``)."""


class AuditVerdict(msgspec.Struct, frozen=True, kw_only=True):
    """What ``verify_audit`` found: how many records were good, and the first bad line."""

    records: int
    ok: bool
    problem: str = ""
    file: str = ""
    line: int = 0
    """1-based line number in ``file`` of the first bad line (0 when ok)."""
    seq: int = 0
    """The seq the first bad line should have had."""


def audit_files(path: Path) -> tuple[Path, list[Path]]:
    """Return (log base path, files in chain order) for a log file or a directory of one.

    A directory (a run folder) holds ``audit.jsonl`` or its daily files
    ``audit-YYYY-MM-DD.jsonl`` beside other JSON lines files (orders, fills...).
    """
    base = path / DEFAULT_NAME if path.is_dir() else _base(path)
    return base, log_files(base)


def _base(file: Path) -> Path:
    """Return the log path a rotated day file belongs to (``audit-2024-08-01.jsonl`` -> audit)."""
    stem = file.stem
    if len(stem) > _ROTATED_SUFFIX_LEN and stem[-_ROTATED_SUFFIX_LEN] == "-":
        day = stem[-10:]
        if day[4] == "-" and day[7] == "-" and day.replace("-", "").isdigit():
            return file.with_name(stem[:-_ROTATED_SUFFIX_LEN] + file.suffix)
    return file


def verify_audit(path: Path) -> AuditVerdict:
    """Verify the chain of the log at ``path`` (a file, or the directory holding it)."""
    base, files = audit_files(path)
    if not files:
        return AuditVerdict(records=0, ok=False, problem=f"no audit log at {path}")
    decoder = msgspec.json.Decoder(AuditRecord)
    seq, prev = 0, GENESIS
    for file in files:
        with file.open("rb") as f:
            for number, raw in enumerate(f, start=1):
                problem = _check(raw, seq, prev, decoder)
                if problem:
                    return AuditVerdict(records=seq, ok=False, problem=problem,
                                        file=str(file), line=number, seq=seq + 1)  # fmt: skip
                split = split_line(raw[:-1])
                assert split is not None
                seq, prev = seq + 1, split[1]
    return _against_head(base, seq, prev)


def _check(raw: bytes, seq: int, prev: str, decoder: msgspec.json.Decoder[AuditRecord]) -> str:
    """Return what is wrong with one line ("" when it continues the chain)."""
    if not raw.endswith(b"\n"):
        return "truncated: the line has no end (torn write or cut file)"
    split = split_line(raw[:-1])
    if split is None:
        return "not a hash-chained record"
    body, digest = split
    try:
        record = decoder.decode(raw)
    except msgspec.DecodeError as exc:
        return f"not a record: {exc}"
    if record.seq != seq + 1:
        what = "lines removed or reordered" if seq else "the log does not start at seq 1"
        return f"seq {record.seq} where {seq + 1} was due ({what})"
    if chain_hash(prev, body) != digest:
        return "hash mismatch: the line was edited (or the one before it was)"
    return ""


def _against_head(base: Path, seq: int, prev: str) -> AuditVerdict:
    head_path = head_file(base)
    if head_path.is_file():
        try:
            head = msgspec.json.decode(head_path.read_bytes(), type=AuditHead)
        except msgspec.DecodeError as exc:
            return AuditVerdict(records=seq, ok=False, problem=f"{head_path}: unreadable: {exc}")
        if head.seq > seq:
            return AuditVerdict(
                records=seq, ok=False, file=head.file, seq=seq + 1,
                problem=f"truncated: the log ends at seq {seq} but was closed at seq {head.seq}",
            )  # fmt: skip
    return AuditVerdict(records=seq, ok=True)
