"""Bybit v5 private API: signed REST order entry, queries and the private user stream."""
