"""Arrow types for the catalog's value types: how sources and results look in memory."""

from __future__ import annotations

import pyarrow as pa

from dsl.pack import Source
from dsl.types import DECIMAL_DIGITS, DECIMAL_PLACES, Type
from engine.money import FEN, decimal_of, fen

__all__ = ["ARROW_TYPES", "FEN", "WARNINGS_SCHEMA", "decimal_of", "fen", "source_schema"]

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
