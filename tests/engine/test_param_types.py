"""List, map and nullable parameters on the warehouses: what fires, and what a county changes.

The pack in tests/param_types_pack/ checks procurement: `t.method in
$restricted_methods` (a list<string>), `not in` it, `value_of($min_bid_days,
t.method, 10)` (a map<string, int>), `$award_cap is not null and …` and
`$award_cap is null or …` (a nullable decimal), `t.year in $watched_years`
(a list<int>). Its examples, and one county's data with the pack's values
and with a deployment's, must give the same warnings on DuckDB, SQLite,
PostgreSQL and Spark; every dialect must compile them; `oversight param set`
must write a list, a map and null so that the next run uses them.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from adapters import connect
from dsl import ir
from dsl.diagnostics import DiagnosticError
from dsl.pack import ParamMap, load_pack
from engine import api
from engine.cli import main
from engine.compiler import reviewed
from engine.compiler.compile import DIALECTS, Target, compile_model, parses_back
from engine.exit_codes import ExitCode
from engine.policy.deployment import load_deployment
from engine.policy.examples import run_examples
from engine.runs.run import run_models
from engine.schema import source_schema

PACK = Path(__file__).resolve().parents[1] / "param_types_pack"
ENGINES = ("duckdb", "sqlite", "postgres", "spark")
AS_OF = date(2021, 6, 30)


@pytest.fixture(scope="module")
def pack() -> ir.CheckedPack:
    return api.load_pack(PACK, examples=True)


# ---- the examples ----------------------------------------------------------------------------


def test_every_example_passes_on_each_warehouse(warehouse_url: str, pack: ir.CheckedPack):
    warehouse = connect(warehouse_url)
    try:
        outcomes = run_examples(pack, warehouse=warehouse)
    finally:
        warehouse.close()
    failed = {f"{o.model_id} {o.title}": [d.message for d in o.problems] for o in outcomes}
    failed = {k: v for k, v in failed.items() if v}
    assert len(outcomes) == 19 and all(o.passed for o in outcomes), failed


# ---- one county's data, with the pack's values and a deployment's ----------------------------

TENDERS = [
    # 9 days from notice to opening; 邀请招标 is on the pack's list; 2,000,000 yuan.
    {"tender_id": "T1", "township": "330122001", "method": "邀请招标",
     "published_on": date(2021, 3, 1), "opened_on": date(2021, 3, 10), "year": 2021,
     "amount": Decimal("2000000.00")},
    {"tender_id": "T2", "township": "330122002", "method": "公开招标",
     "published_on": date(2021, 3, 1), "opened_on": date(2021, 3, 25), "year": 2020,
     "amount": Decimal("500000.00")},
    {"tender_id": "T3", "township": "330122003", "method": "询价",
     "published_on": date(2021, 3, 1), "opened_on": date(2021, 3, 8), "year": 2021,
     "amount": None},
    # No method (not on any list; value_of's default), no year.
    {"tender_id": "T4", "township": "330122001", "method": None,
     "published_on": date(2021, 3, 1), "opened_on": date(2021, 3, 20), "year": None,
     "amount": Decimal("1500000.00")},
    # Published after the day evaluated: invisible, though on every list.
    {"tender_id": "T5", "township": "330122001", "method": "竞争性谈判",
     "published_on": date(2021, 7, 15), "opened_on": date(2021, 7, 16), "year": 2021,
     "amount": Decimal("9000000.00")},
]  # fmt: skip

# With the pack's values: restricted [邀请招标, 竞争性谈判], watched [2021],
# min_bid_days {公开招标: 20, 邀请招标: 15} else 10, no award cap.
WITH_THE_PACK = {
    "ENG01": ["T1"],
    "ENG02": ["T2", "T3", "T4"],  # `not in` holds for a missing method
    "ENG03": ["T1", "T3"],  # 9 < 15, 7 < 10; T2 24 >= 20, T4 19 >= 10 (no method: 10)
    "ENG04": [],  # no cap: nothing is over it
    "ENG05": ["T1", "T2", "T3", "T4"],  # no cap: every tender is reviewed
    "ENG06": ["T1", "T3"],
}

# A county that restricts 公开招标 instead, watches no year, gives 询价 5 days and
# 公开招标 25, and caps awards at 1,000,000.
COUNTY = """\
parameters:
  restricted_methods: [公开招标]
  watched_years: []
  min_bid_days:
    询价: 5
    公开招标: 25
  award_cap: 1000000
"""
WITH_THE_COUNTY = {
    "ENG01": ["T2"],
    "ENG02": ["T1", "T3", "T4"],
    "ENG03": ["T1", "T2"],  # 邀请招标 no longer in the map: 9 < 10; 24 < 25; 询价 7 >= 5
    "ENG04": ["T1", "T4"],
    "ENG05": ["T1", "T4"],
    "ENG06": [],
}


def _county(url: str, pack: ir.CheckedPack) -> None:
    warehouse = connect(url)
    try:
        schema = source_schema(pack.pack.sources["proc_tender"])
        warehouse.load("proc_tender", pa.Table.from_pylist(TENDERS, schema=schema), replace=True)
    finally:
        warehouse.close()


def _warnings(url: str, pack: ir.CheckedPack, parameters: dict[str, Any]) -> dict[str, Any]:
    warehouse = connect(url)
    try:
        result = run_models(pack, warehouse, AS_OF, parameters=parameters)
    finally:
        warehouse.close()
    assert not result.failed and not result.skipped
    found: dict[str, Any] = {model_id: [] for model_id in pack.models}
    messages = {}
    for row in result.warnings.to_pylist():
        found[row["model_id"]].append(row["warning_key"])
        messages[(row["model_id"], row["warning_key"])] = row["message"]
    return {"keys": {k: sorted(v) for k, v in found.items()}, "messages": messages}


def test_the_pack_values_and_a_deployments_on_each_warehouse(
    warehouse_url: str, pack: ir.CheckedPack, tmp_path: Path
):
    _county(warehouse_url, pack)
    county = tmp_path / "county.yaml"
    county.write_text(COUNTY, encoding="utf-8")
    overrides = load_deployment(county, pack.pack).parameters

    defaults = _warnings(warehouse_url, pack, {})
    assert defaults["keys"] == WITH_THE_PACK
    assert defaults["messages"][("ENG03", "T3")] == "T3公告后7天开标，少于10天"
    assert defaults["messages"][("ENG05", "T3")] == "T3金额未填元，上限未设"

    deployed = _warnings(warehouse_url, pack, overrides)
    assert deployed["keys"] == WITH_THE_COUNTY
    assert deployed["messages"][("ENG03", "T2")] == "T2公告后24天开标，少于25天"
    assert deployed["messages"][("ENG04", "T4")] == "T4金额1500000元，超过上限1000000元"
    assert deployed["messages"][("ENG05", "T1")] == "T1金额2000000元，上限1000000"


def test_a_deployment_that_sets_no_cap_overrides_a_pack_cap(pack: ir.CheckedPack, tmp_path):
    """`award_cap: null` in a deployment is an override (no cap), not the absence of one."""
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    _county(url, pack)
    capped = {"award_cap": Decimal(1000000)}
    assert _warnings(url, pack, capped)["keys"]["ENG05"] == ["T1", "T4"]
    county = tmp_path / "county.yaml"
    county.write_text("parameters:\n  award_cap: null\n", encoding="utf-8")
    overrides = load_deployment(county, pack.pack).parameters
    assert overrides == {"award_cap": None}
    assert _warnings(url, pack, overrides)["keys"]["ENG05"] == ["T1", "T2", "T3", "T4"]


def _run(url: str, pack: ir.CheckedPack, parameters: dict[str, Any], reviewed: bool = True):
    warehouse = connect(url)
    try:
        return run_models(pack, warehouse, AS_OF, parameters=parameters, reviewed=reviewed)
    finally:
        warehouse.close()


def test_the_reviewed_sql_binds_a_scalar_and_a_list_or_map_is_compiled(
    warehouse_url: str, tmp_path: Path
):
    """compiled/ binds $award_cap, null or not; a county's list or map compiles its models.

    On each warehouse the reviewed files with the values bound give what compiling
    with them written in gives, the null ("no cap") included.
    """
    policies = tmp_path / "policies"
    shutil.copytree(PACK, policies)
    pack = api.load_pack(policies)
    api.write_compiled(pack, reviewed.compiled_folder(policies))
    dialect = warehouse_url.split(":", 1)[0].replace("postgresql", "postgres")
    statements = reviewed.reviewed_queries(pack, dialect)
    assert sorted(statements) == sorted(pack.models)
    assert sorted(statements["ENG05"].bound) == ["as_of", "award_cap"]  # SQLite: in text order
    assert statements["ENG01"].written == {"restricted_methods"}
    _county(warehouse_url, pack)
    county = tmp_path / "county.yaml"
    county.write_text(COUNTY, encoding="utf-8")
    overrides = load_deployment(county, pack.pack).parameters
    capped = {"award_cap": overrides["award_cap"]}
    for parameters, expected in ((capped, None), ({}, WITH_THE_PACK), (overrides, WITH_THE_COUNTY)):
        bound = _run(warehouse_url, pack, parameters)
        written_in = _run(warehouse_url, pack, parameters, reviewed=False)
        assert bound.warnings.equals(written_in.warnings), parameters
        ran_from = {o.model_id: o.sql for o in bound.outcomes}
        compiled_now = {m for m, sql in ran_from.items() if sql == "compiled at run time"}
        # A list or a map is written in: a county that changes one compiles the models
        # reading it, and only those.
        assert compiled_now == ({"ENG01", "ENG02", "ENG03", "ENG06"} & pack.models.keys()
                                if parameters is overrides else set())  # fmt: skip
        assert ran_from["ENG05"] == f"compiled/{dialect}/ENG05.sql"
        if expected is not None:
            assert _warnings(warehouse_url, pack, parameters)["keys"] == expected
    none = _warnings(warehouse_url, pack, {})["messages"]
    assert none[("ENG05", "T3")] == "T3金额未填元，上限未设"
    assert _warnings(warehouse_url, pack, capped)["messages"][("ENG05", "T1")] == (
        "T1金额2000000元，上限1000000"
    )


# ---- what is compiled ------------------------------------------------------------------------


def _sql(pack: ir.CheckedPack, model_id: str, dialect: str = "duckdb", **parameters: Any) -> str:
    target = Target(dialect, AS_OF, parameters)
    return compile_model(pack.models[model_id], pack, target).sql()


def test_a_list_is_written_out_as_the_items_in_effect(pack: ir.CheckedPack):
    assert "IN ('邀请招标', '竞争性谈判')" in _sql(pack, "ENG01")
    assert "IN ('公开招标')" in _sql(pack, "ENG01", restricted_methods=("公开招标",))
    assert "IN (2019, 2020)" in _sql(pack, "ENG06", watched_years=(2019, 2020))
    # `not in` holds for a missing method, as `not in (…)` does.
    assert """"t"."method" IS NULL OR NOT "t"."method" IN ('邀请招标', '竞争性谈判')""" in _sql(
        pack, "ENG02"
    )


def test_an_empty_list_holds_for_nothing(pack: ir.CheckedPack):
    """SQL has no `in ()`: an empty list is written as the answer, false for in, true for not in."""
    assert _sql(pack, "ENG01", restricted_methods=()).endswith(" IS NULL) AND FALSE")
    assert _sql(pack, "ENG02", restricted_methods=()).endswith(" IS NULL) AND TRUE")


def test_a_map_is_a_case_over_its_keys_and_an_empty_one_its_default(pack: ir.CheckedPack):
    sql = _sql(pack, "ENG03")
    case = """CASE "t"."method" WHEN '公开招标' THEN 20 WHEN '邀请招标' THEN 15 ELSE 10 END"""
    assert case in sql
    sql = _sql(pack, "ENG03", min_bid_days=ParamMap([("询价", 5)]))
    assert """CASE "t"."method" WHEN '询价' THEN 5 ELSE 10 END""" in sql
    assert "CASE" not in _sql(pack, "ENG03", min_bid_days=ParamMap())


def test_no_threshold_is_a_null_of_its_type(pack: ir.CheckedPack):
    assert "CAST(NULL AS DECIMAL(18, 2)) IS NULL" in _sql(pack, "ENG05")
    assert "1000000 IS NULL" in _sql(pack, "ENG05", award_cap=Decimal(1000000))
    # SQLite's NULL has no type, and its CAST(… AS DATE) would not be a date.
    assert "NULL IS NULL" in _sql(pack, "ENG05", "sqlite")


@pytest.mark.parametrize(
    ("dialect", "where"),
    [
        ("duckdb", "$award_cap IS NULL OR "),  # an amount takes the type of the value bound
        ("sqlite", ":award_cap IS NULL OR "),
        ("postgres", "CAST($2 /* award_cap */ AS DECIMAL) IS NULL OR "),  # NUMERIC: exact
        ("spark", ":award_cap IS NULL OR "),
    ],
)
def test_a_bound_parameter_names_itself(pack: ir.CheckedPack, dialect: str, where: str):
    """In the reviewed form a scalar is a placeholder named after it; a list stays written in."""
    target = Target(dialect, bind_parameters=True)
    capped = compile_model(pack.models["ENG05"], pack, target)
    assert where in capped.sql() and "NULL AS DECIMAL" not in capped.sql()
    assert sorted(capped.placeholders) == ["as_of", "award_cap"] and not capped.written
    listed = compile_model(pack.models["ENG01"], pack, target)
    assert "('邀请招标', '竞争性谈判')" in listed.sql()
    assert listed.placeholders == ("as_of",) and listed.written == {"restricted_methods"}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_dialect_compiles_them(pack: ir.CheckedPack, dialect: str):
    county = {
        "restricted_methods": (),
        "min_bid_days": ParamMap([("询价", 5)]),
        "award_cap": Decimal("1000000.50"),
    }
    for model_id in sorted(pack.models):
        for parameters in ({}, county):
            assert parses_back(_sql(pack, model_id, dialect, **parameters), dialect), model_id


# ---- `oversight param set` and `param list` ----------------------------------------------------


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(PACK, target)
    return target


def test_param_set_writes_a_list_a_map_and_null_that_the_next_run_uses(
    policies: Path, tmp_path: Path, capsys
):
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    pack = api.load_pack(policies)
    _county(url, pack)
    base = ["param", "set", "--policies", str(policies), "--no-examples"]
    assert main([*base, "restricted_methods", "[公开招标, 询价]"]) == ExitCode.OK
    said = capsys.readouterr().out
    assert "restricted_methods: [邀请招标, 竞争性谈判] → [公开招标, 询价]" in said
    assert main([*base, "min_bid_days", "{询价: 8}"]) == ExitCode.OK
    assert main([*base, "award_cap", "1000000"]) == ExitCode.OK
    assert "award_cap: null → 1000000 元" in capsys.readouterr().out

    text = (policies / "pack.yaml").read_text(encoding="utf-8")
    assert "    default: [公开招标, 询价]\n" in text
    assert "    default:\n      询价: 8\n    min: 0\n" in text  # a block map stays a block
    assert "    default: 1000000\n" in text
    declared = load_pack(policies).parameters
    assert declared["restricted_methods"].default == ("公开招标", "询价")
    assert declared["min_bid_days"].default == ParamMap([("询价", 8)])
    assert declared["award_cap"].default == Decimal(1000000)

    after = _warnings(url, api.load_pack(policies), {})["keys"]
    assert after["ENG01"] == ["T2", "T3"]
    assert after["ENG03"] == ["T1", "T3"]  # 邀请招标 and 询价 now: 9 < 10, 7 < 8
    assert after["ENG04"] == ["T1", "T4"]

    # And back: no cap again.
    assert main([*base, "award_cap", "null"]) == ExitCode.OK
    assert "award_cap: 1000000 → null" in capsys.readouterr().out
    assert load_pack(policies).parameters["award_cap"].default is None


def test_param_set_writes_a_deployments_list_override(policies: Path, tmp_path: Path, capsys):
    county = tmp_path / "county.yaml"
    base = ["param", "set", "--policies", str(policies), "--deployment", str(county)]
    assert main([*base, "watched_years", "[2019, 2020]"]) == ExitCode.OK
    assert main([*base, "min_bid_days", "{}"]) == ExitCode.OK
    assert main([*base, "award_cap", "null", "--format", "json"]) == ExitCode.OK
    change = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (change["new"], change["default"], change["unchanged"]) == (None, None, False)
    assert county.read_text(encoding="utf-8").endswith(
        "parameters:\n  watched_years: [2019, 2020]\n  min_bid_days: {}\n  award_cap: null\n"
    )
    overrides = load_deployment(county, load_pack(policies)).parameters
    assert overrides == {
        "watched_years": (2019, 2020),
        "min_bid_days": ParamMap(),
        "award_cap": None,
    }

    assert main(["param", "list", "--policies", str(policies), "--deployment", str(county),
                 "--format", "json"]) == ExitCode.OK  # fmt: skip
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["watched_years"]["type"] == "list<int>"
    assert (rows["watched_years"]["default"], rows["watched_years"]["effective"]) == (
        [2021],
        [2019, 2020],
    )
    assert rows["min_bid_days"]["default"] == {"公开招标": 20, "邀请招标": 15}
    assert rows["min_bid_days"]["effective"] == {}
    assert rows["award_cap"]["nullable"] and rows["award_cap"]["overridden"]
    assert rows["award_cap"]["override"] is None and rows["restricted_methods"]["override"] is None
    assert not rows["restricted_methods"]["overridden"]


def test_param_set_keeps_the_rest_of_a_block_list(policies: Path):
    """A list written one item a line is written back so; only its items change.

    The comment after its last item stays at the end of the list, the one below it stays.
    """
    pack_file = policies / "pack.yaml"
    before = pack_file.read_text(encoding="utf-8")
    block = before.replace(
        "    default: [2021]\n", "    default:\n      - 2021   # 重点年份\n    # 可改为多年\n"
    )
    pack_file.write_text(block, encoding="utf-8")
    args = ["watched_years", "[2019, 2020]", "--no-examples", "--policies", str(policies)]
    assert main(["param", "set", *args]) == ExitCode.OK
    after = pack_file.read_text(encoding="utf-8")
    assert after == block.replace("      - 2021   #", "      - 2019\n      - 2020   #")


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("restricted_methods", "邀请招标", "E691"),  # not a list
        ("restricted_methods", "[邀请招标, 1]", "E691"),  # an item that is not text
        ("watched_years", "[2021, 二〇二一]", "E691"),
        ("min_bid_days", "{询价: 五}", "E691"),
        ("restricted_methods", "[询价, 询价]", "E692"),
        ("min_bid_days", "{询价: 5, 询价: 6}", "E692"),
        ("watched_years", "null", "E693"),  # a list is never null: [] is no year
        ("min_bid_days", "{询价: 5", "E694"),  # not readable
        ("min_bid_days", "{询价: -1}", "E662"),  # below its minimum 0
        ("award_cap", "-1", "E662"),
        ("award_cap", "很多", "E661"),
    ],
)
def test_param_set_refuses_what_does_not_fit(policies: Path, name, value, code, capsys):
    before = (policies / "pack.yaml").read_bytes()
    base = ["param", "set", "--policies", str(policies), "--format", "json"]
    assert main([*base, name, value]) == ExitCode.INVALID_POLICY
    [problem] = json.loads(capsys.readouterr().err)
    assert problem["code"] == code
    assert (policies / "pack.yaml").read_bytes() == before


def test_a_deployment_value_that_does_not_fit_is_pointed_at(pack: ir.CheckedPack, tmp_path):
    county = tmp_path / "county.yaml"
    county.write_text(
        "parameters:\n"
        "  restricted_methods: [邀请招标, 询价, 邀请招标]\n"
        "  min_bid_days: {询价: 5, 询价: 6}\n",
        encoding="utf-8",
    )
    with pytest.raises(DiagnosticError) as raised:
        load_deployment(county, pack.pack)
    [problem] = raised.value.diagnostics  # the repeated key stops the file being read at all
    assert (problem.code, problem.span.line, problem.span.column) == ("E692", 3, 25)
    county.write_text(
        "parameters:\n  restricted_methods: [邀请招标, 询价, 邀请招标]\n  award_cap: null\n"
        "  watched_years: [2021, true]\n",
        encoding="utf-8",
    )
    with pytest.raises(DiagnosticError) as raised:
        load_deployment(county, pack.pack)
    found = [(d.code, d.span.line, d.span.column) for d in raised.value.diagnostics]
    assert found == [("E692", 2, 34), ("E691", 4, 25)]  # null is this county's "no cap"
