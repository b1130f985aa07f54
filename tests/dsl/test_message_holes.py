"""Message holes that may be null: `{x ?? '文字'}`, and check's W320 for a hole without one.

A message goes to a township as written; a null value in it reads 空
("每月空元"). The rule says what to write instead, or `check` warns, naming
the hole (dsl/nullability.py says how it decides what may be null).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl import ast
from dsl.check import check_pack
from dsl.diagnostics import Diagnostic, Severity, render_human
from dsl.parser import parse_file

ROOT = Path(__file__).resolve().parents[2]

MODEL = """model TST01 "测试" {{
  domain   工程管理
  severity red
  status   草稿

  {body}

  key      {key}
  township {township}
  message  "{message}"
}}
"""


KEYS = {
    "dr_project": "project_id",
    "com_incentive": "incentive_id",
    "trade_contract": "contract_id",
    "fin_payment": "payment_id",
    "trade_tender": "tender_id",
}


def check(tmp_path: Path, pack_with, body: str, message: str, key: str = "", township: str = ""):
    """What `check` says of a pack holding one draft model whose query is `body`."""
    _, source, alias, *_ = body.split()
    key = key or f"{alias}.{KEYS[source]}"
    township = township or f"{alias}.township"
    text = MODEL.format(body=body, key=key, township=township, message=message)
    rule = tmp_path / "TST01.rule"
    rule.write_text(text, encoding="utf-8")
    return check_pack(pack_with(rule))


def null_holes(result) -> list[str]:
    """The holes W320 names, as written."""
    return [
        d.message_en.split("{", 1)[1].split("}")[0] for d in result.diagnostics if d.code == "W320"
    ]


# (what it shows, the query, the message): every hole named in `warns` gets a W320, no other.
CASES = [
    (
        "a column the contract may leave empty, not one it requires",
        "from dr_project p",
        "{p.status}{p.name}",
        ["p.status"],
    ),
    (
        "a column compared in where is there on the rows that raise a warning",
        'from dr_project p\n  where p.status = "在建" and p.category in ("水利")',
        "{p.status}{p.category}",
        [],
    ),
    (
        "!= holds for a missing value, so it says nothing",
        'from dr_project p\n  where p.status != "终止"',
        "{p.status}",
        ["p.status"],
    ),
    (
        "a value is there after an `or` only when every branch says so",
        'from dr_project p\n  where (p.status = "在建" and p.category = "水利")'
        ' or p.status = "完工"',
        "{p.status}{p.category}",
        ["p.category"],
    ),
    (
        "what a compared value was computed from is there too",
        "from dr_project p\n  where add_months(p.approved_on, 6) < as_of"
        " and length(trim(p.funding_source)) > 2",
        "{p.approved_on}{p.funding_source}",
        [],
    ),
    (
        "not blank(x) and is not null",
        "from dr_project p\n  where not blank(p.status) and p.category is not null",
        "{p.status}{p.category}",
        [],
    ),
    (
        "a left-joined source's columns may be null, even required ones",
        "from com_incentive i\n  left join com_agreement g on g.agreement_id = i.agreement_id",
        "{g.signed_on}{i.paid_on}",
        ["g.signed_on"],
    ),
    (
        "unless where compares them",
        "from com_incentive i\n  left join com_agreement g on g.agreement_id = i.agreement_id\n"
        "  where g.signed_on > i.paid_on",
        "{g.signed_on}",
        [],
    ),
    (
        "an inner join's condition, like where",
        "from trade_contract c\n  join dr_project p on p.project_id = c.project_id",
        "{c.project_id}{c.tender_id}",
        ["c.tender_id"],
    ),
    (
        "a shared definition that holds: its compared arguments are there",
        "from fin_payment f\n  where in_official_circle(f.payee_code, f.township)",
        "{f.payee_code}{f.payee_name}",
        ["f.payee_name"],
    ),
    (
        "township_name writes the code itself for a code it doesn't know",
        "from dr_project p",
        "{township_name(p.township)}",
        [],
    ),
    (
        "coalesce is null only when every argument is; if when the branch taken may be",
        "from dr_project p",
        "{coalesce(p.status, p.category)}{coalesce(p.status, '未填')}"
        "{if(blank(p.status), '无', p.status)}{if(p.investment > 1, p.status, '无')}",
        ["coalesce(p.status, p.category)", "if(p.investment > 1, p.status, '无')"],
    ),
    (
        "a default after ?? is what a null writes, formatted holes too",
        "from dr_project p",
        "{p.status ?? '未填'}{wan(p.investment)}{wan(p.investment) ?? '未填'}",
        [],
    ),
    (
        "workdays counts days: 0, not null, between missing dates, so it shows nothing",
        "from trade_tender t\n  where workdays(t.bid_deadline_on, as_of) >= 0",
        "{t.bid_deadline_on}{workdays(t.bid_deadline_on, as_of)}",
        ["t.bid_deadline_on"],
    ),
    (
        "division: null when the divisor may be 0",
        "from dr_project p",
        "{p.investment / 2}{p.investment / $tender_threshold}",
        ["p.investment / $tender_threshold"],
    ),
    (
        "a subquery may find no rows: min and max are then null, count and sum are not",
        "from dr_project p\n  let first = (from trade_tender t where t.project_id = p.project_id"
        " select min(t.published_on))\n"
        "  let n = (from trade_tender t where t.project_id = p.project_id select count(*))",
        "{first}{n}",
        ["first"],
    ),
]


@pytest.mark.parametrize(
    ("body", "message", "warns"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_which_holes_may_be_null(tmp_path: Path, pack_with, body: str, message: str, warns):
    result = check(tmp_path, pack_with, body, message)
    assert result.pack is not None, [d.message for d in result.diagnostics]
    assert null_holes(result) == warns


def test_in_a_group_a_key_part_and_a_count_are_there_min_over_the_group_only_if_its_value_is(
    tmp_path: Path, pack_with
):
    body = "from fin_subsidy s\n  group by s.recipient_id, s.period"
    message = "{s.period}{count(*)}{sum(s.amount)}{min(s.paid_on)}{min(s.village)}"
    result = check(
        tmp_path, pack_with, body, message, "s.recipient_id, s.period", "min(s.township)"
    )
    assert result.pack is not None, [d.message for d in result.diagnostics]
    assert null_holes(result) == ["min(s.village)"]


def test_the_warning_names_the_hole_and_says_how_to_write_a_default(tmp_path: Path, pack_with):
    body = "from com_incentive i\n  left join com_agreement g on g.agreement_id = i.agreement_id"
    result = check(
        tmp_path, pack_with, body, "协议签订日期：{g.signed_on}，企业：{g.enterprise_name}"
    )
    assert result.pack is not None  # a warning: check still passes
    assert [d.severity for d in result.diagnostics] == [Severity.WARNING] * 2
    shown = render_human(result.diagnostics, result.sources)
    assert shown.splitlines()[:4] == [
        "pack/models/TST01.rule:11:20: warning[W320]: "
        "消息中的 {g.signed_on} 可能为空，为空时会写成“空”"
        " / the message hole {g.signed_on} may be null, and would then read 空",
        ' 11 |   message  "协议签订日期：{g.signed_on}，企业：{g.enterprise_name}"',
        "    |" + " " * 27 + "^" * 13,  # under the braces, after seven wide characters
        "  = 提示 hint: 写明为空时写什么，例如 {g.signed_on ?? '无'}；"
        "{… ?? '文字'} 在值为空时写这段文字"
        " / say what to write when it is null, e.g. {g.signed_on ?? '无'}",
    ]
    assert "{coalesce(g.enterprise_name, '未填')}" in shown  # text: coalesce reads as well


def test_the_policies_say_what_to_write_for_every_hole_that_may_be_null():
    result = check_pack(ROOT / "policies", examples=False)
    assert result.pack is not None
    assert [d.message for d in result.diagnostics if d.code == "W320"] == []


# ---- the default's syntax


def _holes(message: str) -> list[ast.TemplateHole]:
    rule = parse_file("a.rule", f'model M {{ message "{message}" }}')
    [model] = rule.items
    [clause] = [c for c in model.clauses if c.kind == "message"]
    return [p for p in clause.value.parts if isinstance(p, ast.TemplateHole)]


def test_the_text_after_question_marks_is_the_default_and_not_part_of_the_value():
    [hole] = _holes("签订于{g.signed_on ?? '无'}")
    assert (hole.text, hole.default) == ("g.signed_on", "无")
    assert isinstance(hole.expr, ast.ColumnRef)


def test_question_marks_inside_quotes_are_text():
    [hole] = _holes("{coalesce(p.status, '??') ?? '未填'}")
    assert (hole.text, hole.default) == ("coalesce(p.status, '??')", "未填")
    [plain] = _holes("{coalesce(p.status, '??')}")
    assert plain.default is None


def test_the_default_must_be_a_quoted_text():
    with pytest.raises(Exception) as raised:
        _holes("{p.status ?? 0}")
    [problem] = raised.value.diagnostics
    assert isinstance(problem, Diagnostic)
    assert (problem.code, problem.span.column) == ("E107", 33)
