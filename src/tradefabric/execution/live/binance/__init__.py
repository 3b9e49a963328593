"""Binance's native live execution clients: spot (``binance``) and USD-M (``binance-usdm``).

``build_client(venue, config)`` (``factory``) is what the live engine's venue ->
client registry calls. They live under ``execution.live`` rather than
``venues.binance`` because ``execution`` already imports ``venues`` (a client
here needs ``execution.precision`` and the live reports; the other way round
would be a package cycle).
"""
