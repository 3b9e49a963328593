"""Every venue of the conformance suite is registered; none can drop out silently."""

from __future__ import annotations

import pytest

from tests.conformance.cases import CASES, ConformanceCase
from tradefabric.venues.registry import UNAVAILABLE, VENUES


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.venue)
def test_the_venue_is_registered(case: ConformanceCase) -> None:
    assert case.venue in VENUES, (
        f"{case.venue} is in the conformance suite but not in the registry; "
        f"packages that failed to import: {UNAVAILABLE}"
    )


def test_no_venue_package_failed_to_import() -> None:
    assert UNAVAILABLE == {}
