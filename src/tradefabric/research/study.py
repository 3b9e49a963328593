"""Where an Optuna study is kept (a database shared by several sweeps)."""

from __future__ import annotations

import msgspec


class StudyConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where a TPE study lives so several processes or machines share it."""

    storage: str
    """A database URL: ``postgresql://user@host:5432/db`` (psycopg), ``sqlite:///file.db``."""
    name: str


def storage_url(url: str) -> str:
    """Return the SQLAlchemy URL of ``url`` (PostgreSQL through psycopg 3)."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url
