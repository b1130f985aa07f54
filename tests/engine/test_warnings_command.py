"""`oversight warnings` end to end on a DuckDB warehouse: table, CSV, JSON, filters, exit codes."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from adapters.duckdb import DuckDBWarehouse
from engine import cli as cli_module
from engine.cli.warnings import OUTPUT_COLUMNS, clip, display_width, render_table, warnings_command
from engine.exit_codes import ExitCode
from engine.runs import ledger
from engine.schema import WARNINGS_SCHEMA, source_schema

ROOT = Path(__file__).resolve().parents[2]
LONG = (
    "项目「分水镇中心小学改扩建工程」投资额 8832 万元，立项超过 6 个月仍未招标，请核查是否应招未招"
)


def warning(model_id: str, key: str, township: str | None, severity: str, domain: str, message):
    return {
        "model_id": model_id,
        "warning_key": key,
        "township": township,
        "severity": severity,
        "domain": domain,
        "message": message,
        "as_of": date(2021, 1, 31),
        "model_title": "标题",
        "model_revision": "r1",
        "pack_version": "0.1.0",
        "evidence": json.dumps({"金额": "8832"}, ensure_ascii=False),
    }


def build(path: Path, pack, tables: ledger.Tables | None = None, disposal_table: str = ""):
    """A county with three warnings over two runs, and disposal records for two of them."""
    warehouse = DuckDBWarehouse(f"duckdb:///{path}")
    try:
        first = [
            warning("ENG01", "P2021-0001", "330122102", "red", "ENG", LONG),
            warning(
                "FUN01",
                "330122199001011234|2021-03",
                "330122101",
                "yellow",
                "FUN",
                "横村镇 张三 已于 2021-01-05 死亡，仍在领取补贴",
            ),
        ]
        second = [warning("AST02", "A-77", None, "blue", "AST", "集体资产 A-77 租金低于评估价")]
        for day, rows in ((date(2021, 1, 31), first), (date(2021, 2, 28), second)):
            table = pa.Table.from_pylist(rows, schema=WARNINGS_SCHEMA)
            ledger.record(warehouse, table, day, {}, tables or ledger.Tables())
        records = [
            {
                "model_id": "ENG01",
                "warning_key": "P2021-0001",
                "verified_on": date(2021, 3, 1),
                "outcome": "属实",
                "rectified_on": date(2021, 4, 1),
                "persons_disposed": 2,
                "funds_recovered": Decimal("12345.60"),
            },
            {
                "model_id": "FUN01",
                "warning_key": "330122199001011234|2021-03",
                "verified_on": date(2021, 3, 2),
                "outcome": "部分属实",
            },
        ]
        if disposal_table:
            schema = source_schema(pack.pack.sources["sup_disposal"])
            if "." in disposal_table:
                warehouse.execute(f"CREATE SCHEMA IF NOT EXISTS {disposal_table.split('.')[0]}")
            warehouse.load(disposal_table, pa.Table.from_pylist(records, schema=schema))
    finally:
        warehouse.close()
    return f"duckdb:///{path}"


@pytest.fixture
def county(tmp_path: Path, pack) -> str:
    return build(tmp_path / "county.duckdb", pack, disposal_table="sup_disposal")


@pytest.fixture
def oversight(monkeypatch):
    """`oversight …` through engine.cli.main, with the command registered as the lead will."""
    monkeypatch.setitem(cli_module.cli.commands, "warnings", warnings_command)

    def run(*args: str) -> int:
        # Statuses as judged a month after the county's records were verified, before any
        # is overdue; the tests of overdue give their own --as-of.
        judged = [] if "--as-of" in args else ["--as-of", "2021-04-01"]
        return cli_module.main(["warnings", "--policies", str(ROOT / "policies"), *judged, *args])

    return run


def test_the_table_aligns_chinese_and_ends_with_a_count(oversight, county, capsys):
    assert oversight("--warehouse", county, "--format", "table") == ExitCode.OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["预警日期", "模型", "等级", "乡镇", "状态", "预警编号", "预警内容"]
    assert lines[1].split()[0] == "issued_on"
    body = lines[3:-1]
    assert [line.split()[1] for line in body] == ["AST02", "ENG01", "FUN01"]  # newest first
    # Every column starts at the same terminal column on every line, CJK counted twice.
    starts = {
        tuple(display_width(line[: line.index(cell)]) for cell in cells)
        for line, cells in (
            (lines[0], ["模型", "状态", "预警内容"]),
            (body[0], ["AST02", "待核查", "集体资产"]),
            (body[1], ["ENG01", "已整改", "项目"]),
            (body[2], ["FUN01", "部分属实", "横村镇 张三"]),
        )
    }
    assert len(starts) == 1
    assert LONG in body[1]  # not on a terminal: nothing is cut
    assert "330122199001011234|2021-03" in body[2]  # full ids: nothing is masked
    assert lines[-1] == "共 3 条预警 / 3 warnings — 待核查 1 · 部分属实 1 · 已整改 1"


def test_csv_is_utf8_with_bom_and_the_default_off_a_terminal(oversight, county, capsysbinary):
    assert oversight("--warehouse", county) == ExitCode.OK
    data = capsysbinary.readouterr().out
    assert data.startswith(b"\xef\xbb\xbfmodel_id,warning_key,")
    assert b"\r\n" in data
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert list(rows[0]) == list(OUTPUT_COLUMNS)
    eng = next(r for r in rows if r["model_id"] == "ENG01")
    assert eng["township_name"] == "分水镇"
    assert (eng["status"], eng["status_label"]) == ("rectified", "已整改")
    assert (eng["verified_on"], eng["funds_recovered"]) == ("2021-03-01", "12345.60")
    assert eng["message"] == LONG
    ast = next(r for r in rows if r["model_id"] == "AST02")
    assert (ast["township"], ast["verified_on"], ast["status_label"]) == ("", "", "待核查")


def test_json_is_one_array_with_iso_dates(oversight, county, capsys):
    assert oversight("--warehouse", county, "--format", "json") == ExitCode.OK
    data = json.loads(capsys.readouterr().out)
    assert [d["warning_key"] for d in data] == [
        "A-77",
        "P2021-0001",
        "330122199001011234|2021-03",
    ]
    eng = data[1]
    assert eng["issued_on"] == "2021-01-31" and eng["rectified_on"] == "2021-04-01"
    assert eng["funds_recovered"] == "12345.60" and eng["persons_disposed"] == 2
    assert eng["evidence"] == {"金额": "8832"}
    assert data[0]["township"] is None and data[0]["status"] == "pending"


def test_jsonl_is_one_object_per_line_as_json_writes_them(oversight, county, capsys):
    assert oversight("--warehouse", county, "--format", "json") == ExitCode.OK
    array = json.loads(capsys.readouterr().out)
    assert oversight("--warehouse", county, "--format", "jsonl") == ExitCode.OK
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert [json.loads(line) for line in lines] == array


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--township", "分水镇"], ["P2021-0001"]),
        (
            ["--township", "330122101", "--township", "分水"],
            ["P2021-0001", "330122199001011234|2021-03"],
        ),
        (["--model", "eng01"], ["P2021-0001"]),
        (["--domain", "专项资金"], ["330122199001011234|2021-03"]),
        (["--severity", "blue"], ["A-77"]),
        (["--status", "pending"], ["A-77"]),
        (
            ["--status", "partly", "--status", "已整改"],
            ["P2021-0001", "330122199001011234|2021-03"],
        ),
        (["--from", "2021-02-01"], ["A-77"]),
        (["--to", "2021/01/31"], ["P2021-0001", "330122199001011234|2021-03"]),
        (["--limit", "1"], ["A-77"]),
        (["--domain", "ENG", "--status", "pending"], []),
    ],
)
def test_filters(oversight, county, capsys, args, expected):
    assert oversight("--warehouse", county, "--format", "json", *args) == ExitCode.OK
    assert [d["warning_key"] for d in json.loads(capsys.readouterr().out)] == expected


@pytest.mark.parametrize(
    ("as_of", "overdue"),
    [
        # 部分属实 on 2021-03-02, not rectified; the pack gives 60 days: overdue from 2021-05-02.
        ("2021-05-01", []),
        ("2021-05-02", ["330122199001011234|2021-03"]),
        ("2022-01-01", ["330122199001011234|2021-03"]),
    ],
)
def test_a_confirmed_warning_not_rectified_within_the_deadline_is_overdue(
    oversight, county, capsys, as_of, overdue
):
    args = ("--warehouse", county, "--format", "json", "--as-of", as_of, "--status", "overdue")
    assert oversight(*args) == ExitCode.OK
    listed = json.loads(capsys.readouterr().out)
    assert [d["warning_key"] for d in listed] == overdue
    assert {d["status_label"] for d in listed} <= {"逾期未整改"}


def test_the_deadline_is_the_deployments_when_it_sets_one(oversight, county, tmp_path, capsys):
    deployment = tmp_path / "deployment.yaml"
    deployment.write_text("parameters:\n  rectification_deadline_days: 90\n", encoding="utf-8")
    args = ("--deployment", str(deployment), "--warehouse", county, "--format", "json")
    assert oversight(*args, "--as-of", "2021-05-31", "--status", "逾期未整改") == ExitCode.OK
    assert json.loads(capsys.readouterr().out) == []  # 90 days from 2021-03-02: 2021-05-31 is fine
    assert oversight(*args, "--as-of", "2021-06-01", "--status", "逾期未整改") == ExitCode.OK
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_the_count_line_says_how_many_a_limit_left_out(oversight, county, capsys):
    assert oversight("--warehouse", county, "--format", "table", "--limit", "2") == ExitCode.OK
    assert (
        capsys.readouterr()
        .out.splitlines()[-1]
        .startswith("共 3 条预警，显示最近 2 条 / 3 warnings, the 2 latest shown — ")
    )


def test_no_warning_matches(oversight, county, capsys):
    assert oversight("--warehouse", county, "--format", "table", "--model", "HOU01") == 0
    assert capsys.readouterr().out.splitlines() == [
        "没有符合条件的预警 / no warnings match",
        "共 0 条预警 / 0 warnings",
    ]


def test_a_missing_warehouse_exits_3(oversight, tmp_path, capsys):
    assert oversight("--warehouse", f"duckdb:///{tmp_path / 'nope.duckdb'}") == 3
    assert "warehouse not found: no DuckDB database at" in capsys.readouterr().err
    assert not (tmp_path / "nope.duckdb").exists()


def test_a_bad_disposal_file_exits_2_and_points_at_the_value(oversight, county, tmp_path, capsys):
    bad = tmp_path / "处置.csv"
    bad.write_bytes(
        "model_id,warning_key,verified_on,outcome\nENG01,P2021-0001,2021-11-31,属实\n".encode(
            "utf-8-sig"
        )
    )
    assert oversight("--warehouse", county, "--disposal", str(bad)) == ExitCode.INVALID_POLICY
    captured = capsys.readouterr()
    assert f"{bad}:2:18: error[E641]" in captured.err
    assert captured.out == ""


def test_bad_disposal_diagnostics_as_json(oversight, county, tmp_path, capsys):
    bad = tmp_path / "d.csv"
    bad.write_text("model_id,warning_key\nENG01,P1\nENG01,P1\n", encoding="utf-8")
    code = oversight("--warehouse", county, "--disposal", str(bad), "--format", "json")
    assert code == ExitCode.INVALID_POLICY
    [problem] = json.loads(capsys.readouterr().err)
    assert (problem["code"], problem["span"]["line"], problem["span"]["column"]) == ("E642", 3, 7)


@pytest.mark.parametrize(
    "args",
    [
        ["--township", "分水乡"],
        ["--domain", "工程"],
        ["--status", "done"],
        ["--model", "ENG1"],
        ["--from", "2021-13-01"],
        ["--from", "2021-03-01", "--to", "2021-01-01"],
        ["--format", "xml"],
    ],
)
def test_a_wrong_option_is_a_usage_error(oversight, county, capsys, args):
    assert oversight("--warehouse", county, *args) == ExitCode.USAGE
    assert "Traceback" not in capsys.readouterr().err


def test_an_unknown_model_gets_a_suggestion(oversight, county, capsys):
    assert oversight("--warehouse", county, "--model", "ENG1") == ExitCode.USAGE
    assert "did you mean ENG01?" in capsys.readouterr().err


def test_an_export_filled_in_by_a_handler_loads_back(oversight, county, tmp_path, capsysbinary):
    assert oversight("--warehouse", county, "--format", "csv") == ExitCode.OK
    text = capsysbinary.readouterr().out.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    for row in rows:
        if row["model_id"] == "AST02":
            # Before the day the fixture judges statuses on: verified later, it would be pending.
            row.update(verified_on="2021年3月6日", outcome="不属实")
    filled = tmp_path / "filled.csv"
    with filled.open("w", encoding="gbk", newline="") as handle:  # saved again by Excel, as GBK
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert oversight("--warehouse", county, "--disposal", str(filled), "--format", "json") == 0
    captured = capsysbinary.readouterr()
    data = {d["warning_key"]: d for d in json.loads(captured.out)}
    assert data["A-77"]["status"] == "unfounded"
    assert data["A-77"]["verified_on"] == "2021-03-06"
    assert data["P2021-0001"]["status"] == "rectified"
    assert captured.err == b""


def test_a_warehouse_without_disposal_records_lists_everything_pending(
    oversight, tmp_path, pack, capsys
):
    url = build(tmp_path / "bare.duckdb", pack)
    assert oversight("--warehouse", url, "--format", "json") == ExitCode.OK
    assert {d["status"] for d in json.loads(capsys.readouterr().out)} == {"pending"}


def test_a_warehouse_without_a_ledger_says_so(oversight, tmp_path, capsys):
    DuckDBWarehouse(f"duckdb:///{tmp_path / 'empty.duckdb'}").close()
    assert (
        oversight("--warehouse", f"duckdb:///{tmp_path / 'empty.duckdb'}", "--format", "json") == 0
    )
    captured = capsys.readouterr()
    assert json.loads(captured.out) == []
    assert "oversight run" in captured.err


def test_disposal_records_that_match_no_warning_are_noted(oversight, county, tmp_path, capsys):
    records = tmp_path / "d.csv"
    records.write_text("model_id,warning_key\nENG01,P2021-0001\nENG01,P2021-9999\n", "utf-8")
    assert oversight("--warehouse", county, "--disposal", str(records), "--format", "json") == 0
    assert "ENG01 P2021-9999" in capsys.readouterr().err


def test_the_deployment_names_the_warehouse_ledger_schema_and_disposal_table(
    oversight, tmp_path, pack, capsys
):
    url = build(
        tmp_path / "county.duckdb",
        pack,
        ledger.Tables("oversight"),
        disposal_table="jw.disposal",
    )
    deployment = tmp_path / "deployment.yaml"
    deployment.write_text(
        f"warehouse: {url}\nledger_schema: oversight\ntables:\n  sup_disposal: jw.disposal\n",
        encoding="utf-8",
    )
    assert oversight("--deployment", str(deployment), "--format", "json") == ExitCode.OK
    statuses = {d["warning_key"]: d["status"] for d in json.loads(capsys.readouterr().out)}
    assert statuses == {
        "A-77": "pending",
        "P2021-0001": "rectified",
        "330122199001011234|2021-03": "partly",
    }


def test_the_command_alone_in_a_throwaway_group(county):
    # The lead's registration: cli.add_command(warnings_command, name="warnings").
    import click
    from click.testing import CliRunner

    group = click.Group(commands={"warnings": warnings_command})
    result = CliRunner().invoke(
        group,
        [
            "warnings",
            "--policies",
            str(ROOT / "policies"),
            "--warehouse",
            county,
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 3


# ---- layout on a terminal ------------------------------------------------------------------


def test_display_width_counts_cjk_twice():
    assert display_width("abc") == 3
    assert display_width("分水镇") == 6
    assert display_width("ＡＢ") == 4  # full-width Latin
    assert display_width("é") == 1  # e and a combining accent


def test_clip_never_splits_a_wide_character():
    assert clip("分水镇中心小学", 20) == "分水镇中心小学"
    assert clip("分水镇中心小学", 8) == "分水..."  # 4 + 3, a third 分 would make 9
    assert display_width(clip("分水镇中心小学", 9)) <= 9
    assert clip("abcdef", 5) == "ab..."


def test_on_a_terminal_long_messages_are_cut_to_its_width():
    row = dict.fromkeys(OUTPUT_COLUMNS)
    row.update(
        issued_on=date(2021, 1, 31),
        model_id="ENG01",
        severity="red",
        township="330122102",
        township_name="分水镇",
        status_label="待核查",
        warning_key="P1",
        message=LONG,
    )
    table = render_table([row], width=80)
    assert all(display_width(line) <= 80 for line in table.splitlines())
    assert table.splitlines()[-1].endswith("...")
    assert LONG in render_table([row], width=None)
    narrow = render_table([row], width=40)  # too narrow: the message keeps a readable minimum
    message = narrow.splitlines()[-1].split("P1", 1)[1].strip()
    assert message.endswith("...") and display_width(message) in (23, 24)  # 24, or 23 + no half 字
