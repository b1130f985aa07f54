"""Correlated aggregate subqueries read from grouped joins: the same answers, one join per kind.

A small pack of its own: holders, each with a reference (`ref`, may be null) and a day
(`since`, may be null), and items with a reference, an amount and a day (their event
date). DD01 reads four aggregates of the items of a holder's reference (the keys form:
grouped by the items' reference, joined with `=`); DD02 counts and dates them with a
comparison beside the equality (the domain form: the holders' distinct (ref, since) joined
to the items, joined back with null-safe equality); DD03 compares with a let of the
holder's row, which no domain of a source's columns holds, and stays a correlated
subquery. The examples hold a holder with no items (count 0, sum 0, min null,
coalesce(max, -1) −1), a holder with a null reference while items with a null reference
exist (a null never equals: the empty set's values), a null day (`not (i.dated <
h.since)` holds for every item then), two holders with the same values, and an item
after as_of. They run on DuckDB, SQLite, PostgreSQL and Spark, each expecting its
messages word for word; the compiled trees are inspected for the joins.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conformance_checks import example_failures
from sqlglot import exp

from dsl import ir
from dsl.node import walk
from engine import api
from engine.compiler.compile import DIALECTS, Target, compile_model, render
from engine.compiler.decorrelate import decorrelation

PACK_YAML = """\
pack:
  name: 子查询改写测试
  version: 0.1.0
  engine: ">=0.1,<1"
domains:
  DD: 子查询
parameters: {}
townships: none
sources:
  holder:
    key: [holder_id]
    columns:
      holder_id: {type: string, required: true}
      ref: {type: string}
      since: {type: date}
  item:
    key: [item_id]
    event_date: dated
    columns:
      item_id: {type: string, required: true}
      ref: {type: string}
      amount: {type: decimal}
      dated: {type: date}
"""

ROWS = """\
    given holder { holder_id: "H1", ref: "R1", since: 2021-03-01 }
    given holder { holder_id: "H2", ref: "R9", since: 2021-03-01 }
    given holder { holder_id: "H3", since: 2021-03-01 }
    given holder { holder_id: "H4", ref: "R1" }
    given holder { holder_id: "H5", ref: "R1" }
    given item { item_id: "I1", ref: "R1", amount: 10, dated: 2021-02-01 }
    given item { item_id: "I2", ref: "R1", amount: 5, dated: 2021-04-01 }
    given item { item_id: "I3", ref: "R1", amount: 7.5, dated: 2021-05-01 }
    given item { item_id: "I4", amount: 3, dated: 2021-04-01 }
    given item { item_id: "I5", ref: "R1", amount: 100, dated: 2021-12-01 }
"""

MODELS = f"""\
model DD01 "同一关联的四个聚合" {{
  domain   DD
  severity blue

  from holder h
  let n = (from item i where i.ref = h.ref select count(*))
  let total = (from item i where i.ref = h.ref select sum(i.amount))
  let least = (from item i where i.ref = h.ref select min(i.amount))
  let most = (from item i where i.ref = h.ref select coalesce(max(i.amount), -1))
  where most < 50

  key      h.holder_id
  message  "{{n}}，{{total}}，{{least ?? '无'}}，{{most}}"

  example "没有的、空的与看不到的" {{
    as_of 2021-06-30
{ROWS}    expect "H1" message "3，22.5，5，10"
    expect "H2" message "0，0，无，-1"
    expect "H3" message "0，0，无，-1"
    expect "H4" message "3，22.5，5，10"
    expect "H5" message "3，22.5，5，10"
  }}

  example "最大的到 50 不预警" {{
    as_of 2021-06-30
    given holder {{ holder_id: "H1", ref: "R1" }}
    given item {{ item_id: "I1", ref: "R1", amount: 50, dated: 2021-02-01 }}
    expect none
  }}
}}

model DD02 "相等之外还比较" {{
  domain   DD
  severity blue

  from holder h
  let later = (from item i where i.ref = h.ref and not (i.dated < h.since) select count(*))
  let first_on = (from item i where i.ref = h.ref and not (i.dated < h.since)
                  select min(i.dated))
  where later <= 3 and h.holder_id != "H9"

  key      h.holder_id
  message  "{{later}}，{{first_on ?? '无'}}"

  example "日期为空时每件都算" {{
    as_of 2021-06-30
{ROWS}    expect "H1" message "2，2021-04-01"
    expect "H2" message "0，无"
    expect "H3" message "0，无"
    expect "H4" message "3，2021-02-01"
    expect "H5" message "3，2021-02-01"
  }}

  example "四件不预警" {{
    as_of 2021-06-30
    given holder {{ holder_id: "H1", ref: "R1" }}
    given item {{ item_id: "I1", ref: "R1", dated: 2021-02-01 }}
    given item {{ item_id: "I2", ref: "R1", dated: 2021-02-01 }}
    given item {{ item_id: "I3", ref: "R1", dated: 2021-02-01 }}
    given item {{ item_id: "I4", ref: "R1", dated: 2021-02-01 }}
    expect none
  }}
}}

model DD03 "与外层的 let 比较" {{
  domain   DD
  severity blue

  from holder h
  let start = coalesce(h.since, 2000-01-01)
  let after = (from item i where i.ref = h.ref and not (i.dated < start) select sum(i.amount))

  where after < 50

  key      h.holder_id
  message  "{{after}}"

  example "外层的日期是 let" {{
    as_of 2021-06-30
{ROWS}    expect "H1" message "12.5"
    expect "H2" message "0"
    expect "H3" message "0"
    expect "H4" message "22.5"
    expect "H5" message "22.5"
  }}

  example "到 50 不预警" {{
    as_of 2021-06-30
    given holder {{ holder_id: "H1", ref: "R1" }}
    given item {{ item_id: "I1", ref: "R1", amount: 50, dated: 2021-02-01 }}
    expect none
  }}
}}
"""


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> ir.CheckedPack:
    root = tmp_path_factory.mktemp("decorrelate") / "policies"
    (root / "models").mkdir(parents=True)
    (root / "pack.yaml").write_text(PACK_YAML, encoding="utf-8")
    (root / "models" / "subqueries.rule").write_text(MODELS, encoding="utf-8")
    report = api.check(root)
    problems = [d for d in report.diagnostics if d.code != "E710"]
    assert not problems, [d.message for d in problems]
    return api.load_pack(root, examples=True)


def grouped_joins(tree: exp.Expression, table: str) -> list[exp.Join]:
    """The LEFT JOINs of a grouped derived table whose own FROM reads `table`."""
    found = []
    for join in tree.find_all(exp.Join):
        select = join.this.this if isinstance(join.this, exp.Subquery) else None
        if isinstance(select, exp.Select) and select.args.get("group"):
            source = select.args["from_"].this
            if isinstance(source, exp.Table) and source.name.lower() == table:
                found.append(join)
    return found


def correlated_subqueries(tree: exp.Expression, table: str) -> list[exp.Subquery]:
    """Subqueries in a projection or condition (not joined) whose FROM reads `table`."""
    return [
        s
        for s in tree.find_all(exp.Subquery)
        if not isinstance(s.parent, exp.Join)
        and isinstance(s.this, exp.Select)
        and isinstance(s.this.args["from_"].this, exp.Table)
        and s.this.args["from_"].this.name.lower() == table
    ]


def aggregates_of(join: exp.Join) -> list[str]:
    select = join.this.this
    return sorted(type(a).__name__ for p in select.expressions for a in p.find_all(exp.AggFunc))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_siblings_share_one_grouped_join_on_equality(pack: ir.CheckedPack, dialect: str):
    tree = compile_model(pack.models["DD01"], pack, Target(dialect)).tree
    (join,) = grouped_joins(tree, "item")
    assert join.side == "LEFT"
    assert aggregates_of(join) == ["Count", "Max", "Min", "Sum"]
    assert not correlated_subqueries(tree, "item")
    (on,) = [join.args["on"]]
    assert isinstance(on, exp.EQ)  # a null reference matches no group, as it matches no item
    render(tree, dialect)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_comparison_with_the_outer_row_joins_its_distinct_values(
    pack: ir.CheckedPack, dialect: str
):
    tree = compile_model(pack.models["DD02"], pack, Target(dialect)).tree
    (join,) = grouped_joins(tree, "item")
    assert aggregates_of(join) == ["Count", "Min"]
    assert not correlated_subqueries(tree, "item")
    back = list(join.args["on"].flatten()) if isinstance(join.args["on"], exp.And) else []
    assert len(back) == 2
    kind = exp.Anonymous if dialect == "clickhouse" else exp.NullSafeEQ
    assert all(isinstance(condition, kind) for condition in back)
    domain = join.this.this.find(exp.Distinct)
    assert domain is not None
    assert domain.parent_select.args["from_"].this.name.lower() == "holder"
    # Only the holders the model reads: the condition of its `where` on them alone.
    where = domain.parent_select.args["where"]
    assert "holder_id" in {c.name.lower() for c in where.find_all(exp.Column)}
    render(tree, dialect)


def test_a_comparison_with_a_let_of_the_outer_row_stays_correlated(pack: ir.CheckedPack):
    tree = compile_model(pack.models["DD03"], pack, Target("duckdb")).tree
    assert not grouped_joins(tree, "item")
    assert len(correlated_subqueries(tree, "item")) == 1


def test_no_domain_of_a_left_joined_source(pack: ir.CheckedPack):
    """A left-joined source's columns are null where its row is missing: no domain has those."""
    (scalar, *_) = [n for n in walk(pack.models["DD02"].lets) if isinstance(n, ir.Scalar)]
    outer = next(
        n.binding.uid
        for n in walk(scalar)
        if isinstance(n, ir.Col) and n.binding.source == "holder"
    )
    plan = decorrelation(scalar, set())
    assert plan is not None and plan.domain is not None and plan.domain.uid == outer
    assert decorrelation(scalar, {outer}) is None


def test_the_packs_siblings_share_their_join():
    pack = api.load_pack(Path(__file__).resolve().parents[2] / "policies")
    eng06 = compile_model(pack.models["ENG06"], pack, Target("duckdb")).tree
    (payments,) = grouped_joins(eng06, "fin_payment")
    assert aggregates_of(payments) == ["Count", "Sum"]
    assert len(grouped_joins(eng06, "build_change")) == 1
    hou01 = compile_model(pack.models["HOU01"], pack, Target("spark")).tree
    (homesteads,) = grouped_joins(hou01, "nr_homestead")
    assert aggregates_of(homesteads) == ["Count", "Min"]
    assert not correlated_subqueries(hou01, "nr_homestead")


def test_the_examples_give_the_same_warnings_on_every_warehouse(
    pack: ir.CheckedPack, warehouse_url: str
):
    count, failures = example_failures(warehouse_url, pack)
    assert count == 6
    assert failures == {}


def test_an_aggregate_reading_the_outer_row_stays_correlated(pack: ir.CheckedPack):
    """sum(h.…) inside the subquery: its value per outer row is no column of a group."""
    (scalar, *_) = [n for n in walk(pack.models["DD01"].lets) if isinstance(n, ir.Scalar)]
    assert decorrelation(scalar, set()) is not None
    outer = next(n for n in walk(scalar) if isinstance(n, ir.Col) and n.binding.source == "holder")
    mixed = ir.Agg("sum", (outer,), outer.type)
    assert decorrelation(dataclasses.replace(scalar, select=mixed), set()) is None
