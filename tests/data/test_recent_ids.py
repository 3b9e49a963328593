"""RecentTradeIds: each trade number is new exactly once, in any order, within the window."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tradefabric.data.recent_ids import RecentTradeIds


@given(st.lists(st.integers(min_value=0, max_value=300), max_size=400))
def test_each_number_is_new_exactly_once_within_the_window(numbers: list[int]) -> None:
    seen = RecentTradeIds(window=1_000)
    firsts = [n for n in numbers if seen.first_time(n)]
    assert sorted(firsts) == sorted(set(numbers))


def test_pruning_keeps_the_window_and_forgets_what_is_below_it() -> None:
    seen = RecentTradeIds(window=10)
    assert all(seen.first_time(n) for n in range(0, 100, 2))  # prunes along the way
    assert seen.newest == 98
    assert seen.first_time(97) and not seen.first_time(96)  # inside the window: by identity
    assert not seen.first_time(87)  # below newest - window: taken as a repeat
