"""Record every frame a live connection receives, replayable with ``tradefabric data replay``."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from tradefabric.core.errors import DataSourceError
from tradefabric.core.time import ns_to_iso


class FrameRecorder:
    """Append ``<ts_recv ns> <raw frame>`` lines to one file per connection."""

    def __init__(self, directory: Path, venue: str, connection_id: int, ts_ns: int) -> None:
        stamp = ns_to_iso(ts_ns).replace(":", "").replace("-", "")
        self.path = directory / f"{venue}-{stamp}-c{connection_id}.rec"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            # A large buffer keeps the write off the hot path: a memory copy per frame.
            self._file: BinaryIO = self.path.open("ab", buffering=1 << 20)
        except OSError as exc:
            raise DataSourceError(f"cannot record to {self.path}: {exc.strerror or exc}") from exc
        self.frames = 0

    def record(self, raw: bytes, ts_recv: int) -> None:
        """Append one frame."""
        self._file.write(b"%d %s\n" % (ts_recv, raw))
        self.frames += 1

    def close(self) -> None:
        """Flush and close the file."""
        self._file.close()
