"""`oversight advise`: common problems (面上共性问题) of a period, figures checked by hand.

The county below is small enough to count on paper. With N = 3 townships and M = 2 quarters
(the pack's defaults) in 2021:

- ENG01 is confirmed in 分水镇, 横村镇 and 桐君街道: common by N. Its 不属实 warning in 江南镇
  and its confirmed one of 2020 in 百江镇 do not count.
- FUN01 is confirmed in two townships, in 分水镇 in Q1 and Q2: common by recurrence, 连续.
- FUN02 is confirmed only in 分水镇, in Q1 and Q3: common by recurrence, not 连续.
- AST02 is confirmed in two townships once each (its 不属实 in 分水镇 in Q4 would have made
  分水镇 recur): the near miss, not common.
- HOU01 has one warning, 不属实, and one never verified: no row.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from adapters.duckdb import DuckDBWarehouse
from engine import api
from engine import cli as cli_module
from engine.cli.advise import render_table
from engine.cli.warnings import NO_LEDGER_NOTE
from engine.exit_codes import ExitCode
from engine.index.disposal import load_disposal_file
from engine.index.score import Period
from engine.policy.deployment import Deployment
from engine.remedy.common import COMMON_PROBLEMS_SCHEMA, amount_of, facts_of, why
from engine.runs import ledger
from engine.schema import WARNINGS_SCHEMA, source_schema

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"

FENSHUI, HENGCUN, TONGJUN, JIANGNAN, BAIJIANG = (
    "330122102",
    "330122101",
    "330122001",
    "330122105",
    "330122104",
)
Q1, Q2, Q3, Q4 = date(2021, 3, 31), date(2021, 6, 30), date(2021, 9, 30), date(2021, 12, 31)

# (model, key, township, issued on, @amount or None,
#  disposal: (verified_on, outcome, rectified_on, funds_recovered) or None)
COUNTY = [
    (
        "ENG01",
        "P1",
        FENSHUI,
        Q1,
        "88320000",
        (date(2021, 4, 10), "属实", date(2021, 5, 1), "12345.60"),
    ),
    ("ENG01", "P2", HENGCUN, Q2, "1200000.50", (date(2021, 7, 1), "部分属实", None, "100")),
    # Rectified after the period's end: not yet rectified on 2021-12-31, nor overdue (Dec 1 + 60).
    ("ENG01", "P3", TONGJUN, Q3, None, (date(2021, 12, 1), "属实", date(2022, 1, 10), None)),
    ("ENG01", "P4", JIANGNAN, Q4, "5", (date(2021, 12, 20), "不属实", None, None)),
    ("ENG01", "P0", BAIJIANG, date(2020, 12, 31), "7", (date(2021, 1, 5), "属实", None, None)),
    ("FUN01", "F1", FENSHUI, Q1, None, (date(2021, 4, 2), "属实", date(2021, 4, 20), None)),
    ("FUN01", "F2", FENSHUI, Q2, None, (date(2021, 7, 2), "部分属实", None, None)),
    ("FUN01", "F3", HENGCUN, Q1, None, (date(2021, 4, 3), "属实", None, None)),
    ("FUN02", "G1", FENSHUI, Q1, None, (date(2021, 4, 5), "属实", date(2021, 5, 5), "300.25")),
    ("FUN02", "G3", FENSHUI, Q3, None, (date(2021, 10, 8), "属实", None, None)),
    ("AST02", "A1", FENSHUI, Q1, None, (date(2021, 4, 6), "属实", None, None)),
    ("AST02", "A2", JIANGNAN, Q3, None, (date(2021, 10, 9), "部分属实", None, None)),
    ("AST02", "A4", FENSHUI, Q4, None, (date(2021, 12, 30), "不属实", None, None)),
    ("HOU01", "H1", HENGCUN, Q2, None, (date(2021, 7, 9), "不属实", None, None)),
    ("HOU01", "H2", HENGCUN, Q3, None, None),
]


def build(path: Path, pack, disposal: bool = True) -> str:
    """The county above as a DuckDB warehouse: one run per issue day, then sup_disposal."""
    url = f"duckdb:///{path}"
    warehouse = DuckDBWarehouse(url)
    try:
        by_day: dict[date, list[dict]] = defaultdict(list)
        for model_id, key, township, day, amount, _ in COUNTY:
            model = pack.models[model_id]
            evidence = {"项目": key, **({"@amount": amount} if amount is not None else {})}
            by_day[day].append(
                {
                    "model_id": model_id,
                    "warning_key": key,
                    "township": township,
                    "severity": model.severity,
                    "domain": model.domain,
                    "message": f"{model.title} {key}",
                    "as_of": day,
                    "model_title": model.title,
                    "model_revision": model.revision,
                    "pack_version": pack.pack.version,
                    "evidence": json.dumps(evidence, ensure_ascii=False),
                }
            )
        for day in sorted(by_day):
            table = pa.Table.from_pylist(by_day[day], schema=WARNINGS_SCHEMA)
            ledger.record(warehouse, table, day, {})
        if disposal:
            records = [
                {
                    "model_id": model_id,
                    "warning_key": key,
                    "verified_on": verified,
                    "outcome": outcome,
                    "rectified_on": rectified,
                    "funds_recovered": Decimal(funds) if funds else None,
                }
                for model_id, key, _, _, _, found in COUNTY
                if found
                for verified, outcome, rectified, funds in [found]
            ]
            schema = source_schema(pack.pack.sources["sup_disposal"])
            warehouse.load("sup_disposal", pa.Table.from_pylist(records, schema=schema))
    finally:
        warehouse.close()
    return url


@pytest.fixture
def county(tmp_path: Path, pack) -> str:
    return build(tmp_path / "county.duckdb", pack)


def by_model(table: pa.Table) -> dict[str, dict]:
    return {row["model_id"]: row for row in table.to_pylist()}


def test_the_year_figures_by_hand(county, pack):
    table = api.advise(pack, Period.parse("2021"), county)
    assert table.schema.remove_metadata() == COMMON_PROBLEMS_SCHEMA
    assert facts_of(table) == {
        "period": "2021",
        "min_townships": 3,
        "min_quarters": 2,
        "ledger": True,
    }
    # Common first, then the most townships, the most confirmed, by id; HOU01 has no row.
    assert table.column("model_id").to_pylist() == ["ENG01", "FUN01", "FUN02", "AST02"]
    rows = by_model(table)

    eng = rows["ENG01"]
    assert eng["townships"] == 3 and eng["confirmed"] == 3
    assert eng["township_names"] == ["桐君街道", "横村镇", "分水镇"]  # the pack's order
    assert eng["quarters_max"] == 1 and eng["recurring_townships"] == []
    assert eng["amount"] == Decimal("89520000.50")  # P1 + P2; P3 names none, P4 is 不属实
    assert (eng["rectified"], eng["recovered"], eng["overdue"]) == (1, Decimal("12445.60"), 1)
    assert eng["common"] is True and eng["why"] == "在3个乡镇查实"
    assert eng["model_title"] == "应招未招" and eng["domain_name"] == "工程管理"
    assert eng["severity"] == "red"
    assert eng["advice"] == pack.models["ENG01"].advice and eng["advice"]
    assert eng["basis"] == pack.models["ENG01"].basis and eng["basis"]

    fun = rows["FUN01"]
    assert (fun["townships"], fun["confirmed"], fun["quarters_max"]) == (2, 3, 2)
    assert fun["township_names"] == ["横村镇", "分水镇"]
    assert fun["recurring_townships"] == ["分水镇"]
    assert fun["amount"] is None  # none of its warnings says how much: unknown, not zero
    assert (fun["rectified"], fun["recovered"], fun["overdue"]) == (1, Decimal("0.00"), 2)
    assert fun["common"] is True and fun["why"] == "在分水镇连续2个季度查实"

    twice = rows["FUN02"]
    assert (twice["townships"], twice["confirmed"], twice["quarters_max"]) == (1, 2, 2)
    assert twice["common"] is True and twice["why"] == "在分水镇2个季度查实"  # Q1 and Q3
    assert (twice["rectified"], twice["recovered"], twice["overdue"]) == (1, Decimal("300.25"), 1)

    near = rows["AST02"]
    assert (near["townships"], near["confirmed"], near["quarters_max"]) == (2, 2, 1)
    assert near["recurring_townships"] == [] and near["common"] is False
    assert near["why"] == "在2个乡镇查实，不足3个；没有一个乡镇在2个以上季度查实"


def test_a_quarter_can_be_common_only_by_its_townships(county, pack):
    rows = by_model(api.advise(pack, Period.parse("2021Q1"), county))
    assert sorted(rows) == ["AST02", "ENG01", "FUN01", "FUN02"]
    assert {m: (r["townships"], r["quarters_max"], r["common"]) for m, r in rows.items()} == {
        "AST02": (1, 1, False),
        "ENG01": (1, 1, False),
        "FUN01": (2, 1, False),
        "FUN02": (1, 1, False),
    }
    # Judged on 2021-03-31: the outcomes recorded since count, but nothing was rectified or
    # overdue by then (every verification came in April).
    assert all((r["rectified"], r["overdue"]) == (0, 0) for r in rows.values())


def test_a_deployment_sets_its_own_n_and_m(county, pack, tmp_path):
    deployment = tmp_path / "deployment.yaml"
    deployment.write_text(
        "parameters:\n  common_min_townships: 2\n  common_min_quarters: 3\n", encoding="utf-8"
    )
    setup = api.deployment_for(pack, deployment)
    table = api.advise(pack, Period.parse("2021"), county, setup)
    assert facts_of(table)["min_townships"] == 2 and facts_of(table)["min_quarters"] == 3
    rows = by_model(table)
    assert {m: r["common"] for m, r in rows.items()} == {
        "ENG01": True,
        "FUN01": True,  # two townships, now enough
        "AST02": True,
        "FUN02": False,  # one township in two quarters: M is 3 now
    }
    assert rows["AST02"]["why"] == "在2个乡镇查实"
    assert rows["FUN02"]["why"] == "在1个乡镇查实，不足2个；没有一个乡镇在3个以上季度查实"
    assert rows["FUN01"]["recurring_townships"] == []


def test_disposal_from_a_file_replaces_the_warehouses(county, pack, tmp_path):
    records = tmp_path / "处置.csv"
    records.write_text(
        "模型编号,预警编号,核查日期,核查结果\nAST02,A1,2021-04-06,属实\nAST02,A4,2021-12-30,属实\n",
        encoding="utf-8",
    )
    loaded = load_disposal_file(records, pack.pack)
    rows = by_model(api.advise(pack, Period.parse("2021"), county, Deployment(), loaded))
    assert list(rows) == ["AST02"]  # only these two records count now
    assert rows["AST02"]["recurring_townships"] == ["分水镇"]
    assert rows["AST02"]["why"] == "在分水镇2个季度查实"


def test_an_amount_is_read_from_the_evidence_as_written():
    assert amount_of(json.dumps({"@amount": "88320000"})) == Decimal("88320000.00")
    assert amount_of(json.dumps({"@amount": "8716.385"})) == Decimal("8716.39")
    assert amount_of(json.dumps({"@amount": 12})) == Decimal("12.00")
    assert amount_of(json.dumps({"金额": "8832"})) is None
    assert amount_of(json.dumps({"@amount": "未知"})) is None
    assert amount_of(json.dumps({"@amount": None})) is None
    assert amount_of(json.dumps({"@amount": "NaN"})) is None
    assert amount_of(json.dumps({"@amount": "Infinity"})) is None
    assert amount_of("not json") is None and amount_of("") is None


def test_why_names_every_recurring_township_and_says_in_a_row_only_when_it_is():
    q = {n: (2021, n) for n in (1, 2, 3, 4)}
    recurring = [("分水镇", {q[1], q[2]}), ("横村镇", {q[1], q[3], q[4]})]
    assert why(1, recurring, 3, 2) == "在分水镇连续2个季度、横村镇3个季度查实"
    assert why(4, recurring[:1], 3, 2) == "在4个乡镇查实，在分水镇连续2个季度查实"
    assert why(2, [], 3, 2) == "在2个乡镇查实，不足3个；没有一个乡镇在2个以上季度查实"
    # A pack without townships (`townships: none`) routes no warning to one.
    assert why(0, [], 3, 2) == "查实的预警没有派给乡镇，无从判断是否面上共性问题"


# ---- the command ---------------------------------------------------------------------------


def oversight(*args: str) -> int:
    return cli_module.main(["advise", "--policies", str(POLICIES), *args])


def test_json_output_and_the_out_folder(county, tmp_path, capsys):
    out = tmp_path / "建议" / "2021"
    code = oversight(
        "--warehouse", county, "--period", "2021", "--format", "json", "--out", str(out)
    )
    assert code == ExitCode.OK
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    assert printed == json.loads((out / "共性问题.json").read_text(encoding="utf-8"))
    assert f"已写入 {out}：共性问题.json，纪检监察建议书 3 份，通报 1 份" in captured.err
    # No staffing in this county, so no colours: drafts for the townships of the common
    # problems, and the county's 通报; no temporary file left.
    assert sorted(name.name for name in out.iterdir()) == sorted(
        [
            "共性问题.json",
            *(
                f"纪检监察建议书_{n}.{s}"
                for n in ("桐君街道", "横村镇", "分水镇")
                for s in ("docx", "md")
            ),
            "通报_2021.docx",
            "通报_2021.md",
        ]
    )
    assert "只为面上共性问题起草建议书" in captured.err
    assert {k: v for k, v in printed.items() if k != "problems"} == {
        "period": "2021",
        "min_townships": 3,
        "min_quarters": 2,
    }
    eng = printed["problems"][0]
    assert eng["model_id"] == "ENG01"
    assert eng["amount"] == "89520000.50" and eng["recovered"] == "12445.60"  # money as strings
    assert eng["township_names"] == ["桐君街道", "横村镇", "分水镇"]
    assert [p["model_id"] for p in printed["problems"]] == ["ENG01", "FUN01", "FUN02", "AST02"]
    assert printed["problems"][1]["amount"] is None


def test_the_table_lines_up_and_ends_with_what_it_adds_up_to(county, pack, capsys):
    assert oversight("--warehouse", county, "--period", "2021", "--format", "table") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["模型", "名称", "乡镇数", "查实"]
    assert [line.split()[0] for line in lines[3:-1]] == ["ENG01", "FUN01", "FUN02", "AST02"]
    assert lines[3].split()[-1] == "在3个乡镇查实"
    assert lines[-1].startswith("2021：4 个模型有查实的预警，其中 3 个是面上共性问题")
    table = api.advise(pack, Period.parse("2021"), county)
    assert render_table(table) == "\n".join(lines)


def test_the_default_off_a_terminal_is_json(county, capsys):
    assert oversight("--warehouse", county, "--period", "2021Q2") == 0
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert [(p["model_id"], p["townships"]) for p in problems] == [("ENG01", 1), ("FUN01", 1)]


@pytest.mark.parametrize("period", ["2021Q5", "去年", "21"])
def test_a_bad_period_is_said_in_both_languages(county, capsys, period):
    assert oversight("--warehouse", county, "--period", period) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert f"「{period}」不是期间" in err and "not a period" in err and "--period" in err
    assert "Traceback" not in err


def test_a_warehouse_without_a_ledger_says_so(tmp_path, capsys):
    url = f"duckdb:///{tmp_path / 'empty.duckdb'}"
    DuckDBWarehouse(url).close()
    assert oversight("--warehouse", url, "--period", "2021", "--format", "json") == ExitCode.OK
    captured = capsys.readouterr()
    assert json.loads(captured.out)["problems"] == []
    assert NO_LEDGER_NOTE in captured.err


def test_a_ledger_without_disposal_records_has_no_common_problem(tmp_path, pack, capsys):
    url = build(tmp_path / "undisposed.duckdb", pack, disposal=False)
    assert oversight("--warehouse", url, "--period", "2021", "--format", "table") == ExitCode.OK
    captured = capsys.readouterr()
    assert captured.out.strip() == "2021 没有查实的预警 / no confirmed warnings in 2021"
    assert captured.err == ""
