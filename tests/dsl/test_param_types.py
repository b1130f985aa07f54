"""List, map and nullable parameters as pack.yaml declares them and rules read them.

pack.yaml declares `type: list<string>`, `list<int>` or `map<string, int>`,
and `nullable: true` for a threshold a county may leave unset (null). Every
value is checked where it is written, pointed at by line and column: E690 a
declaration the language does not have, E691 a value that is not a list or
map of the right items, E692 an item or key written twice, E693 null where
the parameter is not nullable. Rules read a list with `x in $list` and a map
with `value_of($map, key, default)`; E270/E271 name the wrong kind of
parameter there, E370 a list or map used as one value, E371 items of another
type, and E372 a nullable parameter whose null would decide a condition
without the rule saying what "no threshold" means.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from dsl import ast, ir
from dsl.check import check_pack
from dsl.diagnostics import Diagnostic, DiagnosticError, Severity
from dsl.format import format_text
from dsl.node import walk
from dsl.pack import ParamMap, load_pack
from dsl.parser import parse_expression
from dsl.types import Type

PACK = Path(__file__).resolve().parents[1] / "param_types_pack"


# ---- pack.yaml -------------------------------------------------------------------------------


def test_the_declared_types_and_their_values():
    parameters = load_pack(PACK).parameters
    methods, years = parameters["restricted_methods"], parameters["watched_years"]
    days, cap = parameters["min_bid_days"], parameters["award_cap"]
    assert (methods.type_name, methods.type, methods.default) == (
        "list<string>",
        Type.STRING,
        ("邀请招标", "竞争性谈判"),
    )
    assert (years.type_name, years.type_zh, years.default) == ("list<int>", "整数列表", (2021,))
    assert (days.type_name, days.type_zh) == ("map<string, int>", "文本到整数的映射")
    assert days.default == ParamMap([("公开招标", 20), ("邀请招标", 15)])
    assert dict(days.default) == {"公开招标": 20, "邀请招标": 15}
    assert (cap.type_name, cap.nullable, cap.default, cap.minimum) == (
        "decimal",
        True,
        None,
        Decimal(0),
    )
    assert not methods.nullable and hash(days.default)  # hashable, like every value


def pack_problems(tmp_path: Path, declaration: str) -> list[Diagnostic]:
    """What loading a pack.yaml whose only parameter `p` is `declaration` reports."""
    (tmp_path / "pack.yaml").write_text(
        "pack:\n  name: t\n  version: 0.1.0\ndomains:\n  ENG: 工程管理\n"
        f"parameters:\n  p:\n{declaration}    description: 说明\nsources: {{}}\n",
        encoding="utf-8",
    )
    with pytest.raises(DiagnosticError) as raised:
        load_pack(tmp_path)
    return raised.value.diagnostics


# (declaration of p, code, line, column, words of the Chinese message). p's type is on line 8.
PACK_MISTAKES = [
    ("    type: list<date>\n    default: []\n", "E690", 8, 5, "不受支持"),
    ("    type: map<int, int>\n    default: {}\n", "E690", 8, 5, "不受支持"),
    ("    type: list<int>\n    nullable: true\n    default: []\n", "E690", 9, 5, "nullable"),
    ("    type: int\n    nullable: 是\n    default: 1\n", "E690", 9, 5, "true 或 false"),
    ("    type: list<string>\n    min: a\n    default: []\n", "E690", 9, 5, "不能有 min"),
    ("    type: list<string>\n    default: 邀请招标\n", "E691", 9, 5, "值应为列表"),
    ("    type: list<string>\n    default: [邀请招标, 2021]\n", "E691", 9, 21, "2021 应为文本"),
    ("    type: list<int>\n    default: [1, 2.5]\n", "E691", 9, 18, "第 2 项 2.5 应为整数"),
    ("    type: list<int>\n    default: [1, null]\n", "E691", 9, 18, "第 2 项 null 不能为空"),
    ("    type: map<string, int>\n    default: [20]\n", "E691", 9, 5, "值应为映射"),
    ("    type: map<string, int>\n    default: {公开招标: 二十}\n", "E691", 9, 21, "「公开招标」"),
    ("    type: map<string, int>\n    default: {2021: 3}\n", "E691", 9, 15, "键 2021 应为文本"),
    (
        "    type: list<string>\n    default:\n      - 询价\n      - 询价\n",
        "E692",
        11,
        9,
        "「询价」出现了两次",
    ),
    ("    type: map<string, int>\n    default: {询价: 3, 询价: 4}\n", "E692", 9, 22, "键「询价」"),
    ("    type: decimal\n    default: null\n", "E693", 9, 5, "不能为空"),
    ("    type: decimal\n    default:\n", "E693", 9, 5, "nullable: true"),
    ("    type: list<int>\n    min: 0\n    default: [3, -1]\n", "E602", 10, 5, "-1 小于下限"),
]  # fmt: skip


@pytest.mark.parametrize(("declaration", "code", "line", "column", "words"), PACK_MISTAKES)
def test_a_value_that_does_not_fit_is_pointed_at_in_pack_yaml(
    tmp_path, declaration, code, line, column, words
):
    [problem] = pack_problems(tmp_path, declaration)
    assert (problem.code, problem.span.line, problem.span.column) == (code, line, column)
    assert words in problem.message_zh and problem.message_en


def test_a_parameter_cannot_take_the_run_days_name(tmp_path):
    """`as_of` in a rule is the run's day; a parameter so named would be bound in its place."""
    (tmp_path / "pack.yaml").write_text(
        "pack:\n  name: t\n  version: 0.1.0\ndomains:\n  ENG: 工程管理\n"
        "parameters:\n  as_of:\n    type: int\n    default: 6\n    description: 说明\n"
        "sources: {}\n",
        encoding="utf-8",
    )
    with pytest.raises(DiagnosticError) as raised:
        load_pack(tmp_path)
    [problem] = raised.value.diagnostics
    assert (problem.code, problem.span.line, problem.span.column) == ("E602", 7, 3)
    assert "这个名字是运行日" in problem.message_zh and "the run's day" in problem.message_en
    assert "as_of_months" in problem.hints[0]


def test_a_nullable_parameter_may_have_a_value_or_none(tmp_path):
    (tmp_path / "pack.yaml").write_text(
        "pack:\n  name: t\n  version: 0.1.0\ndomains:\n  ENG: 工程管理\nparameters:\n"
        "  cap:\n    type: decimal\n    nullable: true\n    default: 300\n    description: 上限\n"
        "  floor:\n    type: date\n    nullable: true\n    default: null\n    description: 起\n"
        "sources: {}\n",
        encoding="utf-8",
    )
    parameters = load_pack(tmp_path).parameters
    assert (parameters["cap"].default, parameters["floor"].default) == (Decimal(300), None)


# ---- rules -----------------------------------------------------------------------------------


def model(where: str, message: str = "{t.tender_id}", examples: str = "") -> str:
    """A draft model of the test pack whose query clauses are `where`."""
    return (
        'model ENG09 "测试" {\n  domain   ENG\n  severity blue\n  status   draft\n\n'
        f"  from proc_tender t\n  {where}\n\n"
        f'  key      t.tender_id\n  township t.township\n  message  "{message}"\n{examples}}}\n'
    )


def check(tmp_path: Path, text: str) -> list[Diagnostic]:
    """What `oversight check` says about the test pack with `text` as one more rule file."""
    policies = tmp_path / "policies"
    shutil.rmtree(policies, ignore_errors=True)
    shutil.copytree(PACK, policies)
    (policies / "models" / "test.rule").write_text(text, encoding="utf-8")
    return check_pack(policies).diagnostics


def codes(diagnostics: list[Diagnostic]) -> list[tuple[str, int, int]]:
    return [(d.code, d.span.line, d.span.column) for d in diagnostics if d.span]


# Lines 1–6 are the model's head and its `from`: its where (or let, group by …) is on line 7.
RULE_MISTAKES = [
    # A list or map where one value is needed.
    ("where t.method = $restricted_methods", "E370", 7, 20, "不是一个值"),
    ("where t.method in ($restricted_methods)", "E370", 7, 22, "不是一个值"),
    ("let days = $min_bid_days", "E370", 7, 14, "不是一个值"),
    # `in` after something that is not a list parameter.
    ("where t.amount in $award_cap", "E270", 7, 21, "需要列表参数"),
    ("where t.method not in $min_bid_days", "E270", 7, 25, "需要列表参数"),
    ("where t.method in $methods", "E203", 7, 21, "未知参数"),
    # value_of: a map parameter, a text key, a default of the map's value type.
    ("where value_of($restricted_methods, t.method, 1) > 0", "E271", 7, 18, "需要映射参数"),
    ("where value_of(t.method, t.method, 1) > 0", "E271", 7, 18, "须是映射参数"),
    ("where value_of($min_bid_days, t.method) > 0", "E302", 7, 9, "需要 3 个参数"),
    ("where value_of($min_bid_days, t.year, 1) > 0", "E371", 7, 33, "键是文本"),
    ("where value_of($min_bid_days, t.method, '十') > 0", "E371", 7, 43, "默认值"),
    # Items of another type than the value they are matched with.
    ("where t.year in $restricted_methods", "E371", 7, 9, "不能与整数比较"),
    ("where t.method not in $watched_years", "E371", 7, 9, "不能与文本比较"),
]


@pytest.mark.parametrize(("where", "code", "line", "column", "words"), RULE_MISTAKES)
def test_a_parameter_of_the_wrong_kind_is_pointed_at(tmp_path, where, code, line, column, words):
    found = [d for d in check(tmp_path, model(where)) if d.severity is Severity.ERROR]
    assert codes(found) == [(code, line, column)], found
    assert words in found[0].message_zh


def test_the_kind_of_parameter_says_how_to_read_it(tmp_path):
    [as_value] = check(tmp_path, model("where t.method = $restricted_methods"))
    assert "x in $restricted_methods" in as_value.hints[0]
    [as_value] = check(tmp_path, model("where t.amount > $min_bid_days"))
    assert "value_of($min_bid_days, 键, 默认值)" in as_value.hints[0]
    [scalar] = check(tmp_path, model("where t.amount in $award_cap"))
    assert "x = $award_cap" in scalar.hints[0]


def test_lists_and_maps_read_as_the_rest_of_the_language(tmp_path):
    where = (
        "let minimum = value_of($min_bid_days, t.method, 10)\n"
        "  where (t.method in $restricted_methods or t.year not in $watched_years)\n"
        "    and days_between(t.published_on, t.opened_on) < minimum\n"
        "    and value_of($min_bid_days, t.township, null) is null"
    )
    assert check(tmp_path, model(where, "{t.tender_id}少于{minimum}天")) == []


# ---- nullable parameters: E372 ---------------------------------------------------------------

UNSAID = [
    ("where t.amount > $award_cap", 7, 20),
    ("where t.amount != $award_cap", 7, 21),  # != holds for null: every row, unasked
    ("where t.amount between 0 and $award_cap", 7, 32),
    ("where t.amount * 2 >= $award_cap or t.amount < 0", 7, 25),
    ("let over = t.amount > $award_cap\n  where over", 7, 25),
    ("let limit = $award_cap * 2\n  where t.amount > limit", 7, 15),
    ("where exists(proc_tender u where u.amount > $award_cap)", 7, 47),
    ("where if($award_cap is null, t.amount > $award_cap, true)", 7, 43),
    ("where case when t.amount > $award_cap then true else false end", 7, 30),
    ("where value_of($min_bid_days, t.method, $award_cap) > 0", 7, 43),
    ("group by t.tender_id, t.township\n  having sum(t.amount) > $award_cap", 8, 26),
    ("group by t.tender_id, t.township\n  having count(* where t.amount > $award_cap) > 0", 8, 35),
]

SAID = [
    "where $award_cap is null or t.amount > $award_cap",
    "where $award_cap is not null and t.amount between 0 and $award_cap",
    "where not ($award_cap is null) and t.amount != $award_cap",
    "where t.year = 2021 and ($award_cap is null or t.amount > $award_cap)",
    "where $award_cap is null or exists(proc_tender u where u.amount > $award_cap)",
    "where if($award_cap is null, true, t.amount > $award_cap)",
    "where case when $award_cap is null then false when t.amount > $award_cap then true end",
    "where case when $award_cap is not null then t.amount > $award_cap else true end",
    "where t.amount > coalesce($award_cap, 0)",
    "let capped = $award_cap is not null\n  where capped and t.amount > $award_cap",
    "where value_of($min_bid_days, t.method, coalesce($award_cap, 1)) > 0",
]


@pytest.mark.parametrize(("where", "line", "column"), UNSAID)
def test_a_nullable_parameter_that_decides_unasked_is_refused(tmp_path, where, line, column):
    found = [d for d in check(tmp_path, model(where)) if d.severity is Severity.ERROR]
    assert codes(found) == [("E372", line, column)], found
    assert "$award_cap is null or" in found[0].hints[0]
    assert "$award_cap is not null and" in found[0].hints[0]


@pytest.mark.parametrize("where", SAID)
def test_a_rule_that_says_what_no_threshold_means_is_accepted(tmp_path, where):
    assert [d for d in check(tmp_path, model(where)) if d.severity is Severity.ERROR] == []


def test_an_if_short_of_its_else_is_said_once_not_a_crash(tmp_path):
    """A damaged `if` (two arguments, found by the fuzzer) is E302; the null-parameter
    check that follows reads what is there instead of stopping on it."""
    where = "where if($award_cap is not null, t.amount > $award_cap)"
    found = [d for d in check(tmp_path, model(where)) if d.severity is Severity.ERROR]
    assert [d.code for d in found] == ["E302"], found


def test_a_nullable_parameter_in_a_shared_definition_is_checked_there(tmp_path):
    text = (
        "define over_cap(amount: decimal) = amount > $award_cap\n"
        "define over_cap_if_any(amount: decimal) = $award_cap is null or amount > $award_cap\n"
    )
    found = check(tmp_path, text)
    assert codes(found) == [("E372", 1, 45)]


def test_a_message_hole_that_may_be_no_threshold_asks_what_to_write(tmp_path):
    """In a message, null is no decision but a hole that reads 空: W320, as for any value."""
    [warning] = check(tmp_path, model("where t.amount > 0", "{t.tender_id}上限{$award_cap}"))
    assert (warning.code, warning.severity) == ("W320", Severity.WARNING)
    known = model("where $award_cap is not null and t.amount > $award_cap", "上限{$award_cap}")
    assert check(tmp_path, known) == []


# ---- examples --------------------------------------------------------------------------------


def example(*lines: str) -> str:
    body = "".join(f"    {line}\n" for line in lines)
    return f'\n  example "例" {{\n    as_of 2021-06-30\n{body}    expect none\n  }}\n'


EXAMPLE_MISTAKES = [
    ('$restricted_methods = ["邀请招标", 2021]', "E691", 36),
    ('$restricted_methods = "邀请招标"', "E691", 27),
    ("$watched_years = [2021, 20.5]", "E691", 29),
    ('$min_bid_days = {询价: 3, "询价": 4}', "E692", 29),  # the second 询价
    ("$min_bid_days = {询价: null}", "E691", 26),
    ("$watched_years = null", "E693", 22),
    ("$award_cap = 很多", "E102", 18),
]


@pytest.mark.parametrize(("line", "code", "column"), EXAMPLE_MISTAKES)
def test_an_examples_value_that_does_not_fit_is_pointed_at(tmp_path, line, code, column):
    text = model("where t.amount > 0", examples=example(line))
    found = [d for d in check(tmp_path, text) if d.severity is Severity.ERROR]
    assert codes(found) == [(code, 15, column)], found  # the example's line


def test_an_example_gives_a_list_a_map_and_no_threshold(tmp_path):
    text = model(
        "where t.method in $restricted_methods\n"
        "    and days_between(t.published_on, t.opened_on) < value_of($min_bid_days, t.method, 1)\n"
        "    and ($award_cap is null or t.amount > $award_cap)",
        examples=example(
            '$restricted_methods = ["询价"]',
            "$min_bid_days = {询价: 5}",
            "$award_cap = null",
            'given proc_tender { tender_id: "T1", township: "330122001", method: "询价",',
            "                    published_on: 2021-03-01, opened_on: 2021-03-06 }",
        ),
    )
    assert [d for d in check(tmp_path, text) if d.severity is Severity.ERROR] == []
    policies = tmp_path / "policies"
    checked = check_pack(policies).pack
    assert checked is not None
    [pinned] = checked.models["ENG09"].examples
    assert pinned.params == (
        ("restricted_methods", ("询价",)),
        ("min_bid_days", ParamMap([("询价", 5)])),
        ("award_cap", None),
    )


# ---- the language ----------------------------------------------------------------------------


def test_in_a_parameter_parses_apart_from_in_a_list():
    read = parse_expression("t.method not in $restricted_methods")
    assert isinstance(read, ast.InParam) and read.negated
    assert read.param.name == "restricted_methods"
    listed = parse_expression("t.method in ($restricted_methods)")
    assert isinstance(listed, ast.InList) and isinstance(listed.items[0], ast.ParamRef)


def test_the_checked_rule_names_the_parameters_it_reads(tmp_path):
    where = "where t.method in $restricted_methods and t.year > value_of($min_bid_days, 'x', 0)"
    policies = tmp_path / "policies"
    check(tmp_path, model(where))
    checked = check_pack(policies).pack
    assert checked is not None
    used = checked.models["ENG09"]
    assert used.parameters == frozenset({"restricted_methods", "min_bid_days"})
    [listed] = [n for n in walk(used.query.where) if isinstance(n, ir.InParam)]
    assert (listed.param.type, listed.negated) == (Type.STRING, False)


def test_the_formatter_writes_them_in_one_layout():
    text = model(
        "where t.method   not in  $restricted_methods",
        examples=example(
            '$restricted_methods = [ "询价" ,"邀请招标", ]', "$min_bid_days = {询价:5}"
        ),
    )
    formatted = format_text(text, "test.rule")
    assert "  where t.method not in $restricted_methods\n" in formatted
    assert '    $restricted_methods = ["询价", "邀请招标"]\n' in formatted
    assert "    $min_bid_days = {询价: 5}\n" in formatted
    assert format_text(formatted, "test.rule") == formatted
