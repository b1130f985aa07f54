"""`advice "…"` and `basis "…"`: what a township should fix, and the law a model rests on.

They are written after the message, read by people (`oversight explain`) and by the
recommendation drafts, never by the SQL: so, like examples, they leave a model's
revision as it is. Each is written at most once and is never empty.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from dsl import ast
from dsl.check import check_pack
from dsl.diagnostics import DiagnosticError
from dsl.format import format_text
from dsl.parser import parse_file
from dsl.revision import revision_of
from engine import api
from engine.cli import main
from engine.exit_codes import ExitCode

PackBuilder = Callable[[Path], Path]  # the pack_with fixture of conftest.py

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"

ADVICE = "建立工程项目招标台账，逐月跟踪招标进度，由分管领导督办。"
BASIS = "《中华人民共和国招标投标法》第三条"

HEAD = """model ENG01 "应招未招" {
  domain   工程管理
  severity red
  status   草稿

  from dr_project p
  where p.investment >= $tender_threshold

  key      p.project_id
  township p.township
  message  "项目{p.name}尚未招标，请核查。"
"""


def model_with(prose: str) -> str:
    """The draft ENG01 with `prose` (advice/basis lines) after its message."""
    return HEAD + prose + "}\n"


def checked(tmp_path: Path, pack_with: PackBuilder, text: str):
    rule = tmp_path / "ENG01.rule"
    rule.write_text(text, encoding="utf-8")
    return check_pack(pack_with(rule))


def test_advice_and_basis_parse_check_and_reach_the_model(tmp_path: Path, pack_with: PackBuilder):
    text = model_with(f'\n  advice   "{ADVICE}"\n  basis    "{BASIS}"\n')
    [model] = parse_file("ENG01.rule", text).items
    assert isinstance(model, ast.Model)
    kinds = [c.kind for c in model.clauses]
    assert kinds[-2:] == ["advice", "basis"]

    result = checked(tmp_path, pack_with, text)
    assert result.diagnostics == []
    checked_model = result.pack.models["ENG01"]
    assert (checked_model.advice, checked_model.basis) == (ADVICE, BASIS)


def test_a_model_without_them_has_none(tmp_path: Path, pack_with: PackBuilder):
    result = checked(tmp_path, pack_with, model_with(""))
    assert result.diagnostics == []
    assert (result.pack.models["ENG01"].advice, result.pack.models["ENG01"].basis) == (None, None)


def test_fmt_lines_them_up_as_a_group_of_their_own_after_the_message():
    # Unpadded, badly indented and without the blank line that sets them apart.
    written = HEAD + f'  advice "{ADVICE}"\n     basis "{BASIS}"\n}}\n'
    formatted = format_text(written, "ENG01.rule")
    assert formatted == model_with(f'\n  advice   "{ADVICE}"\n  basis    "{BASIS}"\n')
    assert format_text(formatted, "ENG01.rule") == formatted


def test_advice_and_basis_leave_the_revision_as_it_is():
    def revision(text: str) -> str:
        [model] = parse_file("ENG01.rule", text).items
        return revision_of(model)

    bare = revision(model_with(""))
    with_prose = revision(model_with(f'  advice   "{ADVICE}"\n  basis    "{BASIS}"\n'))
    reworded = revision(model_with('  advice   "另一种说法。"\n  basis    "《另一部法规》"\n'))
    assert bare == with_prose == reworded
    # What the model raises still counts: a changed message is a new revision.
    assert revision(model_with("").replace("请核查", "请尽快核查")) != bare


@pytest.mark.parametrize("kind", ["advice", "basis"])
def test_each_is_written_at_most_once(kind: str, tmp_path: Path, pack_with: PackBuilder):
    text = model_with(f'  {kind} "一"\n  {kind} "二"\n')
    result = checked(tmp_path, pack_with, text)
    [problem] = result.diagnostics
    assert problem.code == "E401"
    assert problem.message_zh == f"模型中 {kind} 只能写一次"
    assert (problem.span.line, problem.span.column) == (13, 3)
    assert result.pack is None  # a pack with a mistake is not handed on


@pytest.mark.parametrize(("kind", "written"), [("advice", '""'), ("basis", '"   "')])
def test_an_empty_one_is_refused(kind: str, written: str, tmp_path: Path, pack_with: PackBuilder):
    result = checked(tmp_path, pack_with, model_with(f"  {kind} {written}\n"))
    [problem] = result.diagnostics
    assert problem.code == "E470"
    assert problem.message_zh.startswith(f"{kind} 不能是空的")
    assert problem.message_en.startswith(f"'{kind}' cannot be empty")
    assert (problem.span.line, problem.span.column) == (12, len(kind) + 4)
    assert any(f'{kind} "' in hint for hint in problem.hints)


@pytest.mark.parametrize(("typed", "meant"), [("advise", "advice"), ("basic", "basis")])
def test_a_misspelt_keyword_gets_a_hint(typed: str, meant: str):
    with pytest.raises(DiagnosticError) as caught:
        parse_file("ENG01.rule", model_with(f'  {typed} "建立台账。"\n'))
    [problem] = caught.value.diagnostics
    assert problem.code == "E102"
    assert (problem.span.line, problem.span.column) == (12, 3)
    assert f"是否要写 {meant}？ / did you mean {meant}?" in problem.hints


def test_every_policy_model_carries_advice_and_basis():
    pack = api.load_pack(POLICIES)
    assert len(pack.models) == 35
    lacking = sorted(m.id for m in pack.models.values() if not (m.advice and m.basis))
    assert lacking == []
    for model in pack.models.values():
        # One or two sentences of advice; a basis names laws in 《…》.
        assert 1 <= len(re.findall(r"[。；]", model.advice or "")) <= 3, model.id
        assert (model.basis or "").startswith("《"), model.id


def test_explain_shows_them(capsys: pytest.CaptureFixture[str]):
    assert main(["explain", "HOU01", "--policies", str(POLICIES)]) == ExitCode.OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[3] == (
        "  整改建议 advice: 审批前核查申请户已登记的宅基地，落实“一户一宅”，"
        "由村和乡镇经办人分别签字负责；已批准的多宅依法处理。"
    )
    assert lines[4] == "  依据 basis: 《中华人民共和国土地管理法》第六十二条"
    assert main(["explain", "HOU01", "--policies", str(POLICIES), "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["basis"] == "《中华人民共和国土地管理法》第六十二条"
    assert info["advice"].startswith("审批前核查申请户已登记的宅基地")
