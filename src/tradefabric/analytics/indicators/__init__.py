"""Technical indicators in two forms: ``batch`` (arrays, TA-Lib where it has them) and
``streaming`` (O(1) per candle, the same recurrences as TA-Lib's C code).
"""
