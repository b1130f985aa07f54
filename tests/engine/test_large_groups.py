"""A `having` that asks a count to reach a constant: on DuckDB only the rows of large groups group.

A small pack of its own (payments to recipients, grouped by recipient and period). GG01
asks `count(*) >= 2`, GG02 `count(distinct account) >= $least` turned round (`$least <=
…`) beside a sum, GG03 `count(*) >= 2 or …`, which a group of one row may meet, and GG04
`count(*) > 3` with a group value that is null on some rows, GG05 a count(distinct x)
beside first(), which DuckDB takes in one grouping (GG02's in two: by group and x, then by
group). The examples hold groups of one,
two and three rows, null group values and rows after as_of; they run on DuckDB and SQLite,
each expecting its messages word for word. The compiled trees are inspected: DuckDB counts
the rows by one hash of the group values first (engine/compiler/functions.py, _GROUP_HASH),
SQLite groups them as written, and GG03 is grouped as written everywhere.
"""

from __future__ import annotations

import pytest
from conformance_checks import example_failures, small_pack
from sqlglot import exp

from dsl import ir
from engine.compiler.compile import DIALECTS, Target, compile_model, render

PACK_YAML = """\
pack:
  name: 大组预筛测试
  version: 0.1.0
  engine: ">=0.1,<1"
domains:
  GG: 分组
parameters:
  least:
    type: int
    default: 2
    description: 同期至少几个账户
townships: none
sources:
  payment:
    key: [payment_id]
    event_date: paid_on
    columns:
      payment_id: {type: string, required: true}
      recipient: {type: string}
      period: {type: string}
      account: {type: string}
      amount: {type: decimal}
      paid_on: {type: date}
"""

ROWS = """\
    given payment { payment_id: "P1", recipient: "R1", period: "2021-01", account: "A1",
                    amount: 10, paid_on: 2021-01-05 }
    given payment { payment_id: "P2", recipient: "R1", period: "2021-01", account: "A2",
                    amount: 5, paid_on: 2021-02-05 }
    given payment { payment_id: "P3", recipient: "R1", period: "2021-02", account: "A1",
                    amount: 7, paid_on: 2021-02-06 }
    given payment { payment_id: "P4", recipient: "R2", period: "2021-01", account: "A3",
                    amount: 1, paid_on: 2021-01-07 }
    given payment { payment_id: "P5", recipient: "R2", period: "2021-01", account: "A3",
                    amount: 2, paid_on: 2021-01-08 }
    given payment { payment_id: "P6", recipient: "R2", period: "2021-01", account: "A4",
                    amount: 3, paid_on: 2021-12-01 }
    given payment { payment_id: "P7", recipient: "R3", account: "A5", amount: 4,
                    paid_on: 2021-01-09 }
    given payment { payment_id: "P8", recipient: "R3", account: "A5", amount: 6,
                    paid_on: 2021-01-10 }
    given payment { payment_id: "P9", recipient: "R4", period: "2021-01", account: "A6",
                    amount: 100, paid_on: 2021-03-01 }
"""

MODELS = f"""\
model GG01 "同期两笔以上" {{
  domain   GG
  severity blue

  from payment p
  group by p.recipient, p.period
  having count(*) >= 2

  key      p.recipient, coalesce(p.period, "无")
  message  "{{count(*)}}笔，{{sum(p.amount)}}"

  example "一笔的组不预警，as_of 之后的不算" {{
    as_of 2021-06-30
{ROWS}    expect "R1|2021-01" message "2笔，15"
    expect "R2|2021-01" message "2笔，3"
    expect "R3|无" message "2笔，10"
  }}
  example "一笔不预警" {{
    as_of 2021-12-31
    given payment {{ payment_id: "Q1", recipient: "R1", period: "2021-01", account: "A1",
                    amount: 1, paid_on: 2021-01-05 }}
    expect none
  }}
}}

model GG02 "同期多个账户" {{
  domain   GG
  severity blue

  from payment p
  group by p.recipient, p.period
  having $least <= count(distinct p.account) and sum(p.amount) > 10

  key      p.recipient, coalesce(p.period, "无")
  message  "{{count(distinct p.account)}}个账户，{{sum(p.amount)}}"

  example "两个账户且合计超过 10" {{
    as_of 2021-12-31
{ROWS}    expect "R1|2021-01" message "2个账户，15"
  }}
  example "一笔不预警" {{
    as_of 2021-12-31
    given payment {{ payment_id: "Q1", recipient: "R1", period: "2021-01", account: "A1",
                    amount: 1, paid_on: 2021-01-05 }}
    expect none
  }}
}}

model GG03 "两笔以上或大额" {{
  domain   GG
  severity blue

  from payment p
  group by p.recipient, p.period
  having count(*) >= 2 or sum(p.amount) >= 100

  key      p.recipient, coalesce(p.period, "无")
  message  "{{count(*)}}笔，{{sum(p.amount)}}"

  example "一笔的大额也预警" {{
    as_of 2021-06-30
{ROWS}    expect "R1|2021-01" message "2笔，15"
    expect "R2|2021-01" message "2笔，3"
    expect "R3|无" message "2笔，10"
    expect "R4|2021-01" message "1笔，100"
  }}
  example "一笔不预警" {{
    as_of 2021-12-31
    given payment {{ payment_id: "Q1", recipient: "R1", period: "2021-01", account: "A1",
                    amount: 1, paid_on: 2021-01-05 }}
    expect none
  }}
}}

model GG05 "首个账户" {{
  domain   GG
  severity blue

  from payment p
  group by p.recipient
  having count(distinct p.account) >= 2

  key      p.recipient
  message  "{{count(distinct p.account)}}个，首个{{first(p.account order by p.paid_on) ?? '无'}}"

  example "按发放日期的首个账户" {{
    as_of 2021-12-31
{ROWS}    expect "R1" message "2个，首个A1"
    expect "R2" message "2个，首个A3"
  }}

  example "一个账户不预警" {{
    as_of 2021-12-31
    given payment {{ payment_id: "Q1", recipient: "R1", account: "A1", paid_on: 2021-01-05 }}
    given payment {{ payment_id: "Q2", recipient: "R1", account: "A1", paid_on: 2021-01-06 }}
    expect none
  }}
}}

model GG04 "所属期为空的也分组" {{
  domain   GG
  severity blue

  from payment p
  group by p.period
  having count(*) > 3

  key      coalesce(p.period, "无")
  message  "{{count(*)}}笔"

  example "四笔以上" {{
    as_of 2021-12-31
{ROWS}    expect "2021-01" message "6笔"
  }}
  example "一笔不预警" {{
    as_of 2021-12-31
    given payment {{ payment_id: "Q1", recipient: "R1", period: "2021-01", account: "A1",
                    amount: 1, paid_on: 2021-01-05 }}
    expect none
  }}
}}
"""


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> ir.CheckedPack:
    return small_pack(tmp_path_factory.mktemp("large_groups") / "policies", PACK_YAML, MODELS)


def prefilters(tree: exp.Expression) -> list[exp.CTE]:
    """The MATERIALIZED WITHs of the rows a grouped model groups (none when grouped as written)."""
    return [c for c in tree.find_all(exp.CTE) if c.args.get("materialized")]


def counted_by_hash(cte: exp.CTE) -> exp.Select:
    """The query that counts the rows of `cte` by the hash of their group values."""
    test = cte.parent_select.args["where"].this
    assert isinstance(test, exp.In)
    counted = test.args["query"].this
    assert isinstance(counted, exp.Select)
    return counted


@pytest.mark.parametrize("model", ["GG01", "GG02", "GG04"])
def test_duckdb_groups_only_rows_of_hashes_with_enough_rows(pack: ir.CheckedPack, model: str):
    tree = compile_model(pack.models[model], pack, Target("duckdb")).tree
    (cte,) = prefilters(tree)
    counted = counted_by_hash(cte)
    (hashed,) = counted.expressions
    assert isinstance(hashed, exp.Anonymous) and hashed.name.lower() == "hash"
    # One value per group value of the model, read from the rows the WITH holds.
    assert len(hashed.expressions) == len(pack.models[model].group_by)
    having = counted.args["having"].this
    # The model's own comparison, its count read as the number of rows (turned round in GG02).
    expected, side = {"GG01": (exp.GTE, "this"), "GG02": (exp.LTE, "expression")}.get(
        model, (exp.GT, "this")
    )
    assert isinstance(having, expected)
    count = having.args[side]
    assert isinstance(count, exp.Count) and isinstance(count.this, exp.Star)
    render(tree, "duckdb")


def test_a_having_a_small_group_may_meet_is_grouped_as_written(pack: ir.CheckedPack):
    tree = compile_model(pack.models["GG03"], pack, Target("duckdb")).tree
    assert not prefilters(tree)


@pytest.mark.parametrize("dialect", [d for d in DIALECTS if d != "duckdb"])
def test_other_warehouses_group_as_written(pack: ir.CheckedPack, dialect: str):
    for model in ("GG01", "GG02", "GG04"):
        tree = compile_model(pack.models[model], pack, Target(dialect)).tree
        assert not prefilters(tree)
        render(tree, dialect)


@pytest.mark.parametrize("url", ["duckdb:///:memory:", "sqlite:///:memory:"])
def test_the_examples_warn_alike(pack: ir.CheckedPack, url: str):
    ran, failures = example_failures(url, pack)
    assert ran == 10
    assert not failures, failures


def distinct_aggregates(tree: exp.Expression) -> list[exp.Distinct]:
    return list(tree.find_all(exp.Distinct))


def test_duckdb_counts_distinct_values_in_two_groupings(pack: ir.CheckedPack):
    tree = compile_model(pack.models["GG02"], pack, Target("duckdb")).tree
    assert not distinct_aggregates(tree)
    groupings = [s for s in tree.find_all(exp.Select) if s.args.get("group")]
    # By (recipient, period, account) then by (recipient, period); the hash's count apart.
    widths = sorted(len(s.args["group"].expressions) for s in groupings)
    assert widths == [1, 2, 3]
    render(tree, "duckdb")


@pytest.mark.parametrize("dialect", ["duckdb", "sqlite"])
def test_distinct_beside_first_is_one_grouping(pack: ir.CheckedPack, dialect: str):
    tree = compile_model(pack.models["GG05"], pack, Target(dialect)).tree
    assert len(distinct_aggregates(tree)) == 1
    if dialect == "sqlite":
        assert (
            len(distinct_aggregates(compile_model(pack.models["GG02"], pack, Target(dialect)).tree))
            == 1
        )
