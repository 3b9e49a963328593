"""Instrument snapshots in the catalog: one file per fetch, the newest is current."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from tradefabric.core.errors import DataSourceError
from tradefabric.model.enums import InstrumentKind
from tradefabric.model.instrument import Instrument, InstrumentSnapshot
from tradefabric.store.instrument_cache import InstrumentCache

BTC = Instrument(
    venue="kraken", symbol="BTC/USDT", raw_symbol="XBTUSDT", base="BTC", quote="USDT",
    kind=InstrumentKind.SPOT, price_increment="0.1", size_increment="0.00000001",
    min_size="0.00005", min_notional="0.5",
)  # fmt: skip


def _snapshot(fetched_at_ns: int, tick: str) -> InstrumentSnapshot:
    instrument = msgspec.structs.replace(BTC, price_increment=tick)
    return InstrumentSnapshot(
        venue="kraken", fetched_at_ns=fetched_at_ns, url="https://api.kraken.com",
        instruments=(instrument,),
    )  # fmt: skip


def test_every_fetch_is_kept_and_the_newest_is_current(tmp_path: Path) -> None:
    cache = InstrumentCache(tmp_path)
    assert cache.latest("kraken") is None
    # Written out of order: "newest" is by fetch time, not by write order or name length.
    cache.add(_snapshot(10_000_000_000, "0.1"))
    cache.add(_snapshot(9_000_000_000, "0.5"))
    latest = cache.latest("kraken")
    assert latest is not None
    assert (latest.fetched_at_ns, latest.instruments[0].price_increment) == (10_000_000_000, "0.1")
    assert cache.history("kraken") == [9_000_000_000, 10_000_000_000]
    assert cache.latest("bybit") is None
    assert sorted(p.name for p in (tmp_path / "instruments" / "kraken").iterdir()) == [
        "10000000000.json",
        "9000000000.json",
    ]


def test_unreadable_snapshot_fails_naming_the_file(tmp_path: Path) -> None:
    cache = InstrumentCache(tmp_path)
    cache.add(_snapshot(1, "0.1"))
    (tmp_path / "instruments" / "kraken" / "2.json").write_text('{"venue": "kraken"')
    with pytest.raises(DataSourceError, match=r"instruments/kraken/2\.json: not an instrument"):
        cache.latest("kraken")


def test_snapshot_of_another_venue_in_the_folder_is_refused(tmp_path: Path) -> None:
    cache = InstrumentCache(tmp_path)
    rel = cache.add(_snapshot(1, "0.1"))
    (tmp_path / "instruments" / "bybit").mkdir()
    (tmp_path / rel).rename(tmp_path / "instruments" / "bybit" / "1.json")
    with pytest.raises(DataSourceError, match="holds venue 'kraken'"):
        cache.latest("bybit")
