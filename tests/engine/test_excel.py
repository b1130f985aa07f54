"""Excel in and out: `warnings --format xlsx`, filled in by a handler, read back by --disposal."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest
from index_fixture import A, B, C, D, build_index_fixture

from adapters.duckdb import DuckDBWarehouse
from dsl.diagnostics import DiagnosticError, render_human
from engine import cli as cli_module
from engine.cli.warnings import warnings_command
from engine.exit_codes import ExitCode
from engine.index import disposal
from engine.runs import ledger
from engine.schema import WARNINGS_SCHEMA
from tests.engine.test_warnings_command import build, warning

ROOT = Path(__file__).resolve().parents[2]
PERSON_KEY = "330122199001011234|2021-03"


@pytest.fixture
def county(tmp_path: Path, pack) -> str:
    """Three warnings, no disposal records in the warehouse: the handler's file brings them."""
    return build(tmp_path / "county.duckdb", pack)


@pytest.fixture
def oversight(monkeypatch):
    monkeypatch.setitem(cli_module.cli.commands, "warnings", warnings_command)

    def run(*args: str) -> int:
        return cli_module.main(["warnings", "--policies", str(ROOT / "policies"), *args])

    return run


def export(oversight, county: str, path: Path, *args: str) -> openpyxl.Workbook:
    assert oversight("--warehouse", county, "--format", "xlsx", "--output", str(path), *args) == 0
    return openpyxl.load_workbook(path)


def columns(sheet) -> dict[str, str]:
    """Chinese header → column letter."""
    return {cell.value: cell.column_letter for cell in sheet[1]}


def row_of(sheet, key: str) -> int:
    letter = columns(sheet)["预警编号"]
    return next(c.row for c in sheet[letter] if c.value == key)


# What a handler types: Excel dates, a number, money as a number, a Chinese outcome.
FILLED = {
    "P2021-0001": {
        "核查日期": datetime(2021, 3, 1),
        "核查结果": "属实",
        "整改日期": datetime(2021, 4, 1),
        "处置人数": 2,
        "追缴金额": 12345.6,
    },
    PERSON_KEY: {"核查日期": datetime(2021, 3, 2), "核查结果": "部分属实"},
}
# The same records as a handler types them into the CSV export.
FILLED_CSV = {
    "P2021-0001": {
        "verified_on": "2021-03-01",
        "outcome": "属实",
        "rectified_on": "2021-04-01",
        "persons_disposed": "2",
        "funds_recovered": "12,345.60",
    },
    PERSON_KEY: {"verified_on": "2021/3/2", "outcome": "部分属实"},
}


def fill_in(path: Path, filled: dict[str, dict[str, object]]) -> None:
    """Type values into the disposal cells, as a handler does in Excel, and save."""
    book = openpyxl.load_workbook(path)
    sheet = book[disposal.XLSX_SHEET]
    letters = columns(sheet)
    for key, values in filled.items():
        row = row_of(sheet, key)
        for header, value in values.items():
            sheet[f"{letters[header]}{row}"] = value
    book.save(path)


def test_the_workbook_has_chinese_headers_frozen_filtered_and_typed(oversight, county, tmp_path):
    sheet = export(oversight, county, tmp_path / "w.xlsx")[disposal.XLSX_SHEET]
    headers = [c.value for c in sheet[1]]
    assert headers == [disposal.EXPORT_HEADERS[c] for c in disposal.WARNINGS_EXPORT_COLUMNS]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(headers)).column_letter}4"
    letters = columns(sheet)
    eng = row_of(sheet, "P2021-0001")
    issued = sheet[f"{letters['预警日期']}{eng}"]
    assert issued.is_date and issued.value == datetime(2021, 1, 31)
    assert issued.number_format == "yyyy-mm-dd"
    for key_cell in sheet[letters["预警编号"]][1:]:
        assert key_cell.data_type == "s" and key_cell.number_format == "@"
    township = sheet[f"{letters['乡镇代码']}{eng}"]
    assert (township.value, township.data_type) == ("330122102", "s")  # not the number 330122102
    assert sheet[f"{letters['乡镇']}{eng}"].value == "分水镇"
    # Columns are as wide as their widest text, CJK counted twice, the message capped.
    assert sheet.column_dimensions[letters["预警编号"]].width == len(PERSON_KEY) + 2
    assert sheet.column_dimensions[letters["预警内容"]].width == 60
    assert sheet.column_dimensions[letters["乡镇"]].width == 8  # 分水镇 is 6 columns wide, +2
    outcome_lists = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
    assert [v.formula1 for v in outcome_lists] == ['"属实,部分属实,不属实"']
    assert str(outcome_lists[0].sqref) == f"{letters['核查结果']}2:{letters['核查结果']}4"


def test_resident_ids_are_masked_unless_unmask(oversight, tmp_path, pack):
    warehouse = DuckDBWarehouse(f"duckdb:///{tmp_path / 'ids.duckdb'}")
    try:
        said = warning(
            "FUN01", PERSON_KEY, "330122101", "yellow", "FUN", "张三 330122199001011234 死亡"
        )
        said["evidence"] = json.dumps({"身份证号": "330122199001011234"}, ensure_ascii=False)
        table = pa.Table.from_pylist([said], schema=WARNINGS_SCHEMA)
        ledger.record(warehouse, table, date(2021, 1, 31), {}, ledger.Tables())
    finally:
        warehouse.close()
    county = f"duckdb:///{tmp_path / 'ids.duckdb'}"
    masked = export(oversight, county, tmp_path / "m.xlsx")[disposal.XLSX_SHEET]
    plain = export(oversight, county, tmp_path / "p.xlsx", "--unmask")[disposal.XLSX_SHEET]
    letters = columns(masked)
    cells = {
        name: (sheet[f"{letters['预警内容']}2"].value, sheet[f"{letters['证据']}2"].value)
        for name, sheet in (("masked", masked), ("plain", plain))
    }
    assert cells["masked"] == ("张三 330122********1234 死亡", '{"身份证号": "330122********1234"}')
    assert cells["plain"] == ("张三 330122199001011234 死亡", '{"身份证号": "330122199001011234"}')
    # The key stays whole either way: it is how a filled-in record finds its warning again.
    assert masked[f"{letters['预警编号']}2"].value == PERSON_KEY


def test_a_filled_in_workbook_reads_back_as_the_same_csv_would(
    oversight, county, tmp_path, pack, capsys
):
    path = tmp_path / "预警处置.xlsx"
    export(oversight, county, path)
    fill_in(path, FILLED)
    capsys.readouterr()
    assert oversight("--warehouse", county, "--format", "csv") == ExitCode.OK
    exported = list(csv.DictReader(io.StringIO(capsys.readouterr().out, newline="")))
    for row in exported:
        row.update(FILLED_CSV.get(row["warning_key"], {}))
    csv_path = tmp_path / "处置.csv"
    with csv_path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(exported[0]))
        writer.writeheader()
        writer.writerows(exported)

    from_excel = disposal.load_disposal_file(path, pack.pack)
    from_csv = disposal.load_disposal_file(csv_path, pack.pack)
    assert from_excel.equals(from_csv)
    assert from_excel.column("warning_key").to_pylist() == ["A-77", "P2021-0001", PERSON_KEY]
    eng = from_excel.to_pylist()[1]
    assert (eng["verified_on"], eng["funds_recovered"]) == (date(2021, 3, 1), Decimal("12345.60"))
    assert eng["persons_disposed"] == 2

    statuses = {}
    for name, file in (("xlsx", path), ("csv", csv_path)):
        code = oversight("--warehouse", county, "--format", "json", "--disposal", str(file))
        assert code == ExitCode.OK
        statuses[name] = {
            d["warning_key"]: d["status"] for d in json.loads(capsys.readouterr().out)
        }
    assert (
        statuses["xlsx"]
        == statuses["csv"]
        == {
            "A-77": "pending",
            "P2021-0001": "rectified",
            PERSON_KEY: "overdue",  # 部分属实 on 2021-03-02 and not rectified since
        }
    )


def test_a_refilled_export_round_trips_its_own_records(oversight, county, tmp_path, capsys):
    """Export with --disposal, export again from that workbook: the disposal cells are the same."""
    first = tmp_path / "1.xlsx"
    export(oversight, county, first)
    fill_in(first, FILLED)
    second = tmp_path / "2.xlsx"
    export(oversight, county, second, "--disposal", str(first))
    a = openpyxl.load_workbook(first)[disposal.XLSX_SHEET]
    b = openpyxl.load_workbook(second)[disposal.XLSX_SHEET]
    letters = columns(a)
    for header in ("核查日期", "核查结果", "整改日期", "处置人数"):
        for key in FILLED:
            assert (
                a[f"{letters[header]}{row_of(a, key)}"].value
                == b[f"{letters[header]}{row_of(b, key)}"].value
            ), (header, key)
    money = b[f"{letters['追缴金额']}{row_of(b, 'P2021-0001')}"]
    assert money.value == Decimal("12345.60") or money.value == 12345.6
    assert b[f"{letters['处置状态']}{row_of(b, 'P2021-0001')}"].value == "已整改"


def test_a_bad_cell_is_named_by_sheet_row_and_column(oversight, county, tmp_path, pack):
    path = tmp_path / "w.xlsx"
    export(oversight, county, path)
    fill_in(
        path,
        {
            "P2021-0001": {"核查日期": datetime(2021, 3, 1), "核查结果": "基本属实"},
            PERSON_KEY: {"核查日期": "2021-02-30", "核查结果": "属实"},
        },
    )
    sheet = openpyxl.load_workbook(path)[disposal.XLSX_SHEET]
    letters = columns(sheet)
    with pytest.raises(DiagnosticError) as caught:
        disposal.load_disposal_file(path, pack.pack)
    found = {d.path: d for d in caught.value.diagnostics}
    outcome_at = f"{path}!处置!{letters['核查结果']}{row_of(sheet, 'P2021-0001')}"
    day_at = f"{path}!处置!{letters['核查日期']}{row_of(sheet, PERSON_KEY)}"
    assert set(found) == {outcome_at, day_at}
    assert found[outcome_at].code == "E641"
    assert found[outcome_at].hints == ("是否应为 属实？/ did you mean 属实?",)
    row = row_of(sheet, "P2021-0001")
    assert found[outcome_at].message_zh.startswith(
        f"工作表「处置」第 {row} 行 {letters['核查结果']} 列："
    )
    assert found[day_at].code == "E641"
    rendered = render_human(caught.value.diagnostics)
    assert rendered.startswith(f"{path}!处置!")
    assert "Traceback" not in rendered


def test_ids_typed_as_numbers_read_back_or_are_reported(tmp_path, pack):
    path = tmp_path / "h.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "处置"
    sheet.append(["模型编号", "预警编号", "核查日期", "核查结果", "处置人数"])
    sheet.append(["ENG01", 20210001, datetime(2021, 3, 1), "属实", 2.0])
    sheet.append(["ENG01", 330122199001011234, 44256, "不属实", None])  # 18 digits; a date serial
    book.save(path)
    with pytest.raises(DiagnosticError) as caught:
        disposal.load_disposal_file(path, pack.pack)
    found = sorted((d.path, d.code) for d in caught.value.diagnostics)
    assert found == [(f"{path}!处置!B3", "E641"), (f"{path}!处置!C3", "E641")]
    by_path = {d.path: d for d in caught.value.diagnostics}
    assert "科学计数法" in by_path[f"{path}!处置!B3"].message_zh
    assert any("Excel 的日期序号" in h for h in by_path[f"{path}!处置!C3"].hints)

    sheet.delete_rows(3)
    book.save(path)
    [record] = disposal.load_disposal_file(path, pack.pack).to_pylist()
    assert (record["warning_key"], record["persons_disposed"]) == ("20210001", 2)


def test_a_broken_workbook_is_e640(tmp_path, pack):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DiagnosticError) as caught:
        disposal.load_disposal_file(path, pack.pack)
    [problem] = caught.value.diagnostics
    assert problem.code == "E640" and "xlsx" in problem.message


def test_an_old_xls_is_e640_and_says_save_as_xlsx(tmp_path, pack):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 rest of an OLE2 file")
    with pytest.raises(DiagnosticError) as caught:
        disposal.load_disposal_file(path, pack.pack)
    [problem] = caught.value.diagnostics
    assert problem.code == "E640" and ".xls" in problem.message_zh
    assert "xlsx" in problem.hints[0]


def test_xlsx_needs_output_and_output_needs_xlsx(oversight, county, tmp_path, capsys):
    assert oversight("--warehouse", county, "--format", "xlsx") == ExitCode.USAGE
    assert "--output" in capsys.readouterr().err
    out = tmp_path / "w.csv"
    assert oversight("--warehouse", county, "--output", str(out)) == ExitCode.USAGE
    assert not out.exists()


def test_a_failed_write_leaves_the_old_workbook(oversight, county, tmp_path, monkeypatch):
    path = tmp_path / "w.xlsx"
    path.write_bytes(b"the old one")

    def broken(self, out):
        out.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(openpyxl.Workbook, "save", broken)
    with pytest.raises(OSError):
        warnings_command.main(
            [
                "--policies",
                str(ROOT / "policies"),
                "--warehouse",
                county,
                "--format",
                "xlsx",
                "--output",
                str(path),
            ],
            standalone_mode=False,
        )
    assert path.read_bytes() == b"the old one"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".w.xlsx")] == []


def test_the_csv_export_is_unchanged(oversight, county, capsysbinary):
    assert oversight("--warehouse", county, "--format", "csv") == ExitCode.OK
    rows = list(csv.DictReader(io.StringIO(capsysbinary.readouterr().out.decode("utf-8-sig"))))
    assert len(rows) == 3


def test_the_index_scores_the_same_from_the_workbook_the_csv_and_the_warehouse(
    oversight, tmp_path, pack, capsys
):
    """The index fixture's records, exported both ways and read back: the scores do not move."""
    path = tmp_path / "index.duckdb"
    warehouse = DuckDBWarehouse(f"duckdb:///{path}")
    try:
        build_index_fixture(warehouse, pack)
    finally:
        warehouse.close()
    county = f"duckdb:///{path}"
    workbook = tmp_path / "处置.xlsx"
    export(oversight, county, workbook)
    capsys.readouterr()
    assert oversight("--warehouse", county, "--format", "csv") == ExitCode.OK
    exported = tmp_path / "处置.csv"
    exported.write_text(capsys.readouterr().out, encoding="utf-8")

    def score(*args: str) -> dict:
        argv = ["score", "--period", "2021Q4", "--warehouse", county, "--format", "json"]
        assert cli_module.main([*argv, "--policies", str(ROOT / "policies"), *args]) == 0
        return json.loads(capsys.readouterr().out)

    from_warehouse = score()
    assert score("--disposal", str(workbook)) == score("--disposal", str(exported))
    assert score("--disposal", str(workbook)) == from_warehouse
    points = {row["township"]: row["total"] for row in from_warehouse["scores"]}
    # The fixture's figures (tests/engine/test_index.py): B's records count, so they must load.
    assert points == {A: "45.07", B: "15.95", C: "45.07", D: "100.00"}
