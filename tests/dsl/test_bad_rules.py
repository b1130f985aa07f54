"""Golden tests: the mistakes policy staff make, and exactly what `oversight check` says.

Each case is a pair of files in tests/dsl/bad_rules/:

- `NN_short_name.rule`, one realistic mistake. It starts with a comment saying
  what the mistake is, and lists every diagnostic it must produce, one line each:
  `# expect: CODE LINE:COL`.
- `NN_short_name.expected`, the exact text `oversight check --no-examples`
  prints for it (the diagnostics, without the summary line), the file being
  checked as `pack/models/NN_short_name.rule` next to the repository's
  pack.yaml and shared definitions.

To add a case, write the .rule file with its `# expect:` lines, create the
golden, and read it as a policy writer would: an unclear message or a caret
in the wrong place is a bug. After an intended change of wording, refresh every
golden with one command and review the diff by eye:

    OVERSIGHT_UPDATE_GOLDENS=1 python -m pytest tests/dsl/test_bad_rules.py

A case in KNOWN_BUGS fails today because of a bug in the checker or the
parser. Its golden holds what oversight should print, and the command above
leaves it alone. It is marked xfail(strict=True): once the bug is fixed the
case passes, pytest reports that as a failure, and the entry is removed from
KNOWN_BUGS.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from dsl.check import check_pack
from dsl.diagnostics import Diagnostic, render_human
from engine.cli import main
from engine.exit_codes import ExitCode

BAD_RULES = Path(__file__).resolve().parent / "bad_rules"
PackBuilder = Callable[[Path], Path]  # the pack_with fixture of conftest.py
UPDATE = os.environ.get("OVERSIGHT_UPDATE_GOLDENS") == "1"
EXPECT = re.compile(r"^# expect: ([EW]\d{3}) (\d+):(\d+)[ \t]*$", re.MULTILINE)
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")

KNOWN_BUGS: dict[str, str] = {}


def _cases() -> list[object]:
    cases = []
    for rule in sorted(BAD_RULES.glob("*.rule")):
        reason = KNOWN_BUGS.get(rule.stem)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        cases.append(pytest.param(rule, id=rule.stem, marks=marks))
    return cases


CASES = _cases()


def expected_diagnostics(rule: Path) -> Counter[tuple[str, int, int]]:
    """The `# expect: CODE LINE:COL` lines of a case, as (code, line, column)."""
    text = rule.read_text(encoding="utf-8")
    return Counter((code, int(line), int(col)) for code, line, col in EXPECT.findall(text))


def located(diagnostics: list[Diagnostic]) -> Counter[tuple[str, int, int]]:
    return Counter((d.code, d.span.line, d.span.column) for d in diagnostics if d.span)


def test_every_case_is_complete():
    rules = {p.stem for p in BAD_RULES.glob("*.rule")}
    goldens = {p.stem for p in BAD_RULES.glob("*.expected")}
    assert len(rules) >= 20
    assert goldens - rules == set(), "a golden without its rule file"
    if not UPDATE:
        assert rules - goldens == set(), "a rule file without its golden: see the docstring"
    numbers = [stem.split("_", 1)[0] for stem in rules]
    assert all(re.fullmatch(r"\d\d", n) for n in numbers), "name cases NN_short_name"
    assert len(set(numbers)) == len(numbers), "two cases share a number"
    assert set(KNOWN_BUGS) <= rules
    for stem in sorted(rules):
        rule = BAD_RULES / f"{stem}.rule"
        assert rule.read_text(encoding="utf-8").startswith("# "), f"{stem}: say the mistake first"
        assert expected_diagnostics(rule), f"{stem}: no '# expect: CODE LINE:COL' line"


@pytest.mark.parametrize("rule", CASES)
def test_bad_rule(rule: Path, pack_with: PackBuilder):
    result = check_pack(pack_with(rule))
    shown = f"pack/models/{rule.name}"

    # (a) exactly the expected diagnostics, by code and position
    assert result.pack is None
    assert all(d.span is not None and d.span.file == shown for d in result.diagnostics)
    assert located(result.diagnostics) == expected_diagnostics(rule)

    # (b) in both languages, with something to say
    for d in result.diagnostics:
        assert re.fullmatch(r"[EW]\d{3}", d.code)
        assert CJK.search(d.message_zh), f"{d.code}: no Chinese in {d.message_zh!r}"
        assert re.search(r"[A-Za-z]{2}", d.message_en), f"{d.code}: no English"
        assert d.message.strip(" /")
        assert all(hint.strip() for hint in d.hints)

    # (c) word for word, caret for caret
    rendered = render_human(result.diagnostics, result.sources) + "\n"
    golden = rule.with_suffix(".expected")
    refresh = UPDATE and rule.stem not in KNOWN_BUGS  # those goldens say what should be
    if refresh and (not golden.exists() or golden.read_text(encoding="utf-8") != rendered):
        golden.write_text(rendered, encoding="utf-8")
    assert golden.exists(), f"no golden yet: OVERSIGHT_UPDATE_GOLDENS=1 pytest {__file__}"
    assert rendered == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "rule", [pytest.param(r, id=r.stem) for r in sorted(BAD_RULES.glob("*.rule"))]
)
def test_the_command_line_reports_without_a_traceback(
    rule: Path, pack_with: PackBuilder, capsys: pytest.CaptureFixture[str]
):
    root = pack_with(rule)
    code = main(["check", "--policies", str(root), "--no-examples"])
    out, err = capsys.readouterr()
    assert code == ExitCode.INVALID_POLICY
    assert "Traceback" not in out + err
    assert "internal error" not in err
    if rule.stem not in KNOWN_BUGS:  # what they print is wrong today, but no traceback either
        golden = rule.with_suffix(".expected").read_text(encoding="utf-8")
        expected = expected_diagnostics(rule)
        count = sum(n for (code, *_), n in expected.items() if code.startswith("E"))
        assert err == f"{golden}✗ 发现 {count} 个问题 / {count} problems found\n"


def test_json_output_names_code_span_and_hints(
    pack_with: PackBuilder, capsys: pytest.CaptureFixture[str]
):
    root = pack_with(BAD_RULES / "01_misspelt_column.rule")
    code = main(["check", "--policies", str(root), "--no-examples", "--format", "json"])
    captured = capsys.readouterr()
    assert code == ExitCode.INVALID_POLICY
    assert json.loads(captured.err) == [
        {
            "code": "E201",
            "message_zh": "dr_project 没有列「projct_id」",
            "message_en": "dr_project has no column 'projct_id'",
            "span": {
                "file": "pack/models/01_misspelt_column.rule",
                "line": 11,
                "column": 14,
                "end_line": 11,
                "end_column": 23,
            },
            "hints": ["是否要写 project_id？ / did you mean project_id?"],
            "severity": "error",
        }
    ]
    assert json.loads(captured.out) == {
        "ok": False,
        "models": 0,
        "examples": 0,
        "examples_passed": 0,
        "models_from_cache": 0,
    }
