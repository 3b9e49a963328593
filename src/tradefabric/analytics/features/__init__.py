"""Features: indicator columns, candle patterns, fractals, microstructure, labels.

A feature is any object with ``columns``, a streaming ``update(candle)`` and a
batch ``batch(frame)`` that agree (see ``base.Feature``); built-in ones are in
``builtin``, and a user's own class named in YAML works the same way.
"""
