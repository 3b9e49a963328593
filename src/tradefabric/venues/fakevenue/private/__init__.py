"""A venue-neutral private exchange for the fake venues: accounts, order ledger, matching.

A test double (never imported by production code). Each venue's protocol module
(``fakevenue/binance_private*.py``, Bybit's...) renders this core's orders, fills
and events in its own wire format and maps its neutral rejections to the venue's
error codes; the core matches against the book and trades the public fake venue
replays, so private fills agree with the public traffic.
"""
