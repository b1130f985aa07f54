"""The value types of the language and the rules for combining them."""

from __future__ import annotations

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
