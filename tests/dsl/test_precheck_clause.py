"""`precheck no`, `pending` rows and `expect … changed`: written, formatted and checked.

A model says whether the operation wing's pre-check runs it, in its header
like `status`. An example whose `pending` rows are the records waiting for
approval is a pre-check of them against its `given` rows (run by
engine/policy/examples.py; here only how it is written and checked).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dsl import ast
from dsl.check import check_pack
from dsl.format import format_text
from dsl.parser import parse_file
from dsl.revision import revision_of

PackBuilder = Callable[[Path], Path]  # the pack_with fixture of conftest.py

HEADER = """model ENG01 "应招未招" {
  domain   工程管理
  severity red
"""
BODY = """
  from dr_project p
  where p.investment >= $tender_threshold
    and add_months(p.approved_on, $tender_grace_months) < as_of

  key      p.project_id
  township p.township
  message  "项目{p.name}立项已超6个月，尚未招标，请核查。"

  example "立项近7个月未招标" {
    as_of 2021-11-15
    given dr_project { project_id: "P1", township: "330122102", name: "农村自来水工程",
                       investment: 88320000, approved_on: 2021-04-20 }
    expect "P1"
  }

  example "立项刚满6个月" {
    as_of 2021-10-20
    given dr_project { project_id: "P1", township: "330122102", name: "农村自来水工程",
                       investment: 88320000, approved_on: 2021-04-20 }
    expect none
  }
}
"""


def model_with(header: str) -> str:
    """ENG01 with `header` after its severity line."""
    return HEADER + header + BODY


def checked(tmp_path: Path, pack_with: PackBuilder, text: str):
    rule = tmp_path / "ENG01.rule"
    rule.write_text(text, encoding="utf-8")
    return check_pack(pack_with(rule))


def test_precheck_no_is_a_header_clause_and_the_model_says_it(
    tmp_path: Path, pack_with: PackBuilder
):
    text = model_with("  precheck no\n")
    [model] = parse_file("ENG01.rule", text).items
    assert isinstance(model, ast.Model)
    clause = next(c for c in model.clauses if c.kind == "precheck")
    assert clause.value[0] == "no"

    result = checked(tmp_path, pack_with, text)
    assert result.diagnostics == []
    assert result.pack.models["ENG01"].precheck is False


@pytest.mark.parametrize("header", ["", "  precheck yes\n"], ids=["unsaid", "yes"])
def test_a_model_takes_part_unless_it_says_precheck_no(
    header: str, tmp_path: Path, pack_with: PackBuilder
):
    result = checked(tmp_path, pack_with, model_with(header))
    assert result.diagnostics == []
    assert result.pack.models["ENG01"].precheck is True


def test_saying_precheck_changes_the_revision_as_status_does():
    """A rule's header is part of what it says: the pack's version must move with it."""

    def revision(header: str) -> str:
        [model] = parse_file("ENG01.rule", model_with(header)).items
        return revision_of(model)

    assert revision("  precheck no\n") != revision("")
    assert revision("  status 草稿\n") != revision("")
    # A comment is not what a rule says.
    assert revision("  # 审批时无从判断\n  precheck no\n") == revision("  precheck no\n")


@pytest.mark.parametrize("value", ["否", "false", "maybe"])
def test_a_value_other_than_yes_or_no_is_E410_with_a_hint(
    value: str, tmp_path: Path, pack_with: PackBuilder
):
    result = checked(tmp_path, pack_with, model_with(f"  precheck {value}\n"))
    [problem] = result.diagnostics
    assert problem.code == "E410"
    assert problem.message_zh == f"precheck 只能写 yes 或 no，这里写的是「{value}」"
    assert problem.message_en == f"precheck is yes or no, not {value!r}"
    assert (problem.span.line, problem.span.column) == (4, 12)
    assert "no(不参加预检)" in problem.hints[0]
    assert result.pack is None


def test_precheck_is_said_once(tmp_path: Path, pack_with: PackBuilder):
    result = checked(tmp_path, pack_with, model_with("  precheck no\n  precheck yes\n"))
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("E401", 5)]


def test_the_formatter_lines_precheck_up_with_the_other_header_clauses():
    messy = (
        'model ENG01 "应招未招" { domain 工程管理 severity red\n'
        "  # 审批时无从判断\n"
        "precheck   no from dr_project p key p.project_id township p.township "
        'example "e" { as_of 2021-11-15 given dr_project { project_id: "P0" } '
        'pending dr_project { project_id: "P1", township: "330122102" } '
        'expect "P1" changed message "m" } }'
    )
    assert format_text(messy) == (
        'model ENG01 "应招未招" {\n'
        "  domain   工程管理\n"
        "  severity red\n"
        "  # 审批时无从判断\n"
        "  precheck no\n"
        "\n"
        "  from dr_project p\n"
        "\n"
        "  key      p.project_id\n"
        "  township p.township\n"
        "\n"
        '  example "e" {\n'
        "    as_of 2021-11-15\n"
        '    given dr_project { project_id: "P0" }\n'
        '    pending dr_project { project_id: "P1", township: "330122102" }\n'
        '    expect "P1" changed\n'
        '      message "m"\n'
        "  }\n"
        "}\n"
    )


def test_pending_rows_and_changed_are_read_into_the_example():
    text = (
        'model M { example "e" { as_of 2021-12-31 given fin_subsidy { subsidy_id: "S1" } '
        'pending fin_subsidy { subsidy_id: "S2", amount: 99 } '
        'expect "6228480001" changed township "330122103" } }'
    )
    [model] = parse_file("m.rule", text).items
    example = model.clauses[0].value
    assert [r.source for r in example.given] == ["fin_subsidy"]
    assert [(r.source, [f[0] for f in r.fields]) for r in example.pending] == [
        ("fin_subsidy", ["subsidy_id", "amount"])
    ]
    [expectation] = example.expect
    assert (expectation.key, expectation.changed, expectation.township) == (
        "6228480001",
        True,
        "330122103",
    )


def test_a_checked_pre_check_example_keeps_its_pending_rows_apart(pack):
    """The repository's FUN06: three subsidies stored, a fourth pending, the warning changed."""
    [example] = [
        e for e in pack.models["FUN06"].examples if e.title.startswith("预检：账户已收到三名")
    ]
    assert example.pending_source == "fin_subsidy"
    assert [dict(values)["subsidy_id"] for _, values in example.rows] == ["S1", "S2", "S3"]
    assert [dict(values)["subsidy_id"] for _, values in example.pending] == ["S4"]
    [expectation] = example.expect
    assert expectation.changed


def test_the_models_that_only_time_can_trip_say_precheck_no(pack):
    assert sorted(m.id for m in pack.models.values() if not m.precheck) == [
        "AST04",
        "ENG01",
        "FUN05",
        "HOU04",
    ]
