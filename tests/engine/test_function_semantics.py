"""Every function and operation of the language means the same on every warehouse.

DuckDB and SQLite run here. Each case writes a small model over a probe
table, checks it with the real checker and compiles it with the real
compiler for both (so `!=`, `not`, `not in`, `date ± n` and `/` are the
compiler's own), runs it on an in-memory DuckDB and an in-memory SQLite
(dates as ISO text, booleans as 0/1, decimals as REAL, as the SQLite
adapter will keep them), and compares both with what the data contract says
(contract/models.md, "Common meaning"), written out in Python.

The other warehouses cannot run here: the SQL text of every function is
pinned per dialect at the end, and must parse back in that dialect.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from adapters.duckdb import DuckDBWarehouse
from dsl import ir
from dsl.check import check_pack
from dsl.diagnostics import DiagnosticError
from dsl.types import Type
from engine.compiler import functions as fn
from engine.compiler.compile import DIALECTS, CompiledModel, Target, compile_model
from engine.runs.warnings import normalise
from engine.schema import source_schema

AS_OF = date(2021, 6, 30)
ENGINES = ("duckdb", "sqlite")

# ---- the probe: a pack with one source of every type, one model per case -------------

PACK_YAML = """\
pack:
  name: 函数语义探针
  version: 0.1.0
  engine: ">=0.1,<1"
domains:
  FN: 函数语义
parameters:
  grace_months: {type: int, default: 6, description: 月数}
  back_days: {type: int, default: -13, description: 天数}
sources:
  probe:
    key: [id]
    columns:
      id: {type: string, required: true}
      d: {type: date}
      e: {type: date}
      ts: {type: timestamp}
      tu: {type: timestamp}
      n: {type: int}
      k: {type: int}
      x: {type: decimal}
      y: {type: decimal}
      f: {type: float}
      s: {type: string}
      t: {type: string}
      b: {type: bool}
  item:
    key: [item_id]
    columns:
      item_id: {type: string, required: true}
      owner: {type: string}
      tag: {type: string}
      amount: {type: decimal}
  event:
    key: [event_id]
    event_date: at
    columns:
      event_id: {type: string, required: true}
      at: {type: timestamp}
  ref_calendar:
    key: [day]
    columns:
      day: {type: date, required: true}
      is_workday: {type: bool, required: true}
"""

MODEL = """\
model FN001 "probe" {{
  domain FN
  severity blue
  status draft
{body}
}}
"""

# How the SQLite adapter keeps each type (see the module doc).
SQLITE_TYPES = {
    Type.STRING: "TEXT",
    Type.INT: "INTEGER",
    Type.DECIMAL: "REAL",
    Type.FLOAT: "REAL",
    Type.DATE: "TEXT",
    Type.TIMESTAMP: "TEXT",
    Type.BOOL: "INTEGER",
}

_WORKDIR = tempfile.TemporaryDirectory(prefix="oversight-function-semantics-")


@dataclass(frozen=True)
class Probe:
    """One model compiled for DuckDB and SQLite, and the language types of its holes."""

    pack: ir.CheckedPack
    compiled: dict[str, CompiledModel]
    hole_types: tuple[Type, ...]


@cache
def probe(body: str) -> Probe:
    """Check and compile the model with these clauses (its header is added) for both engines."""
    root = Path(_WORKDIR.name) / hashlib.sha1(body.encode()).hexdigest()[:12]
    (root / "models").mkdir(parents=True)
    (root / "pack.yaml").write_text(PACK_YAML, encoding="utf-8")
    (root / "models" / "probe.rule").write_text(MODEL.format(body=body), encoding="utf-8")
    result = check_pack(root)
    assert result.pack is not None, [d.message_en for d in result.diagnostics]
    model = result.pack.models["FN001"]
    compiled = {e: compile_model(model, result.pack, Target(e, as_of=AS_OF)) for e in ENGINES}
    holes = tuple(h.expr.type for h in model.message if isinstance(h, ir.Hole))
    return Probe(result.pack, compiled, holes)


Rows = dict[str, list[dict[str, Any]]]


def run(p: Probe, tables: Rows) -> dict[str, list[tuple[Any, ...]]]:
    """(key, holes…) of every warning, sorted by key, on each engine; holes as the language reads
    them (engine.runs.warnings.normalise: SQLite's date text becomes a date, numbers Decimal)."""
    sources = p.compiled["duckdb"].model.sources
    out = {"duckdb": _run_duckdb(p, sources, tables), "sqlite": _run_sqlite(p, sources, tables)}
    return {
        engine: sorted(
            (
                row["key_1"],
                *(normalise(row[f"hole_{i + 1}"], t) for i, t in enumerate(p.hole_types)),
            )
            for row in rows
        )
        for engine, rows in out.items()
    }


@cache
def _duckdb() -> DuckDBWarehouse:
    """One in-memory DuckDB for the module (connecting takes longer than a probe's query)."""
    return DuckDBWarehouse("duckdb:///:memory:")


def _run_duckdb(p: Probe, sources: frozenset[str], tables: Rows) -> list[dict[str, Any]]:
    warehouse = _duckdb()
    for name in sources:  # every source the model reads is replaced with this case's rows
        schema = source_schema(p.pack.pack.sources[name])
        rows = pa.Table.from_pylist(tables.get(name, []), schema=schema)
        warehouse.load(name, rows, replace=True)
    return warehouse.query(p.compiled["duckdb"].sql()).to_pylist()


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def _run_sqlite(p: Probe, sources: frozenset[str], tables: Rows) -> list[dict[str, Any]]:
    connection = sqlite3.connect(":memory:")
    try:
        for name in sources:
            columns = p.pack.pack.sources[name].columns.values()
            declared = ", ".join(f'"{c.name}" {SQLITE_TYPES[c.type]}' for c in columns)
            connection.execute(f'CREATE TABLE "{name}" ({declared})')
            names = [c.name for c in columns]
            connection.executemany(
                f'INSERT INTO "{name}" VALUES ({", ".join("?" for _ in names)})',
                [[_sqlite_value(row.get(n)) for n in names] for row in tables.get(name, [])],
            )
        cursor = connection.execute(p.compiled["sqlite"].sql())
        labels = [c[0] for c in cursor.description]
        return [dict(zip(labels, row, strict=True)) for row in cursor.fetchall()]
    finally:
        connection.close()


def values(expression: str, rows: dict[str, dict[str, Any]], **tables: list[dict]) -> dict:
    """The value of `expression` for each probe row (given by id), on each engine."""
    p = probe(f'  from probe p\n  key p.id\n  township p.id\n  message "{{{expression}}}"')
    got = run(p, {"probe": [{"id": i, **r} for i, r in rows.items()], **tables})
    return {engine: {key: value for key, value in result} for engine, result in got.items()}


def matching(condition: str, rows: dict[str, dict[str, Any]], **tables: list[dict]) -> dict:
    """The ids of the probe rows for which `condition` holds (a `where`), on each engine."""
    p = probe(f'  from probe p\n  where {condition}\n  key p.id\n  township p.id\n  message "x"')
    got = run(p, {"probe": [{"id": i, **r} for i, r in rows.items()], **tables})
    return {engine: sorted(key for key, *_ in result) for engine, result in got.items()}


def both(expected: Any) -> dict[str, Any]:
    """What each engine must give: the same, the contract's."""
    return {engine: expected for engine in ENGINES}


def as_language(expected: dict[str, Any], type_: Type) -> dict[str, Any]:
    """Expected values read as the language reads results (floats become Decimal)."""
    return {key: normalise(value, type_) for key, value in expected.items()}


def D(text: str) -> date:
    return date.fromisoformat(text)


# ---- the contract's meaning, in Python ------------------------------------------------


def add_months(d: date, n: int) -> date:
    """The same day n calendar months later, clamped to the month's last day."""
    year, month0 = divmod(d.year * 12 + d.month - 1 + n, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(d.day, last))


def round_half_away(x: float, places: int) -> Decimal:
    """Halves away from zero, of x taken to 9 decimal places first (engine/compiler/functions)."""
    nine = Decimal(x).quantize(Decimal("1e-9"), ROUND_HALF_EVEN)
    return nine.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def workdays(a: date | None, b: date | None, workdays_on: set[date]) -> int:
    """ref_calendar workdays d with a < d <= b."""
    if a is None or b is None:
        return 0
    return sum(1 for d in workdays_on if a < d <= b)


# ---- dates ----------------------------------------------------------------------------


def test_add_months_keeps_the_day_and_clamps_to_the_month_end():
    cases = {
        "2021-01-31 +1": ("2021-01-31", 1, "2021-02-28"),
        "2020-01-31 +1": ("2020-01-31", 1, "2020-02-29"),
        "2021-03-31 -1": ("2021-03-31", -1, "2021-02-28"),
        # A month end is not kept: one month after 28 February is 28 March.
        "2021-02-28 +1": ("2021-02-28", 1, "2021-03-28"),
        "2020-02-29 +12": ("2020-02-29", 12, "2021-02-28"),
        "2021-05-15 +12": ("2021-05-15", 12, "2022-05-15"),
        "2021-05-31 -13": ("2021-05-31", -13, "2020-04-30"),
        "2021-05-31 +0": ("2021-05-31", 0, "2021-05-31"),
    }
    rows = {k: {"d": D(start), "n": n} for k, (start, n, _) in cases.items()}
    expected = {k: D(end) for k, (*_, end) in cases.items()}
    assert values("add_months(p.d, p.n)", rows) == both(expected)


def test_add_months_of_a_missing_value_is_missing():
    rows = {"no months": {"d": D("2021-01-31")}, "no date": {"n": 1}}
    assert values("add_months(p.d, p.n)", rows) == both({"no months": None, "no date": None})


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("add_months(p.d, 1)", "2021-02-28"),
        ("add_months(p.d, -13)", "2019-12-31"),
        ("add_months(p.d, 12)", "2022-01-31"),
        ("add_months(p.d, $grace_months)", "2021-07-31"),
    ],
)
def test_add_months_by_a_constant(expression, expected):
    # Constants and parameters compile to literals: SQLite's modifier is written out.
    assert values(expression, {"r": {"d": D("2021-01-31")}}) == both({"r": D(expected)})


month_ends = st.builds(
    lambda year, month: date(year, month, calendar.monthrange(year, month)[1]),
    st.integers(1990, 2040),
    st.integers(1, 12),
)
any_day = st.one_of(st.dates(date(1990, 1, 1), date(2040, 12, 31)), month_ends)
shifts = st.integers(-300, 300)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(any_day, shifts), min_size=1, max_size=40))
def test_add_months_agrees_with_the_contract_on_any_day(cases):
    rows = {f"{i:03d}": {"d": d, "n": n} for i, (d, n) in enumerate(cases)}
    expected = {f"{i:03d}": add_months(d, n) for i, (d, n) in enumerate(cases)}
    assert values("add_months(p.d, p.n)", rows) == both(expected)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(any_day, shifts), min_size=1, max_size=40))
def test_date_plus_and_minus_days_agree_with_the_contract_on_any_day(cases):
    rows = {f"{i:03d}": {"d": d, "n": n} for i, (d, n) in enumerate(cases)}
    later = {f"{i:03d}": d + timedelta(days=n) for i, (d, n) in enumerate(cases)}
    earlier = {f"{i:03d}": d - timedelta(days=n) for i, (d, n) in enumerate(cases)}
    assert values("p.d + p.n", rows) == both(later)
    assert values("p.d - p.n", rows) == both(earlier)
    assert values("add_days(p.d, p.n)", rows) == both(later)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("p.d + 30", "2021-03-02"),
        ("p.d - 5", "2021-01-26"),
        ("p.d + 366", "2022-02-01"),
        ("p.d + $back_days", "2021-01-18"),
        ("p.d - $back_days", "2021-02-13"),
        ("add_days(p.d, -31)", "2020-12-31"),
    ],
)
def test_date_plus_a_constant_number_of_days(expression, expected):
    assert values(expression, {"r": {"d": D("2021-01-31")}}) == both({"r": D(expected)})


def test_date_plus_a_missing_number_of_days_is_missing():
    # SQLite's printf('%+d days', NULL) is '+0 days': the date must not stay put.
    rows = {"no days": {"d": D("2021-01-31")}, "no date": {"n": 3}}
    assert values("p.d + p.n", rows) == both({"no days": None, "no date": None})
    assert values("p.d - p.n", rows) == both({"no days": None, "no date": None})


def test_days_between_is_b_minus_a():
    rows = {
        "later": {"d": D("2021-01-01"), "e": D("2021-03-01")},
        "earlier": {"d": D("2021-03-01"), "e": D("2021-01-01")},
        "leap": {"d": D("2020-02-28"), "e": D("2020-03-01")},
        "same": {"d": D("2021-05-05"), "e": D("2021-05-05")},
        "missing": {"d": D("2021-05-05")},
    }
    expected = {"later": 59, "earlier": -59, "leap": 2, "same": 0, "missing": None}
    assert values("days_between(p.d, p.e)", rows) == both(expected)


def test_workdays_counts_calendar_workdays_after_a_up_to_b():
    # 2021-02: Thursday 11 to Wednesday 17 is the Spring Festival; Sunday 7 and Saturday 20
    # are worked.
    workdays_on = {D(f"2021-02-{d:02d}") for d in (5, 7, 8, 9, 10, 18, 19, 20, 22)}
    days = [D("2021-02-04") + timedelta(days=i) for i in range(20)]
    ref_calendar = [{"day": d, "is_workday": d in workdays_on} for d in days]
    rows = {
        "across the holiday": {"d": D("2021-02-05"), "e": D("2021-02-19")},
        "a itself is not counted": {"d": D("2021-02-07"), "e": D("2021-02-08")},
        "same day": {"d": D("2021-02-08"), "e": D("2021-02-08")},
        "b before a": {"d": D("2021-02-19"), "e": D("2021-02-05")},
        "no end": {"d": D("2021-02-05")},
    }
    expected = {k: workdays(r.get("d"), r.get("e"), workdays_on) for k, r in rows.items()}
    assert expected["across the holiday"] == 6
    assert values("workdays(p.d, p.e)", rows, ref_calendar=ref_calendar) == both(expected)


def test_year_month_and_year_month():
    rows = {
        "date": {"d": D("2021-03-09"), "ts": datetime(1999, 12, 31, 23, 59, 59)},
        "missing": {},
    }
    assert values("year(p.d)", rows) == both({"date": 2021, "missing": None})
    assert values("month(p.d)", rows) == both({"date": 3, "missing": None})
    assert values("year_month(p.d)", rows) == both({"date": "2021-03", "missing": None})
    assert values("year(p.ts)", rows) == both({"date": 1999, "missing": None})
    assert values("month(p.ts)", rows) == both({"date": 12, "missing": None})
    assert values("year_month(p.ts)", rows) == both({"date": "1999-12", "missing": None})


def test_date_of_a_timestamp_is_its_day():
    rows = {
        "evening": {"ts": datetime(2021, 3, 5, 23, 59, 59)},
        "midnight": {"ts": datetime(2021, 3, 5, 0, 0, 0)},
        "missing": {},
    }
    expected = {"evening": D("2021-03-05"), "midnight": D("2021-03-05"), "missing": None}
    assert values("date(p.ts)", rows) == both(expected)
    assert matching("date(p.ts) = 2021-03-05", rows) == both(["evening", "midnight"])


def test_a_row_after_as_of_is_invisible_by_the_date_of_its_timestamp():
    p = probe('  from event v\n  key v.event_id\n  township v.event_id\n  message "x"')
    event = [
        {"event_id": "last second of as_of", "at": datetime(2021, 6, 30, 23, 59, 59)},
        {"event_id": "next day", "at": datetime(2021, 7, 1, 0, 0, 0)},
        {"event_id": "no event date"},
    ]
    got = run(p, {"event": event})
    assert got == both([("last second of as_of",), ("no event date",)])


def test_a_let_means_what_its_expression_means():
    p = probe(
        '  from probe p\n  let later = p.d + p.n\n  key p.id\n  township p.id\n  message "{later}"'
    )
    got = run(p, {"probe": [{"id": "r", "d": D("2021-01-31"), "n": 1}]})
    assert got == both([("r", D("2021-02-01"))])


# ---- missing values and conditions ---------------------------------------------------


def test_a_let_named_like_a_column_the_compiler_makes_is_still_itself():
    """The compiler names columns `p__x` (p.x carried up), `hoisted__1`; lets `a` and `A`
    would be one column where quoted names have no case. Each let keeps its own value."""
    p = probe(
        "  from probe p\n"
        "  let p__x = p.x * 2\n  let a = p.n + 1\n  let A = p.n + 2\n  let hoisted__1 = p.n + 3\n"
        "  where not exists(item i where i.owner = p.id and blank(p.s))\n"
        '  key p.id\n  township p.id\n  message "{p__x} {p.x} {a} {A} {hoisted__1}"'
    )
    got = run(p, {"probe": [{"id": "A", "x": Decimal("1.50"), "n": 1, "s": "z"}], "item": ITEMS})
    assert got == both([("A", Decimal(3), Decimal("1.5"), 2, 3, 4)])


def test_coalesce_takes_the_first_value_present():
    rows = {"first": {"s": "a", "t": "b"}, "second": {"t": "b"}, "none": {}}
    expected = {"first": "a", "second": "b", "none": "—"}
    assert values("coalesce(p.s, p.t, '—')", rows) == both(expected)


def test_if_with_a_missing_condition_takes_the_else_branch():
    rows = {"big": {"n": 5}, "small": {"n": 1}, "missing": {}}
    expected = {"big": "big", "small": "small", "missing": "small"}
    assert values("if(p.n > 3, 'big', 'small')", rows) == both(expected)
    assert values("if(p.b, 1, 0)", {"yes": {"b": True}, "no": {"b": False}, "?": {}}) == both(
        {"yes": 1, "no": 0, "?": 0}
    )


def test_least_and_greatest_are_missing_when_any_value_is():
    rows = {
        "both": {"d": D("2021-01-01"), "e": D("2021-02-01")},
        "no e": {"d": D("2021-01-01")},
        "no d": {"e": D("2021-02-01")},
    }
    assert values("least(p.d, p.e)", rows) == both(
        {"both": D("2021-01-01"), "no e": None, "no d": None}
    )
    assert values("greatest(p.d, p.e)", rows) == both(
        {"both": D("2021-02-01"), "no e": None, "no d": None}
    )
    numbers = {"three": {"n": 5, "k": -2}, "one missing": {"n": 5}}
    assert values("least(p.n, p.k, 0)", numbers) == both({"three": -2, "one missing": None})
    assert values("greatest(p.n, p.k, 0)", numbers) == both({"three": 5, "one missing": None})


COMPARED = {"low": {"n": 1, "s": "终止"}, "high": {"n": 5, "s": "在建"}, "missing": {}}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        # A comparison with a missing value is false …
        ("p.n < 3", ["low"]),
        ("p.n >= 3", ["high"]),
        ("p.n = p.k", []),
        ("p.s = '终止'", ["low"]),
        ("p.n in (1, 5)", ["high", "low"]),
        ("p.n between 1 and 5", ["high", "low"]),
        # … except "is not" and "not in", which hold for it …
        ("p.s != '终止'", ["high", "missing"]),
        ("p.n != p.k", ["high", "low", "missing"]),
        ("p.n not in (1, 2)", ["high", "missing"]),
        # … and "not" of a false comparison is true.
        ("not (p.n < 3)", ["high", "missing"]),
        ("not (p.s = '终止')", ["high", "missing"]),
        ("not (p.n < 3 and p.s = '终止')", ["high", "missing"]),
        ("p.n is null", ["missing"]),
        ("p.n is not null", ["high", "low"]),
    ],
)
def test_conditions_are_true_or_false_never_unknown(condition, expected):
    assert matching(condition, COMPARED) == both(expected)


def test_between_includes_both_ends():
    rows = {
        "before": {"d": D("2021-02-28")},
        "first day": {"d": D("2021-03-01")},
        "last day": {"d": D("2021-03-31")},
        "after": {"d": D("2021-04-01")},
    }
    condition = "p.d between 2021-03-01 and 2021-03-31"
    assert matching(condition, rows) == both(["first day", "last day"])


# ---- text -----------------------------------------------------------------------------


def test_blank_is_missing_or_only_white_space():
    rows = {
        "null": {},
        "empty": {"s": ""},
        "spaces": {"s": "  "},
        "tab and line break": {"s": " \t\r\n"},
        "full-width space": {"s": "\u3000"},
        "no-break space": {"s": "\u00a0"},
        "x": {"s": "x"},
        "spaced x": {"s": " x "},
        "分水镇": {"s": "分水镇"},
        # U+3020 is E3 80 A0 in UTF-8: every byte of it is also a byte of a blank character
        "postal mark 〠": {"s": "\u3020"},
        # Settled after the first character (DuckDB looks at it first): white space, then not.
        "no-break space, x": {"s": "\u00a0x"},
        "full-width space, 镇": {"s": "\u3000镇"},
        "tab, x": {"s": "\tx"},
        # A control character is not white space, whether first or alone.
        "control character": {"s": "\x01"},
        "control character, spaces": {"s": "\x01  "},
    }
    blank = ["empty", "full-width space", "no-break space", "null", "spaces", "tab and line break"]
    not_blank = sorted(set(rows) - set(blank))
    assert matching("blank(p.s)", rows) == both(blank)
    assert matching("not blank(p.s)", rows) == both(not_blank)
    assert matching('not (p.s = "x" or blank(p.s))', rows) == both(sorted(set(not_blank) - {"x"}))


def test_trim_removes_spaces_only():
    rows = {"town": {"s": "  分水镇 "}, "tab": {"s": "\tx "}, "null": {}}
    assert values("trim(p.s)", rows) == both({"town": "分水镇", "tab": "\tx", "null": None})


def test_length_counts_characters_and_case_changes_ascii_letters():
    rows = {"town": {"s": "分水镇"}, "id": {"s": "33012219650505001x"}, "null": {}}
    assert values("length(p.s)", rows) == both({"town": 3, "id": 18, "null": None})
    assert values("length(trim(p.s))", {"r": {"s": " 分水镇  "}}) == both({"r": 3})
    assert values("upper(p.s)", {"r": {"s": "ab分水镇x"}}) == both({"r": "AB分水镇X"})
    assert values("lower(p.s)", {"r": {"s": "AB分水镇X"}}) == both({"r": "ab分水镇x"})


def test_contains_and_starts_with():
    rows = {
        "inside": {"s": "富春江工程", "t": "工程"},
        "prefix": {"s": "分水镇自来水", "t": "分水"},
        "absent": {"s": "分水镇", "t": "桐君"},
        "empty text": {"s": "分水镇", "t": ""},
        "longer": {"s": "分", "t": "分水镇"},
        "missing": {"t": "分"},
    }
    assert matching("contains(p.s, p.t)", rows) == both(["empty text", "inside", "prefix"])
    assert matching("starts_with(p.s, p.t)", rows) == both(["empty text", "prefix"])
    assert matching("not starts_with(p.s, p.t)", rows) == both(
        ["absent", "inside", "longer", "missing"]
    )


def test_substr_counts_characters_from_one():
    rows = {"id": {"s": "330122196505050017"}, "town": {"s": "桐庐县分水镇"}, "null": {}}
    assert values("substr(p.s, 7, 8)", rows) == both({"id": "19650505", "town": "", "null": None})
    assert values("substr(p.s, 4, 2)", rows) == both({"id": "12", "town": "分水", "null": None})
    assert values("substr(p.s, 4)", rows) == both(
        {"id": "122196505050017", "town": "分水镇", "null": None}
    )


# ---- numbers --------------------------------------------------------------------------


def test_abs():
    rows = {"-2.50": {"x": Decimal("-2.50")}, "3": {"x": Decimal(3)}, "null": {}}
    assert values("abs(p.x)", rows) == both({"-2.50": Decimal("2.5"), "3": 3, "null": None})


def test_floor_and_ceil_of_negative_numbers():
    rows = {
        "-2.5": {"x": Decimal("-2.5")},
        "-0.01": {"x": Decimal("-0.01")},
        "2.5": {"x": Decimal("2.5")},
        "-3": {"x": Decimal("-3")},
        "null": {},
    }
    floor = {"-2.5": -3, "-0.01": -1, "2.5": 2, "-3": -3, "null": None}
    ceil = {"-2.5": -2, "-0.01": 0, "2.5": 3, "-3": -3, "null": None}
    assert values("floor(p.x)", rows) == both(floor)
    assert values("ceil(p.x)", rows) == both(ceil)


def test_floor_and_ceil_of_a_division():
    rows = {
        "7/2": {"n": 7, "k": 2},
        "-7/2": {"n": -7, "k": 2},
        "6/3": {"n": 6, "k": 3},
        "10/3": {"n": 10, "k": 3},
        "7/0": {"n": 7, "k": 0},
    }
    floor = {"7/2": 3, "-7/2": -4, "6/3": 2, "10/3": 3, "7/0": None}
    ceil = {"7/2": 4, "-7/2": -3, "6/3": 2, "10/3": 4, "7/0": None}
    assert values("floor(p.n / p.k)", rows) == both(floor)
    assert values("ceil(p.n / p.k)", rows) == both(ceil)
    # FIN02: above 3 when guest_count <= 10, else above guest_count / 3 rounded down.
    assert values("if(p.n <= 10, 3, floor(p.n / 3))", {"10": {"n": 10}, "14": {"n": 14}}) == both(
        {"10": 3, "14": 4}
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("round(2.5)", "3"),
        ("round(-2.5)", "-3"),
        ("round(0.125, 2)", "0.13"),
        ("round(-0.125, 2)", "-0.13"),
        ("round(7 / 2)", "4"),
        ("round(-7 / 2)", "-4"),
        ("round(1234.5, -2)", "1200"),
        ("round(1250, -2)", "1300"),
        # The double nearest 1.005 (or 201 / 200) is 1.00499999999999989…: round() reads the
        # value to 9 decimal places first, as 1.005, and rounds that (engine/compiler/functions.py).
        ("round(1.005, 2)", "1.01"),
        ("round(201 / 200, 2)", "1.01"),
        ("round(2.675, 2)", "2.68"),
    ],
)
def test_round_takes_halves_away_from_zero(expression, expected):
    assert values(expression, {"r": {}}) == both({"r": Decimal(expected)})


def test_round_of_float_and_decimal_columns():
    floats = {"0.125": 0.125, "-0.125": -0.125, "1.005": 1.005, "0.285": 0.285, "2.675": 2.675}
    expected = {
        "0.125": "0.13",
        "-0.125": "-0.13",
        "1.005": "1.01",
        "0.285": "0.29",
        "2.675": "2.68",
    }
    got = values("round(p.f, 2)", {k: {"f": v} for k, v in floats.items()})
    assert got == both({k: Decimal(v) for k, v in expected.items()})
    halves = {"2.5": {"f": 2.5}, "-2.5": {"f": -2.5}, "0.5": {"f": 0.5}, "null": {}}
    assert values("round(p.f)", halves) == both({"2.5": 3, "-2.5": -3, "0.5": 1, "null": None})
    decimals = {k: {"x": Decimal(k)} for k in ("2.25", "-2.25", "2.35")}
    assert values("round(p.x, 1)", decimals) == both(
        {"2.25": Decimal("2.3"), "-2.25": Decimal("-2.3"), "2.35": Decimal("2.4")}
    )


@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.decimals(-(10**6), 10**6, places=6), min_size=1, max_size=40),
    st.integers(-2, 4),
)
def test_round_agrees_with_the_contract_on_any_float(numbers, places):
    rows = {f"{i:03d}": {"f": float(x)} for i, x in enumerate(numbers)}
    expected = {key: round_half_away(row["f"], places) for key, row in rows.items()}
    assert values(f"round(p.f, {places})", rows) == both(expected)


def test_round_needs_a_constant_number_of_digits():
    with pytest.raises(DiagnosticError) as raised:
        values("round(p.f, p.n)", {"r": {"f": 2.5, "n": 0}})
    assert [d.code for d in raised.value.diagnostics] == ["E700"]


def test_division_is_true_division_and_missing_when_dividing_by_zero():
    rows = {
        "7/2": {"n": 7, "k": 2},
        "-7/2": {"n": -7, "k": 2},
        "1/4": {"n": 1, "k": 4},
        "1/3": {"n": 1, "k": 3},
        "7/0": {"n": 7, "k": 0},
        "?/2": {"k": 2},
    }
    expected = {"7/2": 3.5, "-7/2": -3.5, "1/4": 0.25, "1/3": 0.333333333, "7/0": None, "?/2": None}
    # The quotient is taken to 9 decimal places (see engine/compiler/functions.divide).
    assert values("p.n / p.k", rows) == both(as_language(expected, Type.FLOAT))
    money = {"7.50/2.50": {"x": Decimal("7.50"), "y": Decimal("2.50")}, "1/0": {"x": 1, "y": 0}}
    assert values("p.x / p.y", money) == both({"7.50/2.50": 3, "1/0": None})


def test_a_quotient_exactly_at_a_decimal_threshold_does_not_exceed_it():
    # 500.10 / 5 is 100.02000000000001 in binary floating point.
    rows = {"at": {"x": Decimal("500.10"), "n": 5}, "above": {"x": Decimal("500.15"), "n": 5}}
    assert matching("p.x / p.n > 100.02", rows) == both(["above"])
    assert matching("p.x / p.n = 100.02", rows) == both(["at"])


# ---- aggregates -----------------------------------------------------------------------

ITEMS = [
    {"item_id": "i1", "owner": "A", "tag": "x", "amount": Decimal("1.50")},
    {"item_id": "i2", "owner": "A", "tag": "x", "amount": Decimal("2.50")},
    {"item_id": "i3", "owner": "A", "tag": "y"},
    {"item_id": "i4", "owner": "C"},
]


def test_sum_over_no_rows_is_zero_and_count_distinct_counts_values():
    p = probe(
        "  from probe p\n  key p.id\n  township p.id\n"
        '  message "{(from item i where i.owner = p.id select sum(i.amount))}'
        " {(from item i where i.owner = p.id select count(distinct i.tag))}"
        ' {(from item i where i.owner = p.id select count(*))}"'
    )
    got = run(p, {"probe": [{"id": "A"}, {"id": "B"}, {"id": "C"}], "item": ITEMS})
    # A: 1.50 + 2.50, tags x and y; B: no items; C: one item with no amount and no tag.
    assert got == both([("A", 4, 2, 3), ("B", 0, 0, 0), ("C", 0, 0, 1)])


def test_grouped_sum_and_count_distinct():
    p = probe(
        "  from item i\n  where i.owner is not null\n  group by i.owner\n"
        '  key i.owner\n  township i.owner\n  message "{sum(i.amount)} {count(distinct i.tag)}"'
    )
    got = run(p, {"item": ITEMS})
    assert got == both([("A", 4, 2), ("C", 0, 0)])


def test_an_aggregate_in_a_subquery_of_a_grouped_model_is_the_subquerys_own():
    """`count(*)` of the groups and `count(*)` of a subquery are written alike; each counts
    its own rows."""
    p = probe(
        "  from item i\n  where i.owner is not null\n  group by i.owner\n"
        "  key i.owner\n  township i.owner\n"
        '  message "{count(*)} {(from probe p where p.id = i.owner select count(*))}"'
    )
    got = run(p, {"item": ITEMS, "probe": [{"id": "A"}, {"id": "B"}]})
    assert got == both([("A", 3, 1), ("C", 1, 0)])


def test_lets_over_groups_named_like_the_compilers_columns_are_still_themselves():
    """A grouped model's columns are `group_1`, `agg_1` …; lets so named keep their values."""
    p = probe(
        "  from item i\n  where i.owner is not null\n"
        "  let group_1 = count(*) + 10\n  let agg_1 = sum(i.amount) + 100\n  group by i.owner\n"
        '  key i.owner\n  township i.owner\n  message "{group_1} {agg_1} {sum(i.amount)}"'
    )
    got = run(p, {"item": ITEMS})
    assert got == both([("A", 13, 104, 4), ("C", 11, 100, 0)])


def test_avg_distinct_averages_each_value_once():
    items = [*ITEMS, {"item_id": "i5", "owner": "A", "tag": "z", "amount": Decimal("1.50")}]
    p = probe(
        "  from item i\n  where i.owner is not null\n  group by i.owner\n"
        '  key i.owner\n  township i.owner\n  message "{avg(distinct i.amount)} {avg(i.amount)}"'
    )
    got = run(p, {"item": items})
    # A: 1.50 and 2.50 once each, then 1.50, 2.50, 1.50; C: no amount at all.
    average = normalise(5.5 / 3, Type.FLOAT)
    assert got == both([("A", Decimal(2), average), ("C", None, None)])


def test_first_takes_the_value_on_the_first_row_in_its_order_nulls_last():
    # DuckDB compiles first() to FIRST(x ORDER BY …), SQLite to a ROW_NUMBER() window.
    items = [
        {"item_id": "i1", "owner": "A", "tag": "x", "amount": Decimal("1.50")},
        {"item_id": "i2", "owner": "A", "tag": "y", "amount": Decimal("2.50")},
        {"item_id": "i3", "owner": "A", "tag": "z"},  # no amount: last either way
        {"item_id": "i4", "owner": "B", "amount": Decimal("9")},  # first, but no tag
        {"item_id": "i5", "owner": "B", "tag": "v", "amount": Decimal("1")},
        {"item_id": "i6", "owner": "C", "tag": "t2", "amount": Decimal("5")},  # a tie,
        {"item_id": "i7", "owner": "C", "tag": "t1", "amount": Decimal("5")},  # broken by id
    ]
    p = probe(
        "  from item i\n  group by i.owner\n  key i.owner\n  township i.owner\n"
        '  message "{first(i.tag order by i.amount desc, i.item_id)}'
        ' {first(i.tag order by i.amount, i.item_id desc)}"'
    )
    got = run(p, {"item": items})
    assert got == both([("A", "y", "x"), ("B", None, "v"), ("C", "t2", "t1")])


EXISTS_ITEMS = [
    {"item_id": "i1", "owner": "A", "tag": "x", "amount": Decimal("2")},
    {"item_id": "i2", "tag": "y", "amount": Decimal("2")},
    {"item_id": "i3", "owner": "C", "tag": "z", "amount": Decimal("0.5")},
]
EXISTS_ROWS = {"A": {}, "B": {"t": "y"}, "C": {"t": "z"}, "D": {}}


@pytest.mark.parametrize(
    ("negated", "expected"), [("", ["A", "B"]), ("not ", ["C", "D"])], ids=["exists", "not"]
)
def test_exists_with_an_or_of_outer_equalities_means_the_same_when_split(negated, expected):
    # A: its own item; B: an item with its tag; C: both, but the amount is too small; D: none.
    # The compiler writes this as two EXISTS, one per branch (engine/compiler/compile.py says
    # why); on DuckDB each branch, tied to the row by an equality alone, is an IN.
    condition = f"{negated}exists(item i where i.amount > 1 and (i.owner = p.id or i.tag = p.t))"
    assert matching(condition, EXISTS_ROWS, item=EXISTS_ITEMS) == both(expected)
    sql = probe(f'  from probe p\n  where {condition}\n  key p.id\n  township p.id\n  message "x"')
    assert sql.compiled["sqlite"].sql().count("EXISTS") == 2
    duckdb = sql.compiled["duckdb"].sql()
    assert duckdb.count(" IN (SELECT") == 2 and "EXISTS" not in duckdb


def test_an_or_without_an_outer_equality_stays_one_exists():
    condition = "exists(item i where i.owner = p.id and (i.tag is null or i.amount > p.x))"
    rows = {"A": {"x": Decimal("1")}, "C": {"x": Decimal("1")}, "D": {}}
    assert matching(condition, rows, item=EXISTS_ITEMS) == both(["A"])
    sql = probe(f'  from probe p\n  where {condition}\n  key p.id\n  township p.id\n  message "x"')
    assert sql.compiled["duckdb"].sql().count("EXISTS") == 1


def test_decimal_arithmetic_is_exact_at_a_boundary():
    rows = {"r": {"x": Decimal("0.10"), "y": Decimal("0.20")}}
    assert matching("p.x + p.y <= 0.3", rows) == both(["r"])
    assert matching("p.x + p.y = 0.3", rows) == both(["r"])
    # A rent exactly at 70% of its appraisal is not below it: 0.7 × 1.90 = 1.33, though in
    # binary floating point 0.7 × 1.9 is 1.3299999999999998.
    ratio = {
        "at": {"x": Decimal("1.90"), "y": Decimal("1.33")},
        "below": {"x": Decimal("1.90"), "y": Decimal("1.32")},
    }
    assert matching("p.y < 0.70 * p.x", ratio) == both(["below"])


# ---- the SQL of the warehouses that cannot run here ------------------------------------


def same(sql: str, **per_dialect: str) -> dict[str, str]:
    """The SQL on every dialect: `sql`, except where a dialect is named."""
    return {dialect: per_dialect.get(dialect, sql) for dialect in DIALECTS}


_BLANK = (
    "(p.s IS NULL OR REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(p.s, ' ', ''), "
    "{tab}, ''), {lf}, ''), {cr}, ''), '\u00a0', ''), '\u3000', '') = '')"
)
# Where TRIM takes a set of characters to remove (engine/compiler/functions.py says which).
_BLANK_CHARACTERS = "' ' || {chr}(9) || {chr}(10) || {chr}(13) || '\u00a0\u3000'"
_BLANK_TRIM_ARGUMENTS = "(p.s IS NULL OR TRIM(p.s, " + _BLANK_CHARACTERS + ") = '')"
_BLANK_TRIM_FROM = "(p.s IS NULL OR TRIM(" + _BLANK_CHARACTERS + " FROM p.s) = '')"

# Arguments are probe columns (d, e: date; ts, tu: timestamp; n, k: int; x: decimal;
# s, t: string; b: bool) or constants. workdays() is the compiler's subquery, run above.
PINNED: dict[str, dict[str, str]] = {
    "add_months(d, n)": same(
        "CAST(DATE_ADD(p.d, INTERVAL p.n MONTH) AS DATE)",
        duckdb="CAST(p.d + INTERVAL (p.n) MONTH AS DATE)",
        sqlite="MIN(DATE(p.d, p.n || ' months'),"
        " DATE(p.d, 'start of month', (p.n + 1) || ' months', '-1 day'))",
        postgres="CAST(p.d + (INTERVAL '1 MONTH' * p.n) AS DATE)",
        spark="CAST(ADD_MONTHS(p.d, CAST(p.n AS INT)) AS DATE)",
        trino="CAST(DATE_ADD('MONTH', CAST(p.n AS BIGINT), p.d) AS DATE)",
        snowflake="CAST(DATEADD(MONTH, p.n, p.d) AS DATE)",
        clickhouse="CAST(DATE_ADD(MONTH, p.n, p.d) AS Nullable(Date32))",
        hive="CAST(CASE WHEN DAY(ADD_MONTHS(p.d, CAST(p.n AS INT))) > DAY(p.d)"
        " THEN DATE_SUB(ADD_MONTHS(p.d, CAST(p.n AS INT)),"
        " DAY(ADD_MONTHS(p.d, CAST(p.n AS INT))) - DAY(p.d))"
        " ELSE ADD_MONTHS(p.d, CAST(p.n AS INT)) END AS DATE)",
    ),
    "add_months(d, -13)": same(
        "CAST(DATE_ADD(p.d, INTERVAL -13 MONTH) AS DATE)",
        duckdb="CAST(p.d + INTERVAL (-13) MONTH AS DATE)",
        sqlite="MIN(DATE(p.d, '-13 months'), DATE(p.d, 'start of month', '-12 months', '-1 day'))",
        postgres="CAST(p.d + INTERVAL '-13 MONTH' AS DATE)",
        spark="CAST(ADD_MONTHS(p.d, -13) AS DATE)",
        trino="CAST(DATE_ADD('MONTH', -13, p.d) AS DATE)",
        snowflake="CAST(DATEADD(MONTH, -13, p.d) AS DATE)",
        clickhouse="CAST(DATE_ADD(MONTH, -13, p.d) AS Nullable(Date32))",
        hive="CAST(CASE WHEN DAY(ADD_MONTHS(p.d, -13)) > DAY(p.d)"
        " THEN DATE_SUB(ADD_MONTHS(p.d, -13), DAY(ADD_MONTHS(p.d, -13)) - DAY(p.d))"
        " ELSE ADD_MONTHS(p.d, -13) END AS DATE)",
    ),
    "add_days(d, n)": same(
        "CAST(DATE_ADD(p.d, INTERVAL p.n DAY) AS DATE)",
        duckdb="CAST(p.d + INTERVAL (p.n) DAY AS DATE)",
        sqlite="DATE(p.d, p.n || ' days')",
        postgres="CAST(p.d + (INTERVAL '1 DAY' * p.n) AS DATE)",
        spark="CAST(DATE_ADD(p.d, CAST(p.n AS INT)) AS DATE)",
        trino="CAST(DATE_ADD('DAY', CAST(p.n AS BIGINT), p.d) AS DATE)",
        snowflake="CAST(DATEADD(DAY, p.n, p.d) AS DATE)",
        clickhouse="CAST(DATE_ADD(DAY, p.n, p.d) AS Nullable(Date32))",
        hive="CAST(DATE_ADD(p.d, CAST(p.n AS INT)) AS DATE)",
    ),
    "add_days(d, -5)": same(
        "CAST(DATE_ADD(p.d, INTERVAL -5 DAY) AS DATE)",
        duckdb="CAST(p.d + INTERVAL (-5) DAY AS DATE)",
        sqlite="DATE(p.d, '-5 days')",
        postgres="CAST(p.d + INTERVAL '-5 DAY' AS DATE)",
        spark="CAST(DATE_ADD(p.d, -5) AS DATE)",
        trino="CAST(DATE_ADD('DAY', -5, p.d) AS DATE)",
        snowflake="CAST(DATEADD(DAY, -5, p.d) AS DATE)",
        clickhouse="CAST(DATE_ADD(DAY, -5, p.d) AS Nullable(Date32))",
        hive="CAST(DATE_ADD(p.d, -5) AS DATE)",
    ),
    "days_between(d, e)": same(
        "DATEDIFF(p.e, p.d)",
        duckdb="DATE_DIFF('DAY', p.d, p.e)",
        sqlite="CAST((JULIANDAY(p.e) - JULIANDAY(p.d)) AS INTEGER)",
        postgres="(p.e - p.d)",
        trino="DATE_DIFF('DAY', p.d, p.e)",
        bigquery="DATE_DIFF(p.e, p.d, DAY)",
        snowflake="DATEDIFF(DAY, p.d, p.e)",
        clickhouse="DATE_DIFF(DAY, p.d, p.e)",
    ),
    "seconds_between(ts, tu)": same(
        "TIMESTAMPDIFF(SECOND, p.ts, p.tu)",
        duckdb="DATE_DIFF('SECOND', p.ts, p.tu)",
        sqlite="(CAST(STRFTIME('%s', p.tu) AS INTEGER) - CAST(STRFTIME('%s', p.ts) AS INTEGER))",
        postgres="CAST(EXTRACT(EPOCH FROM DATE_TRUNC('SECOND', p.tu)"
        " - DATE_TRUNC('SECOND', p.ts)) AS BIGINT)",
        spark="(UNIX_TIMESTAMP(p.tu) - UNIX_TIMESTAMP(p.ts))",
        trino="DATE_DIFF('SECOND', DATE_TRUNC('SECOND', p.ts), DATE_TRUNC('SECOND', p.tu))",
        bigquery="DATETIME_DIFF(p.tu, p.ts, SECOND)",
        snowflake="DATEDIFF(SECOND, p.ts, p.tu)",
        clickhouse="DATE_DIFF(SECOND, p.ts, p.tu)",
        hive="(UNIX_TIMESTAMP(p.tu) - UNIX_TIMESTAMP(p.ts))",
    ),
    # seconds_between(ts, tu) as s: CAST((s - s % 60) / 60 AS BIGINT), the division exact.
    "minutes_between(ts, tu)": same(
        "CAST(((UNIX_TIMESTAMP(p.tu) - UNIX_TIMESTAMP(p.ts))"
        " - (UNIX_TIMESTAMP(p.tu) - UNIX_TIMESTAMP(p.ts)) % 60) / 60 AS BIGINT)",
        duckdb="CAST((DATE_DIFF('SECOND', p.ts, p.tu)"
        " - DATE_DIFF('SECOND', p.ts, p.tu) % 60) / 60 AS BIGINT)",
        sqlite="CAST(CAST(((CAST(STRFTIME('%s', p.tu) AS INTEGER)"
        " - CAST(STRFTIME('%s', p.ts) AS INTEGER))"
        " - (CAST(STRFTIME('%s', p.tu) AS INTEGER) - CAST(STRFTIME('%s', p.ts) AS INTEGER))"
        " % 60) AS REAL) / 60 AS INTEGER)",
        postgres="CAST(CAST((CAST(EXTRACT(EPOCH FROM DATE_TRUNC('SECOND', p.tu)"
        " - DATE_TRUNC('SECOND', p.ts)) AS BIGINT)"
        " - CAST(EXTRACT(EPOCH FROM DATE_TRUNC('SECOND', p.tu)"
        " - DATE_TRUNC('SECOND', p.ts)) AS BIGINT) % 60) AS DOUBLE PRECISION) / 60 AS BIGINT)",
        trino="CAST(CAST((DATE_DIFF('SECOND', DATE_TRUNC('SECOND', p.ts),"
        " DATE_TRUNC('SECOND', p.tu)) - DATE_DIFF('SECOND', DATE_TRUNC('SECOND', p.ts),"
        " DATE_TRUNC('SECOND', p.tu)) % 60) AS DOUBLE) / 60 AS BIGINT)",
        bigquery="CAST((DATETIME_DIFF(p.tu, p.ts, SECOND)"
        " - MOD(DATETIME_DIFF(p.tu, p.ts, SECOND), 60)) / 60 AS INT64)",
        snowflake="CAST((DATEDIFF(SECOND, p.ts, p.tu)"
        " - DATEDIFF(SECOND, p.ts, p.tu) % 60) / 60 AS BIGINT)",
        mysql="CAST((TIMESTAMPDIFF(SECOND, p.ts, p.tu)"
        " - TIMESTAMPDIFF(SECOND, p.ts, p.tu) % 60) / 60 AS SIGNED)",
        clickhouse="CAST((DATE_DIFF(SECOND, p.ts, p.tu)"
        " - DATE_DIFF(SECOND, p.ts, p.tu) % 60) / 60 AS Nullable(Int64))",
        doris="CAST((TIMESTAMPDIFF(SECOND, p.ts, p.tu)"
        " - TIMESTAMPDIFF(SECOND, p.ts, p.tu) % 60) / 60 AS BIGINT)",
        starrocks="CAST((TIMESTAMPDIFF(SECOND, p.ts, p.tu)"
        " - TIMESTAMPDIFF(SECOND, p.ts, p.tu) % 60) / 60 AS BIGINT)",
    ),
    "year(d)": same(
        "YEAR(p.d)",
        sqlite="CAST(STRFTIME('%Y', p.d) AS INTEGER)",
        postgres="EXTRACT(YEAR FROM p.d)",
        bigquery="EXTRACT(YEAR FROM p.d)",
    ),
    "month(d)": same(
        "MONTH(p.d)",
        sqlite="CAST(STRFTIME('%m', p.d) AS INTEGER)",
        postgres="EXTRACT(MONTH FROM p.d)",
        bigquery="EXTRACT(MONTH FROM p.d)",
    ),
    "year_month(d)": same(
        "DATE_FORMAT(p.d, '%Y-%m')",
        duckdb="STRFTIME(p.d, '%Y-%m')",
        sqlite="STRFTIME('%Y-%m', p.d)",
        postgres="TO_CHAR(p.d, 'YYYY-MM')",
        spark="DATE_FORMAT(p.d, 'yyyy-MM')",
        bigquery="FORMAT_DATE('%Y-%m', CAST(p.d AS DATE))",
        snowflake="TO_CHAR(p.d, 'yyyy-mm')",
        clickhouse="formatDateTime(p.d, '%Y-%m')",
        hive="DATE_FORMAT(p.d, 'yyyy-MM')",
    ),
    "date(ts)": same(
        "CAST(p.ts AS DATE)",
        sqlite="DATE(p.ts)",
        clickhouse="CAST(p.ts AS Nullable(Date32))",
    ),
    "coalesce(s, t, 'x')": same(
        "COALESCE(p.s, p.t, 'x')",
    ),
    "if(b, s, t)": same(
        "CASE WHEN p.b THEN p.s ELSE p.t END",
    ),
    "least(d, e)": same(
        "CASE WHEN p.d IS NULL OR p.e IS NULL THEN NULL WHEN p.d <= p.e THEN p.d ELSE p.e END",
    ),
    "greatest(n, k, 0)": same(
        "CASE WHEN p.n IS NULL OR p.k IS NULL THEN NULL"
        " WHEN p.n >= p.k AND p.n >= 0 THEN p.n WHEN p.k >= 0 THEN p.k ELSE 0 END",
    ),
    "blank(s)": same(
        _BLANK_TRIM_ARGUMENTS.format(chr="CHR"),
        duckdb="(p.s IS NULL OR ((UNICODE(p.s) <= 32 OR UNICODE(p.s) IN (160, 12288))"
        " AND NOT REGEXP_MATCHES(p.s, '[^ \\t\\n\\r\\x{A0}\\x{3000}]')))",
        sqlite=_BLANK_TRIM_ARGUMENTS.format(chr="CHAR"),
        postgres=_BLANK_TRIM_FROM.format(chr="CHR"),
        spark=_BLANK_TRIM_FROM.format(chr="CHR"),
        trino=_BLANK_TRIM_FROM.format(chr="CHR"),
        hive=_BLANK.format(tab="CHR(9)", lf="CHR(10)", cr="CHR(13)"),
        mysql=_BLANK.format(tab="'\\t'", lf="'\\n'", cr="'\\r'"),
        clickhouse=_BLANK.format(tab="CHAR(9)", lf="CHAR(10)", cr="CHAR(13)"),
        doris=_BLANK.format(tab="'\\t'", lf="'\\n'", cr="'\\r'"),
        starrocks=_BLANK.format(tab="'\\t'", lf="'\\n'", cr="'\\r'"),
    ),
    # Null when a part is: `||`, or CONCAT where sqlglot writes that (MySQL, Doris, StarRocks).
    "concat(s, '-', t)": same(
        "(p.s || '-' || p.t)",
        mysql="(CONCAT(p.s, '-', p.t))",
        doris="(CONCAT(p.s, '-', p.t))",
        starrocks="(CONCAT(p.s, '-', p.t))",
    ),
    "trim(s)": same(
        "TRIM(p.s)",
        trino="TRIM(' ' FROM p.s)",
        bigquery="TRIM(p.s, ' ')",
    ),
    "upper(s)": same(
        "UPPER(p.s)",
        clickhouse="upperUTF8(p.s)",
    ),
    "lower(s)": same(
        "LOWER(p.s)",
        clickhouse="lowerUTF8(p.s)",
    ),
    "length(s)": same(
        "LENGTH(p.s)",
        mysql="CHAR_LENGTH(p.s)",
        clickhouse="CHAR_LENGTH(p.s)",
        doris="CHAR_LENGTH(p.s)",
        starrocks="CHAR_LENGTH(p.s)",
    ),
    "contains(s, t)": same(
        "LOCATE(p.t, p.s) > 0",
        duckdb="STRPOS(p.s, p.t) > 0",
        sqlite="INSTR(p.s, p.t) > 0",
        postgres="POSITION(p.t IN p.s) > 0",
        trino="STRPOS(p.s, p.t) > 0",
        bigquery="INSTR(p.s, p.t) > 0",
        snowflake="CHARINDEX(p.t, p.s) > 0",
        clickhouse="POSITION(p.s, p.t) > 0",
    ),
    "starts_with(s, t)": same(
        "SUBSTRING(p.s, 1, LENGTH(p.t)) = p.t",
        postgres="SUBSTRING(p.s FROM 1 FOR LENGTH(p.t)) = p.t",
        trino="SUBSTR(p.s, 1, LENGTH(p.t)) = p.t",
        mysql="SUBSTRING(p.s, 1, CHAR_LENGTH(p.t)) = p.t",
        clickhouse="substringUTF8(p.s, 1, CHAR_LENGTH(p.t)) = p.t",
        doris="SUBSTRING(p.s, 1, CHAR_LENGTH(p.t)) = p.t",
        starrocks="SUBSTRING(p.s, 1, CHAR_LENGTH(p.t)) = p.t",
    ),
    "substr(s, 2, 3)": same(
        "SUBSTRING(p.s, 2, 3)",
        postgres="SUBSTRING(p.s FROM 2 FOR 3)",
        trino="SUBSTR(p.s, 2, 3)",
        clickhouse="substringUTF8(p.s, 2, 3)",
    ),
    "substr(s, n)": same(
        "SUBSTRING(p.s, p.n)",
        postgres="SUBSTRING(p.s FROM p.n)",
        trino="SUBSTR(p.s, p.n)",
        clickhouse="substringUTF8(p.s, p.n)",
    ),
    "abs(x)": same(
        "ABS(p.x)",
    ),
    "floor(x)": same(
        "CAST(FLOOR(p.x) AS BIGINT)",
        sqlite="(CAST(p.x AS INTEGER) - (p.x < CAST(p.x AS INTEGER)))",
        bigquery="CAST(FLOOR(p.x) AS INT64)",
        mysql="CAST(FLOOR(p.x) AS SIGNED)",
        clickhouse="CAST(FLOOR(p.x) AS Nullable(Int64))",
    ),
    "ceil(x)": same(
        "CAST(CEIL(p.x) AS BIGINT)",
        sqlite="(CAST(p.x AS INTEGER) + (p.x > CAST(p.x AS INTEGER)))",
        bigquery="CAST(CEIL(p.x) AS INT64)",
        mysql="CAST(CEIL(p.x) AS SIGNED)",
        clickhouse="CAST(CEIL(p.x) AS Nullable(Int64))",
    ),
    "round(x, 2)": same(
        "ROUND(CAST(p.x AS DECIMAL(28, 9)), 2)",
        sqlite="ROUND(ROUND(p.x, 9), 2)",
        bigquery="ROUND(CAST(p.x AS NUMERIC), 2)",
        clickhouse="ROUND(CAST(p.x AS Nullable(Decimal(28, 9))), 2)",
    ),
    "round(x, -2)": same(
        "ROUND(CAST(p.x AS DECIMAL(28, 9)), -2)",
        sqlite="(ROUND(CAST(ROUND(p.x, 9) AS REAL) / 100.0) * 100)",
        bigquery="ROUND(CAST(p.x AS NUMERIC), -2)",
        clickhouse="ROUND(CAST(p.x AS Nullable(Decimal(28, 9))), -2)",
    ),
}


def _argument(text: str) -> exp.Expression:
    if re.fullmatch(r"-?\d+", text):
        number = exp.Literal.number(abs(int(text)))
        return exp.Neg(this=number) if text.startswith("-") else number
    if text.startswith("'"):
        return exp.Literal.string(text[1:-1])
    return exp.column(text, table="p")


def _sql(call: str, dialect: str) -> str:
    name, rest = re.fullmatch(r"(\w+)\((.*)\)", call).groups()
    args = [_argument(a.strip()) for a in rest.split(",")]
    return fn.FUNCTIONS[name].build(name, args, fn.Builders(dialect, _no_calendar)).sql(dialect)


def _no_calendar(start: exp.Expression, end: exp.Expression) -> exp.Expression:
    raise AssertionError("workdays() is built by the compiler")


def test_every_function_has_its_sql_pinned():
    pinned = {re.match(r"\w+", call).group() for call in PINNED}
    assert pinned == set(fn.FUNCTIONS) - {"workdays"}


@pytest.mark.parametrize("call", list(PINNED))
def test_sql_of_each_function_per_warehouse(call):
    assert {dialect: _sql(call, dialect) for dialect in DIALECTS} == PINNED[call]


@pytest.mark.parametrize("call", list(PINNED))
def test_sql_of_each_function_parses_back_in_its_dialect(call):
    for dialect, sql in PINNED[call].items():
        statement = sqlglot.parse_one(f"SELECT {sql} AS v FROM p", read=dialect)
        assert isinstance(statement, exp.Select), (dialect, sql)
        assert statement.selects[0].alias == "v", (dialect, sql)


OPERATIONS = {
    "date literal": (
        lambda d: fn.date_literal("2021-01-31", d),
        same(
            "CAST('2021-01-31' AS DATE)",
            sqlite="'2021-01-31'",
            clickhouse="CAST('2021-01-31' AS Nullable(Date32))",
        ),
    ),
    "timestamp literal": (
        lambda d: fn.timestamp_literal("2021-01-31 08:30:00", d),
        same(
            "CAST('2021-01-31 08:30:00' AS TIMESTAMP)",
            sqlite="'2021-01-31 08:30:00'",
            bigquery="CAST('2021-01-31 08:30:00' AS DATETIME)",
            mysql="CAST('2021-01-31 08:30:00' AS DATETIME)",
            clickhouse="CAST('2021-01-31 08:30:00' AS Nullable(DateTime))",
            doris="CAST('2021-01-31 08:30:00' AS DATETIME)",
            starrocks="CAST('2021-01-31 08:30:00' AS DATETIME)",
        ),
    ),
    "x / n": (
        lambda d: fn.divide(
            exp.column("x", table="p"), exp.column("n", table="p"), fn.Builders(d, _no_calendar)
        ),
        same(
            "ROUND(CAST(CAST(p.x AS DOUBLE) / NULLIF(p.n, 0) AS DECIMAL(28, 9)), 9)",
            sqlite="ROUND(CAST(p.x AS REAL) / NULLIF(p.n, 0), 9)",
            postgres="ROUND(CAST(CAST(p.x AS DOUBLE PRECISION) / NULLIF(p.n, 0) AS "
            "DECIMAL(28, 9)), 9)",
            bigquery="ROUND(CAST(CAST(p.x AS FLOAT64) / NULLIF(p.n, 0) AS NUMERIC), 9)",
            clickhouse="ROUND(CAST(CAST(p.x AS Nullable(Float64)) / nullIf(p.n, 0) AS "
            "Nullable(Decimal(28, 9))), 9)",
        ),
    ),
    "sum(x)": (
        lambda d: fn.sum_of(exp.column("x", table="p")),
        same("COALESCE(SUM(p.x), 0)"),
    ),
}


def test_not_blank_is_a_condition_of_its_own_on_duckdb_alone():
    """DuckDB skips the expression for values a first character settles only outside NOT."""
    column = exp.column("s", table="p")
    blank = fn.FUNCTIONS["blank"]
    assert [d for d in DIALECTS if blank.negates(d)] == ["duckdb"]
    negated = blank.build_negated("blank", [column], fn.Builders("duckdb", _no_calendar))
    assert negated.sql("duckdb") == (
        "(NOT p.s IS NULL AND ((UNICODE(p.s) > 32 AND NOT UNICODE(p.s) IN (160, 12288))"
        " OR REGEXP_MATCHES(p.s, '[^ \\t\\n\\r\\x{A0}\\x{3000}]')))"
    )


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_sql_of_each_operation_per_warehouse(operation):
    build, expected = OPERATIONS[operation]
    got = {dialect: build(dialect).sql(dialect) for dialect in DIALECTS}
    assert got == expected
    for dialect, sql in got.items():
        assert isinstance(sqlglot.parse_one(f"SELECT {sql} FROM p", read=dialect), exp.Select)
