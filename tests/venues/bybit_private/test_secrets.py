"""The secret never leaves the client: not in a log line, an error, a repr or the wire."""

from __future__ import annotations

import logging

import pytest
import structlog
from structlog.testing import capture_logs

from tests.venues.bybit_private.conftest import Reports, Venue, until
from tests.venues.bybit_private.test_orders import order
from tradefabric.core.errors import TradefabricError
from tradefabric.model.orders import OrderSide
from tradefabric.venues.fakevenue.private.faults import ResponseFault


async def test_a_session_full_of_faults_never_shows_the_secret(
    spot: Venue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    client = spot.client()
    with capture_logs() as events:
        structlog.get_logger("test").debug("start")
        await client.connect(Reports())
        await until(spot.book_ready)
        bid, _ask = spot.touch()
        for fault in (ResponseFault.LOSE, ResponseFault.UNKNOWN):
            spot.script.faults.on_responses(fault)
            try:
                await client.submit(order(f"s-{fault}", OrderSide.BUY, 0.001, bid - 300))
            except TradefabricError as exc:
                errors.append(repr(exc) + str(exc))
        spot.script.faults.rate_limit(429)
        with pytest.raises(TradefabricError) as limited:
            await client.submit(order("s-rl", OrderSide.BUY, 0.001, bid - 300))
        errors.append(str(limited.value))
        await spot.inject("drop_user_stream")
        await until(lambda: client.stream.connects == 2)
        await client.close()
    text = "\n".join([*map(repr, events), caplog.text, *errors, repr(client), repr(client.rest)])
    assert len(errors) == 3 and events  # there was something to look through
    assert spot.secret not in text
    assert spot.secret not in repr(client._credentials)
