"""Commands that only compile or run models skip the inline examples, and lose nothing else.

`run`, `compile`, `score` and the others load the pack without its examples
(most of a rule file), so that a cold start stays short. What is left must
parse to the same models, with every remaining line and column where it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl.check import check_pack
from dsl.diagnostics import DiagnosticError
from dsl.parser import normalise_full_width, parse_file, without_examples

ROOT = Path(__file__).resolve().parents[2]

MODEL = """\
model ENG91 "示例" {
  domain   工程管理
  severity red
  from dr_project p   # the word example in a comment: { is not a brace here
  let example = p.project_id
  where p.name != "example \\"{\\" }"
  key      example
  township p.township
  message  "项目{p.name}"

  example "必须预警 { 带括号 }" {
    as_of 2021-09-30
    given dr_project { project_id: "P1", name: "example }", township: "330122001" }
    expect "P1"
  }
  example "近似" {
    as_of 2021-09-30
    expect none
  }
}
"""


def test_example_blocks_are_blanked_and_everything_else_keeps_its_place():
    text = normalise_full_width(MODEL)
    kept = without_examples(text)

    assert len(kept) == len(text)
    assert kept.count("\n") == text.count("\n")
    assert "expect" not in kept and "given" not in kept and "近似" not in kept
    # The word in a comment, a let named example and a string holding braces all stay.
    for line in MODEL.splitlines()[:9]:
        assert line in kept
    assert kept.rstrip().endswith("}")


def test_the_model_without_examples_is_the_model_with_them_less_its_examples():
    with_examples = parse_file("t.rule", MODEL)
    without = parse_file("t.rule", MODEL, examples=False)

    (model,) = with_examples.items
    (bare,) = without.items
    assert [c.kind for c in model.clauses if c.kind != "example"] == [c.kind for c in bare.clauses]
    assert sum(c.kind == "example" for c in model.clauses) == 2


def test_an_error_after_the_examples_is_reported_at_the_same_line_and_column(
    tmp_path: Path, pack_with
):
    """The blanked examples keep their lines: a misspelt column below them is found in place."""
    second = (
        'model ENG92 "第二个" {\n  domain 工程管理\n  severity red\n  from dr_project p\n'
        "  where p.investmnt > 1\n  key p.project_id\n  township p.township\n"
        '  message "x"\n}\n'
    )
    rule = tmp_path / "ENG91.rule"
    rule.write_text(MODEL + second, encoding="utf-8")
    pack = pack_with(rule)
    reported = {}
    for examples in (True, False):
        result = check_pack(pack, examples=examples)
        reported[examples] = [
            (d.span.line, d.span.column) for d in result.diagnostics if d.code == "E201"
        ]
    assert reported[True] == reported[False] == [(MODEL.count("\n") + 5, 11)]  # p.investmnt


def _diagnostics(text: str, examples: bool) -> list[dict]:
    with pytest.raises(DiagnosticError) as caught:
        parse_file("t.rule", text, examples=examples)
    return [d.to_json() for d in caught.value.diagnostics]


def test_a_file_that_does_not_parse_is_reported_as_check_reports_it():
    """An example whose braces never close swallows what follows: report from the whole text."""
    broken = MODEL.replace('expect "P1"\n  }\n', 'expect "P1"\n')
    assert _diagnostics(broken, examples=False) == _diagnostics(broken, examples=True)


def test_the_pack_without_examples_has_the_same_models_and_revisions():
    full = check_pack(ROOT / "policies")
    bare = check_pack(ROOT / "policies", examples=False)

    assert full.pack is not None and bare.pack is not None
    assert not bare.diagnostics
    revisions = {m.id: m.revision for m in full.pack.models.values()}
    assert revisions == {m.id: m.revision for m in bare.pack.models.values()}
    assert all(m.examples for m in full.pack.models.values() if m.status == "active")
    assert not any(m.examples for m in bare.pack.models.values())
