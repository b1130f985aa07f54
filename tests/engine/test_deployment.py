"""A county's deployment: its own table names (schema-qualified too) and parameter values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from adapters import connect
from engine import api
from engine.cli import main
from engine.exit_codes import ExitCode
from engine.runs import ledger
from engine.schema import source_schema

PROJECT = {
    "project_id": "P1",
    "township": "330122102",
    "name": "农村自来水工程",
    "investment": Decimal("3500000"),
    "approved_on": date(2021, 4, 20),
    "status": "在建",
}


def county_in_schema(url: str, pack) -> None:
    """The sources ENG01 reads, under other names in a schema `ods`."""
    warehouse = connect(url)
    try:
        warehouse.execute("CREATE SCHEMA ods")
        for logical, physical, rows in (
            ("dr_project", "ods.fgw_xmlx", [PROJECT]),
            ("trade_tender", "ods.ggzy_zbgg", []),
            ("ref_township", "ods.dim_xz", [{"township": "330122102", "name": "分水镇"}]),
        ):
            schema = source_schema(pack.pack.sources[logical])
            warehouse.load(physical, pa.Table.from_pylist(rows, schema=schema))
    finally:
        warehouse.close()


@pytest.fixture(params=["duckdb", "postgres"])
def url(request, tmp_path: Path) -> str:
    if request.param == "postgres":
        return request.getfixturevalue("postgres_database")
    return f"duckdb:///{tmp_path / 'county.duckdb'}"


def test_sources_mapped_to_schema_tables_and_a_lower_threshold(url, pack, tmp_path: Path):
    county_in_schema(url, pack)
    deployment = tmp_path / "deployment.yaml"
    deployment.write_text(
        f"""# 分水县的部署
warehouse: {url}
tables:
  dr_project: ods.fgw_xmlx
  trade_tender: ods.ggzy_zbgg
  ref_township: ods.dim_xz
parameters:
  tender_threshold: 3000000   # 本县放低到300万元
ledger_schema: oversight
""",
        encoding="utf-8",
    )
    output = tmp_path / "w.parquet"
    code = main(
        [
            "run",
            "--as-of",
            "2021-11-15",
            "--deployment",
            str(deployment),
            "--select",
            "ENG01",
            "--output",
            str(output),
        ]
    )
    assert code == 0
    [warning] = pq.read_table(output).to_pylist()
    assert warning["warning_key"] == "P1"
    assert warning["message"].startswith("投资额为350万元的分水镇农村自来水工程")
    warehouse = connect(url)
    try:
        assert warehouse.has_table("oversight.oversight_ledger")
        assert len(ledger.read(warehouse, ledger.Tables("oversight"))) == 1
    finally:
        warehouse.close()


def test_a_deployment_naming_an_unknown_source_or_parameter_is_refused(pack, tmp_path: Path):
    deployment = tmp_path / "deployment.yaml"
    deployment.write_text(
        "tables:\n  dr_projects: x\nparameters:\n  tender_treshold: 1\n", encoding="utf-8"
    )
    with pytest.raises(api.DiagnosticError) as raised:
        api.deployment_for(pack, deployment)
    assert [d.code for d in raised.value.diagnostics] == ["E621", "E622"]
    assert raised.value.diagnostics[0].span.line == 2


def test_a_parameter_out_of_its_range_is_refused(pack, tmp_path: Path):
    deployment = tmp_path / "deployment.yaml"
    deployment.write_text("parameters:\n  prepay_ratio: 1.5\n", encoding="utf-8")
    with pytest.raises(api.DiagnosticError) as raised:
        api.deployment_for(pack, deployment)
    assert raised.value.diagnostics[0].code == "E623"


@pytest.mark.parametrize(
    "line",
    [
        'dr_project: main.t"; DROP TABLE y; --',  # was a TokenError, exit 70
        "dr_project: t; DROP TABLE y",  # was "skipped, missing source", exit 0
        "dr_project: ods.fgw.xmlx",  # three parts: only SCHEMA.TABLE is a table name
        "dr_project:",  # no name at all
    ],
)
def test_a_table_name_that_is_not_an_identifier_is_an_e624_before_anything_runs(
    line: str, tmp_path: Path, capsys
):
    url = f"duckdb:///{tmp_path / 'county.duckdb'}"
    connect(url).close()
    deployment = tmp_path / "deployment.yaml"
    deployment.write_text(f"warehouse: {url}\ntables:\n  {line}\n", encoding="utf-8")
    code = main(["run", "--as-of", "2021-12-31", "--deployment", str(deployment)])
    err = capsys.readouterr().err
    assert code == ExitCode.INVALID_POLICY
    assert f"{deployment}:3:" in err and "error[E624]" in err and "Traceback" not in err
    warehouse = connect(url)
    try:  # nothing ran: no ledger was made
        assert not warehouse.has_table(ledger.LEDGER)
    finally:
        warehouse.close()


def test_a_ledger_schema_that_is_not_an_identifier_creates_nothing(tmp_path: Path, capsys):
    url = f"duckdb:///{tmp_path / 'county.duckdb'}"
    connect(url).close()
    deployment = tmp_path / "deployment.yaml"
    deployment.write_text(
        f'warehouse: {url}\nledger_schema: "main; DROP TABLE y; --"\n', encoding="utf-8"
    )
    code = main(["run", "--as-of", "2021-12-31", "--deployment", str(deployment)])
    err = capsys.readouterr().err
    assert code == ExitCode.INVALID_POLICY
    assert f"{deployment}:2:16: error[E624]: ledger_schema" in err
    with duckdb.connect(str(tmp_path / "county.duckdb")) as connection:
        schemas = {
            r[0] for r in connection.sql("SELECT schema_name FROM duckdb_schemas()").fetchall()
        }
    assert not any("DROP" in s for s in schemas)


def test_plain_names_schema_qualified_or_chinese_are_accepted(pack, tmp_path: Path):
    deployment = tmp_path / "deployment.yaml"
    deployment.write_text(
        "tables:\n  dr_project: ods.fgw_xmlx\n  trade_tender: 招标公告\nledger_schema: oversight\n",
        encoding="utf-8",
    )
    setup = api.deployment_for(pack, deployment)
    assert setup.tables == {"dr_project": "ods.fgw_xmlx", "trade_tender": "招标公告"}
    assert setup.ledger_schema == "oversight"


def test_a_misspelt_source_suggests_the_right_one(pack, tmp_path: Path):
    deployment = tmp_path / "deployment.yaml"
    deployment.write_text("tables:\n  dr_projet: ods.fgw_xmlx\n", encoding="utf-8")
    with pytest.raises(api.DiagnosticError) as raised:
        api.deployment_for(pack, deployment)
    [problem] = raised.value.diagnostics
    assert problem.code == "E621" and "did you mean dr_project?" in problem.hints[0]


def test_tables_that_are_not_a_mapping_are_an_e620(pack, tmp_path: Path):
    deployment = tmp_path / "deployment.yaml"
    deployment.write_text("tables:\n  - dr_project\n", encoding="utf-8")
    with pytest.raises(api.DiagnosticError) as raised:
        api.deployment_for(pack, deployment)
    assert [d.code for d in raised.value.diagnostics] == ["E620"]
