"""compiled/ holds what really runs, per dialect; `oversight check` fails when it is stale."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlglot

from engine import api
from engine.compiler.compile import DIALECTS, parses_back
from engine.index.score import compile_score

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_compiled_folder_is_current(pack):
    stale = api.stale_compiled(pack, ROOT / "compiled")
    assert stale == [], "compiled/ is stale: run `oversight compile --all` and commit it"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_compiled_file_parses_back_in_its_dialect(dialect: str):
    files = sorted((ROOT / "compiled" / dialect).glob("*.sql"))
    assert len(files) == 36  # 35 models and the index
    for path in files:
        sql = path.read_text(encoding="utf-8")
        assert sql.startswith("-- ") and "do not edit" in sql
        assert parses_back(sql.split("\n", 4)[4], dialect), path


def test_a_changed_rule_makes_check_fail_and_says_what_to_run(tmp_path: Path):
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    shutil.copytree(ROOT / "compiled", tmp_path / "compiled")
    rule = tmp_path / "policies" / "models" / "finance" / "FIN01.rule"
    rule.write_text(rule.read_text(encoding="utf-8").replace("柜面现金", "柜台现金"), "utf-8")
    report = api.check(tmp_path / "policies", examples=False)
    [problem] = [d for d in report.diagnostics if d.code == "E710"]
    assert "FIN01.sql" in problem.message_zh and "oversight compile --all" in problem.hints[0]
    api.write_compiled(api.load_pack(tmp_path / "policies"), tmp_path / "compiled")
    assert not [
        d for d in api.check(tmp_path / "policies", examples=False).diagnostics if d.code == "E710"
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_index_compiles_for_every_dialect(pack, dialect: str):
    from engine.compiler.compile import Target
    from engine.index.score import Period, ScoreTables

    tables = ScoreTables("oversight_ledger", "sup_disposal", "town_staffing")
    query = compile_score(pack, Target(dialect), Period.parse("2021Q4"), tables)
    sql = query.sql(dialect=dialect, pretty=True)
    [statement] = sqlglot.parse(sql, read=dialect)
    assert statement is not None
