"""The value types of the language and the rules for combining them."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum


class Type(StrEnum):
    """A value type; `null` is the type of the literal null, `error` follows a reported error."""

    STRING = "string"
    INT = "int"
    DECIMAL = "decimal"
    FLOAT = "float"
    DATE = "date"
    TIMESTAMP = "timestamp"
    BOOL = "bool"
    NULL = "null"
    ERROR = "error"

    @property
    def zh(self) -> str:
        return _CHINESE[self]


_CHINESE = {
    Type.STRING: "文本",
    Type.INT: "整数",
    Type.DECIMAL: "金额/小数",
    Type.FLOAT: "浮点数",
    Type.DATE: "日期",
    Type.TIMESTAMP: "时间戳",
    Type.BOOL: "是/否",
    Type.NULL: "空值",
    Type.ERROR: "（错误）",
}

NUMERIC = frozenset({Type.INT, Type.DECIMAL, Type.FLOAT})
TEMPORAL = frozenset({Type.DATE, Type.TIMESTAMP})
ORDERED = NUMERIC | TEMPORAL | {Type.STRING}

_ALIASES = {
    "integer": "int",
    "text": "string",
    "str": "string",
    "boolean": "bool",
    "double": "float",
    "number": "decimal",
    "datetime": "timestamp",
}


def parse_type_name(text: str) -> Type:
    """A type from its name in pack.yaml or a `define` (a few SQL spellings accepted)."""
    name = _ALIASES.get(text.strip().lower(), text.strip().lower())
    if name in ("null", "error"):
        raise ValueError(text)
    return Type(name)


def unify(a: Type, b: Type) -> Type | None:
    """The type two values share (for coalesce, if, comparison), or None when they don't."""
    if Type.ERROR in (a, b):
        return Type.ERROR
    if a is Type.NULL:
        return b
    if b is Type.NULL or a is b:
        return a
    if a in NUMERIC and b in NUMERIC:
        if Type.FLOAT in (a, b):
            return Type.FLOAT
        return Type.DECIMAL
    return None


# How a warehouse holds numbers of each type; engine/schema.py builds its Arrow types
# from these. An int is 64 bits; an amount (decimal) has 18 digits, 2 after the point.
INT_BITS = 64
DECIMAL_DIGITS = 18
DECIMAL_PLACES = 2
CENTS = Decimal(1).scaleb(-DECIMAL_PLACES)


def storage_problem(number: Decimal | int, type_: Type) -> tuple[str, str] | None:
    """Why `number` cannot be held as an int or an amount, in Chinese and English; None if it can.

    Examples, disposal records and anything else that puts numbers into a source
    ask this first, so that too large a number or a fraction of a cent is said
    in words, not met as an Arrow error.
    """
    number = Decimal(number)
    if type_ is Type.INT:
        if number != number.to_integral_value():
            return "应为整数", "must be a whole number"
        if not -(2 ** (INT_BITS - 1)) <= number < 2 ** (INT_BITS - 1):
            return (
                f"整数超出范围（绝对值须小于 2^{INT_BITS - 1}）",
                f"is out of range for an int (below 2^{INT_BITS - 1} in size)",
            )
    elif type_ is Type.DECIMAL:
        whole = DECIMAL_DIGITS - DECIMAL_PLACES
        if abs(number) >= 10**whole:
            return (
                f"金额太大（整数部分最多 {whole} 位）",
                f"is too large for an amount (at most {whole} digits before the point)",
            )
        if number != number.quantize(CENTS):
            return (
                f"金额最多 {DECIMAL_PLACES} 位小数",
                f"has more than {DECIMAL_PLACES} decimal places",
            )
    return None
