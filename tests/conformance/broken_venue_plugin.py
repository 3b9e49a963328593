"""A pytest plugin that makes the Kraken venue package fail to import.

Loaded with ``-p tests.conformance.broken_venue_plugin`` by the test that proves a
venue whose package cannot be imported fails the conformance suite.
"""

from __future__ import annotations

import sys

# A None entry makes every import of the package raise ModuleNotFoundError, as a
# missing or half-deleted package does; it runs before the registry is imported.
sys.modules["tradefabric.venues.kraken"] = None  # type: ignore[assignment]
