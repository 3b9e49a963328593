"""The offline demo: the whole system on bundled real data, with a local fake venue.

The one production package allowed to import the fake venues (it serves the bundled
recording over real sockets); nothing in the trading path imports it.
"""
