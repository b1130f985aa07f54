"""quantile(x, p) and median(x): one definition, the same value on every executed warehouse.

The definition is the continuous quantile of type 7 (Hyndman & Fan), R's and
NumPy's default: over the n values that are not null, sorted x₀ ≤ … ≤ xₙ₋₁,
at h = (n − 1)·p, x⌊h⌋ + (h − ⌊h⌋)·(x⌊h⌋₊₁ − x⌊h⌋); null when there is no value.
tests/quantile_reference.py writes it out in exact fractions (`type7`), which
is first shown to be Python's `statistics.quantiles(…, method="inclusive")`
at every cut point.

A small probe pack computes quantiles per group (a grouped model) and per
key (a correlated subquery) over groups with ties, nulls, no value, one
value, negative values and forty random amounts. Its rows are loaded into
DuckDB, SQLite, PostgreSQL and Spark (skipped without Java); each gives the
reference's value, taken to 9 decimal places as the compiler takes it.
DuckDB and SQLite are then checked against the reference on random groups
and random p. The checker's and compiler's refusals come last.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from quantile_reference import type7
from spark_support import spark_available
from sqlglot import exp

from adapters import connect
from adapters.base import Warehouse
from dsl import ir
from dsl.check import check_pack
from dsl.diagnostics import DiagnosticError
from dsl.types import Type
from engine.compiler import functions as fn
from engine.compiler.compile import DIALECTS, Target, compile_model
from engine.runs.warnings import normalise
from engine.schema import source_schema

NINE_PLACES = Decimal("1e-9")

# ---- the definition -------------------------------------------------------------------------


def to_nine_places(value: Fraction | None) -> Decimal | None:
    """A value as the compiler gives it: to 9 decimal places, halves away from zero."""
    if value is None:
        return None
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(NINE_PLACES, rounding=ROUND_HALF_UP)


@settings(max_examples=100)
@given(
    st.lists(st.fractions(min_value=-1000, max_value=1000, max_denominator=100), min_size=2),
    st.integers(min_value=2, max_value=12),
)
def test_the_definition_is_statistics_quantiles_inclusive(values, parts):
    cut_points = statistics.quantiles(values, n=parts, method="inclusive")
    assert cut_points == [type7(values, Fraction(i, parts)) for i in range(1, parts)]


def test_the_definition_by_hand():
    assert type7([1, 2, 3, 4], "0.5") == Fraction(5, 2)
    assert type7([100, 110, 120, 130, 140, 175], "0.25") == Fraction(225, 2)  # 112.5
    assert type7([3, None, 1], "0.75") == Fraction(5, 2)  # nulls left out
    assert type7([7], "0.9") == 7
    assert type7([None, None], "0.5") is None
    assert type7([], "0") is None


# ---- the probe pack -------------------------------------------------------------------------

PACK_YAML = """\
pack:
  name: 分位数探针
  version: 0.1.0
  engine: ">=0.1,<1"
domains:
  QT: 分位数
parameters:
  p: {type: float, default: 0.75, min: 0, max: 1, description: 分位数的 p}
sources:
  sample:
    key: [id]
    columns:
      id: {type: string, required: true}
      g: {type: string}
      x: {type: decimal}
      n: {type: int}
      f: {type: float}
      keep: {type: bool}
  grp:
    key: [g]
    columns:
      g: {type: string, required: true}
"""

FRACTIONS = ("0", "0.1", "0.25", "0.3", "0.5", "0.75", "0.9", "1")

MODELS = f"""\
model QT01 "per group" {{
  domain QT
  severity blue
  status draft
  from sample s
  group by s.g
  key s.g
  township "330122001"
  message "{"|".join(f"{{quantile(s.x, {p})}}" for p in FRACTIONS)}|{{median(s.x)}}|\
{{quantile(s.n, 0.3)}}|{{quantile(s.f, 0.9)}}|{{quantile(s.x, $p)}}|{{median(s.x where s.keep)}}"
}}

model QT02 "per key, in a subquery" {{
  domain QT
  severity blue
  status draft
  from grp k
  key k.g
  township "330122001"
  message "{{(from sample s where s.g = k.g select quantile(s.x, 0.25))}}|\
{{(from sample s where s.g = k.g select median(s.n))}}|\
{{(from sample s where s.g = k.g select quantile(s.x, 0.75) - quantile(s.x, 0.25))}}|\
{{(from sample s where s.g = k.g select quantile(s.x, $p where s.keep) + count(*))}}"
}}
"""


def qt01_expected(rows: list[dict[str, Any]], p: str) -> tuple[Any, ...]:
    """QT01's holes for one group's rows, from the reference."""
    xs = [r["x"] for r in rows]
    values = [type7(xs, f) for f in FRACTIONS]
    values += [type7(xs, "0.5"), type7([r["n"] for r in rows], "0.3")]
    values += [type7([r["f"] for r in rows], "0.9"), type7(xs, p)]
    values.append(type7([r["x"] for r in rows if r["keep"]], "0.5"))
    return tuple(to_nine_places(v) for v in values)


def qt02_expected(rows: list[dict[str, Any]], p: str) -> tuple[Any, ...]:
    """QT02's holes for one key's rows (none, for a key without rows), from the reference."""
    xs = [r["x"] for r in rows]
    q1, q3 = to_nine_places(type7(xs, "0.25")), to_nine_places(type7(xs, "0.75"))
    kept = to_nine_places(type7([r["x"] for r in rows if r["keep"]], p))
    return (
        q1,
        to_nine_places(type7([r["n"] for r in rows], "0.5")),
        None if q1 is None else q3 - q1,
        None if kept is None else kept + len(rows),
    )


def _sample(group: str, xs: list[str | None], keep_every: int = 2) -> list[dict[str, Any]]:
    rows = []
    for i, x in enumerate(xs):
        amount = None if x is None else Decimal(x)
        rows.append(
            {
                "id": f"{group}-{i}",
                "g": group,
                "x": amount,
                # An int and an exactly binary float that sort otherwise than x does.
                "n": None if amount is None else int(amount * 3) % 17 - 5,
                "f": None if amount is None else float(int(amount * 8) % 29) / 8,
                "keep": i % keep_every == 0,
            }
        )
    return rows


def _random_amounts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.randint(-10_000_000, 10_000_000) / 100:.2f}" for _ in range(count)]


SAMPLE = [
    *_sample("ties", ["5", "5", "5", "7.5", "7.5", "5"]),
    *_sample("nulls", [None, "3.00", None, "1.00", "2.00", None]),
    *_sample("all_null", [None, None]),
    *_sample("one", ["4.20"]),
    *_sample("two", ["2.00", "1.00"]),
    *_sample("negative", ["-3.50", "-1.25", "0", "2.75"]),
    *_sample("unsorted", ["9.99", "0.01", "5.50", "3.30", "7.70", "1.10", "8.80"]),
    *_sample("random", _random_amounts(40, 2021), keep_every=3),
]
GROUPS = sorted({r["g"] for r in SAMPLE})
KEYS = [*GROUPS, "no_rows"]


def _rows_of(sample: list[dict[str, Any]], group: str) -> list[dict[str, Any]]:
    return [r for r in sample if r["g"] == group]


@pytest.fixture(scope="module")
def probe(tmp_path_factory) -> ir.CheckedPack:
    root = tmp_path_factory.mktemp("quantiles")
    (root / "models").mkdir()
    (root / "pack.yaml").write_text(PACK_YAML, encoding="utf-8")
    (root / "models" / "probe.rule").write_text(MODELS, encoding="utf-8")
    result = check_pack(root)
    assert result.pack is not None, [d.message_en for d in result.diagnostics]
    return result.pack


def load(warehouse: Warehouse, pack: ir.CheckedPack, sample: list[dict], keys: list[str]) -> None:
    for name, rows in (("sample", sample), ("grp", [{"g": k} for k in keys])):
        table = pa.Table.from_pylist(rows, schema=source_schema(pack.pack.sources[name]))
        warehouse.load(name, table, replace=True)


_COMPILED: dict[tuple[int, str, str, str], str] = {}


def compiled_sql(pack: ir.CheckedPack, model: str, dialect: str, p: str) -> str:
    """A probe model's SQL with $p = p, compiled once (SQLite's takes a tenth of a second)."""
    key = (id(pack), model, dialect, p)
    if key not in _COMPILED:
        target = Target(dialect, parameters={"p": float(p)})
        _COMPILED[key] = compile_model(pack.models[model], pack, target).sql()
    return _COMPILED[key]


def holes(warehouse: Warehouse, pack: ir.CheckedPack, model: str, p: str = "0.75") -> dict:
    """Each warning's holes, as the language reads them (FLOAT to 9 places, INT as is)."""
    sql = compiled_sql(pack, model, warehouse.dialect, p)
    types = [h.expr.type for h in pack.models[model].message if isinstance(h, ir.Hole)]
    found = {}
    for row in warehouse.query(sql).to_pylist():
        values = []
        for i, type_ in enumerate(types):
            value = normalise(row[f"hole_{i + 1}"], type_)
            if type_ is Type.FLOAT and value is not None:
                value = value.quantize(NINE_PLACES, rounding=ROUND_HALF_UP)
            values.append(value)
        found[row["key_1"]] = tuple(values)
    return found


ENGINES = ("duckdb", "sqlite", "postgres", "spark")


@pytest.fixture(scope="module", params=ENGINES)
def warehouse(request, tmp_path_factory, probe: ir.CheckedPack) -> Iterator[Warehouse]:
    """The probe's rows in one warehouse of each kind, loaded once per module."""
    engine = request.param
    if engine == "spark" and (why := spark_available()):
        pytest.skip(why)
    if engine == "postgres":
        url = request.getfixturevalue("postgres_module_database")
    else:
        folder = tmp_path_factory.mktemp(engine)
        url = {
            "duckdb": f"duckdb:///{folder / 'w.duckdb'}",
            "sqlite": f"sqlite:///{folder / 'w.sqlite'}",
            "spark": f"spark:///{folder / 'w'}",
        }[engine]
    opened = connect(url)
    load(opened, probe, SAMPLE, KEYS)
    yield opened
    opened.close()


def test_quantiles_of_each_group_are_the_definitions(warehouse, probe):
    expected = {g: qt01_expected(_rows_of(SAMPLE, g), "0.75") for g in GROUPS}
    assert holes(warehouse, probe, "QT01") == expected


def test_quantiles_in_a_subquery_are_the_definitions(warehouse, probe):
    expected = {k: qt02_expected(_rows_of(SAMPLE, k), "0.3") for k in KEYS}
    assert holes(warehouse, probe, "QT02", p="0.3") == expected


def test_the_groups_that_show_each_rule(probe):
    """What the fixed groups are there for, read off the reference."""
    by_group = {g: qt01_expected(_rows_of(SAMPLE, g), "0.75") for g in GROUPS}
    median_at = FRACTIONS.index("0.5")
    assert by_group["ties"][median_at] == 5  # four 5s and two 7.5s
    assert by_group["nulls"][median_at] == 2  # 1, 2, 3: the nulls are not values
    assert set(by_group["all_null"]) == {None}  # no value, no quantile
    assert set(by_group["one"][: len(FRACTIONS)]) == {Decimal("4.2")}
    assert by_group["two"][FRACTIONS.index("0.3")] == Decimal("1.3")  # 1 + 0.3 × (2 − 1)
    assert by_group["unsorted"][0] == Decimal("0.01") and by_group["unsorted"][7] == Decimal("9.99")


# ---- any groups, any p: DuckDB and SQLite -----------------------------------------------------

amounts = st.decimals(
    min_value=-100_000, max_value=100_000, places=2, allow_nan=False, allow_infinity=False
)


@pytest.fixture(scope="module")
def local_warehouses(tmp_path_factory) -> Iterator[list[Warehouse]]:
    folder = tmp_path_factory.mktemp("local")
    opened = [connect(f"duckdb:///{folder / 'w.duckdb'}"), connect("sqlite:///:memory:")]
    yield opened
    for w in opened:
        w.close()


# Fractions with one, two and no decimals, and the ends (each compiled once, see compiled_sql).
ANY_P = ("0", "0.01", "0.1", "0.2", "0.25", "0.33", "0.5", "0.6", "0.75", "0.9", "0.99", "1")


@settings(max_examples=50)
@given(
    groups=st.lists(st.lists(st.one_of(st.none(), amounts), max_size=12), min_size=1, max_size=4),
    p=st.sampled_from(ANY_P),
)
def test_any_groups_at_any_p_agree_with_the_definition(local_warehouses, probe, groups, p):
    sample = [
        row for i, xs in enumerate(groups) for row in _sample(f"g{i}", [x and str(x) for x in xs])
    ]
    present = sorted({r["g"] for r in sample})
    expected_groups = {g: qt01_expected(_rows_of(sample, g), p) for g in present}
    expected_keys = {k: qt02_expected(_rows_of(sample, k), p) for k in [*present, "none"]}
    for warehouse in local_warehouses:
        load(warehouse, probe, sample, [*present, "none"])
        assert holes(warehouse, probe, "QT01", p=p) == expected_groups, warehouse.dialect
        assert holes(warehouse, probe, "QT02", p=p) == expected_keys, warehouse.dialect


# ---- each dialect's own ordered aggregate, or E700 -------------------------------------------

OWN_AGGREGATE = {
    "duckdb": "ROUND(CAST(QUANTILE_CONT(CAST(x AS DOUBLE), 0.75) AS DECIMAL(28, 9)), 9)",
    "postgres": "ROUND(CAST(PERCENTILE_CONT(0.75) WITHIN GROUP (ORDER BY CAST(x AS DOUBLE "
    "PRECISION)) AS DECIMAL(28, 9)), 9)",
    "spark": "ROUND(CAST(PERCENTILE(CAST(x AS DOUBLE), 0.75) AS DECIMAL(28, 9)), 9)",
    "snowflake": "ROUND(CAST(PERCENTILE_CONT(0.75) WITHIN GROUP (ORDER BY CAST(x AS DOUBLE)) "
    "AS DECIMAL(28, 9)), 9)",
    "starrocks": "ROUND(CAST(PERCENTILE_CONT(CAST(x AS DOUBLE), 0.75) AS DECIMAL(28, 9)), 9)",
    "clickhouse": "ROUND(CAST(quantileExactInclusive(0.75)(CAST(x AS Nullable(Float64))) "
    "AS Nullable(Decimal(28, 9))), 9)",
}
NO_EXACT_QUANTILE = {"sqlite", "trino", "bigquery", "mysql", "doris", "hive"}


def test_every_dialect_has_its_own_quantile_or_none():
    assert set(OWN_AGGREGATE) | NO_EXACT_QUANTILE == set(DIALECTS)
    assert not set(OWN_AGGREGATE) & NO_EXACT_QUANTILE


@pytest.mark.parametrize("dialect", sorted(OWN_AGGREGATE))
def test_the_sql_of_each_dialects_own_quantile(dialect):
    builders = fn.Builders(dialect, lambda a, b: exp.null())
    tree = fn.quantile_of(exp.column("x"), exp.Literal.number("0.75"), builders)
    sql = tree.sql(dialect)
    assert sql == OWN_AGGREGATE[dialect]
    statement = sqlglot.parse_one(f"SELECT {sql} AS v FROM t", read=dialect)
    assert isinstance(statement, exp.Select) and statement.selects[0].alias == "v"


@pytest.mark.parametrize("dialect", sorted(NO_EXACT_QUANTILE - {"sqlite"}))
def test_a_dialect_without_an_exact_quantile_is_E700(probe, dialect):
    for model in ("QT01", "QT02"):
        with pytest.raises(DiagnosticError) as raised:
            compile_model(probe.models[model], probe, Target(dialect))
        [problem] = raised.value.diagnostics
        assert problem.code == "E700"
        assert "quantile()" in problem.message_en and dialect in problem.message_en


def test_sqlite_ranks_the_rows_and_every_other_model_compiles_for_the_rest(probe):
    sql = compile_model(probe.models["QT02"], probe, Target("sqlite")).sql()
    assert "ROW_NUMBER() OVER (ORDER BY" in sql and "PERCENTILE" not in sql.upper()
    for dialect in OWN_AGGREGATE:
        for model in ("QT01", "QT02"):
            compile_model(probe.models[model], probe, Target(dialect)).sql()


# ---- what the checker and the compiler refuse ---------------------------------------------------

BAD_MODEL = """\
model QT09 "bad" {{
  domain QT
  severity blue
  status draft
  from sample s
  group by s.g
  key s.g
  township "330122001"
  message "{{{hole}}}"
}}
"""


def _diagnostics(tmp_path: Path, hole: str, pack_yaml: str = PACK_YAML) -> list[tuple[str, str]]:
    (tmp_path / "models").mkdir(exist_ok=True)
    (tmp_path / "pack.yaml").write_text(pack_yaml, encoding="utf-8")
    (tmp_path / "models" / "bad.rule").write_text(BAD_MODEL.format(hole=hole), encoding="utf-8")
    result = check_pack(tmp_path)
    return [(d.code, d.message_en) for d in result.diagnostics if d.code != "W320"]


@pytest.mark.parametrize(
    ("hole", "code", "says"),
    [
        ("quantile(s.x, s.f)", "E375", "a number written out or a parameter"),
        ("quantile(s.x, 1 / 4)", "E375", "a number written out or a parameter"),
        ("quantile(s.x, 75)", "E376", "between 0 and 1, not 75"),
        ("quantile(s.x, -0.25)", "E376", "between 0 and 1, not -0.25"),
        ("median(distinct s.x)", "E377", "takes no 'distinct'"),
        ("median(s.x, 0.5)", "E302", "median takes 1 arguments, got 2"),
        ("quantile(s.x)", "E302", "quantile takes 2 arguments, got 1"),
        ("quantile(s.g, 0.5)", "E302", "argument 1 of quantile cannot be string"),
        ("quantile(s.x, 0.5 order by s.n)", "E302", "takes no 'order by'"),
    ],
)
def test_the_checker_refuses(tmp_path, hole, code, says):
    [(found, message)] = _diagnostics(tmp_path, hole)
    assert found == code and says in message


def test_a_parameter_for_p_must_be_bounded_within_0_and_1(tmp_path):
    unbounded = PACK_YAML.replace("min: 0, max: 1, ", "")
    [(code, message)] = _diagnostics(tmp_path, "quantile(s.x, $p)", unbounded)
    assert code == "E376" and "$p is the p of a quantile" in message
    too_wide = PACK_YAML.replace("max: 1,", "max: 100,")
    assert [c for c, _ in _diagnostics(tmp_path, "quantile(s.x, $p)", too_wide)] == ["E376"]
    assert _diagnostics(tmp_path, "quantile(s.x, $p)") == []


def test_a_value_for_p_out_of_range_is_E745_at_compile_time(probe):
    with pytest.raises(DiagnosticError) as raised:
        compile_model(probe.models["QT01"], probe, Target("duckdb", parameters={"p": 1.5}))
    [problem] = raised.value.diagnostics
    assert problem.code == "E745" and "$p = 1.5" in problem.message_en


def test_an_example_setting_p_out_of_range_cannot_run(tmp_path):
    model = BAD_MODEL.format(hole="quantile(s.x, $p)").replace(
        "\n}\n",
        '\n  example "p 超出范围" {\n    as_of 2021-12-31\n    $p = 2\n'
        '    given sample { id: "1", g: "a", x: 1 }\n    expect none\n  }\n}\n',
    )
    (tmp_path / "models").mkdir()
    (tmp_path / "pack.yaml").write_text(PACK_YAML, encoding="utf-8")
    (tmp_path / "models" / "bad.rule").write_text(model, encoding="utf-8")
    from engine import api
    from engine.policy.examples import run_examples

    outcomes = run_examples(api.load_pack(tmp_path, examples=True))
    [problem] = outcomes[0].problems
    assert problem.code == "E513" and "error[E745]" in problem.message_en
    assert "must lie between 0 and 1, not $p = 2" in problem.message_en
