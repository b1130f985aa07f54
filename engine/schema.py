"""Arrow types for the catalog's value types: how sources and results look in memory."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pyarrow as pa

from dsl.pack import Source
from dsl.types import DECIMAL_DIGITS, DECIMAL_PLACES, Type

ARROW_TYPES: dict[Type, pa.DataType] = {
    Type.STRING: pa.string(),
    Type.INT: pa.int64(),
    Type.DECIMAL: pa.decimal128(DECIMAL_DIGITS, DECIMAL_PLACES),
    Type.FLOAT: pa.float64(),
    Type.DATE: pa.date32(),
    Type.TIMESTAMP: pa.timestamp("us"),
    Type.BOOL: pa.bool_(),
    Type.NULL: pa.null(),
}


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


def source_schema(source: Source) -> pa.Schema:
    """The Arrow schema of a source: its columns in catalog order with their types."""
    return pa.schema(
        [pa.field(c.name, ARROW_TYPES[c.type], nullable=True) for c in source.columns.values()]
    )


WARNINGS_SCHEMA = pa.schema(
    [
        pa.field("model_id", pa.string(), nullable=False),
        pa.field("warning_key", pa.string(), nullable=False),
        pa.field("township", pa.string()),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("domain", pa.string(), nullable=False),
        pa.field("message", pa.string(), nullable=False),
        pa.field("as_of", pa.date32(), nullable=False),
        pa.field("model_title", pa.string(), nullable=False),
        pa.field("model_revision", pa.string(), nullable=False),
        pa.field("pack_version", pa.string(), nullable=False),
        pa.field("evidence", pa.string(), nullable=False),
    ]
)
"""What a run returns, one row per warning: the contract's columns, then traceability."""
