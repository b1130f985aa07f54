"""Arrow columns from Python values: what `pa.array` makes, without pyarrow importing pandas."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from engine.arrays import SMALL, array_of, table_from_rows, table_of

ROOT = Path(__file__).resolve().parents[2]

COLUMNS: list[tuple[list[Any], pa.DataType]] = [
    (["a", None, "中文", "", "x" * 300], pa.string()),
    ([1, None, -5, 2**62, 0], pa.int64()),
    (
        [Decimal("1.5"), None, Decimal("-12345.67"), Decimal("0"), Decimal("9999999999999999.99")],
        pa.decimal128(18, 2),
    ),
    ([1.5, None, -0.0, 1e-300], pa.float64()),
    ([date(2021, 1, 1), None, date(1900, 3, 1), date(2100, 12, 31)], pa.date32()),
    ([datetime(2021, 1, 1, 12, 30, 1, 5), None, datetime(1960, 1, 1)], pa.timestamp("us")),
    ([True, False, None, True, True, False, False, True, None], pa.bool_()),
    ([None, None], pa.null()),
    ([], pa.string()),
    ([], pa.decimal128(18, 2)),
    ([None] * 9, pa.date32()),
]


@pytest.mark.parametrize(("values", "type_"), COLUMNS, ids=lambda v: str(v)[:20])
def test_a_column_is_what_pyarrow_makes_of_it(values: list[Any], type_: pa.DataType):
    made = array_of(values, type_)
    made.validate(full=True)
    assert made.equals(pa.array(values, type_))
    assert made.to_pylist() == values


@pytest.mark.parametrize(
    ("values", "type_"),
    [
        ([1, 2.5], pa.float64()),  # an int in a float column
        ([Decimal("1.234")], pa.decimal128(18, 3)),
        ([Decimal("1.20")], pa.decimal128(18, 4)),
        ([7], pa.decimal128(18, 2)),
        ([datetime(2021, 1, 1, tzinfo=UTC)], pa.timestamp("us")),
        ([1], pa.int32()),  # a type the fast path does not write
    ],
)
def test_other_values_are_converted_by_pyarrow_itself(values: list[Any], type_: pa.DataType):
    assert array_of(values, type_).equals(pa.array(values, type_))


@pytest.mark.parametrize(
    ("values", "type_"),
    [
        ([Decimal("1.234")], pa.decimal128(18, 2)),  # would lose a digit
        ([2**63], pa.int64()),
        (["a", 1], pa.string()),
    ],
)
def test_what_pyarrow_refuses_is_refused_as_pyarrow_refuses_it(
    values: list[Any], type_: pa.DataType
):
    with pytest.raises((pa.ArrowException, OverflowError)) as expected:
        pa.array(values, type_)
    with pytest.raises(type(expected.value)):
        array_of(values, type_)


def test_tables_from_columns_and_from_rows():
    schema = pa.schema([pa.field("k", pa.string()), pa.field("d", pa.date32())])
    rows = [{"k": "a", "d": date(2021, 1, 2)}, {"k": "b"}]  # a missing column is null
    assert table_from_rows(rows, schema).equals(pa.Table.from_pylist(rows, schema=schema))
    columns = {"k": ["a", "b"], "d": [date(2021, 1, 2), None]}
    assert table_of(columns, schema).equals(pa.Table.from_pydict(columns, schema=schema))


def test_the_catalog_and_the_warnings_are_made_without_importing_pandas():
    """pyarrow's own conversion would import pandas (when installed) to ask if a list is one."""
    pytest.importorskip("pandas")  # without it, nothing could import it anyway
    probe = (
        "import json, sys\n"
        "from datetime import date, datetime\n"
        "from decimal import Decimal\n"
        "from engine.arrays import array_of, table_of\n"
        "from engine.schema import ARROW_TYPES, WARNINGS_SCHEMA\n"
        "from dsl.types import Type\n"
        "values = {Type.STRING: 'x', Type.INT: 1, Type.DECIMAL: Decimal('1.50'), "
        "Type.FLOAT: 1.5, Type.DATE: date(2021, 1, 1), Type.BOOL: True, Type.NULL: None, "
        "Type.TIMESTAMP: datetime(2021, 1, 1, 8)}\n"
        "for kind, value in values.items():\n"
        "    array_of([value, None], ARROW_TYPES[kind])\n"
        "columns = {f.name: ['x'] for f in WARNINGS_SCHEMA}\n"
        "columns['as_of'] = [date(2021, 1, 1)]\n"
        "table_of(columns, WARNINGS_SCHEMA).to_pylist()\n"
        "print(json.dumps('pandas' in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) is False


@pytest.mark.parametrize("size", [SMALL, SMALL + 1])
def test_columns_either_side_of_the_size_pyarrow_takes_over_are_the_same(size: int):
    """Past `SMALL` values pyarrow's C conversion is faster than importing pandas costs."""
    values = [f"w{i}" if i % 3 else None for i in range(size)]
    made = array_of(values, pa.string())
    made.validate(full=True)
    assert made.equals(pa.array(values, pa.string()))
