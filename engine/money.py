"""Money and numbers as the catalog holds them, whatever the warehouse returned.

Kept apart from engine/schema.py (the Arrow types), so that what reads a driver's
values into words, `oversight check`'s examples among them, never imports pyarrow.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

FEN = Decimal("0.01")
"""The contract's unit of money: amounts are yuan to the fen (分), 2 places (sources.yaml)."""


def decimal_of(value: Any) -> Decimal:
    """The decimal number a driver's value stands for.

    A binary float is read by its shortest decimal spelling (`repr`): the digits
    the warehouse itself would print, so SQLite's REAL 1.005 is 1.005, not
    1.00499999999999989…; Decimal and int values are exact already.
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return Decimal(repr(float(value)))


def fen(value: Any) -> Decimal:
    """A decimal value as the catalog's decimal type holds it: rounded, halves up, to the fen.

    This is how every warehouse's numbers read the same. SQLite keeps DECIMAL
    columns as REAL and PostgreSQL's `double precision` is binary too: neither
    can hold 8716.38 exactly, and arithmetic on them gives 8716.380000000001
    where DuckDB's DECIMAL(18, 2) gives 8716.38 — both are 8716.38 here.
    """
    return decimal_of(value).quantize(FEN, rounding=ROUND_HALF_UP)
