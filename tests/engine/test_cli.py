"""The command line as schedulers and CI see it: exit codes, stdout payload, stderr diagnostics."""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from engine.cli import main
from engine.exit_codes import ExitCode

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", target)
    return target


def test_check_passes_on_the_repository_pack(capsys):
    assert main(["check", "--policies", str(ROOT / "policies")]) == ExitCode.OK
    assert "个示例通过" in capsys.readouterr().out


def test_a_misspelt_column_points_at_it_with_a_suggestion(pack_copy: Path, capsys):
    rule = pack_copy / "models" / "engineering" / "ENG01.rule"
    text = rule.read_text(encoding="utf-8")
    rule.write_text(text.replace("t.project_id = p.project_id", "t.project_id = p.projct_id"))
    code = main(["check", "--policies", str(pack_copy), "--no-examples"])
    err = capsys.readouterr().err
    assert code == ExitCode.INVALID_POLICY
    source_lines = text.splitlines()
    line = next(i for i, t in enumerate(source_lines, 1) if "p.project_id)" in t)
    column = source_lines[line - 1].index("p.project_id)") + len("p.") + 1
    assert f"ENG01.rule:{line}:{column}: error[E201]" in err
    shown = err.splitlines()
    at = shown.index(next(t for t in shown if t.endswith("t.project_id = p.projct_id)")))
    assert shown[at + 1].endswith(" " * (column - 1) + "^" * len("projct_id"))
    assert "did you mean project_id?" in err
    assert "Traceback" not in err


def test_check_json_is_a_list_of_diagnostics(pack_copy: Path, capsys):
    rule = pack_copy / "models" / "engineering" / "ENG01.rule"
    rule.write_text(
        rule.read_text(encoding="utf-8").replace("$tender_threshold", "$tender_treshold")
    )
    code = main(["check", "--policies", str(pack_copy), "--format", "json", "--no-examples"])
    captured = capsys.readouterr()
    assert code == ExitCode.INVALID_POLICY
    [problem] = json.loads(captured.err)
    assert problem["code"] == "E203"
    assert problem["span"]["line"] == 6
    assert problem["hints"][0].endswith("did you mean $tender_threshold?")
    assert json.loads(captured.out)["ok"] is False


def test_compile_writes_one_file_per_model_with_a_header(tmp_path: Path, capsys):
    out = tmp_path / "sql"
    assert main(["compile", "--dialect", "postgres", "--out", str(out)]) == ExitCode.OK
    text = (out / "ENG01.sql").read_text(encoding="utf-8")
    assert text.startswith("-- ENG01 应招未招 | dialect: postgres")
    assert "do not edit" in text
    assert "-- $1 is the day a run is evaluated for" in text and "CAST($1 AS DATE)" in text


def test_explain_names_parameters_sources_and_sql(capsys):
    assert main(["explain", "ENG01", "--format", "json"]) == ExitCode.OK
    info = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in info["parameters"]] == ["tender_grace_months", "tender_threshold"]
    assert {s["name"] for s in info["sources"]} == {"dr_project", "trade_tender", "ref_township"}
    assert info["sql"].startswith("SELECT")


def test_explain_an_unknown_model_suggests_one(capsys):
    assert main(["explain", "EGN01"]) == ExitCode.INVALID_POLICY
    assert "did you mean ENG01?" in capsys.readouterr().err


def test_run_on_a_missing_warehouse_file_is_exit_3(tmp_path: Path, capsys):
    url = f"duckdb:///{tmp_path / 'nowhere.duckdb'}"
    assert main(["run", "--as-of", "2021-11-15", "--warehouse", url]) == (
        ExitCode.WAREHOUSE_UNREACHABLE
    )
    assert not (tmp_path / "nowhere.duckdb").exists()


def test_a_bad_date_is_a_usage_error(capsys):
    assert main(["run", "--as-of", "2021-13-01"]) == ExitCode.USAGE
    assert "不是 YYYY-MM-DD" in capsys.readouterr().err


def test_a_failing_model_is_reported_and_the_others_still_run(
    duckdb_warehouse, townships, tmp_path: Path, capsys
):
    subsidies = [
        {
            "subsidy_id": f"S{i}",
            "program": "高龄补贴",
            "township": "330122101",
            "recipient_id": f"33012219600101001{i}",
            "account_no": "6228",
            "amount": Decimal(100),
            "paid_on": date(2021, 3, 1),
        }
        for i in range(3)
    ]
    url = duckdb_warehouse(
        {"ref_township": townships, "trade_tender": [], "fin_subsidy": subsidies}
    )
    # dr_project lacks most of its columns, so ENG01's query fails; FUN06 still runs.
    with duckdb.connect(url.removeprefix("duckdb:///")) as connection:
        connection.execute("CREATE TABLE dr_project (project_id VARCHAR, township VARCHAR)")
    output = tmp_path / "w.parquet"
    code = main(
        [
            "run",
            "--as-of",
            "2021-12-31",
            "--warehouse",
            url,
            "--output",
            str(output),
            "--format",
            "json",
        ]
    )
    summary = json.loads(capsys.readouterr().out)
    assert code == ExitCode.MODELS_FAILED
    assert list(summary["failed"]) == ["ENG01"]
    assert summary["warnings"] == 1
