"""The quantile the language computes, written out in exact fractions (the tests' reference).

Type 7 of Hyndman & Fan, R's and NumPy's default: over the n values that are
not null, sorted x₀ ≤ … ≤ xₙ₋₁, at h = (n − 1)·p, x⌊h⌋ + (h − ⌊h⌋)·(x⌊h⌋₊₁ − x⌊h⌋);
None when there is no value. tests/engine/test_quantiles.py shows it to be
`statistics.quantiles(…, method="inclusive")` at every cut point.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import Any


def type7(values: list[Any], p: Fraction | Decimal | str) -> Fraction | None:
    """The p-quantile of the values that are not null, exactly; None without any."""
    xs = sorted(Fraction(v) for v in values if v is not None)
    if not xs:
        return None
    h = (len(xs) - 1) * Fraction(p)
    low = floor(h)
    high = min(low + 1, len(xs) - 1)
    return xs[low] + (h - low) * (xs[high] - xs[low])
