"""Bybit v5's native live execution client (``bybit`` spot, ``bybit-linear``).

``factory.build_client`` is what the live engine's venue -> client registry calls.
The client lives under ``execution.live`` rather than ``venues.bybit`` because
``execution`` already imports ``venues``: a client needs ``execution.precision``
and the live reports, and the other way round would be a package cycle. What the
fake venue shares with it (categories, signing, retCodes, signed REST) stays in
``venues.bybit.private``.
"""
