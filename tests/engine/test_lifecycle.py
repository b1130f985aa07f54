"""A pack's life in git: a changed rule needs a new version and a changelog; diff previews it."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from adapters.duckdb import DuckDBWarehouse
from dsl.pack import load_pack
from engine.cli import main
from engine.schema import source_schema

ROOT = Path(__file__).resolve().parents[2]
VERSION = load_pack(ROOT / "policies").version
MAJOR_MINOR, _, PATCH = VERSION.rpartition(".")
NEXT = f"{MAJOR_MINOR}.{int(PATCH) + 1}"  # the version a one-line fix would get


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A policy repository: policies/ committed once."""
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.org", "add", "policies")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "pack")
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def check_against(repo: Path, capsys) -> tuple[int, str]:
    code = main(
        ["check", "--policies", str(repo / "policies"), "--no-examples", "--against", "HEAD"]
    )
    return code, capsys.readouterr().err


def test_an_unchanged_pack_passes(repo: Path, capsys):
    assert check_against(repo, capsys)[0] == 0


def test_editing_a_model_without_bumping_the_version_fails(repo: Path, capsys):
    edit(repo / "policies/models/finance/FIN01.rule", '"柜面现金", "ATM"', '"柜面现金"')
    code, err = check_against(repo, capsys)
    assert code == 2
    assert "error[E720]" in err and "FIN01" in err and NEXT in err
    assert "error[E721]" in err


def test_bumping_the_version_and_the_changelog_passes(repo: Path, capsys):
    edit(repo / "policies/models/finance/FIN01.rule", '"柜面现金", "ATM"', '"柜面现金"')
    edit(repo / "policies/pack.yaml", f"version: {VERSION}", f"version: {NEXT}")
    edit(
        repo / "policies/CHANGELOG.md",
        f"## {VERSION}",
        f"## {NEXT}\n\n- FIN01 只看柜面现金。\n\n## {VERSION}",
    )
    assert check_against(repo, capsys)[0] == 0


def test_rewording_a_message_is_a_change(repo: Path, capsys):
    edit(repo / "policies/models/engineering/ENG08.rule", "中标方与本乡镇", "中标方和本乡镇")
    code, err = check_against(repo, capsys)
    assert code == 2
    assert "error[E720]" in err and "ENG08" in err


def test_layout_and_comments_are_not_changes(repo: Path, capsys):
    edit(repo / "policies/models/finance/FIN01.rule", "model FIN01", "# 一句说明\nmodel  FIN01")
    assert check_against(repo, capsys)[0] == 0


def test_a_changed_parameter_default_needs_a_new_version(repo: Path, capsys):
    edit(repo / "policies/pack.yaml", "default: 4000000", "default: 3000000")
    code, err = check_against(repo, capsys)
    assert code == 2 and "$tender_threshold" in err


def test_what_messages_write_for_a_null_is_a_change_too(repo: Path, capsys):
    pack_yaml = repo / "policies/pack.yaml"
    pack_yaml.write_text(pack_yaml.read_text("utf-8") + '\nmessages:\n  missing: "不详"\n', "utf-8")
    code, err = check_against(repo, capsys)
    assert code == 2 and "error[E720]" in err and "messages.missing" in err


def test_diff_previews_the_warnings_that_come_and_go(repo: Path, tmp_path: Path, pack, capsys):
    url = f"duckdb:///{tmp_path / 'county.duckdb'}"
    warehouse = DuckDBWarehouse(url)
    projects = [
        {
            "project_id": pid,
            "township": "330122102",
            "name": name,
            "investment": Decimal(amount),
            "approved_on": date(2021, 3, 1),
            "status": "在建",
        }
        for pid, name, amount in (("P1", "大项目", 5000000), ("P2", "中项目", 3500000))
    ]
    for name, rows in (("dr_project", projects), ("trade_tender", []), ("ref_township", [])):
        schema = source_schema(pack.pack.sources[name])
        warehouse.load(name, pa.Table.from_pylist(rows, schema=schema))
    warehouse.close()
    edit(repo / "policies/pack.yaml", "default: 4000000", "default: 3000000")
    code = main(
        [
            "diff",
            "--policies",
            str(repo / "policies"),
            "--against",
            "HEAD",
            "--as-of",
            "2021-12-31",
            "--warehouse",
            url,
            "--format",
            "json",
        ]
    )
    assert code == 0
    preview = json.loads(capsys.readouterr().out)
    assert preview["changes"]["parameters_changed"] == [
        {"name": "tender_threshold", "old": "4000000", "new": "3000000"}
    ]
    assert [(w["model_id"], w["warning_key"]) for w in preview["warnings_appear"]] == [
        ("ENG01", "P2")
    ]
    assert preview["warnings_disappear"] == []


def test_diff_shows_the_sql_of_a_changed_model(repo: Path, capsys):
    edit(repo / "policies/models/finance/FIN01.rule", '"柜面现金", "ATM"', '"柜面现金"')
    assert main(["diff", "--policies", str(repo / "policies"), "--against", "HEAD"]) == 0
    out = capsys.readouterr().out
    assert "修改模型 changed: FIN01" in out
    assert """-    AND "t"."channel" IN ('柜面现金', 'ATM')""" in out
    assert """+    AND "t"."channel" IN ('柜面现金')""" in out


def test_an_unknown_revision_is_a_clear_error(repo: Path, capsys):
    code = main(
        [
            "check",
            "--policies",
            str(repo / "policies"),
            "--no-examples",
            "--against",
            "no-such-branch",
        ]
    )
    assert code == 2 and "E730" in capsys.readouterr().err
