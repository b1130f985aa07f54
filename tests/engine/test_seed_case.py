"""The article's case: an 88,320,000-yuan project of 分水镇 approved 2021-04-20, no tender."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow.parquet as pq

from engine.cli import main
from engine.exit_codes import ExitCode

SEED_MESSAGE = (
    "投资额为8832万元的分水镇农村自来水工程，立项至今已超6个月，尚未招标，"
    "是否存在“应招未招”情况？请核查。"
)
SEED_PROJECT = {
    "project_id": "P1",
    "township": "330122102",
    "name": "农村自来水工程",
    "investment": Decimal("88320000"),
    "approved_on": date(2021, 4, 20),
    "status": "在建",
}


def run_seed(duckdb_warehouse, townships, tmp_path, as_of: str) -> tuple[int, list[dict]]:
    url = duckdb_warehouse(
        {"dr_project": [SEED_PROJECT], "trade_tender": [], "ref_township": townships}
    )
    output = tmp_path / f"warnings-{as_of}.parquet"
    code = main(["run", "--as-of", as_of, "--warehouse", url, "--output", str(output)])
    return code, pq.read_table(output).to_pylist()


def test_seed_case_raises_the_articles_warning(duckdb_warehouse, townships, tmp_path):
    code, warnings = run_seed(duckdb_warehouse, townships, tmp_path, "2021-11-15")
    assert code == ExitCode.MODELS_SKIPPED  # the warehouse holds only the sources ENG01 reads
    assert [(w["model_id"], w["warning_key"], w["township"]) for w in warnings] == [
        ("ENG01", "P1", "330122102")
    ]
    warning = warnings[0]
    assert warning["message"] == SEED_MESSAGE
    assert warning["severity"] == "red"
    assert warning["as_of"] == date(2021, 11, 15)


def test_seed_case_is_quiet_before_six_months_have_passed(duckdb_warehouse, townships, tmp_path):
    code, warnings = run_seed(duckdb_warehouse, townships, tmp_path, "2021-10-19")
    assert code == ExitCode.MODELS_SKIPPED
    assert warnings == []


def test_models_whose_sources_are_missing_are_skipped_and_named(
    duckdb_warehouse, townships, tmp_path, capsys
):
    run_seed(duckdb_warehouse, townships, tmp_path, "2021-11-15")
    err = capsys.readouterr().err
    assert "skipped ENG02" in err and "trade_contract" in err
    assert "skipped ENG01" not in err
