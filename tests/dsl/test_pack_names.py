"""pack.yaml names sources and columns as plain identifiers, as rule files write them (E605)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dsl.diagnostics import DiagnosticError
from dsl.pack import load_pack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pack_yaml(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    return tmp_path / "policies" / "pack.yaml"


def test_a_column_name_with_a_quote_is_refused_where_it_is_written(pack_yaml: Path):
    text = pack_yaml.read_text(encoding="utf-8")
    assert "      funding_source: {type: string}\n" in text
    pack_yaml.write_text(
        text.replace("      funding_source:", '      "na\\"me":', 1), encoding="utf-8"
    )
    line = text[: text.index("      funding_source:")].count("\n") + 1
    with pytest.raises(DiagnosticError) as raised:
        load_pack(pack_yaml.parent)
    [problem] = raised.value.diagnostics
    assert problem.code == "E605"
    assert (problem.span.line, problem.span.column) == (line, 7)
    assert 'na"me' in problem.message_zh and "dr_project" in problem.message_en


def test_a_source_name_with_a_space_is_refused(pack_yaml: Path):
    text = pack_yaml.read_text(encoding="utf-8")
    pack_yaml.write_text(text.replace("  dr_project:\n", '  "dr project":\n', 1), "utf-8")
    with pytest.raises(DiagnosticError) as raised:
        load_pack(pack_yaml.parent)
    assert "E605" in [d.code for d in raised.value.diagnostics]


def test_a_key_that_is_not_a_column_is_refused(pack_yaml: Path):
    text = pack_yaml.read_text(encoding="utf-8")
    pack_yaml.write_text(text.replace("key: [project_id]", "key: [projct_id]", 1), "utf-8")
    with pytest.raises(DiagnosticError) as raised:
        load_pack(pack_yaml.parent)
    [problem] = raised.value.diagnostics
    assert problem.code == "E603" and "projct_id" in problem.message_en


def test_the_repository_pack_has_only_plain_names():
    pack = load_pack(ROOT / "policies")
    assert len(pack.sources) == 35
