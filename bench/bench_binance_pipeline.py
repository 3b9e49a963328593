"""Binance market data throughput: decode + normalize + book/candle updates, vs a same-run floor.

Run from the repository root:

    .venv/bin/python bench/bench_binance_pipeline.py [--repeat 5] [--json] [--strict]

For the real spot and USD-M recordings (``<repo>/../shared/data/binance_ws``, or
``$TRADEFABRIC_SHARED_DATA/binance_ws``) it prints, each as the best of
``--repeat`` runs over lines pre-read into memory (no file I/O or gzip timed):

- floor: ``msgspec.json.Decoder().decode`` of every line into dicts, results dropped;
- full path: a fresh SimClock, MessageBus, OrderBooks, CandleAggregator (1s, 1m)
  and BinanceStreamParser per run, fed ``clock.advance_to(ts); parser.on_frame(raw, ts)``
  for every line, in messages/s and as a ratio of the floor (target >= 30%);
  the same run checks the result (trades reached the candles, the book is valid
  and at the last depth id), so a broken path cannot pass;
- book alone: ``apply_snapshot`` then, per delta batch, ``apply_deltas`` +
  ``best_bid()`` + ``best_ask()``, in level changes/s (target > 4,000,000; Nautilus
  Trader's Rust book is quoted at about 3.5M/s), next to the bare Python floor
  for that work (``for p, s in levels: d[p] = s``);
- optionally Nautilus Trader's ``OrderBook`` (L2_MBP) on the same levels, when
  ``NAUTILUS_PYTHON`` names an interpreter with ``nautilus_trader`` installed
  (see ``peer_nautilus_book.py``).

Exit code 1 when a correctness check fails (or, with ``--strict``, a target is missed).
"""

from __future__ import annotations

import argparse
import gc
import gzip
import math
import os
import platform
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.errors import DataError
from tradefabric.data import topics
from tradefabric.data.book_sync import OrderBooks
from tradefabric.data.candles import CandleAggregator
from tradefabric.data.order_book import OrderBook
from tradefabric.model.data import Candle, OrderBookDeltas, OrderBookSnapshot
from tradefabric.venues.binance.markets import market, sequence_rules
from tradefabric.venues.binance.parser import BinanceStreamParser

RECORDINGS = (
    ("spot_btcusdt_20240808.gz", "binance"),
    ("usdm_btcusdt_20240808.gz", "binance-usdm"),
)
FULL_TARGET_RATIO = 0.30
BOOK_TARGET = 4_000_000.0
BOOK_PEER_RATIO = 1.0
"""Verdict with the peer: at least as fast as Nautilus' Rust book driven from Python."""
BOOK_DICT_RATIO = 0.25
"""Verdict without the peer: at least a quarter of a plain dict assignment per level change
(the book also keeps levels sorted and reads the best bid/ask after every batch)."""
NAUTILUS_QUOTED = 3_500_000.0
INTERVALS = ("1s", "1m")
PEER_SCRIPT = Path(__file__).resolve().with_name("peer_nautilus_book.py")


# ---------------------------------------------------------------------------- data


def shared_data_dir() -> Path:
    """Return ``$TRADEFABRIC_SHARED_DATA`` or ``<repo>/../shared/data``."""
    override = os.environ.get("TRADEFABRIC_SHARED_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load_lines(path: Path) -> tuple[list[int], list[bytes]]:
    """Read a ``<recv ns> <raw json>`` recording fully into memory."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    stamps: list[int] = []
    raws: list[bytes] = []
    for line in data.splitlines():
        stamp, _, raw = line.partition(b" ")
        if raw:
            stamps.append(int(stamp))
            raws.append(raw)
    return stamps, raws


class Expected(msgspec.Struct):
    """What the recording holds, counted without any tradefabric code."""

    lines: int = 0
    trades: int = 0
    trade_volume: float = 0.0
    depth_batches: int = 0
    last_depth_id: int = -1
    quotes: int = 0
    snapshots: int = 0


def count_expected(raws: list[bytes]) -> Expected:
    """Count trade, depth and quote lines by decoding each into a plain dict."""
    decode = msgspec.json.Decoder().decode
    exp = Expected(lines=len(raws))
    for raw in raws:
        obj = decode(raw)
        channel = obj.get("stream", "").partition("@")[2].split("@")[0]
        if channel == "trade":
            exp.trades += 1
            exp.trade_volume += float(obj["data"]["q"])
        elif channel == "depth":
            exp.depth_batches += 1
            exp.last_depth_id = max(exp.last_depth_id, obj["data"]["u"])
        elif channel == "bookTicker":
            exp.quotes += 1
        elif "lastUpdateId" in obj:
            exp.snapshots += 1
    return exp


def best_of(repeat: int, run: Callable[[], float]) -> float:
    """Return the smallest of ``repeat`` timings of ``run`` (which returns seconds)."""
    best = math.inf
    for _ in range(repeat):
        gc.collect()
        best = min(best, run())
    return best


# ---------------------------------------------------------------------------- floor


def time_floor(raws: list[bytes]) -> float:
    """Decode every line into dicts with a reused ``msgspec.json.Decoder``; return seconds."""
    decode = msgspec.json.Decoder().decode
    started = time.perf_counter()
    for raw in raws:
        decode(raw)
    return time.perf_counter() - started


# ---------------------------------------------------------------------------- full path


class Pipeline:
    """What the market data node builds for one venue, minus the store."""

    def __init__(self, venue: str) -> None:
        self.venue = venue
        self.clock = SimClock()
        self.bus = MessageBus()
        self.books = OrderBooks(self.bus, self.clock, sequence_rules())
        self.candles = CandleAggregator(self.bus, self.clock, INTERVALS)
        self.parser = BinanceStreamParser(self.bus, market(venue))
        self.emitted: list[Candle] = []
        self.bus.subscribe(topics.CANDLES, self.emitted.append)
        self.rejected = 0

    def run(self, stamps: list[int], raws: list[bytes]) -> float:
        """Feed every line as the replayer does; return the seconds it took."""
        advance = self.clock.advance_to
        on_frame = self.parser.on_frame
        rejected = 0
        started = time.perf_counter()
        for ts, raw in zip(stamps, raws, strict=True):
            advance(ts)
            try:
                on_frame(raw, ts)
            except DataError:
                rejected += 1
        elapsed = time.perf_counter() - started
        self.rejected = rejected
        self.candles.flush()
        return elapsed


def check_candles(pipe: Pipeline, exp: Expected) -> list[str]:
    """Every trade line must have reached every candle series, volume included."""
    problems = []
    for interval in INTERVALS:
        candles = [c for c in pipe.emitted if c.interval == interval]
        trades = sum(c.trades for c in candles)
        volume = sum(c.volume for c in candles)
        if trades != exp.trades:
            problems.append(f"{interval} candles hold {trades} trades, expected {exp.trades}")
        if not math.isclose(volume, exp.trade_volume, rel_tol=1e-9):
            problems.append(f"{interval} candle volume {volume} != traded {exp.trade_volume}")
    if pipe.candles.late_trades:
        problems.append(f"{pipe.candles.late_trades} late trades")
    return problems


def check_book(pipe: Pipeline, exp: Expected) -> list[str]:
    """The one book must be valid, gap-free, uncrossed and at the last depth id."""
    synced_books = pipe.books.all_books()
    if len(synced_books) != 1:
        return [f"expected 1 book, found {len(synced_books)}"]
    synced = synced_books[0]
    book = synced.book
    problems = []
    if not book.valid or synced.gaps or synced.resyncs:
        problems.append(f"book valid={book.valid} gaps={synced.gaps} resyncs={synced.resyncs}")
    if book.sequence != exp.last_depth_id:
        problems.append(f"book at id {book.sequence}, last depth id {exp.last_depth_id}")
    if synced.deltas_applied + synced.stale_dropped != exp.depth_batches:
        problems.append(
            f"{synced.deltas_applied} applied + {synced.stale_dropped} stale "
            f"!= {exp.depth_batches} depth lines"
        )
    if not book.best_bid() < book.best_ask():
        problems.append(f"book crossed or empty: {book.best_bid()} / {book.best_ask()}")
    return problems


def full_path(
    venue: str, stamps: list[int], raws: list[bytes], exp: Expected, repeat: int
) -> tuple[float, Pipeline, list[str]]:
    """Time fresh pipelines; return best seconds, the last pipeline and its problems."""
    pipes: list[Pipeline] = []

    def once() -> float:
        pipes[:] = [Pipeline(venue)]
        return pipes[0].run(stamps, raws)

    seconds = best_of(repeat, once)
    pipe = pipes[0]
    problems = check_candles(pipe, exp) + check_book(pipe, exp)
    if pipe.rejected:
        problems.append(f"{pipe.rejected} lines rejected")
    return seconds, pipe, problems


# ---------------------------------------------------------------------------- book alone


def book_events(
    venue: str, stamps: list[int], raws: list[bytes]
) -> tuple[OrderBookSnapshot, list[OrderBookDeltas]]:
    """Decode once: the snapshot and the delta batches a synced book applies after it."""
    bus = MessageBus()
    snapshots: list[OrderBookSnapshot] = []
    deltas: list[OrderBookDeltas] = []
    bus.subscribe(topics.BOOK_SNAPSHOTS, snapshots.append)
    bus.subscribe(topics.BOOK_DELTAS, deltas.append)
    parser = BinanceStreamParser(bus, market(venue))
    for ts, raw in zip(stamps, raws, strict=True):
        parser.on_frame(raw, ts)
    snapshot = snapshots[0]
    rule = sequence_rules()[venue]
    return snapshot, [d for d in deltas if not rule.is_stale(d, snapshot.sequence)]


def time_book(snapshot: OrderBookSnapshot, deltas: list[OrderBookDeltas], out: list[Any]) -> float:
    """Load the snapshot, apply each batch and read the best bid and ask after it."""
    book = OrderBook(snapshot.venue, snapshot.symbol)
    out[:] = [book]
    apply = book.apply_deltas
    best_bid = book.best_bid
    best_ask = book.best_ask
    started = time.perf_counter()
    book.apply_snapshot(snapshot)
    for batch in deltas:
        apply(batch)
        best_bid()
        best_ask()
    return time.perf_counter() - started


def time_dict(snapshot: OrderBookSnapshot, deltas: list[OrderBookDeltas]) -> float:
    """The interpreter's floor for the same work: plain dict writes, nothing else."""
    started = time.perf_counter()
    bids = dict(snapshot.bids)
    asks = dict(snapshot.asks)
    for batch in deltas:
        for p, s in batch.bids:
            bids[p] = s
        for p, s in batch.asks:
            asks[p] = s
    return time.perf_counter() - started


def check_same_book(book: OrderBook, pipe: Pipeline) -> list[str]:
    """The book-alone run must end where the full path's book ended."""
    ref = pipe.books.all_books()[0].book
    ours = (book.best_bid(), book.best_ask(), book.level_count())
    theirs = (ref.best_bid(), ref.best_ask(), ref.level_count())
    return [] if ours == theirs else [f"book-alone ends at {ours}, full path at {theirs}"]


# ---------------------------------------------------------------------------- nautilus peer


def check_peer_book(peer: dict[str, Any], book: OrderBook) -> list[str]:
    """The peer's book must end with our best bid/ask (to float precision) and level counts."""
    same = (
        math.isclose(peer["best_bid"], book.best_bid(), rel_tol=1e-12)
        and math.isclose(peer["best_ask"], book.best_ask(), rel_tol=1e-12)
        and (peer["bid_levels"], peer["ask_levels"]) == book.level_count()
    )
    if same:
        return []
    top = (peer["best_bid"], peer["best_ask"], peer["bid_levels"], peer["ask_levels"])
    return [f"nautilus book ends at {top}"]


def _decimals(value: float) -> int:
    text = repr(value)
    if "e" in text:
        text = format(value, ".12f").rstrip("0")
    return len(text.partition(".")[2].rstrip("0"))


def _precisions(snapshot: OrderBookSnapshot, deltas: list[OrderBookDeltas]) -> tuple[int, int]:
    levels = [*snapshot.bids, *snapshot.asks]
    for batch in deltas:
        levels += batch.bids
        levels += batch.asks
    prices = {p for p, _ in levels}
    sizes = {s for _, s in levels}
    return max(map(_decimals, prices)), max(map(_decimals, sizes))


def run_peer(
    snapshot: OrderBookSnapshot, deltas: list[OrderBookDeltas], repeat: int
) -> dict[str, Any] | None:
    """Run ``peer_nautilus_book.py`` under ``$NAUTILUS_PYTHON`` on the same levels."""
    python = os.environ.get("NAUTILUS_PYTHON")
    if not python:
        return None
    price_precision, size_precision = _precisions(snapshot, deltas)
    payload = {
        "snapshot": {"bids": snapshot.bids, "asks": snapshot.asks},
        "deltas": [(d.bids, d.asks) for d in deltas],
        "price_precision": price_precision,
        "size_precision": size_precision,
    }
    with tempfile.TemporaryDirectory(prefix="tf-bench-") as tmp:
        path = Path(tmp) / "levels.msgpack"
        path.write_bytes(msgspec.msgpack.encode(payload))
        cmd = [python, str(PEER_SCRIPT), str(path), "--repeat", str(repeat)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:] or f"exit {proc.returncode}"}
    result: dict[str, Any] = msgspec.json.decode(proc.stdout.strip().splitlines()[-1])
    return result


# ---------------------------------------------------------------------------- one recording


def bench_recording(name: str, venue: str, repeat: int, data_dir: Path) -> dict[str, Any]:
    """Time floor, full path, book alone, dict floor and the optional peer on one file."""
    stamps, raws = load_lines(data_dir / "binance_ws" / name)
    exp = count_expected(raws)
    floor_s = best_of(repeat, lambda: time_floor(raws))
    full_s, pipe, problems = full_path(venue, stamps, raws, exp, repeat)
    floor_rate = exp.lines / floor_s
    full_rate = exp.lines / full_s
    result: dict[str, Any] = {
        "file": name,
        "venue": venue,
        "counts": msgspec.to_builtins(exp),
        "floor_msgs_per_s": floor_rate,
        "full_msgs_per_s": full_rate,
        "full_ratio": full_rate / floor_rate,
        "full_pass": full_rate / floor_rate >= FULL_TARGET_RATIO,
    }
    figures, book_problems = bench_book(venue, stamps, raws, pipe, repeat)
    result.update(figures)
    result["problems"] = problems + book_problems
    return result


def bench_book(
    venue: str, stamps: list[int], raws: list[bytes], pipe: Pipeline, repeat: int
) -> tuple[dict[str, Any], list[str]]:
    """Time the book alone, its dict floor and the optional peer; return figures and problems."""
    snapshot, deltas = book_events(venue, stamps, raws)
    changes = sum(len(d.bids) + len(d.asks) for d in deltas)
    books: list[Any] = []
    book_s = best_of(repeat, lambda: time_book(snapshot, deltas, books))
    dict_s = best_of(repeat, lambda: time_dict(snapshot, deltas))
    problems = check_same_book(books[0], pipe)
    book_rate = changes / book_s
    peer = run_peer(snapshot, deltas, repeat)
    if peer and "error" not in peer:
        problems += check_peer_book(peer, books[0])
    figures = {
        "snapshot_levels": len(snapshot.bids) + len(snapshot.asks),
        "delta_batches": len(deltas),
        "level_changes": changes,
        "book_level_changes_per_s": book_rate,
        # The verdict is a ratio measured in this run: to the Nautilus peer when it ran,
        # else to the plain-dict floor; BOOK_TARGET is printed as a target only.
        "book_pass": _book_pass(book_rate, changes / dict_s, peer),
        "dict_level_changes_per_s": changes / dict_s,
        "book_vs_dict": dict_s / book_s,
        "nautilus": peer,
    }
    return figures, problems


def _book_pass(book_rate: float, dict_rate: float, peer: dict[str, Any] | None) -> bool:
    if peer and "error" not in peer:
        return book_rate >= BOOK_PEER_RATIO * float(peer["level_changes_per_s"])
    return book_rate >= BOOK_DICT_RATIO * dict_rate


# ---------------------------------------------------------------------------- report


def interpreter() -> dict[str, Any]:
    """Return the interpreter's version, path and optimization flags, and the CPU."""
    config_args = sysconfig.get_config_var("CONFIG_ARGS") or ""
    return {
        "python": sys.version.replace("\n", " "),
        "executable": sys.executable,
        "pgo": "--enable-optimizations" in config_args,
        "lto": "--with-lto" in config_args,
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "msgspec": msgspec.__version__,
    }


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo, or what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_header(info: dict[str, Any], repeat: int) -> None:
    """Print interpreter, CPU and method."""
    yes_no = {True: "yes", False: "no"}
    print("tradefabric bench: Binance decode + normalize + book/candle throughput")
    print(f"python   {info['python']}")
    print(f"         {info['executable']}  msgspec {info['msgspec']}")
    print(
        f"         CONFIG_ARGS --enable-optimizations (PGO): {yes_no[info['pgo']]}, "
        f"--with-lto (LTO): {yes_no[info['lto']]}  (distro builds may use PGO without them)"
    )
    print(f"cpu      {info['cpu']} ({info['cpus']} logical)")
    print(f"method   lines pre-read into memory; best of {repeat} runs each")


def print_result(r: dict[str, Any]) -> None:
    """Print the figures of one recording."""
    c = r["counts"]
    print(f"\n{r['file']}  ({r['venue']})")
    print(
        f"  lines {c['lines']:,}: {c['trades']:,} trade, {c['depth_batches']:,} depth, "
        f"{c['quotes']:,} bookTicker, {c['snapshots']} snapshot"
    )
    print(f"  floor     msgspec.json.decode -> dict   {r['floor_msgs_per_s']:>12,.0f} msgs/s")
    print(
        f"  full path decode+bus+book+candles      {r['full_msgs_per_s']:>12,.0f} msgs/s  "
        f"= {r['full_ratio']:.1%} of floor (target >= {FULL_TARGET_RATIO:.0%}) "
        f"{_verdict(r['full_pass'])}"
    )
    peer = r["nautilus"]
    against = (
        f">= {BOOK_PEER_RATIO:g}x Nautilus in this run"
        if peer and "error" not in peer
        else f">= {BOOK_DICT_RATIO:.0%} of the dict floor in this run"
    )
    print(
        f"  book      apply + best bid/ask/batch   {r['book_level_changes_per_s']:>12,.0f} "
        f"level changes/s (verdict: {against}) {_verdict(r['book_pass'])}"
    )
    met = "met" if r["book_level_changes_per_s"] > BOOK_TARGET else "not met"
    print(f"            target (absolute, not a verdict) > {BOOK_TARGET:,.0f}: {met}")
    print(
        f"            {r['level_changes']:,} level changes in {r['delta_batches']:,} batches "
        f"after a {r['snapshot_levels']:,}-level snapshot"
    )
    print(
        f"  dict      for p, s in levels: d[p] = s {r['dict_level_changes_per_s']:>12,.0f} "
        f"level changes/s (book runs at {r['book_vs_dict']:.1%} of it)"
    )
    print_peer(r["nautilus"])
    verdict = "ok" if not r["problems"] else "FAILED: " + "; ".join(r["problems"])
    print(f"  checks    trades -> 1s/1m candles, book valid at last depth id: {verdict}")


def print_peer(peer: dict[str, Any] | None) -> None:
    """Print the Nautilus peer's figure, or why there is none."""
    if peer is None:
        print(
            f"  nautilus  not run (set NAUTILUS_PYTHON); quoted ~{NAUTILUS_QUOTED:,.0f} "
            "level changes/s for its Rust book on the reference machine"
        )
    elif "error" in peer:
        print(f"  nautilus  peer failed: {peer['error']}")
    else:
        print(
            f"  nautilus  OrderBook L2_MBP {peer['nautilus_trader']:<10}"
            f"{peer['level_changes_per_s']:>12,.0f} level changes/s (same levels, same run)"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark on every recording; return 1 if a check (or strict target) fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (best kept)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    repeat = max(1, args.repeat)
    data_dir = shared_data_dir()
    info = interpreter()
    if not args.json:
        print_header(info, repeat)
    results = []
    for name, venue in RECORDINGS:
        result = bench_recording(name, venue, repeat, data_dir)
        results.append(result)
        if not args.json:
            print_result(result)
    if args.json:
        report = {"interpreter": info, "repeat": repeat, "results": results}
        print(msgspec.json.encode(report).decode())
    failed = any(r["problems"] for r in results)
    missed = not all(r["full_pass"] and r["book_pass"] for r in results)
    return 1 if failed or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
