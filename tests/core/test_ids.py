"""Ids: unique, reproducible with a seed; random tokens."""

from __future__ import annotations

import re
import time

from tradefabric.core.ids import IdGenerator, random_token

SEED_NS = 1_723_161_600_123_456_789


def test_seeded_ids_have_prefix_milliseconds_and_counter() -> None:
    gen = IdGenerator("run", seed_ns=SEED_NS)
    assert [gen.next_id() for _ in range(3)] == [
        "run-1723161600123-1",
        "run-1723161600123-2",
        "run-1723161600123-3",
    ]


def test_seeded_generators_are_reproducible() -> None:
    first = IdGenerator("order", seed_ns=SEED_NS)
    second = IdGenerator("order", seed_ns=SEED_NS)
    assert [first.next_id() for _ in range(5)] == [second.next_id() for _ in range(5)]


def test_ids_are_unique_within_a_generator() -> None:
    gen = IdGenerator("x", seed_ns=0)
    ids = [gen.next_id() for _ in range(10_000)]
    assert len(set(ids)) == 10_000
    assert ids[0] == "x-0-1"
    assert ids[-1] == "x-0-10000"


def test_unseeded_generator_uses_wall_clock_milliseconds() -> None:
    before_ms = time.time_ns() // 1_000_000
    new_id = IdGenerator("live").next_id()
    after_ms = time.time_ns() // 1_000_000
    match = re.fullmatch(r"live-(\d+)-1", new_id)
    assert match is not None
    assert before_ms <= int(match.group(1)) <= after_ms


def test_random_token_is_hex_of_the_requested_length() -> None:
    assert re.fullmatch(r"[0-9a-f]{16}", random_token())
    assert re.fullmatch(r"[0-9a-f]{4}", random_token(2))
    assert len({random_token() for _ in range(1_000)}) == 1_000
