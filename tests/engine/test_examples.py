"""Every model's inline examples pass on DuckDB; and an example that is wrong fails loudly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dsl import ir
from engine import api
from engine.examples import run_examples

ROOT = Path(__file__).resolve().parents[2]
MODEL_IDS = sorted(p.stem for p in (ROOT / "policies" / "models").rglob("*.rule"))


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_examples_of(model_id: str, pack: ir.CheckedPack):
    model = pack.models[model_id]
    outcomes = run_examples(pack, [model])
    assert any(e.expect for e in model.examples), "a must-fire example"
    assert any(not e.expect for e in model.examples), "a near-miss example"
    failures = {o.title: [d.message for d in o.problems] for o in outcomes if not o.passed}
    assert failures == {}


def _copy_pack(tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    shutil.copytree(ROOT / "policies", target)
    return target


def test_a_wrong_expectation_fails_with_what_was_expected_and_got(tmp_path: Path):
    pack_dir = _copy_pack(tmp_path)
    rule = pack_dir / "models" / "engineering" / "ENG01.rule"
    text = rule.read_text(encoding="utf-8")
    # The near-miss at exactly six months now claims a warning: the example must fail.
    broken = text.replace("    expect none\n", '    expect "P1"\n', 1)
    assert broken != text
    rule.write_text(broken, encoding="utf-8")
    report = api.check(pack_dir)
    assert not report.ok
    codes = [(d.code, d.span.line if d.span else None) for d in report.diagnostics]
    assert codes == [("E510", 24)]
    assert "期望 P1，实际得到 无预警" in report.diagnostics[0].message_zh


def test_a_wrong_message_fails_and_shows_both(tmp_path: Path):
    pack_dir = _copy_pack(tmp_path)
    rule = pack_dir / "models" / "engineering" / "ENG01.rule"
    text = rule.read_text(encoding="utf-8")
    rule.write_text(text.replace("尚未招标，是否存在", "尚未招标,是否存在", 1), encoding="utf-8")
    report = api.check(pack_dir)
    # Both examples that expect a message now get another one, each said once.
    problem, other = report.diagnostics
    assert (problem.code, other.code) == ("E512", "E512")
    assert any(h.startswith("实际 got: 投资额为8832万元") for h in problem.hints)
    assert any(h.startswith("实际 got: 投资额为950万元的横村镇农民") for h in other.hints)
