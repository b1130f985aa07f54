"""A deployment's own thresholds are bound to the reviewed files, on every warehouse a run uses.

compiled/ leaves each scalar parameter a placeholder (engine/compiler/placeholders.py).
A county that changes thresholds — a number of months added to a date, a number of
days, a ratio with more places than an amount has, an amount, a float, a count —
runs those files with its values bound, and must get exactly the warnings that
compiling with its values written in gives (the way every run with a deployment's
parameters went before), without compiling any model. The null of a parameter that
may have none is tested with the pack that declares one (tests/engine/test_param_types.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from spark_support import spark_available

from adapters import connect
from dsl import ir
from engine.compiler import reviewed
from engine.demo import demo_run
from engine.runs.run import RunResult, run_models
from engine.runs.shared import HOW_SHARED

DAY = dt.date(2021, 12, 31)
ENGINES = ("duckdb", "sqlite", "postgres", "spark")

# A county's own values, each unlike the pack's default and each changing what fires.
COUNTY = {
    "tender_grace_months": 3,  # add_months(p.approved_on, $tender_grace_months) < as_of
    "max_term_months": 120,  # l.end_on > add_months(l.start_on, $max_term_months)
    "open_term_months": 24,
    "exit_window_days": 500,  # a number of days
    "prepay_ratio": Decimal("0.333"),  # more places than an amount: no cast may round it
    "tender_threshold": Decimal("1000000"),
    "max_homestead_area": Decimal("100.5"),  # a float
    "shared_account_min": 2,  # a count compared with count(distinct …)
    "cash_limit": Decimal("20000"),
}


@pytest.fixture(scope="module", params=ENGINES)
def county_url(request, small_county, tmp_path_factory) -> Iterator[str]:
    """The small demo county (size 0.05) in a warehouse of each engine."""
    engine = request.param
    if engine == "spark" and (why := spark_available()):
        pytest.skip(why)
    if engine == "postgres":
        url = request.getfixturevalue("postgres_module_database")
    else:
        folder: Path = tmp_path_factory.mktemp(f"bound-{engine}")
        url = {
            "duckdb": f"duckdb:///{folder / 'county.duckdb'}",
            "sqlite": f"sqlite:///{folder / 'county.sqlite'}",
            "spark": f"spark:///{folder / 'county'}",
        }[engine]
    demo_run.build_warehouse(url, small_county)
    yield url


def _run(pack: ir.CheckedPack, url: str, **options) -> RunResult:
    warehouse = connect(url)
    try:
        result = run_models(pack, warehouse, DAY, **options)
    finally:
        warehouse.close()
    assert not result.failed and not result.skipped
    return result


def _by_model(result: RunResult) -> dict[str, set[tuple[str, str]]]:
    found: dict[str, set[tuple[str, str]]] = {}
    for row in result.warnings.to_pylist():
        found.setdefault(row["model_id"], set()).add((row["warning_key"], row["message"]))
    return found


def test_a_countys_thresholds_bound_give_what_compiling_them_in_gives(
    pack: ir.CheckedPack, county_url: str
):
    dialect = county_url.split(":", 1)[0].replace("postgresql", "postgres")
    # Without the run's shared relations (whose readers compile at run time), not one
    # model compiled: each ran its reviewed file, the county's values bound.
    bound = _run(pack, county_url, parameters=COUNTY, share=False)
    assert [o.sql for o in bound.outcomes] == [
        f"compiled/{dialect}/{o.model_id}.sql" for o in bound.outcomes
    ]
    written_in = _run(pack, county_url, parameters=COUNTY, reviewed=False, share=False)
    assert {o.sql for o in written_in.outcomes} == {"compiled at run time"}
    assert bound.warnings.num_rows > 0
    assert bound.warnings.equals(written_in.warnings)
    shared = _run(pack, county_url, parameters=COUNTY)
    # Spark keeps each relation inline (engine/runs/shared.py HOW_SHARED)
    shares = HOW_SHARED.get(dialect) is not None
    assert any("reading the run's" in o.sql for o in shared.outcomes) == shares
    assert shared.warnings.equals(bound.warnings)
    # The values mattered: the month, day, ratio and count thresholds each changed warnings.
    defaults = _by_model(_run(pack, county_url))
    county = _by_model(bound)
    changed = {m for m in county.keys() | defaults.keys() if county.get(m) != defaults.get(m)}
    assert {"ENG01", "AST03", "FUN06"} <= changed, changed


def test_the_reviewed_files_say_what_they_bind(pack: ir.CheckedPack):
    """The header lists the placeholders in binding order; nothing of the pack is written in."""
    for dialect in ("duckdb", "sqlite", "postgres", "spark"):
        statements = reviewed.reviewed_queries(pack, dialect)
        ast03 = statements["AST03"]
        assert sorted(ast03.bound) == ["as_of", "max_term_months"] and not ast03.written
        assert all(not s.written for s in statements.values())
    postgres = reviewed.reviewed_queries(pack, "postgres")["AST03"]
    assert postgres.bound == ("as_of", "max_term_months")
    assert "INTERVAL '1 MONTH' * CAST($2 /* max_term_months */ AS BIGINT)" in postgres.sql
    assert "-- $1 is the day a run is evaluated for; $2 ($max_term_months) is bound" in (
        postgres.sql
    )
