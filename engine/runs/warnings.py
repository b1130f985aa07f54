"""Rows of a model's query to warnings: keys and messages written the same on every warehouse.

A model's `amount` (涉及金额) goes into each warning's evidence as "@amount".

Values are written by the type the checker gave them, not by what the
driver returned: SQLite hands back dates as text and money as floats,
DuckDB as date and Decimal; both must give the same key and the same
message. A decimal value is read to the fen (`engine.schema.fen`) before it
is written, so that 8716.380000000001 from a REAL column is DuckDB's 8716.38.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from dsl import ir
from dsl.functions import PCT_DIGITS
from dsl.pack import Pack
from dsl.types import Type
from engine.compiler.compile import AMOUNT_COLUMN, hole_columns, key_columns
from engine.money import FEN, decimal_of, fen

if TYPE_CHECKING:  # the hints only: `oversight check` words its examples' rows without pyarrow
    import pyarrow as pa

NULL_TEXT = "空"
KEY_SEPARATOR = "|"
_FOUR_PLACES = Decimal("0.0001")
_HUNDRED_YUAN = Decimal("0.01")  # in 万元: what wan() rounds to
# The key of a warning's evidence that holds its model's `amount` (涉及金额, 元). A hole's key
# is the expression as written, which never starts with "@": the two cannot meet.
AMOUNT_KEY = "@amount"


def normalise(value: Any, type_: Type) -> Any:
    """A driver's value as the Python value of the language type (None stays None)."""
    if value is None:
        return None
    if type_ is Type.DATE:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, str):
            return date.fromisoformat(value[:10])
        return value
    if type_ is Type.TIMESTAMP:
        if isinstance(value, str):
            return datetime.fromisoformat(value)
        return value
    if type_ is Type.INT:
        return int(value)
    if type_ is Type.DECIMAL:
        return fen(value)
    if type_ is Type.FLOAT:
        return decimal_of(value)
    if type_ is Type.BOOL:
        return bool(value)
    return str(value)


def _plain(number: Decimal, places: Decimal) -> str:
    """A number rounded (halves up) to `places`, without trailing zeros or exponent."""
    rounded = number.quantize(places, rounding=ROUND_HALF_UP)
    text = format(rounded, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def write_value(value: Any, type_: Type) -> str:
    """How a value reads in a message or a key."""
    value = normalise(value, type_)
    if value is None:
        return NULL_TEXT
    if type_ is Type.DECIMAL:
        return _plain(value, FEN)
    if type_ is Type.FLOAT:
        return _plain(value, _FOUR_PLACES)
    if type_ is Type.DATE:
        return value.isoformat()
    if type_ is Type.TIMESTAMP:
        return value.isoformat(sep=" ", timespec="seconds")
    if type_ is Type.BOOL:
        return "是" if value else "否"
    return str(value)


def wan(value: Any, type_: Type) -> str:
    """An amount in 万元 (10,000 yuan) as people write it: 88320000 → 8832, 12355 → 1.24.

    At most two decimals (the nearest 100 yuan), halves rounded up (away from
    zero), trailing zeros dropped: "9.999999万元" or "超出0.00005万元" is no way to
    write to a township. Rounding can make two amounts read alike that the rule
    told apart (3,999,999.99 yuan reads 400万元, and under 50 yuan reads 0), so a
    message whose point is the difference writes the difference in 元.
    """
    number = normalise(value, type_)
    if number is None:
        return NULL_TEXT
    return _plain(Decimal(number) / 10000, _HUNDRED_YUAN)


def pct(value: Any, type_: Type, digits: int = PCT_DIGITS) -> str:
    """A ratio as a percentage, as `{x * 100}%` reads it: 0.8 → 80%, 1/3 → 33.33%.

    `digits` decimals at most (halves up, trailing zeros dropped, as every
    number in a message). The ratio is read as the number the warehouse gave,
    not first rounded to the fen: an amount-typed ratio of 0.125 is 12.5%, as
    `{$ratio * 100}` writes it, not the 13% its fen would give.
    """
    if value is None:
        return NULL_TEXT
    return _plain(decimal_of(value) * 100, Decimal(1).scaleb(-digits)) + "%"


FORMATTERS = {"wan": wan, "pct": pct}


def _evidence_value(value: Any, type_: Type) -> Any:
    value = normalise(value, type_)
    if value is None or isinstance(value, bool | int | str):
        return value
    return write_value(value, type_)


def amount_evidence(value: Any, type_: Type) -> str | None:
    """A warning's amount as its evidence holds it: the 元 as text ("88320000"), None if null.

    Written as a decimal is (to the fen, as `_evidence_value` writes one), an int
    amount as text too: whoever adds amounts up reads one kind of value, never a
    float that JSON would make of a large sum.
    """
    written = _evidence_value(value, type_)
    return None if written is None else str(written)


class Worded(NamedTuple):
    """One warning of a model as its rows word it: the key, where it goes, what it says."""

    key: str
    township: str | None
    message: str
    evidence: str  # JSON


def worded(
    model: ir.Model, columns: Mapping[str, Sequence[Any]], count: int
) -> tuple[list[Worded], int]:
    """Warnings from a model's rows (`columns`: name → `count` values): one per key, sorted.

    Deterministic when rows share a key (the least of township, message and
    evidence is kept). Returns them and the number of rows dropped because a key
    part was missing (a warning without a key could never be disposed of). Plain
    Python: `to_warnings` makes the run's Arrow table of them.
    """
    keys_in, holes_in = key_columns(model), hole_columns(model)
    key_types = [k.type for k in model.key]
    best: dict[str, tuple[str, str, str]] = {}
    routed = "township" in columns  # a model of a pack without townships has no such column
    amounts = columns.get(AMOUNT_COLUMN) if model.amount is not None else None
    dropped = 0
    for i in range(count):
        key_values = [columns[c][i] for c in keys_in]
        if any(v is None for v in key_values):
            dropped += 1
            continue
        key = KEY_SEPARATOR.join(
            write_value(v, t) for v, t in zip(key_values, key_types, strict=True)
        )
        hole_values = [columns[c][i] for c in holes_in]
        text: list[str] = []
        evidence: dict[str, Any] = {}
        values = iter(hole_values)
        for part in model.message:
            if isinstance(part, str):
                text.append(part)
                continue
            if isinstance(part, ir.KeyHole):
                text.append(key)
                continue
            value = next(values)
            if value is None and part.default is not None:
                text.append(part.default)
            elif part.formatter:
                formatter = FORMATTERS[part.formatter]
                text.append(formatter(value, part.expr.type, *part.formatter_args))
            else:
                text.append(write_value(value, part.expr.type))
            evidence[part.text] = _evidence_value(value, part.expr.type)
        if amounts is not None and model.amount is not None:
            amount = amount_evidence(amounts[i], model.amount.type)
            if amount is not None:
                evidence[AMOUNT_KEY] = amount
        township = normalise(columns["township"][i], Type.STRING) if routed else None
        candidate = (
            township or "",
            "".join(text),
            json.dumps(evidence, ensure_ascii=False, sort_keys=True),
        )
        if key not in best or candidate < best[key]:
            best[key] = candidate
    words = [Worded(k, best[k][0] or None, best[k][1], best[k][2]) for k in sorted(best)]
    return words, dropped


def changes(
    now: Mapping[Hashable, str], then: Iterable[tuple[Hashable, str]]
) -> Iterator[tuple[int, str, str | None]]:
    """What a pre-check answers of warnings `then` (key, message) against `now` (key → message).

    Each warning of `then` that `now` lacks ("new") or words differently ("changed"):
    its position in `then`, the change, and its message now (None when new). The one
    rule of the pre-check service (engine/service/precheck.py `difference`) and of
    `check`'s pre-check examples (engine/policy/examples.py), kept here without pyarrow.
    """
    for i, (key, message) in enumerate(then):
        if key not in now:
            yield i, "new", None
        elif now[key] != message:
            yield i, "changed", now[key]


def to_warnings(model: ir.Model, rows: pa.Table, pack: Pack, as_of: date) -> tuple[pa.Table, int]:
    """Warnings from a model's rows, as a run returns them (`worded`, in the warnings' schema).

    Returns the warnings and the number of rows dropped because a key part
    was missing (a warning without a key could never be disposed of).
    """
    from engine.arrays import empty_table, table_of  # pyarrow: a run's, not a check's
    from engine.schema import WARNINGS_SCHEMA

    columns = {name: rows.column(name).to_pylist() for name in rows.column_names}
    words, dropped = worded(model, columns, rows.num_rows)
    if not words:  # most models' answer to a pre-check
        return empty_table(WARNINGS_SCHEMA), dropped
    n = len(words)
    data = {
        "model_id": [model.id] * n,
        "warning_key": [w.key for w in words],
        "township": [w.township for w in words],
        "severity": [model.severity] * n,
        "domain": [model.domain] * n,
        "message": [w.message for w in words],
        "as_of": [as_of] * n,
        "model_title": [model.title] * n,
        "model_revision": [model.revision] * n,
        "pack_version": [pack.version] * n,
        "evidence": [w.evidence for w in words],
    }
    return table_of(data, WARNINGS_SCHEMA), dropped
