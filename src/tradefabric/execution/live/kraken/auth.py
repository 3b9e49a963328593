"""Kraken's REST signature and a nonce that only ever increases, across restarts too.

``API-Sign`` is ``base64(HMAC-SHA512(base64decode(secret), path + SHA256(nonce + body)))``
where ``body`` is the url-encoded POST body (which carries the nonce itself). Kraken
refuses a nonce not greater than the last one it saw for the key ("EAPI:Invalid
nonce"), so ``NonceStore`` persists the highest nonce handed out before it is
used: a restarted client starts above it even when the clock went backwards.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path


def sign(secret_b64: str, path: str, nonce: str, body: str) -> str:
    """Return the ``API-Sign`` of a POST to ``path`` (``/0/private/AddOrder``)."""
    digest = hashlib.sha256((nonce + body).encode()).digest()
    mac = hmac.new(base64.b64decode(secret_b64), path.encode() + digest, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


class NonceStore:
    """Strictly increasing nonces (µs since the epoch), the high-water mark kept in a file.

    The file is rewritten atomically (write a temporary file, then rename) before a
    nonce is returned, so a crash right after sending still leaves it at least as
    high as the last nonce the venue may have seen.
    """

    def __init__(self, path: Path | None, clock: Callable[[], int] = time.time_ns) -> None:
        """Keep the high-water mark in ``path``; ``clock`` is the wall clock in ns."""
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._last = self._read()

    def _read(self) -> int:
        if self._path is None or not self._path.exists():
            return 0
        text = self._path.read_text().strip()
        return int(text) if text.isdigit() else 0

    @property
    def last(self) -> int:
        """Return the highest nonce handed out (0 before any)."""
        return self._last

    def next(self) -> str:
        """Return a nonce greater than every nonce before it, persisted first."""
        with self._lock:
            nonce = max(self._clock() // 1_000, self._last + 1)
            self._last = nonce
            if self._path is not None:
                self._persist(nonce)
        return str(nonce)

    def _persist(self, nonce: int) -> None:
        assert self._path is not None
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(self._path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(str(nonce))
        os.replace(tmp, self._path)
