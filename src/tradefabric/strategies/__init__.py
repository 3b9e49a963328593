"""Strategies: the base API, the built-in strategies and the router by horizon."""
