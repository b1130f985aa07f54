"""Keyed lookups (`lookup`): one left join per model, and the same answers on every warehouse.

A small pack of its own: claims that name a town by code, a reference list of
towns (with an `opened_on` event date, so a town opened after as_of is
invisible) and rates by (kind, year). Its models call the lookups in `where`,
lets, message holes, grouped or not, inside subqueries, and through
`{township}`; their examples cover a code that is missing from the list, a
null code, an invisible row and a row whose name is null. The examples run on
DuckDB, SQLite, PostgreSQL and Spark, each expecting its messages word for
word, so the four give the same warnings. The compiled trees are inspected for
the joins themselves: one per lookup and key however often a model calls it,
and no subquery reading a lookup's source.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conformance_checks import example_failures
from sqlglot import exp

from dsl import ir
from dsl.node import walk
from engine import api
from engine.compiler.compile import DIALECTS, Target, compile_model, render
from engine.policy.examples import run_examples

PACK_YAML = """\
pack:
  name: 查找测试
  version: 0.1.0
  engine: ">=0.1,<1"
domains:
  LK: 查找
parameters:
  min_amount: {type: decimal, default: 0, description: 金额下限}
township_names: town_name
sources:
  ref_town:
    key: [code]
    event_date: opened_on
    columns:
      code: {type: string, required: true}
      name: {type: string}
      opened_on: {type: date}
  rate:
    key: [kind, year]
    columns:
      kind: {type: string, required: true}
      year: {type: int, required: true}
      rate: {type: decimal}
  claim:
    key: [claim_id]
    event_date: filed_on
    columns:
      claim_id: {type: string, required: true}
      town: {type: string}
      kind: {type: string}
      year: {type: int}
      amount: {type: decimal}
      filed_on: {type: date}
"""

SHARED = """\
# 乡镇代码查不到（或名称为空）时写代码本身。
lookup town_name(code) "乡镇名称" = ref_town.name by code default code

# 某类某年的费率，查不到时为空。
lookup rate_of(kind, year) "费率" = rate.rate by kind, year

# 通过共享定义调用查找。
define in_town_called(code: string, wanted: string) "乡镇名称为" = town_name(code) = wanted
"""

# Rows shared by the examples: 甲镇 is listed, 丙镇 opens after as_of (invisible then), 丁镇
# is listed without a name; T9 is listed nowhere.
TOWNS = """\
    given ref_town { code: "T1", name: "甲镇", opened_on: 2020-01-01 }
    given ref_town { code: "T2", name: "乙镇" }
    given ref_town { code: "T3", name: "丙镇", opened_on: 2021-09-01 }
    given ref_town { code: "T4", opened_on: 2020-01-01 }
    given rate { kind: "A", year: 2021, rate: 0.5 }
"""

LK01_MESSAGE = (
    "{township ?? '无乡镇'}（{town_name(c.town) ?? '无'}，{label ?? '无'}）的申请{c.claim_id}："
    "费率{rate_of(c.kind, c.year) ?? '未定'}，应付{due}元"
)
LK02_MESSAGE = (
    "{township ?? '无'}等{count(distinct town_name(c.town))}个乡镇的{c.kind}类申请，"
    "代码最小的是{town_name(min(c.town)) ?? '无'}，最大的是{town_name(max(c.town)) ?? '无'}"
)

MODELS = f"""\
model LK01 "每个调用处" {{
  domain   LK
  severity blue

  from claim c
  let due = c.amount * coalesce(rate_of(c.kind, c.year), 0)
  let label = town_name(c.town)
  where c.amount > $min_amount
    and town_name(c.town) != "乙镇"
    and not in_town_called(c.town, "不存在的镇")

  key      c.claim_id
  township c.town
  message  "{LK01_MESSAGE}"

  example "查不到、为空、不可见与找到" {{
    as_of 2021-06-30
{TOWNS}    given claim {{ claim_id: "C1", town: "T1", kind: "A", year: 2021, amount: 100 }}
    given claim {{ claim_id: "C2", town: "T9", kind: "B", year: 2021, amount: 100 }}
    given claim {{ claim_id: "C3", town: "T3", kind: "A", year: 2020, amount: 10 }}
    given claim {{ claim_id: "C4", town: "T4", kind: "A", year: 2021, amount: 8 }}
    given claim {{ claim_id: "C5", kind: "A", year: 2021, amount: 2 }}
    given claim {{ claim_id: "C6", town: "T2", kind: "A", year: 2021, amount: 100 }}
    expect "C1" township "T1" message "甲镇（甲镇，甲镇）的申请C1：费率0.5，应付50元"
    expect "C2" township "T9" message "T9（T9，T9）的申请C2：费率未定，应付0元"
    expect "C3" township "T3" message "T3（T3，T3）的申请C3：费率未定，应付0元"
    expect "C4" township "T4" message "T4（T4，T4）的申请C4：费率0.5，应付4元"
    expect "C5" message "无乡镇（无，无）的申请C5：费率0.5，应付1元"
  }}

  example "开张之后可见" {{
    as_of 2021-09-01
{TOWNS}    given claim {{ claim_id: "C3", town: "T3", kind: "A", year: 2021, amount: 10 }}
    expect "C3" township "T3" message "丙镇（丙镇，丙镇）的申请C3：费率0.5，应付5元"
  }}

  example "乙镇的申请不预警" {{
    as_of 2021-06-30
{TOWNS}    given claim {{ claim_id: "C6", town: "T2", kind: "A", year: 2021, amount: 100 }}
    expect none
  }}
}}

model LK02 "分组" {{
  domain   LK
  severity blue

  from claim c
  where c.kind is not null
  group by c.kind
  having count(distinct town_name(c.town)) >= 2

  key      c.kind
  township first(c.town order by c.claim_id)
  message  "{LK02_MESSAGE}"

  example "名称去重后计数" {{
    as_of 2021-06-30
{TOWNS}    given claim {{ claim_id: "C1", town: "T9", kind: "A" }}
    given claim {{ claim_id: "C2", town: "T1", kind: "A" }}
    given claim {{ claim_id: "C3", town: "T3", kind: "A" }}
    given claim {{ claim_id: "C4", town: "T1", kind: "B" }}
    given claim {{ claim_id: "C5", kind: "B" }}
    expect "A" township "T9" message "T9等3个乡镇的A类申请，代码最小的是甲镇，最大的是T9"
  }}

  example "一个乡镇不预警" {{
    as_of 2021-06-30
{TOWNS}    given claim {{ claim_id: "C4", town: "T1", kind: "B" }}
    given claim {{ claim_id: "C5", town: "T1", kind: "B" }}
    expect none
  }}
}}

model LK03 "子查询中" {{
  domain   LK
  severity blue

  from claim c
  where exists(claim d
               where d.claim_id != c.claim_id
                 and town_name(d.town) = town_name(c.town))
    and (from claim e where town_name(e.town) = "甲镇" select count(*)) >= 1

  key      c.claim_id
  township c.town
  message  "{{township ?? '无'}}另有申请"

  example "同名乡镇另有申请" {{
    as_of 2021-06-30
{TOWNS}    given claim {{ claim_id: "C1", town: "T1" }}
    given claim {{ claim_id: "C2", town: "T1" }}
    given claim {{ claim_id: "C3", town: "T9" }}
    expect "C1" township "T1" message "甲镇另有申请"
    expect "C2" township "T1" message "甲镇另有申请"
  }}

  example "没有甲镇的申请不预警" {{
    as_of 2021-06-30
{TOWNS}    given claim {{ claim_id: "C3", town: "T9" }}
    given claim {{ claim_id: "C4", town: "T9" }}
    expect none
  }}
}}
"""


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> ir.CheckedPack:
    root = tmp_path_factory.mktemp("lookups") / "policies"
    (root / "shared").mkdir(parents=True)
    (root / "models").mkdir()
    (root / "pack.yaml").write_text(PACK_YAML, encoding="utf-8")
    (root / "shared" / "common.rule").write_text(SHARED, encoding="utf-8")
    (root / "models" / "lookups.rule").write_text(MODELS, encoding="utf-8")
    report = api.check(root)
    problems = [d for d in report.diagnostics if d.code != "E710"]
    assert not problems, [d.message for d in problems]
    return api.load_pack(root, examples=True)


def joins_of(tree: exp.Expression, table: str) -> list[exp.Join]:
    """The joins in `tree` that read `table` (named as the warehouse folds it, in any case)."""
    return [
        j
        for j in tree.find_all(exp.Join)
        if isinstance(j.this, exp.Table) and j.this.name.lower() == table
    ]


def subqueries_reading(tree: exp.Expression, table: str) -> list[exp.Expression]:
    """The subqueries of `tree` whose own FROM reads `table` (the old way to look a value up)."""
    found = []
    for subquery in tree.find_all(exp.Subquery, exp.Exists):
        select = subquery.this
        source = select.args.get("from_") if isinstance(select, exp.Select) else None
        table_read = source.this if source is not None else None
        if isinstance(table_read, exp.Table) and table_read.name.lower() == table:
            found.append(subquery)
    return found


@pytest.mark.parametrize("dialect", DIALECTS)
def test_each_lookup_is_one_left_join_however_often_a_model_calls_it(
    pack: ir.CheckedPack, dialect: str
):
    # LK01 calls town_name in `where`, a let, a message hole, through a shared definition
    # and through {township}: one join of ref_town; rate_of in a let and a hole: one of rate.
    tree = compile_model(pack.models["LK01"], pack, Target(dialect)).tree
    towns, rates = joins_of(tree, "ref_town"), joins_of(tree, "rate")
    assert len(towns) == 1 and len(rates) == 1
    assert all(j.side == "LEFT" for j in towns + rates)
    assert not subqueries_reading(tree, "ref_town") and not subqueries_reading(tree, "rate")
    # The join matches the whole key, and keeps a town opened after as_of out.
    on = towns[0].args["on"]
    assert {c.name.lower() for c in on.find_all(exp.Column)} >= {"code", "town", "opened_on"}
    on = rates[0].args["on"]
    assert {c.name.lower() for c in on.find_all(exp.Column)} >= {"kind", "year"}
    render(tree, dialect)  # writes out for the dialect


def test_a_grouped_model_joins_once_per_key_at_the_level_of_its_groups(pack: ir.CheckedPack):
    tree = compile_model(pack.models["LK02"], pack, Target("duckdb")).tree
    joins = joins_of(tree, "ref_town")
    # town_name(c.town) inside count(distinct …) (and having) is one join on the rows; the
    # names of min(c.town), max(c.town) and {township} (first(…)) are three on the groups.
    read = sorted(
        sorted({c.table for c in j.args["on"].find_all(exp.Column)} - {j.alias_or_name})
        for j in joins
    )
    assert read == [["c"], *[["model_groups"]] * 3]
    assert not subqueries_reading(tree, "ref_town")


def test_a_lookup_on_a_subquerys_rows_is_joined_inside_it(pack: ir.CheckedPack):
    tree = compile_model(pack.models["LK03"], pack, Target("duckdb")).tree
    exists = tree.find(exp.Exists)
    scalar = next(s for s in tree.find_all(exp.Subquery) if not s.alias and s.find(exp.Count))
    # town_name(d.town) inside the exists, town_name(e.town) inside the count: each joined
    # in its own subquery; town_name(c.town) on the model's rows, once, outside both.
    assert len(joins_of(exists, "ref_town")) == 1
    assert len(joins_of(scalar, "ref_town")) == 1
    assert len(joins_of(tree, "ref_town")) == 3
    assert not subqueries_reading(tree, "ref_town")


def test_the_packs_township_name_is_one_join_per_key_in_every_model():
    pack = api.load_pack(Path(__file__).resolve().parents[2] / "policies")
    calling = {
        m.id: m
        for m in pack.models.values()
        if any(isinstance(n, ir.LookupCall) for n in walk((m.lets, m.message, m.query)))
    }
    assert len(calling) == 27
    for model in calling.values():
        tree = compile_model(model, pack, Target("duckdb")).tree
        keys = {n.args for n in walk((model.lets, model.message)) if isinstance(n, ir.LookupCall)}
        assert len(joins_of(tree, "ref_township")) == len(keys), model.id
        assert not subqueries_reading(tree, "ref_township"), model.id
    # ENG01 names the township twice in one hole, INV05 two townships (min and max).
    assert len(joins_of(compile_model(calling["ENG01"], pack, Target()).tree, "ref_township")) == 1
    assert len(joins_of(compile_model(calling["INV05"], pack, Target()).tree, "ref_township")) == 2


def test_the_examples_give_the_same_warnings_on_every_warehouse(
    pack: ir.CheckedPack, warehouse_url: str
):
    count, failures = example_failures(warehouse_url, pack)
    assert count == 7
    assert failures == {}


def test_township_in_the_packs_messages_writes_what_township_name_of_the_township_writes(
    tmp_path: Path,
):
    # Every message hole {township_name(X)} whose X is the model's township clause becomes
    # {township} in a copy of the pack (AST04, INV03 and INV05 are grouped: their township
    # is an aggregate, first(…) for INV03): each compiles to the same SQL as before, and
    # every example, which expects its messages word for word, still passes.
    root = Path(__file__).resolve().parents[2] / "policies"
    original = api.load_pack(root)
    copy = tmp_path / "policies"
    shutil.copytree(root, copy)
    rewritten: list[str] = []
    for model in original.models.values():
        for hole in model.message:
            if (
                isinstance(hole, ir.Hole)
                and isinstance(hole.expr, ir.LookupCall)
                and hole.expr.args == (model.township,)
            ):
                path = copy / Path(model.file).relative_to("policies")
                text = path.read_text(encoding="utf-8")
                assert text.count("{" + hole.text + "}") == 1
                path.write_text(text.replace("{" + hole.text + "}", "{township}"), encoding="utf-8")
                rewritten.append(model.id)
    assert len(rewritten) == 26 and {"AST04", "INV03", "INV05"} <= set(rewritten)
    pack = api.load_pack(copy, examples=True)
    for model_id in rewritten:
        for dialect in ("duckdb", "postgres", "spark"):
            before = compile_model(original.models[model_id], original, Target(dialect)).sql()
            assert compile_model(pack.models[model_id], pack, Target(dialect)).sql() == before
    outcomes = run_examples(pack, [pack.models[m] for m in sorted(rewritten)])
    assert len(outcomes) >= 100
    assert [o for o in outcomes if not o.passed] == []
