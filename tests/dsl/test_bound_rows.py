"""`let m = first(from … order by … select …)`: what the checker accepts, and what it says.

A model binds the first row of a query once per row and reads its values
as `m.name`; `exists(m)` asks whether there is one. The query may read the
model's row only as `its value = the model's value` in its where (the
links the compiler joins it on). Each mistake a policy author can make
with it has its own code (E250–E253, E350–E351, E450–E453) and says what
to write instead. tests/engine/test_bound_rows.py runs such models.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl import ir
from dsl.check import check_pack
from dsl.diagnostics import Severity
from dsl.format import format_text
from dsl.parser import parse_file

MODEL = """model TST01 "测试" {{
  domain   工程管理
  severity red
  status   草稿

  from trade_contract c
{body}

  key      c.contract_id
  township c.township
  message  "{message}"
}}
"""

LATEST = """  let last = first(from fin_payment f
                   where f.contract_id = c.contract_id
                   order by f.paid_on desc, f.payment_id)"""


def check(tmp_path: Path, pack_with, body: str, message: str = "{c.contract_id}"):
    """What `check` says of a pack holding one draft model with these clauses."""
    rule = tmp_path / "TST01.rule"
    rule.write_text(MODEL.format(body=body, message=message), encoding="utf-8")
    return check_pack(pack_with(rule))


def codes(result) -> list[str]:
    return [d.code for d in result.diagnostics if d.severity is not Severity.WARNING]


def only(result, code: str):
    """The one diagnostic of `result`, which must have `code`."""
    assert codes(result) == [code], [(d.code, d.message_en) for d in result.diagnostics]
    return next(d for d in result.diagnostics if d.code == code)


# ---- what it means ---------------------------------------------------------------------------


def test_the_row_is_read_by_name_and_linked_to_the_model_by_equality(tmp_path, pack_with):
    body = LATEST + "\n  where exists(last) and last.amount > c.amount / 2"
    result = check(tmp_path, pack_with, body, "{last.payment_id}{last.paid_on}")
    assert codes(result) == []
    model = result.pack.models["TST01"]
    [row] = model.bound
    assert row.name == "last" and model.lets == ()
    [(own, theirs)] = row.links
    assert (own.binding.alias, own.column) == ("f", "contract_id")
    assert (theirs.binding.alias, theirs.column) == ("c", "contract_id")
    assert row.query.where is None  # the link is all its where said
    assert [(e.column, descending) for e, descending in row.order_by] == [
        ("paid_on", True),
        ("payment_id", False),
    ]
    # Without `select`, the row has the columns of its `from` source.
    assert [name for name, _ in row.columns][:3] == ["payment_id", "township", "payer_unit"]
    found = ir.conjuncts(model.query.where)[0]
    assert found == ir.RowFound(row.binding)
    assert model.sources == {"trade_contract", "fin_payment"}


def test_select_names_the_values_of_a_joined_row(tmp_path, pack_with):
    body = """  let low = first(from trade_bid b
                  join trade_tender t on t.tender_id = b.tender_id
                  where t.project_id = c.project_id and b.amount is not null
                  order by b.amount
                  select b.bidder_code as code, b.amount * 2 as double, t.title as title)
  where low.double > c.amount"""
    result = check(tmp_path, pack_with, body, "{low.code ?? '无'}{low.title ?? '无'}")
    assert codes(result) == []
    [row] = result.pack.models["TST01"].bound
    assert [(name, value.type.value) for name, value in row.columns] == [
        ("code", "string"),
        ("double", "decimal"),
        ("title", "string"),
    ]
    assert [f.binding.source for f in row.query.sources] == ["trade_bid", "trade_tender"]


@pytest.mark.parametrize(
    ("where", "message", "warned"),
    [
        # Required: values the query has for every row are there.
        ("where exists(last)", "{last.payment_id}{last.amount}", []),
        # A value of the row compared in where: then the row is there too.
        ("where last.amount > 0", "{last.payment_id}", []),
        # A value the source may leave empty may still be missing.
        ("where exists(last)", "{last.payee_name}", ["last.payee_name"]),
        # Not required: no row makes every value null.
        ("where c.amount > 0", "{last.payment_id}", ["last.payment_id"]),
        ("where not exists(last)", "{last.payment_id}", ["last.payment_id"]),
        ("where c.amount > 0", "{last.payment_id ?? '尚无付款'}", []),
    ],
)
def test_a_value_of_a_missing_row_is_null_unless_the_model_requires_it(
    tmp_path, pack_with, where: str, message: str, warned: list[str]
):
    result = check(tmp_path, pack_with, f"{LATEST}\n  {where}", message)
    assert codes(result) == []
    null_holes = [d.message_en.split("{")[1].split("}")[0] for d in result.diagnostics]
    assert null_holes == warned


def test_the_formatter_lays_a_bound_row_out_like_a_subquery():
    text = """model TST01 "t" {
  domain 工程管理
  severity red
  from trade_contract c
  let low = first( from trade_bid b join trade_tender t on t.tender_id = b.tender_id where
  t.project_id = c.project_id order by b.amount desc, b.bid_id select b.bidder_code as code,
      b.amount as amount )
  where exists(low)
  key c.contract_id
  township c.township
  message "{low.code}"
}
"""
    expected = """model TST01 "t" {
  domain   工程管理
  severity red

  from trade_contract c
  let low = first(from trade_bid b
                  join trade_tender t on t.tender_id = b.tender_id
                  where t.project_id = c.project_id
                  order by b.amount desc, b.bid_id
                  select b.bidder_code as code, b.amount as amount)
  where exists(low)

  key      c.contract_id
  township c.township
  message  "{low.code}"
}
"""
    assert format_text(text) == expected
    assert format_text(expected) == expected
    short = expected.replace(
        """first(from trade_bid b
                  join trade_tender t on t.tender_id = b.tender_id
                  where t.project_id = c.project_id
                  order by b.amount desc, b.bid_id
                  select b.bidder_code as code, b.amount as amount)""",
        "first(from trade_bid b order by b.amount)",
    )
    assert format_text(short) == short
    assert parse_file("x.rule", short).items[0].clauses[3].value.expr.select == ()


# ---- mistakes --------------------------------------------------------------------------------

# (code, the model's clauses, its message, the text the diagnostic points at)
MISTAKES = [
    ("E250", LATEST + "\n  where last.amont > 0", "{c.contract_id}", "amont"),
    (
        "E250",
        """  let low = first(from trade_bid b join trade_tender t on t.tender_id = b.tender_id
                  where b.tender_id = c.tender_id order by b.amount select b.amount as amount)
  where low.title is null""",
        "{c.contract_id}",
        "title",
    ),
    ("E251", LATEST + "\n  where last is not null", "{c.contract_id}", "last"),
    (
        "E251",
        LATEST + "\n  where exists(last where last.amount > 0)",
        "{c.contract_id}",
        "exists(last where last.amount > 0)",
    ),
    (
        "E252",
        "  let last = latest(from fin_payment f where f.contract_id = c.contract_id "
        "order by f.paid_on)",
        "{c.contract_id}",
        "latest",
    ),
    (
        "E253",
        "  let last = first(from fin_payment f where f.contract_id = c.contract_id "
        "order by f.paid_on select f.amount as x, f.paid_on as X)",
        "{last.x}",
        "f.paid_on as X",
    ),
    (
        "E350",
        "  let last = first(from fin_payment f where f.contract_id = c.contract_id "
        "order by f.paid_on select sum(f.amount) as total)",
        "{last.total}",
        "sum(f.amount)",
    ),
    (
        "E450",
        "  where first(from fin_payment f order by f.paid_on) is null",
        "{c.contract_id}",
        "first(from fin_payment f order by f.paid_on)",
    ),
    (
        "E450",
        "  let n = coalesce(first(from fin_payment f order by f.paid_on), 1)",
        "{c.contract_id}",
        "first(from fin_payment f order by f.paid_on)",
    ),
    (
        "E451",
        "  let last = first(from fin_payment f where f.contract_id = c.contract_id)",
        "{last.amount}",
        "first(from fin_payment f where f.contract_id = c.contract_id)",
    ),
    (
        "E452",
        "  let last = first(from fin_payment f where f.paid_on > c.signed_on order by f.paid_on)",
        "{last.amount}",
        "f.paid_on > c.signed_on",
    ),
    (
        "E452",
        "  let last = first(from fin_payment f\n"
        "    where f.contract_id = c.contract_id or f.payee_code = c.contractor_code\n"
        "    order by f.paid_on)",
        "{last.amount}",
        "f.contract_id = c.contract_id or f.payee_code = c.contractor_code",
    ),
    (
        "E452",
        "  let last = first(from fin_payment f where f.contract_id = c.contract_id "
        "order by f.paid_on select f.amount - c.amount as over)",
        "{last.over}",
        "f.amount - c.amount",
    ),
    (
        "E452",
        "  let last = first(from fin_payment f join trade_contract k on k.contract_id = "
        "c.contract_id order by f.paid_on)",
        "{last.amount}",
        "k.contract_id = c.contract_id",
    ),
    (
        "E453",
        "  let big = c.amount * 2\n"
        "  let last = first(from fin_payment f where f.contract_id = c.contract_id "
        "and f.amount > big order by f.paid_on)",
        "{last.amount}",
        "big",
    ),
    (
        "E453",
        LATEST + "\n  let next = first(from fin_payment g where g.contract_id = c.contract_id "
        "and g.paid_on > last.paid_on order by g.paid_on)",
        "{next.amount}",
        "last.paid_on",
    ),
]


@pytest.mark.parametrize(
    ("code", "body", "message", "pointed"),
    MISTAKES,
    ids=[f"{m[0]}-{i}" for i, m in enumerate(MISTAKES)],
)
def test_each_mistake_has_its_code_and_points_at_it(
    tmp_path, pack_with, code: str, body: str, message: str, pointed: str
):
    result = check(tmp_path, pack_with, body, message)
    diagnostic = only(result, code)
    rule = (tmp_path / "TST01.rule").read_text(encoding="utf-8").splitlines()
    span = diagnostic.span
    if span.line == span.end_line:
        written = rule[span.line - 1][span.column - 1 : span.end_column - 1]
    else:
        lines = rule[span.line - 1 : span.end_line]
        lines[-1] = lines[-1][: span.end_column - 1]
        lines[0] = lines[0][span.column - 1 :]
        written = " ".join(line.strip() for line in lines)
    assert written == pointed
    assert diagnostic.message_zh and diagnostic.message_en and diagnostic.hints


def test_the_unknown_value_hint_says_how_to_select_a_joined_column(tmp_path, pack_with):
    result = check(tmp_path, pack_with, MISTAKES[1][1])
    assert "select t.title as title" in only(result, "E250").hints[-1]


def test_first_without_order_by_says_the_row_would_be_arbitrary(tmp_path, pack_with):
    diagnostic = only(check(tmp_path, pack_with, MISTAKES[9][1], "{last.amount}"), "E451")
    assert "could differ between runs and warehouses" in diagnostic.message_en
    assert "order by f.paid_on desc" in diagnostic.hints[0]


GROUPED = """model TST01 "测试" {{
  domain   工程管理
  severity red
  status   草稿

  from trade_contract c
  let last = first(from fin_payment f where f.contract_id = c.contract_id order by f.paid_on)
  group by {group}
  having {having}

  key      c.township
  township c.township
  message  "{message}"
}}
"""


@pytest.mark.parametrize(
    ("group", "having", "message", "wrong"),
    [
        # Inside aggregates, or grouped by: fine.
        ("c.township", "count(* where exists(last)) >= 2", "{max(last.amount) ?? '无'}", []),
        ("c.township, last.payee_code", "count(*) >= 2", "{last.payee_code ?? '无'}", []),
        # Outside: each row has its own, a group has none.
        ("c.township", "count(*) >= 2", "{last.amount}", ["last.amount"]),
        ("c.township", "exists(last)", "{c.township}", ["exists(last)"]),
    ],
)
def test_a_grouped_model_reads_a_bound_row_inside_aggregates(
    tmp_path, pack_with, group: str, having: str, message: str, wrong: list[str]
):
    rule = tmp_path / "TST01.rule"
    text = GROUPED.format(group=group, having=having, message=message)
    rule.write_text(text, encoding="utf-8")
    result = check_pack(pack_with(rule))
    assert codes(result) == ["E351"] * len(wrong)
    lines = text.splitlines()
    pointed = [
        lines[d.span.line - 1][d.span.column - 1 : d.span.end_column - 1]
        for d in result.diagnostics
        if d.code == "E351"
    ]
    assert pointed == wrong


def test_a_bound_row_named_like_an_alias_is_reported_once_and_the_alias_kept(tmp_path, pack_with):
    body = """  let c = first(from fin_payment f
                where f.contract_id = c.contract_id
                order by f.paid_on)
  where c.amount > 0"""
    assert codes(check(tmp_path, pack_with, body)) == ["E208"]


def test_exists_of_a_source_is_a_subquery_even_beside_a_row_of_that_name(tmp_path, pack_with):
    body = """  let fin_payment = first(from fin_payment f
                          where f.contract_id = c.contract_id
                          order by f.paid_on)
  where exists(fin_payment)
    and exists(fin_payment p where p.contract_id = c.contract_id and p.amount > c.amount)"""
    result = check(tmp_path, pack_with, body)
    assert codes(result) == []
    found, subquery = ir.conjuncts(result.pack.models["TST01"].query.where)
    assert isinstance(found, ir.RowFound) and isinstance(subquery, ir.Exists)
