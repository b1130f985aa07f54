"""oversight runs any pack: the second pack (no township, ids such as 常胜供应商) end to end.

Each door a model id passes through is tried with ids that are not of the form ENG01:
command-line arguments (`explain`, `--select`, `warnings --model`), the files
`compile` writes, the ledger and the run's Parquet output, the service's
/v1/models and /v1/precheck. What a pack without townships cannot have — scores, a
report, the demo, a township filter — is refused in words, never with a traceback.
"""

from __future__ import annotations

import asyncio
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from datetime import date
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
from procurement_fixture import PACK, RUNS, WARNINGS, fill_procurement, procurement_pack

from adapters import connect
from dsl import ir
from engine.cli import main
from engine.exit_codes import ExitCode
from engine.runs import ledger
from engine.service.server import Service, create_app

POLICIES = ["--policies", str(PACK)]


@pytest.fixture(scope="module")
def pack() -> ir.CheckedPack:
    return procurement_pack()


@pytest.fixture
def city(tmp_path: Path, pack: ir.CheckedPack) -> str:
    """A DuckDB warehouse with the city's procurement data and no ledger yet."""
    return fill_procurement(f"duckdb:///{tmp_path / 'city.duckdb'}", pack)


def oversight(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


# ---- command-line arguments and files named by a model id -----------------------------------


def test_explain_takes_a_chinese_id_and_suggests_it_for_a_near_one():
    code, out, _ = oversight("explain", *POLICIES, "常胜供应商", "--format", "json")
    assert code == ExitCode.OK
    explained = json.loads(out)
    assert (explained["id"], explained["domain"]) == ("常胜供应商", "供应商集中")
    assert '"township"' not in explained["sql"]

    code, _, err = oversight("explain", *POLICIES, "常胜供应")
    assert code == ExitCode.INVALID_POLICY
    assert "E215" in err and "是否要写 常胜供应商？" in err


@pytest.mark.parametrize(
    ("selector", "ran"),
    [
        ("常胜供应商", ["常胜供应商"]),
        ("price_outlier", ["price_outlier"]),
        ("PRICE", ["price_below_threshold", "price_outlier"]),
        ("竞争不足", ["C01", "C02"]),
    ],
)
def test_select_takes_ids_and_domains_of_any_form(city: str, selector: str, ran: list[str]):
    code, out, err = oversight(
        "run", *POLICIES, "--warehouse", city, "--as-of", "2022-12-31",
        "--select", selector, "--no-ledger", "--format", "json",
    )  # fmt: skip
    assert code == ExitCode.OK, err
    assert json.loads(out)["models_run"] == len(ran)


def test_a_selector_in_the_wrong_case_is_told_the_right_one(city: str):
    code, _, err = oversight(
        "run", *POLICIES, "--warehouse", city, "--as-of", "2022-12-31", "--select", "Price_Outlier"
    )
    assert code == ExitCode.USAGE
    assert "price_outlier" in err


def test_compile_writes_one_file_per_id_and_selects_by_it(tmp_path: Path):
    out = tmp_path / "sql"
    code, _, err = oversight(
        "compile", *POLICIES, "--dialect", "postgres", "--out", str(out),
        "--select", "常胜供应商", "--select", "C01",
    )  # fmt: skip
    assert code == ExitCode.OK, err
    assert sorted(p.name for p in out.iterdir()) == ["C01.sql", "常胜供应商.sql"]
    assert (
        (out / "常胜供应商.sql")
        .read_text(encoding="utf-8")
        .startswith("-- 常胜供应商 同一供应商屡屡中标 | dialect: postgres")
    )


# ---- the ledger and what a run writes --------------------------------------------------------


def test_the_ledger_and_the_output_carry_the_ids_and_no_township(city: str, tmp_path: Path):
    output = tmp_path / "warnings.parquet"
    for day in RUNS:
        code, _, err = oversight(
            "run", *POLICIES, "--warehouse", city, "--as-of", str(day), "--output", str(output)
        )
        assert code == ExitCode.OK, err
    written = pq.read_table(output).to_pylist()
    assert sorted((w["model_id"], w["warning_key"], w["township"]) for w in written) == [
        (model_id, key, None) for model_id, key, *_ in WARNINGS
    ]
    warehouse = connect(city, must_exist=True)
    try:
        recorded = ledger.read(warehouse).to_pylist()
    finally:
        warehouse.close()
    assert sorted((w["model_id"], w["warning_key"], w["township"]) for w in recorded) == [
        (model_id, key, None) for model_id, key, *_ in WARNINGS
    ]

    # The same as_of again adds nothing.
    code, out, _ = oversight(
        "run", *POLICIES, "--warehouse", city, "--as-of", "2022-12-31", "--format", "json"
    )
    assert (code, json.loads(out)["new_in_ledger"]) == (ExitCode.OK, 0)


def test_warnings_lists_them_by_any_id_in_any_case(city: str):
    oversight("run", *POLICIES, "--warehouse", city, "--as-of", "2022-12-31")
    code, out, err = oversight(
        "warnings", *POLICIES, "--warehouse", city, "--format", "json",
        "--model", "PRICE_OUTLIER", "--model", "常胜供应商",
    )  # fmt: skip
    assert code == ExitCode.OK, err
    rows = json.loads(out)
    assert sorted((r["model_id"], r["township"], r["township_name"]) for r in rows) == [
        ("price_outlier", None, None),
        ("常胜供应商", None, None),
    ]
    assert {r["status_label"] for r in rows} == {"待核查"}

    code, out, _ = oversight("warnings", *POLICIES, "--warehouse", city, "--format", "table")
    assert code == ExitCode.OK
    assert out.splitlines()[0].split() == [
        "预警日期",
        "模型",
        "等级",
        "状态",
        "预警编号",
        "预警内容",
    ]


def test_a_township_filter_is_refused_in_words(city: str):
    code, _, err = oversight("warnings", *POLICIES, "--warehouse", city, "--township", "分水镇")
    assert code == ExitCode.USAGE
    assert "不按乡镇分派预警" in err and "Traceback" not in err


# ---- what a pack without townships does not have ---------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["score", "--period", "2022Q4"],
        ["report", "--period", "2022", "--output", "report.html"],
    ],
)
def test_scores_and_the_report_are_not_available(city: str, tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    oversight("run", *POLICIES, "--warehouse", city, "--as-of", "2022-12-31")
    code, out, err = oversight(command[0], *POLICIES, "--warehouse", city, *command[1:])
    assert code == ExitCode.INVALID_POLICY
    assert err.startswith("error[E699]: 策略包「公共采购红旗指标（第二个策略包）」不按乡镇分派预警")
    assert "Traceback" not in err and out == ""
    assert not (tmp_path / "report.html").exists()


def test_the_demo_refuses_the_pack_before_building_anything(tmp_path: Path):
    target = tmp_path / "demo.duckdb"
    code, _, err = oversight("demo", *POLICIES, "--warehouse", f"duckdb:///{target}")
    assert code == ExitCode.INVALID_POLICY
    assert "E699" in err
    assert not target.exists()


# ---- the service -----------------------------------------------------------------------------


def _call(service: Service, method: str, path: str, body: object = None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(service), client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://oversight") as http:
            return await http.request(method, path, json=body)

    return asyncio.run(go())


def test_the_service_lists_and_prechecks_models_of_any_id(city: str):
    service = Service(PACK, city)
    try:
        models = _call(service, "GET", "/v1/models").json()
        assert [m["id"] for m in models["models"]] == [
            "C01",
            "C02",
            "price_below_threshold",
            "price_outlier",
            "常胜供应商",
        ]
        award = {
            "award_id": "A90",
            "process_id": "P3",
            "supplier_code": "S3",
            "amount": 960000,
            "awarded_on": "2022-12-20",
        }
        answer = _call(
            service,
            "POST",
            "/v1/precheck",
            {"source": "proc_award", "records": [award], "as_of": "2022-12-31"},
        )
    finally:
        service.pool.close()
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # Just under the threshold; and B2's fourth award, its third to S3.
    assert [
        (w["model_id"], w["warning_key"], w["township"], w["change"]) for w in body["warnings"]
    ] == [
        ("price_below_threshold", "A90", None, "new"),
        ("常胜供应商", "B2|S3", None, "new"),
    ]
    assert date.fromisoformat(body["as_of"]) == date(2022, 12, 31)
