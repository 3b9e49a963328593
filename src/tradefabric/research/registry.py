"""The model registry: a folder ``<catalog>/models`` beside the catalog's data.

Each model is ``<id>.json`` (its ``ModelRecord``: training window, catalog
version and fingerprint, features, params, purged-CV and out-of-sample metrics,
content hash) and ``<id>.model`` (its bytes, whose SHA-256 is the hash). Files
are written once and never changed. ``audit.jsonl`` is the project's
hash-chained audit log (``risk.audit``): every promotion, and every refused
one, with who, when and why; the promoted model of a name is the one its last
promotion names.

A model is named by its id, by a unique id prefix, by its name (the promoted
model of that name), or by the path of its JSON file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import msgspec

from tradefabric.core.errors import ConfigError, DataSourceError
from tradefabric.core.time import ns_to_iso
from tradefabric.research.learners import Learner, load_learner
from tradefabric.research.training import ModelRecord, Trained
from tradefabric.risk.audit import AuditLog, read_audit

PROMOTED = "model_promoted"
REFUSED = "model_promotion_refused"


class Promotion(msgspec.Struct, frozen=True, kw_only=True):
    """One audited promotion decision."""

    name: str
    model: str
    previous: str | None
    who: str
    why: str
    when: str
    outcome: Literal["promoted", "refused"] = "promoted"


class Registry:
    """Models stored under ``<catalog root>/models``."""

    def __init__(self, catalog_root: Path) -> None:
        self.folder = catalog_root / "models"
        self.audit_path = self.folder / "audit.jsonl"

    def save(self, trained: Trained) -> Path:
        """Store a trained model (idempotent: the same bytes are the same model); its JSON path."""
        record = trained.record
        if hashlib.sha256(trained.blob).hexdigest() != record.content_hash:
            raise ConfigError(f"{record.id}: the bytes do not match the record's hash")
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = self.folder / f"{record.id}.json"
        if meta.exists():
            return meta
        # Bytes first: a record on disk always has its model beside it.
        (self.folder / f"{record.id}.model").write_bytes(trained.blob)
        meta.write_bytes(msgspec.json.format(msgspec.json.encode(record)) + b"\n")
        return meta

    def records(self) -> list[ModelRecord]:
        """Return every stored model's record, oldest first."""
        if not self.folder.is_dir():
            return []
        out = [_read_record(p) for p in sorted(self.folder.glob("*.json"))]
        return sorted(out, key=lambda r: (r.created, r.id))

    def record(self, ref: str) -> ModelRecord:
        """Return the record ``ref`` names (id, id prefix, name, or JSON path)."""
        if ref.endswith(".json"):
            return _read_record(Path(ref))
        records = self.records()
        exact = [r for r in records if r.id == ref]
        if exact:
            return exact[0]
        champion = self.promoted(ref)
        if champion is not None:
            return self.record(champion)
        matches = [r for r in records if r.id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        known = ", ".join(r.id for r in records) or "none"
        what = "matches several models" if matches else "names no model"
        raise ConfigError(f"model {ref!r} {what} in {self.folder} (have: {known})")

    def load(self, ref: str) -> tuple[ModelRecord, Learner]:
        """Return the record and fitted learner of ``ref``; refuse bytes whose hash differs."""
        record = self.record(ref)
        folder = Path(ref).parent if ref.endswith(".json") else self.folder
        path = folder / f"{record.id}.model"
        try:
            blob = path.read_bytes()
        except OSError as exc:
            raise DataSourceError(f"model {record.id}: cannot read {path}: {exc}") from exc
        if hashlib.sha256(blob).hexdigest() != record.content_hash:
            raise DataSourceError(f"model {record.id}: {path} does not match its content hash")
        return record, load_learner(record.learner, blob)

    def promotions(self) -> list[Promotion]:
        """Return every audited promotion decision, oldest first."""
        if not self.audit_path.exists():
            return []
        return [msgspec.json.decode(r.data, type=Promotion) for r in read_audit(self.audit_path)]

    def promoted(self, name: str) -> str | None:
        """Return the id of the promoted model of ``name`` (None before any promotion)."""
        done = [p for p in self.promotions() if p.name == name and p.outcome == "promoted"]
        return done[-1].model if done else None

    def promote(
        self, ref: str, *, who: str, why: str, now_ns: int, refused: bool = False
    ) -> Promotion:
        """Audit a promotion of ``ref`` (or its refusal) and return the entry."""
        if not who.strip() or not why.strip():
            raise ConfigError("promote: say who promotes and why")
        record = self.record(ref)
        entry = Promotion(
            name=record.name, model=record.id, previous=self.promoted(record.name), who=who,
            why=why, when=ns_to_iso(now_ns), outcome="refused" if refused else "promoted",
        )  # fmt: skip
        log = AuditLog(self.audit_path, fsync=True)
        try:
            log.write(REFUSED if refused else PROMOTED, now_ns, entry)
        finally:
            log.close()
        return entry


def _read_record(path: Path) -> ModelRecord:
    try:
        return msgspec.json.decode(path.read_bytes(), type=ModelRecord)
    except OSError as exc:
        raise DataSourceError(f"cannot read model record {path}: {exc}") from exc
    except msgspec.ValidationError as exc:
        raise DataSourceError(f"{path}: not a model record: {exc}") from exc
