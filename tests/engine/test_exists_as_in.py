"""An `exists` tied to its outer row by equalities alone is an IN on DuckDB, and means the same.

DuckDB plans a correlated EXISTS by first collecting the distinct outer values
of every row reaching it (FIN05 at 10x: 0.10 s against 0.035 s as an IN), so
there the compiler writes `x IS NOT NULL AND … AND (x, …) IN (SELECT a, … WHERE
a IS NOT NULL …)` (engine/compiler/functions.py, _EXISTS_AS_IN). An IN is null
where EXISTS is false; the tests of both sides must keep `not exists` and an
`or` beside it right. A small pack of its own (payments and a list of people):
EX01 ties two columns beside a condition on the list's own row, EX02 is `not
exists` with a null payee and a null listed person, EX03 an `or`, EX04 the same
through a define's arguments under `not`, EX05 a tie that is not an equality,
which stays an EXISTS. The examples run on DuckDB and on SQLite (which keeps
EXISTS), each expecting its warnings word for word; the compiled trees are
inspected.
"""

from __future__ import annotations

import pytest
from conformance_checks import example_failures, small_pack
from sqlglot import exp

from dsl import ir
from engine.compiler.compile import DIALECTS, Target, compile_model, render

PACK_YAML = """\
pack:
  name: 存在即在内测试
  version: 0.1.0
  engine: ">=0.1,<1"
domains:
  EX: 名单
parameters: {}
townships: none
sources:
  payment:
    key: [payment_id]
    event_date: paid_on
    columns:
      payment_id: {type: string, required: true}
      township: {type: string}
      payee: {type: string}
      amount: {type: decimal}
      paid_on: {type: date}
  listed:
    key: [listing_id]
    columns:
      listing_id: {type: string, required: true}
      township: {type: string}
      person_id: {type: string}
      kind: {type: string}
      since: {type: date}
"""

# Listed: A in T1 (官员, since January), B in T1 (亲属, since June), nobody named in T2,
# C in T2 (官员, no date). Payments: A from T1 in March and from T2 in December 2020, B
# from T1 in March (200), nobody from T2, D (not listed) from T2, C from T2, and one after
# as_of, which no model may see.
ROWS = """\
    given listed { listing_id: "L1", township: "T1", person_id: "A", kind: "官员",
                   since: 2021-01-01 }
    given listed { listing_id: "L2", township: "T1", person_id: "B", kind: "亲属",
                   since: 2021-06-01 }
    given listed { listing_id: "L3", township: "T2", kind: "官员", since: 2021-01-01 }
    given listed { listing_id: "L4", township: "T2", person_id: "C", kind: "官员" }
    given payment { payment_id: "P1", township: "T1", payee: "A", amount: 50,
                    paid_on: 2021-03-01 }
    given payment { payment_id: "P2", township: "T2", payee: "A", amount: 50,
                    paid_on: 2020-12-01 }
    given payment { payment_id: "P3", township: "T1", payee: "B", amount: 200,
                    paid_on: 2021-03-01 }
    given payment { payment_id: "P4", township: "T2", amount: 20, paid_on: 2021-03-01 }
    given payment { payment_id: "P5", township: "T2", payee: "D", amount: 10,
                    paid_on: 2021-03-01 }
    given payment { payment_id: "P6", township: "T2", payee: "C", amount: 10,
                    paid_on: 2021-05-01 }
    given payment { payment_id: "P7", township: "T2", payee: "D", amount: 10,
                    paid_on: 2022-01-05 }
"""

MODELS = f"""\
define listed_in(person: string, town: string) "在本乡镇名单内" =
  exists(listed l where l.person_id = person and l.township = town)

model EX01 "付给本乡镇名单内的官员" {{
  domain   EX
  severity blue

  from payment p
  where exists(listed l where l.person_id = p.payee and l.township = p.township
                              and l.kind = "官员")

  key      p.payment_id
  message  "付给{{p.payee ?? '无'}}"

  example "本乡镇的官员；别的乡镇、亲属和无收款人的不算" {{
    as_of 2021-12-31
{ROWS}    expect "P1" message "付给A"
    expect "P6" message "付给C"
  }}
  example "名单为空不预警" {{
    as_of 2021-12-31
    given payment {{ payment_id: "Q1", township: "T1", payee: "A", paid_on: 2021-03-01 }}
    expect none
  }}
}}

model EX02 "付给名单外的人" {{
  domain   EX
  severity blue

  from payment p
  where not exists(listed l where l.person_id = p.payee)

  key      p.payment_id
  message  "付给{{p.payee ?? '无'}}"

  example "无收款人和名单外的都预警，名单里有空人员也一样" {{
    as_of 2021-12-31
{ROWS}    expect "P4" message "付给无"
    expect "P5" message "付给D"
  }}
  example "名单内的不预警" {{
    as_of 2021-12-31
    given listed {{ listing_id: "L1", township: "T1", person_id: "A" }}
    given payment {{ payment_id: "Q1", township: "T2", payee: "A", paid_on: 2021-03-01 }}
    expect none
  }}
}}

model EX03 "大额或付给本乡镇名单内的人" {{
  domain   EX
  severity blue

  from payment p
  where p.amount > 100 or exists(listed l where l.person_id = p.payee
                                               and l.township = p.township)

  key      p.payment_id
  message  "付给{{p.payee ?? '无'}}{{p.amount ?? '0'}}元"

  example "大额的、本乡镇名单内的" {{
    as_of 2021-12-31
{ROWS}    expect "P1" message "付给A50元"
    expect "P3" message "付给B200元"
    expect "P6" message "付给C10元"
  }}
  example "恰 100 元、收款人在别的乡镇名单内，不预警" {{
    as_of 2021-12-31
    given listed {{ listing_id: "L1", township: "T1", person_id: "A" }}
    given payment {{ payment_id: "Q1", township: "T2", payee: "A", amount: 100,
                    paid_on: 2021-03-01 }}
    expect none
  }}
}}

model EX04 "付给本乡镇名单外的人" {{
  domain   EX
  severity blue

  from payment p
  where not listed_in(p.payee, p.township)

  key      p.payment_id
  message  "付给{{p.payee ?? '无'}}"

  example "别的乡镇名单内的、无收款人的、名单外的" {{
    as_of 2021-12-31
{ROWS}    expect "P2" message "付给A"
    expect "P4" message "付给无"
    expect "P5" message "付给D"
  }}
  example "本乡镇名单内的不预警" {{
    as_of 2021-12-31
    given listed {{ listing_id: "L1", township: "T1", person_id: "A" }}
    given payment {{ payment_id: "Q1", township: "T1", payee: "A", paid_on: 2021-03-01 }}
    expect none
  }}
}}

model EX05 "付给已列入名单的人" {{
  domain   EX
  severity blue

  from payment p
  where exists(listed l where l.person_id = p.payee and l.since <= p.paid_on)

  key      p.payment_id
  message  "付给{{p.payee ?? '无'}}"

  example "列入之前付的、列入日期为空的不算" {{
    as_of 2021-12-31
{ROWS}    expect "P1" message "付给A"
  }}
  example "列入前一天付的不预警" {{
    as_of 2021-12-31
    given listed {{ listing_id: "L1", township: "T1", person_id: "A", since: 2021-03-02 }}
    given payment {{ payment_id: "Q1", township: "T1", payee: "A", paid_on: 2021-03-01 }}
    expect none
  }}
}}
"""

AS_IN = ("EX01", "EX02", "EX03", "EX04")


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> ir.CheckedPack:
    return small_pack(tmp_path_factory.mktemp("exists_as_in") / "policies", PACK_YAML, MODELS)


def in_subqueries(tree: exp.Expression) -> list[exp.In]:
    return [node for node in tree.find_all(exp.In) if node.args.get("query") is not None]


@pytest.mark.parametrize("model", AS_IN)
def test_duckdb_reads_an_equality_tied_exists_as_in(pack: ir.CheckedPack, model: str):
    tree = compile_model(pack.models[model], pack, Target("duckdb")).tree
    assert not list(tree.find_all(exp.Exists))
    (test,) = in_subqueries(tree)
    subquery = test.args["query"].this
    # The subquery's columns are those the outer values are compared with, none of them null.
    wanted = [e.sql("duckdb") for e in subquery.expressions]
    where = subquery.args["where"].sql("duckdb")
    assert all(f"NOT {column} IS NULL" in where for column in wanted)
    width = 1 if model == "EX02" else 2
    assert len(wanted) == width
    if width > 1:
        assert isinstance(test.this, exp.Tuple) and len(test.this.expressions) == width
    render(tree, "duckdb")


def test_a_tie_that_is_not_an_equality_stays_exists(pack: ir.CheckedPack):
    tree = compile_model(pack.models["EX05"], pack, Target("duckdb")).tree
    assert len(list(tree.find_all(exp.Exists))) == 1
    assert not in_subqueries(tree)


@pytest.mark.parametrize("dialect", [d for d in DIALECTS if d != "duckdb"])
def test_other_warehouses_keep_exists(pack: ir.CheckedPack, dialect: str):
    for model in AS_IN:
        tree = compile_model(pack.models[model], pack, Target(dialect)).tree
        assert list(tree.find_all(exp.Exists)) and not in_subqueries(tree)
        render(tree, dialect)


@pytest.mark.parametrize("url", ["duckdb:///:memory:", "sqlite:///:memory:"])
def test_the_examples_warn_alike(pack: ir.CheckedPack, url: str):
    ran, failures = example_failures(url, pack)
    assert ran == 10
    assert not failures, failures
