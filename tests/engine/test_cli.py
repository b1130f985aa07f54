"""The command line as schedulers and CI see it: exit codes, stdout payload, stderr diagnostics."""

from __future__ import annotations

import json
import re
import shutil
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from adapters import WarehouseNotFound, connect
from engine.cli import main
from engine.exit_codes import ExitCode

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", target)
    return target


def test_check_passes_on_the_repository_pack_showing_progress_on_a_terminal(
    capsys, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a person is watching
    assert main(["check", "--policies", str(ROOT / "policies")]) == ExitCode.OK
    captured = capsys.readouterr()
    assert "个示例通过" in captured.out
    shown = [s.strip() for s in captured.err.replace("\r", "\n").splitlines()]
    for line in (
        "解析与类型检查 parsing and type-checking 1/1",
        "运行示例 running the examples of each model 35/35",
        "核对 compiled/ checking compiled/ for each dialect 12/12",
    ):
        assert line in shown


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
    text = rule.read_text(encoding="utf-8")
    rule.write_text(text.replace("$tender_threshold", "$tender_treshold"))
    code = main(["check", "--policies", str(pack_copy), "--format", "json", "--no-examples"])
    captured = capsys.readouterr()
    assert code == ExitCode.INVALID_POLICY
    [problem] = json.loads(captured.err)
    assert problem["code"] == "E203"
    where = text.splitlines().index("  where p.investment >= $tender_threshold") + 1
    assert problem["span"]["line"] == where
    assert problem["hints"][0].endswith("did you mean $tender_threshold?")
    assert json.loads(captured.out)["ok"] is False


def test_compile_writes_one_file_per_model_with_a_header(tmp_path: Path, capsys):
    out = tmp_path / "sql"
    assert main(["compile", "--dialect", "postgres", "--out", str(out)]) == ExitCode.OK
    text = (out / "ENG01.sql").read_text(encoding="utf-8")
    assert text.startswith("-- ENG01 应招未招 | dialect: postgres")
    assert "do not edit" in text
    assert "-- $1 is the day a run is evaluated for" in text
    assert "CAST($1 /* as_of */ AS DATE)" in text
    # Each parameter is a numbered placeholder, named beside it and in the header.
    assert "$2 ($tender_grace_months), $3 ($tender_threshold) are bound to the deployment" in text
    assert "-- bound, in this order: as_of, tender_grace_months, tender_threshold\n" in text


def test_explain_names_parameters_sources_and_sql(capsys):
    assert main(["explain", "ENG01", "--format", "json"]) == ExitCode.OK
    info = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in info["parameters"]] == ["tender_grace_months", "tender_threshold"]
    assert {s["name"] for s in info["sources"]} == {"dr_project", "trade_tender", "ref_township"}
    assert info["sql"].startswith("SELECT")


@pytest.mark.parametrize(
    ("model_id", "takes_part", "shown"),
    [("ENG01", False, "预检 precheck: 不参加 no"), ("FIN04", True, "预检 precheck: 参加 yes")],
)
def test_explain_says_whether_the_pre_check_runs_the_model(
    model_id: str, takes_part: bool, shown: str, capsys
):
    assert main(["explain", model_id]) == ExitCode.OK
    header = capsys.readouterr().out.splitlines()[1]
    assert header.endswith(f"状态 status: active   {shown}")
    assert main(["explain", model_id, "--format", "json"]) == ExitCode.OK
    assert json.loads(capsys.readouterr().out)["precheck"] is takes_part


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
    # dr_project has the catalog's columns (a column missing would skip ENG01 before its query:
    # tests/engine/test_run_sources.py), but its investment is text that fails to convert once
    # read, so ENG01's query fails; FUN06 still runs.
    with duckdb.connect(url.removeprefix("duckdb:///")) as connection:
        connection.execute("CREATE TABLE dr_raw AS SELECT 'P1' AS project_id, 'abc' AS investment")
        connection.execute(
            "CREATE VIEW dr_project AS SELECT project_id, NULL::VARCHAR AS parent_project_id, "
            "'330122102' AS township, 'x' AS name, NULL::VARCHAR AS category, "
            "CAST(investment AS DECIMAL(18, 2)) AS investment, DATE '2021-04-20' AS approved_on, "
            "NULL::VARCHAR AS funding_source, NULL::VARCHAR AS status FROM dr_raw"
        )
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


# ---- a run that skips models says so, in its summary, manifest and exit code --------------------

SEED_PROJECT = {
    "project_id": "P1",
    "township": "330122102",
    "name": "农村自来水工程",
    "investment": Decimal("88320000"),
    "approved_on": date(2021, 4, 20),
    "status": "在建",
}


@pytest.fixture
def eng01_only(duckdb_warehouse, townships) -> str:
    """A warehouse with the sources of ENG01 and no others: every other model is skipped."""
    return duckdb_warehouse(
        {"dr_project": [SEED_PROJECT], "trade_tender": [], "ref_township": townships}
    )


def test_skipped_models_are_exit_4_and_counted_in_summary_and_manifest(
    eng01_only: str, tmp_path: Path, capsys
):
    manifest = tmp_path / "manifest.json"
    args = ["run", "--as-of", "2021-11-15", "--warehouse", eng01_only, "--manifest", str(manifest)]
    code = main([*args, "--format", "json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == ExitCode.MODELS_SKIPPED == 4
    assert summary["outcome"] == "models_skipped"
    assert summary["models_run"] == 1 and summary["models_failed"] == 0
    assert summary["models_skipped"] == 34 == len(summary["skipped"])
    assert summary["skipped"]["ENG02"] == ["trade_contract"]
    document = json.loads(manifest.read_text(encoding="utf-8"))
    assert document["outcome"] == "models_skipped"
    assert (document["models_run"], document["models_failed"], document["models_skipped"]) == (
        1,
        0,
        34,
    )
    assert {m["id"]: m["status"] for m in document["models"]}["ENG02"] == "skipped"


def test_the_human_summary_names_skipped_models_and_ends_with_a_done_line(eng01_only: str, capsys):
    code = main(["run", "--as-of", "2021-11-15", "--warehouse", eng01_only, "--no-ledger"])
    lines = capsys.readouterr().out.splitlines()
    assert code == ExitCode.MODELS_SKIPPED
    assert "34 个模型跳过 skipped" in lines[0] and "ENG02" in lines[0]
    assert re.fullmatch(
        r"Done\. ran=1 failed=0 skipped=34 warnings=1 new=- in \d+\.\d s", lines[-1]
    ), lines[-1]


def test_a_dry_run_opens_the_duckdb_file_read_only(eng01_only: str, capsys):
    """`run --no-ledger` writes nothing, so it asks for no more than reading: it runs beside
    a read-only connection to the file, which DuckDB refuses a read-write open next to."""
    reader = duckdb.connect(eng01_only.removeprefix("duckdb:///"), read_only=True)
    try:
        code = main(["run", "--as-of", "2021-11-15", "--warehouse", eng01_only, "--no-ledger"])
        assert code == ExitCode.MODELS_SKIPPED, capsys.readouterr().err
        recorded = main(["run", "--as-of", "2021-11-15", "--warehouse", eng01_only])
        assert recorded == ExitCode.WAREHOUSE_UNREACHABLE  # recording needs to write
    finally:
        reader.close()


def test_a_run_where_every_model_ran_is_exit_0(eng01_only: str, capsys):
    code = main(["run", "--as-of", "2021-11-15", "--warehouse", eng01_only, "--select", "ENG01"])
    out = capsys.readouterr().out
    assert code == ExitCode.OK
    assert out.splitlines()[-1].startswith("Done. ran=1 failed=0 skipped=0 warnings=1 new=1 in ")


def test_on_a_terminal_run_shows_each_model_as_it_finishes(
    eng01_only: str, capsys, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a person is watching
    main(["run", "--as-of", "2021-11-15", "--warehouse", eng01_only, "--select", "ENG"])
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"  [1/8] ENG01 应招未招  1 条预警 warnings  {err[0].rsplit('  ', 1)[1]}"
    assert err[1].startswith("  [2/8] ENG02 拆分规避招标  跳过 skipped: ")
    assert [line[:7] for line in err] == [f"  [{i}/8]" for i in range(1, 9)]


def test_off_a_terminal_run_names_only_what_needs_acting_on(eng01_only: str, capsys):
    main(["run", "--as-of", "2021-11-15", "--warehouse", eng01_only, "--select", "ENG"])
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 7 and all(line.startswith("  跳过 skipped ENG0") for line in err)


# ---- --select names something, or it is a usage error --------------------------------------------


@pytest.mark.parametrize(
    ("selector", "suggestion"), [("ENG99", "ENG"), ("eng01", "ENG01"), ("工程", "工程管理")]
)
def test_an_unknown_select_is_a_usage_error_with_a_suggestion(selector, suggestion, capsys):
    code = main(["run", "--as-of", "2021-12-31", "--select", selector])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert f"'{selector}' is no model, domain, severity or status" in err
    assert f"did you mean {suggestion}?" in err


def test_compile_refuses_an_unknown_select_too(capsys):
    assert main(["compile", "--select", "ENG99"]) == ExitCode.USAGE
    assert "did you mean ENG?" in capsys.readouterr().err


# ---- a warehouse that is not there is "not found", once, with the files that are there -----------


def test_a_missing_default_warehouse_names_the_duckdb_files_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OVERSIGHT_WAREHOUSE", raising=False)
    monkeypatch.setenv("OVERSIGHT_POLICIES", str(ROOT / "policies"))
    duckdb.connect(str(tmp_path / "county-2021.duckdb")).close()
    code = main(["run", "--as-of", "2021-12-31"])
    err = capsys.readouterr().err
    assert code == ExitCode.WAREHOUSE_UNREACHABLE
    assert err.count("oversight.duckdb") == 2  # the Chinese and the English of one message
    assert "warehouse not found: no DuckDB database at oversight.duckdb" in err
    assert "did you mean duckdb:///county-2021.duckdb?" in err
    assert "lost" not in err and "中断" not in err
    assert not (tmp_path / "oversight.duckdb").exists()


def test_a_missing_sqlite_file_names_what_is_in_its_folder_as_absolute_urls(tmp_path: Path):
    for name in ("a.duckdb", "b.sqlite", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(WarehouseNotFound) as raised:
        connect(f"sqlite:///{tmp_path / 'county.sqlite'}", must_exist=True)
    text = str(raised.value)
    assert f"no SQLite database at {tmp_path / 'county.sqlite'}" in text
    assert f"duckdb:///{tmp_path / 'a.duckdb'}、sqlite:///{tmp_path / 'b.sqlite'}" in text
    assert "notes.txt" not in text and not (tmp_path / "county.sqlite").exists()
