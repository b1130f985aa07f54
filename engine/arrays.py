"""Arrow columns from Python values, built without pyarrow importing pandas.

`pa.array(values)` first asks whether `values` is a pandas object, and to ask it
imports pandas when pandas is installed (pyarrow's `_is_array_like`;
https://github.com/apache/arrow/issues/34994): 0.2 to 0.7 s of a process that
turns a few Python values into Arrow (an example's rows, its warnings), although
oversight never uses pandas. Here a column of the types the catalog and the
warnings use is written into Arrow buffers directly (`pa.Array.from_buffers`),
which never asks, up to `SMALL` values (pyarrow converts more faster). A value of
another Python type than the column's own (a float for a decimal, a datetime with
a time zone) goes to `pa.array` as before, so that what is accepted, converted or
refused, and how, stays pyarrow's.

pandas is not blocked: a process that uses it (pyspark) still imports it. Nor is
it avoided everywhere: DuckDB's Python API imports it to bind a Python value to a
placeholder, and `import pyarrow.dataset` (which DuckDB does to scan an Arrow
table) makes a pyarrow scalar that asks as above.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import accumulate
from typing import Any

import pyarrow as pa

_EPOCH_DAY = date(1970, 1, 1)
_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)


class _Other(Exception):
    """A value the fast path does not write: `pa.array` converts the column instead."""


def table_of(columns: Mapping[str, Sequence[Any]], schema: pa.Schema) -> pa.Table:
    """`pa.Table.from_pydict(columns, schema=schema)`, without importing pandas."""
    arrays = [array_of(columns[field.name], field.type) for field in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def empty_table(schema: pa.Schema) -> pa.Table:
    """`schema.empty_table()`, which imports pandas as `pa.array` does.

    Made once per schema: an Arrow table never changes, and a pre-check asks for an
    empty table of warnings for nearly every model it evaluates.
    """
    entry = _EMPTY.get(id(schema))
    if entry is None or entry[0] is not schema:  # by identity: metadata stays the caller's
        if len(_EMPTY) >= 64:  # schemas made on the fly (examples' sources): start again
            _EMPTY.clear()
        entry = _EMPTY[id(schema)] = (schema, table_of({n: [] for n in schema.names}, schema))
    return entry[1]


_EMPTY: dict[int, tuple[pa.Schema, pa.Table]] = {}


def table_from_rows(rows: Sequence[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """`pa.Table.from_pylist(rows, schema=schema)`: a missing column is null, as there."""
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    return table_of(columns, schema)


SMALL = 10_000
"""Up to how many values a column is written here. pyarrow converts in C, some 2.5 times
as fast: for a large column (a run's many warnings) that outweighs importing pandas once."""


def array_of(values: Sequence[Any], type_: pa.DataType) -> pa.Array:
    """`pa.array(values, type_)`; without importing pandas for `SMALL` values or fewer."""
    values = list(values)
    if len(values) > SMALL:
        return pa.array(values, type_)
    try:
        return _written(values, type_)
    except _Other:
        return pa.array(values, type_)


def _written(values: list[Any], type_: pa.DataType) -> pa.Array:
    """The array built from buffers; `_Other` for a type or a value this does not write."""
    n = len(values)
    if pa.types.is_null(type_):
        if any(v is not None for v in values):
            raise _Other
        return pa.nulls(n)
    validity, nulls = _validity(values)
    present = [v for v in values if v is not None]
    if pa.types.is_string(type_):
        encoded = [_str(v).encode("utf-8") if v is not None else b"" for v in values]
        offsets = array("i", [0, *accumulate(len(e) for e in encoded)])
        if offsets[-1] > 2**31 - 1:
            raise _Other
        data = pa.py_buffer(b"".join(encoded))
        return pa.Array.from_buffers(
            type_, n, [validity, pa.py_buffer(offsets.tobytes()), data], nulls
        )
    if pa.types.is_boolean(type_):
        if not all(type(v) is bool for v in present):
            raise _Other
        return pa.Array.from_buffers(
            type_, n, [validity, _bits([v is True for v in values])], nulls
        )
    if pa.types.is_decimal128(type_):
        units = [_unscaled(v, type_) if v is not None else 0 for v in values]
        data = b"".join(u.to_bytes(16, "little", signed=True) for u in units)
        return pa.Array.from_buffers(type_, n, [validity, pa.py_buffer(data)], nulls)
    if type_ == pa.int64():
        numbers = [_int(v) if v is not None else 0 for v in values]
    elif type_ == pa.float64():
        if not all(type(v) is float for v in present):
            raise _Other
        return _fixed(type_, "d", [v if v is not None else 0.0 for v in values], validity, nulls)
    elif type_ == pa.date32():
        numbers = [_day(v) if v is not None else 0 for v in values]
        return _fixed(type_, "i", numbers, validity, nulls)
    elif type_ == pa.timestamp("us"):
        numbers = [_micros(v) if v is not None else 0 for v in values]
    else:
        raise _Other
    return _fixed(type_, "q", numbers, validity, nulls)


def _fixed(
    type_: pa.DataType, code: str, numbers: list[Any], validity: pa.Buffer | None, nulls: int
) -> pa.Array:
    try:
        data = array(code, numbers)
    except OverflowError as exc:
        raise _Other from exc
    if data.itemsize * 8 != type_.bit_width:  # a platform whose C types are other sizes
        raise _Other
    return pa.Array.from_buffers(
        type_, len(numbers), [validity, pa.py_buffer(data.tobytes())], nulls
    )


def _validity(values: list[Any]) -> tuple[pa.Buffer | None, int]:
    """The validity bitmap (None when no value is null) and the number of nulls."""
    valid = [v is not None for v in values]
    nulls = valid.count(False)
    return (_bits(valid) if nulls else None), nulls


def _bits(flags: list[bool]) -> pa.Buffer:
    """Flags as an Arrow bitmap: least significant bit first."""
    bits = bytearray((len(flags) + 7) // 8 or 1)
    for i, flag in enumerate(flags):
        if flag:
            bits[i >> 3] |= 1 << (i & 7)
    return pa.py_buffer(bytes(bits))


def _str(value: Any) -> str:
    if type(value) is not str:
        raise _Other
    return value


def _int(value: Any) -> int:
    if type(value) is not int:  # bool too goes to pyarrow, which says what it makes of it
        raise _Other
    return value


def _day(value: Any) -> int:
    if type(value) is not date:  # a datetime is a date too: pyarrow decides
        raise _Other
    return (value - _EPOCH_DAY).days


def _micros(value: Any) -> int:
    if type(value) is not datetime or value.tzinfo is not None:
        raise _Other
    return (value - _EPOCH) // _MICROSECOND


def _unscaled(value: Any, type_: pa.Decimal128Type) -> int:
    """The decimal as the integer Arrow stores, when it fits the type exactly."""
    if type(value) is not Decimal or not value.is_finite():
        raise _Other
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if exponent < -type_.scale:  # more places than the type keeps: pyarrow refuses or rounds
        raise _Other
    try:
        unscaled = int(value.scaleb(type_.scale))
    except (InvalidOperation, OverflowError) as exc:
        raise _Other from exc
    if abs(unscaled) >= 10**type_.precision:
        raise _Other
    return unscaled
