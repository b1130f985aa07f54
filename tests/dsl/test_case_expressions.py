"""How `case`, concat(), seconds_between()/minutes_between() and a relation's `distinct` and
`group by … having` are read, typed, explained when wrong and laid out.

What they compute on each warehouse is tests/engine/test_expression_semantics.py; here is
what `oversight check` and `oversight fmt` say about them. Each case is a small model
over the bids pack of tests/engine/expressions (tender, bid, bidder).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dsl import ast, ir
from dsl.check import CheckResult, check_pack
from dsl.diagnostics import Diagnostic, DiagnosticError, Severity
from dsl.format import format_text
from dsl.node import dump
from dsl.parser import parse_expression, parse_file
from dsl.types import Type

PACK_YAML = Path(__file__).parents[1] / "engine" / "expressions" / "pack.yaml"


def check(folder: Path, rules: str) -> CheckResult:
    """`oversight check --no-examples` of the bids pack with these rules only."""
    (folder / "models").mkdir(parents=True, exist_ok=True)
    shutil.copy(PACK_YAML, folder / "pack.yaml")
    (folder / "models" / "t.rule").write_text(rules, encoding="utf-8")
    return check_pack(folder, examples=False)


def model(clauses: str, key: str = "b.bid_id", message: str = "x") -> str:
    """A draft model over `bid b` with these clauses."""
    return (
        'model EXP90 "探针" {\n  domain EXP\n  severity blue\n  status draft\n'
        f'  from bid b\n{clauses}\n  key {key}\n  township "330122001"\n'
        f'  message "{message}"\n}}\n'
    )


def errors(result: CheckResult) -> list[Diagnostic]:
    return [d for d in result.diagnostics if d.severity is not Severity.WARNING]


def codes(result: CheckResult) -> list[str]:
    return [d.code for d in result.diagnostics]


def let_type(folder: Path, expr: str) -> Type:
    result = check(folder, model(f"  let v = {expr}", message="{v ?? '-'}"))
    assert not errors(result), [d.message_en for d in errors(result)]
    return dict(result.pack.models["EXP90"].lets)["v"].type


# ---- case: reading and types ------------------------------------------------------------


def test_case_reads_its_whens_in_order_and_else_may_be_left_out():
    expr = parse_expression('case when b.rank = 1 then "一" when b.rank = 2 then "二" end')
    assert isinstance(expr, ast.Case)
    assert [value.value for _, value in expr.branches] == ["一", "二"]
    assert expr.otherwise is None and expr.operand is None
    with_else = parse_expression('case when b.rank = 1 then "一" else null end')
    assert isinstance(with_else.otherwise, ast.Literal) and with_else.otherwise.kind == "null"


def test_the_new_keywords_stay_names_inside_longer_words_and_after_a_dot():
    assert parse_expression("t.case_id").column == "case_id"
    assert parse_expression("t.end").column == "end"
    assert parse_expression("endless").name == "endless"


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('case when b.rank = 1 then "一" else "其他" end', Type.STRING),
        ("case when b.rank = 1 then 1 else 0.5 end", Type.DECIMAL),
        ("case when b.rank = 1 then b.amount else 0 end", Type.DECIMAL),
        ("case when b.rank = 1 then 1 else b.amount / 3 end", Type.FLOAT),
        ("case when b.rank = 1 then 1 when b.rank = 2 then 2 end", Type.INT),
        ("case when b.rank = 1 then null else b.submitted_at end", Type.TIMESTAMP),
        ("case when b.rank = 1 then null end", Type.NULL),
        ("case when b.rank = 1 then b.amount > 0 else false end", Type.BOOL),
    ],
)
def test_a_case_has_the_one_type_of_its_values_numbers_widened(tmp_path, expr, expected):
    assert let_type(tmp_path, expr) is expected


def test_values_of_different_types_are_E365_at_the_value_that_differs(tmp_path):
    result = check(tmp_path, model('  let v = case when b.rank = 1 then "一" else 2 end'))
    [problem] = errors(result)
    assert problem.code == "E365"
    assert (problem.span.line, problem.span.column) == (6, 46)  # the 2
    assert "前面是文本，这里是整数" in problem.message_zh
    assert "string before, int here" in problem.message_en
    assert any("数字不加引号" in hint for hint in problem.hints)
    assert any("6:37" in hint for hint in problem.hints)  # where the first value is


def test_a_date_and_a_timestamp_are_E365_with_the_way_to_take_a_date(tmp_path):
    rules = model("  let v = case when b.rank = 1 then b.submitted_at else 2021-06-01 end")
    [problem] = errors(check(tmp_path, rules))
    assert problem.code == "E365"
    assert any("date(x)" in hint for hint in problem.hints)


def test_a_when_must_be_a_condition(tmp_path):
    [problem] = errors(check(tmp_path, model('  let v = case when b.amount then "有" end')))
    assert problem.code == "E303"


def test_sqls_simple_case_is_E366_showing_the_searched_form(tmp_path):
    rules = model('  let v = case b.rank when 1 then "一" when 2 then "二" end')
    [problem] = errors(check(tmp_path, rules))
    assert problem.code == "E366"
    assert (problem.span.line, problem.span.column) == (6, 16)  # b.rank
    assert any("case when b.rank = 1 then … end" in hint for hint in problem.hints)


def test_case_stands_wherever_an_expression_may(tmp_path):
    rules = model(
        "  where case when b.rank = 1 then b.amount >= 1 else b.amount >= 2 end\n"
        '  group by b.tender_id, case when b.amount >= 100 then "大" else "小" end\n'
        "  having sum(case when b.rank = 1 then 1 else 0.5 end) >= 1.5\n"
        "    and case when count(*) > 2 then true else false end",
        key='b.tender_id, case when b.amount >= 100 then "大" else "小" end',
        message="{case when min(b.rank) = 1 then '有' else '无' end}第一名",
    )
    result = check(tmp_path, rules)
    assert not errors(result), [d.message_en for d in errors(result)]
    checked = result.pack.models["EXP90"]
    assert isinstance(checked.group_by[1], ir.Case)
    assert checked.key[1] == checked.group_by[1]  # the same expression: read as the group value


def test_a_case_in_a_grouped_model_keeps_the_grouping_rules(tmp_path):
    ungrouped = model(
        "  group by b.tender_id",
        key="b.tender_id",
        message="{case when b.rank = 1 then '第一' else '其他' end}",
    )
    assert codes(check(tmp_path / "a", ungrouped)) == ["E306"]
    aggregate_in_where = model("  where case when count(*) > 1 then true else false end")
    assert codes(check(tmp_path / "b", aggregate_in_where)) == ["E305"]


def test_a_case_in_a_message_may_be_null_only_as_its_values_are(tmp_path):
    def warned(message: str) -> bool:
        folder = tmp_path / str(abs(hash(message)))
        return "W320" in codes(check(folder, model("", message=message)))

    assert warned("{case when b.rank = 1 then '第一' end}")  # no else: null when b.rank != 1
    assert not warned("{case when b.rank = 1 then '第一' else '其他' end}")
    # b.amount is there where the `when` holds, and the else is 0.
    assert not warned("{case when b.amount > 0 then b.amount else 0 end}")
    assert warned("{case when b.rank = 1 then b.amount else 0 end}")


# ---- concat(), seconds_between(), minutes_between() -------------------------------------


def test_concat_joins_texts_and_ints_into_a_text(tmp_path):
    assert let_type(tmp_path, 'concat(b.tender_id, "-", b.rank)') is Type.STRING


def test_concat_of_an_amount_is_E302_saying_where_amounts_are_written(tmp_path):
    [problem] = errors(check(tmp_path, model('  let v = concat(b.tender_id, "-", b.amount)')))
    assert problem.code == "E302"
    assert "第 3 个参数应为 整数、文本" in problem.message_zh
    assert any("消息中写 {…}" in hint for hint in problem.hints)


def test_concat_needs_two_parts(tmp_path):
    [problem] = errors(check(tmp_path, model("  let v = concat(b.tender_id)")))
    assert problem.code == "E302" and "至少 2" in problem.message_zh


def test_adding_texts_points_to_concat(tmp_path):
    [problem] = errors(check(tmp_path, model('  let v = b.tender_id + "-"')))
    assert problem.code == "E304"
    assert any("concat(a, b)" in hint for hint in problem.hints)


def test_sqls_concatenation_operator_points_to_concat():
    with pytest.raises(DiagnosticError) as raised:
        parse_file("t.rule", model('  let v = b.tender_id || "-"'))
    [problem] = raised.value.diagnostics
    assert problem.code == "E101"
    assert any("concat(a, b)" in hint for hint in problem.hints)


def test_seconds_and_minutes_between_are_whole_numbers_of_two_timestamps(tmp_path):
    assert let_type(tmp_path, "seconds_between(b.submitted_at, 2021-06-01 10:00)") is Type.INT
    assert let_type(tmp_path, "minutes_between(b.submitted_at, b.submitted_at)") is Type.INT


def test_seconds_between_dates_is_E302_pointing_to_days_between(tmp_path):
    rules = model("  let v = seconds_between(date(b.submitted_at), 2021-06-01)")
    [problem] = errors(check(tmp_path, rules))
    assert problem.code == "E302"
    assert any("days_between(a, b)" in hint for hint in problem.hints)


# ---- relations: distinct, group by, having ----------------------------------------------

GROUPED = """\
relation wins "中标" {
  from bid b
  where b.rank = 1
  group by b.bidder_code
  having count(*) >= 2
  select b.bidder_code as bidder_code, count(*) as wins, sum(b.amount) as won,
         max(b.submitted_at) as last_at
}
"""


def test_a_grouped_relation_has_the_types_of_its_groups_and_aggregates(tmp_path):
    result = check(tmp_path, GROUPED)
    assert not errors(result)
    relation = result.pack.relations["wins"]
    assert dict(relation.columns) == {
        "bidder_code": Type.STRING,
        "wins": Type.INT,
        "won": Type.DECIMAL,
        "last_at": Type.TIMESTAMP,
    }
    [branch] = relation.branches
    assert len(branch.group_by) == 1 and isinstance(branch.having, ir.Compare)


def test_an_aggregate_in_a_relation_without_group_by_is_E460(tmp_path):
    rules = 'relation r "r" {\n  from bid b\n  select b.bidder_code as code, count(*) as n\n}\n'
    [problem] = errors(check(tmp_path, rules))
    assert problem.code == "E460"
    assert (problem.span.line, problem.span.column) == (3, 33)  # count(*)
    assert "列 n" in problem.message_zh
    assert any("group by" in hint and "distinct" in hint for hint in problem.hints)


def test_a_column_neither_grouped_nor_aggregated_in_a_relation_is_E461(tmp_path):
    rules = (
        'relation r "r" {\n  from bid b\n  group by b.bidder_code\n'
        "  select b.bidder_code as code, b.amount as amount\n}\n"
    )
    [problem] = errors(check(tmp_path, rules))
    assert problem.code == "E461"
    assert problem.message_en == "b.amount is neither grouped nor aggregated"
    assert any("一行" in hint for hint in problem.hints)


def test_an_aggregate_in_a_relations_group_by_is_E305(tmp_path):
    rules = 'relation r "r" {\n  from bid b\n  group by count(*)\n  select 1 as one\n}\n'
    assert codes(check(tmp_path, rules)) == ["E305"]


def test_having_needs_group_by_in_a_relation():
    rules = 'relation r "r" {\n  from bid b\n  having count(*) > 1\n  select 1 as one\n}\n'
    with pytest.raises(DiagnosticError) as raised:
        parse_file("t.rule", rules)
    assert [d.code for d in raised.value.diagnostics] == ["E102"]


def test_distinct_and_grouped_parts_unite_with_plain_ones(tmp_path):
    rules = (
        'relation r "r" {\n  from bid b\n  select distinct b.bidder_code as code, 1 as n\n'
        "  union\n  from bid b\n  group by b.bidder_code\n"
        "  select b.bidder_code as code, count(*) as n\n}\n"
    )
    result = check(tmp_path, rules)
    assert not errors(result)
    first, second = result.pack.relations["r"].branches
    assert first.distinct and first.group_by is None
    assert not second.distinct and second.group_by is not None


def test_a_relation_without_the_new_words_keeps_its_revision():
    """Fields added to a relation's part are left out of its revision while unused."""
    text = 'relation r "r" {\n  from bid b\n  select b.bidder_code as code\n}\n'
    [relation] = parse_file("t.rule", text).items
    assert set(dump(relation.branches[0])) == {"node", "span", "query", "select"}
    [distinct] = parse_file("t.rule", text.replace("select", "select distinct")).items
    assert dump(distinct.branches[0])["distinct"] is True


# ---- layout ------------------------------------------------------------------------------


def test_fmt_keeps_a_short_case_on_one_line_and_breaks_a_long_one_at_each_when():
    text = model(
        '  let v = case when b.rank = 1 then "一" else "其他" end\n'
        '  let w = case when b.amount >= 1000000 then "大额大额大额大额" when b.amount >= 500000 '
        'then "中额中额中额中额" else "小额小额小额" end'
    )
    formatted = format_text(text)
    assert '  let v = case when b.rank = 1 then "一" else "其他" end\n' in formatted
    assert (
        '  let w = case when b.amount >= 1000000 then "大额大额大额大额"\n'
        '               when b.amount >= 500000 then "中额中额中额中额"\n'
        '               else "小额小额小额"\n'
        "          end\n"
    ) in formatted
    assert format_text(formatted) == formatted


def test_fmt_writes_a_grouped_relation_clause_by_clause():
    text = (
        'relation wins "中标" { from bid b where b.rank = 1 group by b.bidder_code '
        "having count(*) >= 2 select distinct b.bidder_code as bidder_code, count(*) as wins }\n"
    )
    assert format_text(text) == (
        'relation wins "中标" {\n'
        "  from bid b\n"
        "  where b.rank = 1\n"
        "  group by b.bidder_code\n"
        "  having count(*) >= 2\n"
        "  select distinct b.bidder_code as bidder_code, count(*) as wins\n"
        "}\n"
    )
