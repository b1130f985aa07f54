"""One policy, any warehouse: the same warnings and scores on DuckDB, SQLite, PostgreSQL and Spark.

Proved by running, not by comparing SQL: every model's inline examples, the
hand-computed index fixture, and the whole demo county (its month-end runs,
their ledger and the 2021Q4 scores) on each engine, the results normalised and
compared with DuckDB's, the embedded default.

    python3 -m pytest tests/conformance                                 # CI: demo at size 0.05
    OVERSIGHT_CONFORMANCE_SIZE=1 python3 -m pytest tests/conformance    # the full demo

PostgreSQL is started from Debian's binaries on loopback for the session (or
$OVERSIGHT_TEST_POSTGRES is used); Spark runs in local mode with pyspark.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import spark_available
from index_fixture import build_index_fixture

from adapters import connect
from dsl import ir
from engine import api, demo_run
from engine.demo.generator import generate
from engine.examples import run_examples
from engine.score import Period

ROOT = Path(__file__).resolve().parents[2]
SIZE = float(os.environ.get("OVERSIGHT_CONFORMANCE_SIZE", "0.05"))
ENGINES = ("duckdb", "sqlite", "postgres", "spark")

UrlFactory = Callable[[], str]


@pytest.fixture(params=ENGINES)
def new_warehouse(request, tmp_path_factory) -> Iterator[UrlFactory]:
    """Make fresh, empty warehouses of one engine, as URLs."""
    engine = request.param
    if engine == "spark" and (why := spark_available()):
        pytest.skip(why)
    if engine == "postgres":
        server = request.getfixturevalue("postgres_server")
        made: list[str] = []

        def postgres_url() -> str:
            import uuid

            import adbc_driver_postgresql.dbapi as postgres

            name = f"c_{uuid.uuid4().hex[:12]}"
            with postgres.connect(server, autocommit=True) as admin, admin.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
            made.append(name)
            return server.rsplit("/", 1)[0] + f"/{name}"

        yield postgres_url
        return
    folder = tmp_path_factory.mktemp(engine)
    counter = iter(range(1000))

    def local_url() -> str:
        n = next(counter)
        return {
            "duckdb": f"duckdb:///{folder / f'w{n}.duckdb'}",
            "sqlite": f"sqlite:///{folder / f'w{n}.sqlite'}",
            "spark": f"spark:///{folder / f'w{n}'}",
        }[engine]

    yield local_url


@pytest.fixture(scope="module")
def pack() -> ir.CheckedPack:
    return api.load_pack(ROOT / "policies", examples=True)


def test_every_example_passes(new_warehouse: UrlFactory, pack: ir.CheckedPack):
    warehouse = connect(new_warehouse())
    try:
        outcomes = run_examples(pack, warehouse=warehouse)
    finally:
        warehouse.close()
    failures = {
        f"{o.model_id} {o.title}": [d.message for d in o.problems] for o in outcomes if not o.passed
    }
    assert len(outcomes) >= 150
    assert failures == {}


def _scores(url: str, pack: ir.CheckedPack, period: str) -> list[tuple]:
    """A period's scores, normalised: totals to 2 places, indicators to 6."""
    result = api.score(pack, Period.parse(period), url)
    return [
        (
            r["township"],
            _places(r["total"], 2),
            r["rank"],
            r["colour"],
            *(_places(r[i.name], 6) for i in pack.index.indicators),
        )
        for r in result.table.to_pylist()
    ]


def _places(value, places: int) -> str:
    return str(Decimal(str(value)).quantize(Decimal(1).scaleb(-places)))


def _duckdb_url(tmp_path_factory, name: str) -> str:
    return f"duckdb:///{tmp_path_factory.mktemp(name) / 'reference.duckdb'}"


@pytest.fixture(scope="module")
def fixture_reference(pack: ir.CheckedPack, tmp_path_factory) -> dict[str, list[tuple]]:
    url = _duckdb_url(tmp_path_factory, "fixture")
    warehouse = connect(url)
    build_index_fixture(warehouse, pack)
    warehouse.close()
    return {period: _scores(url, pack, period) for period in ("2021Q4", "2021")}


def test_the_index_fixture_scores_the_same(
    new_warehouse: UrlFactory, pack: ir.CheckedPack, fixture_reference
):
    url = new_warehouse()
    warehouse = connect(url)
    try:
        build_index_fixture(warehouse, pack)
    finally:
        warehouse.close()
    scores = {period: _scores(url, pack, period) for period in ("2021Q4", "2021")}
    assert [row[:4] for row in scores["2021Q4"]] == [
        ("330122004", "100.00", 1, "yellow"),
        ("330122001", "45.07", 2, "yellow"),
        ("330122003", "45.07", 2, "yellow"),
        ("330122002", "15.95", 4, "red"),
    ]
    assert scores == fixture_reference


# ---- the demo county, on every engine ---------------------------------------------------------


@pytest.fixture(scope="module")
def county():
    return generate(size=SIZE, seed=2021)


def _demo_on(url: str, pack: ir.CheckedPack, county) -> dict:
    demo_run.build_warehouse(url, county)
    ledger, failures = demo_run.run_month_ends(pack, url)
    assert failures == []
    warnings = sorted(
        (
            w["model_id"],
            w["warning_key"],
            w["township"],
            w["severity"],
            w["message"],
            w["issued_on"],
            w["last_seen_on"],
        )
        for w in ledger.to_pylist()
    )
    return {"warnings": warnings, "scores": _scores(url, pack, "2021Q4")}


@pytest.fixture(scope="module")
def demo_reference(pack: ir.CheckedPack, county, tmp_path_factory) -> dict:
    return _demo_on(_duckdb_url(tmp_path_factory, "demo"), pack, county)


def test_the_demo_gives_the_same_warnings_and_scores(
    new_warehouse: UrlFactory, pack: ir.CheckedPack, county, demo_reference
):
    found = _demo_on(new_warehouse(), pack, county)
    planted = {(t["model_id"], t["warning_key"]) for t in county.truth.to_pylist()}
    assert {(w[0], w[1]) for w in found["warnings"]} == planted
    assert found["warnings"] == demo_reference["warnings"]
    assert found["scores"] == demo_reference["scores"]
