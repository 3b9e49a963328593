"""Helpers to read real recordings independently of tradefabric, and to corrupt copies."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

RECORDINGS = {
    "spot_btcusdt": ("spot_btcusdt_20240808.gz", "binance", "BTC/USDT"),
    "spot_ethusdt": ("spot_ethusdt_20240808.gz", "binance", "ETH/USDT"),
    "usdm_btcusdt": ("usdm_btcusdt_20240808.gz", "binance-usdm", "BTC/USDT:USDT"),
}


def read_lines(path: Path) -> list[bytes]:
    """Return the raw lines of a gzip recording, without line ends."""
    with gzip.open(path, "rb") as f:
        return [line.rstrip(b"\n") for line in f]


def write_lines(path: Path, lines: list[bytes]) -> Path:
    """Write lines as a gzip recording."""
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(b"\n".join(lines) + b"\n")
    return path


def frame_kind(line: bytes) -> str:
    """Classify a line with the standard json module: trade, quote, depth, snapshot, other."""
    payload = json.loads(line.split(b" ", 1)[1])
    if "lastUpdateId" in payload:
        return "snapshot"
    stream = payload.get("stream", "")
    for suffix, kind in (("@trade", "trade"), ("@bookTicker", "quote"), ("@depth", "depth")):
        if suffix in stream:
            return kind
    return "other"


def count_kinds(lines: list[bytes]) -> Counter[str]:
    """Count frames per kind, independently of the code under test."""
    return Counter(frame_kind(line) for line in lines)
