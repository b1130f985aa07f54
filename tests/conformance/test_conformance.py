"""One policy, any warehouse: the same warnings and scores on DuckDB, SQLite, PostgreSQL and Spark.

Proved by running, not by comparing SQL: every model's inline examples, the
hand-computed index fixture, and `oversight demo` itself (its summary, the
ledger its month-end runs left and the 2021Q4 scores) on each engine, the
results normalised and compared with DuckDB's, the embedded default.

    python3 -m pytest tests/conformance                                 # CI: demo at size 0.05
    OVERSIGHT_CONFORMANCE_SIZE=1 python3 -m pytest tests/conformance    # the full demo

PostgreSQL is started from Debian's binaries on loopback for the session (or
$OVERSIGHT_TEST_POSTGRES is used); Spark runs in local mode with pyspark.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from conformance_checks import FIXTURE_2021Q4, example_failures, fixture_scores, index_scores
from spark_support import spark_available

from adapters import connect
from dsl import ir
from engine import api
from engine.cli import main
from engine.demo.generator import generate
from engine.exit_codes import ExitCode
from engine.runs import ledger

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
    count, failures = example_failures(new_warehouse(), pack)
    assert count >= 150
    assert failures == {}


def _duckdb_url(tmp_path_factory, name: str) -> str:
    return f"duckdb:///{tmp_path_factory.mktemp(name) / 'reference.duckdb'}"


@pytest.fixture(scope="module")
def fixture_reference(pack: ir.CheckedPack, tmp_path_factory) -> dict[str, list[list]]:
    return fixture_scores(_duckdb_url(tmp_path_factory, "fixture"), pack)


def test_the_index_fixture_scores_the_same(
    new_warehouse: UrlFactory, pack: ir.CheckedPack, fixture_reference
):
    scores = fixture_scores(new_warehouse(), pack)
    assert [row[:4] for row in scores["2021Q4"]] == FIXTURE_2021Q4
    assert scores == fixture_reference


# ---- the demo county, on every engine ---------------------------------------------------------


@pytest.fixture(scope="module")
def county():
    return generate(size=SIZE, seed=2021)


def _demo_on(url: str, pack: ir.CheckedPack, report: Path) -> dict:
    """`oversight demo` on a fresh warehouse, as a user runs it: its summary (without what
    names the warehouse or times it), the ledger it left, and the 2021Q4 scores."""
    out, err = io.StringIO(), io.StringIO()
    command = ["demo", "--policies", str(ROOT / "policies"), "--warehouse", url]
    command += ["--size", str(SIZE), "--seed", "2021", "--report", str(report), "--format", "json"]
    command += ["--advice", str(report.parent / "advice")]
    with redirect_stdout(out), redirect_stderr(err):
        code = main(command)
    assert code == ExitCode.OK, err.getvalue()
    assert report.exists()
    summary = json.loads(out.getvalue())
    for varying in ("warehouse", "report", "seconds"):
        del summary[varying]
    # The year's common problems and drafts, by what they say: the Markdown and the JSON.
    summary["advice"] = {
        Path(path).name: Path(path).read_text(encoding="utf-8")
        for path in summary["advice"]
        if Path(path).suffix in (".md", ".json")
    }
    warehouse = connect(url, must_exist=True)
    try:
        issued = ledger.read(warehouse)
    finally:
        warehouse.close()
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
        for w in issued.to_pylist()
    )
    return {"summary": summary, "warnings": warnings, "scores": index_scores(url, pack, "2021Q4")}


@pytest.fixture(scope="module")
def demo_reference(pack: ir.CheckedPack, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("demo")
    return _demo_on(f"duckdb:///{folder / 'reference.duckdb'}", pack, folder / "report.html")


def test_the_demo_command_gives_the_same_summary_warnings_and_scores(
    new_warehouse: UrlFactory, pack: ir.CheckedPack, county, demo_reference, tmp_path
):
    # SQLite's REAL amounts once stopped `oversight demo` there with E641 on its own records.
    found = _demo_on(new_warehouse(), pack, tmp_path / "report.html")
    planted = {(t["model_id"], t["warning_key"]) for t in county.truth.to_pylist()}
    assert {(w[0], w[1]) for w in found["warnings"]} == planted
    assert found["summary"]["failed_models"] == []
    assert found["summary"] == demo_reference["summary"]
    assert found["warnings"] == demo_reference["warnings"]
    assert found["scores"] == demo_reference["scores"]
