"""Every model compiles for every dialect to one read-only SELECT that parses back."""

from __future__ import annotations

import dataclasses
import sys
from datetime import date
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from dsl import ir
from dsl.check import check_pack
from dsl.diagnostics import DiagnosticError
from dsl.types import Type
from engine.compiler import functions
from engine.compiler.compile import DIALECTS, Target, assert_read_only, compile_model, parses_back

ROOT = Path(__file__).resolve().parents[2]
MODEL_IDS = sorted(p.stem for p in (ROOT / "policies" / "models").rglob("*.rule"))


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_compiles_and_parses_back(pack: ir.CheckedPack, model_id: str, dialect: str):
    compiled = compile_model(pack.models[model_id], pack, Target(dialect, date(2021, 11, 15)))
    sql = compiled.sql(pretty=True)
    assert parses_back(sql, dialect), sql
    tree = sqlglot.parse_one(sql, read=dialect)
    writes = (exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Command)
    assert not any(isinstance(node, writes) for node in tree.walk())
    # Snowflake spells them in upper case, as it reads unquoted names (see quote_identifiers).
    columns = [s.alias_or_name.lower() for s in tree.selects]
    assert columns[: len(compiled.key_columns)] == list(compiled.key_columns)
    assert "township" in columns


def test_without_a_day_the_query_keeps_an_as_of_placeholder(pack: ir.CheckedPack):
    duckdb = compile_model(pack.models["ENG01"], pack, Target("duckdb")).sql()
    assert "CAST($as_of AS DATE)" in duckdb and "2021" not in duckdb
    # PostgreSQL's server numbers its parameters: the as-of day is $1, named in a comment.
    postgres = compile_model(pack.models["ENG01"], pack, Target("postgres")).sql()
    assert "CAST($1 /* as_of */ AS DATE)" in postgres and "2021" not in postgres
    assert "%(as_of)s" not in postgres and "$as_of" not in postgres


def test_the_as_of_rule_is_applied_to_every_source_with_an_event_date(pack: ir.CheckedPack):
    sql = compile_model(pack.models["ENG01"], pack, Target("duckdb", date(2021, 11, 15))).sql()
    visible = """"{0}"."{1}" <= CAST('2021-11-15' AS DATE) OR "{0}"."{1}" IS NULL"""
    assert visible.format("p", "approved_on") in sql
    assert visible.format("t", "published_on") in sql


def test_parameters_come_from_the_pack_unless_overridden(pack: ir.CheckedPack):
    model = pack.models["ENG01"]
    default = compile_model(model, pack, Target("duckdb")).sql()
    lowered = compile_model(
        model, pack, Target("duckdb", parameters={"tender_threshold": 3000000})
    ).sql()
    assert '"p"."investment" >= 4000000' in default
    assert '"p"."investment" >= 3000000' in lowered


def _tiny_pack(tmp_path: Path, rule: str) -> ir.CheckedPack:
    (tmp_path / "pack.yaml").write_text(
        (ROOT / "policies" / "pack.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "m.rule").write_text(rule, encoding="utf-8")
    result = check_pack(tmp_path)
    assert result.pack is not None, result.diagnostics
    return result.pack


HOSTILE = "O'Brien\"; DROP TABLE dr_project; --"


def test_literals_reach_sql_as_literals_not_as_text(tmp_path: Path):
    quoted = HOSTILE.replace("'", "\\'")
    rule = f"""
model XSS01 "注入" {{
  domain ENG
  severity blue
  status draft
  from dr_project p
  where p.name = '{quoted}'
  key p.project_id
  township p.township
  message "x"
}}
"""
    pack = _tiny_pack(tmp_path, rule)
    for dialect in DIALECTS:
        sql = compile_model(pack.models["XSS01"], pack, Target(dialect)).sql()
        [statement] = sqlglot.parse(sql, read=dialect)
        literals = [lit.this for lit in statement.find_all(exp.Literal) if lit.is_string]
        assert HOSTILE in literals, (dialect, sql)


def test_an_unknown_dialect_is_a_diagnostic(pack: ir.CheckedPack):
    with pytest.raises(DiagnosticError) as raised:
        compile_model(pack.models["ENG01"], pack, Target("oracle9"))
    assert raised.value.diagnostics[0].code == "E701"


def test_a_construct_a_warehouse_cannot_express_is_a_compile_error(
    pack: ir.CheckedPack, monkeypatch: pytest.MonkeyPatch
):
    meaning = functions.FUNCTIONS["add_months"]
    monkeypatch.setitem(
        functions.FUNCTIONS,
        "add_months",
        functions.Meaning(meaning.generic, {**meaning.overrides, "mysql": None}),
    )
    with pytest.raises(DiagnosticError) as raised:
        compile_model(pack.models["ENG01"], pack, Target("mysql"))
    [problem] = raised.value.diagnostics
    assert problem.code == "E700"
    assert "ENG01" in problem.message_en and "add_months" in problem.message_en


def test_a_long_sum_parses_back_in_every_dialect(tmp_path: Path):
    """`a + b + c` is not written `((a + b) + c)`: a bracket per term nested 55 deep, too
    deep for sqlglot's parser to read back (it gave up at 45)."""
    total = " + ".join(["p.investment"] * 55)
    rule = f"""
model SUM01 "长和" {{
  domain ENG
  severity blue
  status draft
  from dr_project p
  where {total} > 0
  key p.project_id
  township p.township
  message "x"
}}
"""
    pack = _tiny_pack(tmp_path, rule)
    for dialect in DIALECTS:
        sql = compile_model(pack.models["SUM01"], pack, Target(dialect)).sql(pretty=True)
        assert parses_back(sql, dialect), dialect


def test_a_model_nested_deeper_than_sqlglot_can_write_is_a_compile_error(pack: ir.CheckedPack):
    """check keeps rule files far shallower; were one to get here, E702 names it, no crash."""
    model = pack.models["ENG01"]
    project = model.query.sources[0].binding
    deep: ir.Expr = ir.Col(project, "investment", Type.DECIMAL)
    for _ in range(1000):
        deep = ir.Arith("+", deep, ir.Lit(1, Type.INT), Type.DECIMAL)
    where = ir.Compare(">", deep, ir.Lit(0, Type.INT))
    too_deep = dataclasses.replace(model, query=dataclasses.replace(model.query, where=where))
    # Python's default limit: pyspark raises the process's to 3000 once a DataFrame is
    # collected (an earlier Spark test), and 1000 levels would then compile.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        with pytest.raises(DiagnosticError) as raised:
            compile_model(too_deep, pack, Target("duckdb")).sql()
    finally:
        sys.setrecursionlimit(limit)
    [problem] = raised.value.diagnostics
    assert problem.code == "E702" and "ENG01" in problem.message_en


def test_sql_that_doubles_at_every_nested_call_stops_with_a_compile_error(tmp_path: Path):
    """Hive's add_months reads its date four times: ten nested calls would be 7^10 dates."""
    nested = "p.approved_on"
    for _ in range(10):
        nested = f"add_months({nested}, 1)"
    rule = f"""
model DEEP01 "嵌套" {{
  domain ENG
  severity blue
  status draft
  from dr_project p
  where {nested} < as_of
  key p.project_id
  township p.township
  message "x"
}}
"""
    pack = _tiny_pack(tmp_path, rule)
    duckdb = compile_model(pack.models["DEEP01"], pack, Target("duckdb")).sql()
    assert duckdb.count("INTERVAL") == 10  # one interval a call where the date is read once
    with pytest.raises(DiagnosticError) as raised:
        compile_model(pack.models["DEEP01"], pack, Target("hive"))
    [problem] = raised.value.diagnostics
    assert problem.code == "E702"
    assert problem.message_en.endswith("grows too large as SQL for hive: add_months()")


def _tables_read(tree: exp.Expression) -> list[str]:
    return [t.name for t in tree.find_all(exp.Table)]


def test_a_relation_read_in_several_places_is_written_once(pack: ir.CheckedPack):
    """ENG04 reads the persons of an enterprise twice (each bidder's): one WITH, read by name."""
    tree = compile_model(pack.models["ENG04"], pack, Target("duckdb", date(2021, 11, 15))).tree
    (cte,) = tree.args["with_"].expressions
    assert cte.alias == "enterprise_person__relation"
    reads = _tables_read(tree)
    assert reads.count("enterprise_person__relation") == 2
    assert reads.count("mkt_shareholder") == 1  # only in the relation's own query


def test_a_grouped_model_computes_a_let_once_per_group(pack: ir.CheckedPack):
    """INV02's tax is read by `having` and twice by the message: one subquery."""
    tree = compile_model(pack.models["INV02"], pack, Target("duckdb", date(2021, 11, 15))).tree
    assert _tables_read(tree).count("tax_annual") == 1
    assert _tables_read(tree).count("mkt_enterprise") == 1


def test_a_function_of_the_models_own_rows_leaves_the_subquery(pack: ir.CheckedPack):
    """FIN04's blank(p.contract_id) is computed once per payment, not per payment-decision pair."""
    tree = compile_model(pack.models["FIN04"], pack, Target("duckdb", date(2021, 11, 15))).tree
    # one subquery per branch of the `or` (test_exists_with_an_or_… in test_function_semantics)
    subqueries = [e.this for e in tree.find_all(exp.Exists)]
    assert len(subqueries) == 2
    # blank() on DuckDB is a regular expression (engine/compiler/functions.py)
    tested = [t.this for q in subqueries for t in q.find_all(exp.RegexpLike)]
    assert [c.table for c in tested] == ["d_2"]  # only the decision's own contract_id (2nd branch)
    for subquery in subqueries:
        assert "hoisted__1" in {c.name for c in subquery.find_all(exp.Column)}
    model_rows = [s.this for s in tree.find_all(exp.Subquery) if s.alias.startswith("model_rows")]
    assert len(model_rows) == 2  # the payments, then their township's name (FIN04's message)
    assert "hoisted__1" in {s.alias for s in model_rows[-1].selects}  # computed for the payments


def test_a_plain_select_passes_the_read_only_check():
    assert_read_only(sqlglot.parse_one("SELECT a FROM t WHERE EXISTS (SELECT 1 FROM u)"))


@pytest.mark.parametrize(
    "tree",
    [
        sqlglot.parse_one("INSERT INTO sup_ledger SELECT 1"),
        # a write in a WITH, and one deep inside a list of select expressions
        sqlglot.parse_one("WITH w AS (DELETE FROM t RETURNING *) SELECT * FROM w", read="postgres"),
        exp.select("a", exp.Subquery(this=sqlglot.parse_one("UPDATE u SET b = 1"))).from_("t"),
    ],
)
def test_a_statement_that_writes_anywhere_fails_the_read_only_check(tree):
    with pytest.raises(AssertionError, match=r"Insert|Delete|Update"):
        assert_read_only(tree)
