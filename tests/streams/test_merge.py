"""The release buffer puts entries read from several streams back into the publisher's order."""

from __future__ import annotations

from tradefabric.streams.merge import TOP, ReleaseBuffer


def test_nothing_is_released_before_every_stream_has_passed_it() -> None:
    buffer: ReleaseBuffer[str] = ReleaseBuffer(2)
    buffer.add(0, (10, 1), "q1")
    buffer.add(0, (30, 3), "q3")
    # Stream 1 may still hold an entry before (10, 1).
    assert buffer.release() == []
    buffer.add(1, (20, 2), "t2")
    assert buffer.release() == ["q1", "t2"]
    assert buffer.held() == 1 and buffer.held(0) == 1 and buffer.held(1) == 0
    # A drained stream advances to the publisher's watermark.
    buffer.advance(1, (30, 3))
    assert buffer.release() == ["q3"]
    assert buffer.held() == 0


def test_frontiers_never_move_back() -> None:
    buffer: ReleaseBuffer[str] = ReleaseBuffer(2)
    buffer.advance(0, (50, 5))
    buffer.advance(0, (40, 4))
    assert buffer.frontier(0) == (50, 5)
    buffer.add(1, (45, 4), "late")
    assert buffer.bound() == (45, 4)
    assert buffer.release() == ["late"]


def test_release_all_empties_the_buffer_in_key_order() -> None:
    buffer: ReleaseBuffer[str] = ReleaseBuffer(3)
    buffer.add(0, (30, 3), "c")
    buffer.add(1, (10, 1), "a")
    buffer.add(1, (20, 2), "b")
    assert buffer.release() == []
    assert buffer.release_all() == ["a", "b", "c"]


def test_unordered_releases_at_once_sorted_within_what_is_held() -> None:
    buffer: ReleaseBuffer[str] = ReleaseBuffer(2, ordered=False)
    buffer.add(0, (30, 3), "c")
    buffer.add(1, (10, 1), "a")
    assert buffer.bound() == TOP
    assert buffer.release() == ["a", "c"]
