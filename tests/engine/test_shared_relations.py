"""A run computes a relation that several of its models read once, and warns as they do alone.

The demo county on each warehouse: a run of models reading `official_circle` makes its
temporary table once, its models read that table instead of their WITH, and the
warnings are those of each model run by itself. Whatever ends the run — a lost
warehouse, an interrupt at a fault point, a model that fails — no table is left
behind; a warehouse that refuses the step leaves the models reading the relation
inline, with the same warnings.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from click.testing import CliRunner

from adapters import connect
from adapters.base import (
    PermissionDenied,
    QueryCancelled,
    QueryFailed,
    Warehouse,
    WarehouseLost,
)
from dsl import ir
from engine.cli import cli
from engine.demo import demo_run
from engine.demo.generator import generate
from engine.runs.manifest import RunFacts
from engine.runs.run import run_models
from engine.runs.shared import HOW_SHARED, plan_shared, shared_table

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2021, 12, 31)
CIRCLE = shared_table("official_circle")
PERSONS = shared_table("enterprise_person")
# Two models reading official_circle (FUN03 directly, HOU05 too), and INV04 reading both.
READERS = ("FUN03", "HOU05", "INV04")
TEMPORARY_TABLES = {
    # The temporary tables this connection sees: its own, in each warehouse's catalog.
    "duckdb": "SELECT table_name FROM duckdb_tables() WHERE temporary",
    "sqlite": "SELECT name FROM sqlite_temp_master WHERE type = 'table'",
    "postgres": "SELECT relname FROM pg_class WHERE relnamespace = pg_my_temp_schema()",
}


class Recording:
    """A warehouse that remembers the statements it is given, and fails where told."""

    def __init__(self, inner: Warehouse, fail: Any = None) -> None:
        self.inner = inner
        self.statements: list[str] = []
        self.fail = fail  # (statement text) -> an exception to raise, or None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _give(self, sql: str) -> None:
        self.statements.append(sql)
        failure = self.fail(sql) if self.fail else None
        if failure is not None:
            raise failure

    def query(
        self, sql: str, timeout: float | None = None, parameters: Mapping[str, Any] | None = None
    ) -> pa.Table:
        self._give(sql)
        return self.inner.query(sql, timeout, parameters)

    def execute(self, sql: str) -> None:
        self._give(sql)
        self.inner.execute(sql)

    def creates(self, table: str) -> int:
        return sum(1 for s in self.statements if s.startswith("CREATE") and table in s)

    def temporary_tables(self) -> list[str]:
        rows = self.inner.query(TEMPORARY_TABLES[self.inner.dialect]).column(0).to_pylist()
        return sorted(r for r in rows if r.startswith("oversight_run__"))


@pytest.fixture(scope="module")
def county_tables() -> dict[str, pa.Table]:
    return generate(size=0.05, seed=2021).tables


@pytest.fixture(scope="module", params=("duckdb", "sqlite", "postgres"))
def county(request, county_tables, tmp_path_factory) -> str:
    """The demo county on each warehouse the conformance suite runs."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_module_database")
    else:
        folder = tmp_path_factory.mktemp("shared")
        url = f"{request.param}:///{folder / f'county.{request.param}'}"
    demo_run.build_warehouse(url, type("County", (), {"tables": county_tables})())
    return url


@pytest.fixture
def warehouse(county: str) -> Iterator[Warehouse]:
    opened = connect(county)
    try:
        yield opened
    finally:
        opened.close()


def rows(table: pa.Table) -> list[tuple]:
    """Warnings as comparable rows, in one order."""
    return sorted(tuple(r.values()) for r in table.to_pylist())


def models_of(pack: ir.CheckedPack, ids: tuple[str, ...]) -> list[ir.Model]:
    return [pack.models[i] for i in ids]


def test_the_plan_shares_what_two_models_read_and_nothing_else(pack: ir.CheckedPack):
    steps = plan_shared(pack, models_of(pack, READERS), "duckdb")
    assert [(s.relation, s.table, s.models) for s in steps] == [
        ("official_circle", CIRCLE, READERS),
    ]  # enterprise_person: INV04 alone reads it here
    assert plan_shared(pack, models_of(pack, ("FUN03",)), "duckdb") == []
    assert plan_shared(pack, models_of(pack, ("FUN03", "ENG01")), "duckdb") == []
    assert plan_shared(pack, models_of(pack, READERS), "spark") == []
    whole = plan_shared(pack, list(pack.models.values()), "postgres")
    assert [s.relation for s in whole] == ["official_circle", "enterprise_person"]
    assert set(HOW_SHARED) >= {"duckdb", "sqlite", "postgres", "spark"}


def test_a_run_makes_official_circle_once_and_warns_as_the_models_alone(
    pack: ir.CheckedPack, warehouse: Warehouse
):
    recording = Recording(warehouse)
    together = run_models(pack, recording, AS_OF, models_of(pack, READERS))
    alone = [run_models(pack, warehouse, AS_OF, [m]) for m in models_of(pack, READERS)]
    assert recording.creates(CIRCLE) == 1
    assert recording.creates(PERSONS) == 0
    model_queries = [s for s in recording.statements if "key_1" in s]
    assert len(model_queries) == len(READERS)
    assert all(CIRCLE in s and "official_circle__relation" not in s for s in model_queries)
    assert [s.status for s in together.shared] == ["made"]
    assert together.shared[0].rows and together.shared[0].rows > 0
    assert all(not r.shared for r in alone)
    assert not together.failed and not together.skipped
    expected = rows(pa.concat_tables([r.warnings for r in alone]))
    assert len({w[0] for w in expected}) >= 2  # the models do warn, so equality says something
    assert rows(together.warnings) == expected
    assert recording.temporary_tables() == []  # dropped at the end of the run
    facts = RunFacts(pack, AS_OF, "duckdb:///x", "r1", datetime.now(UTC).replace(tzinfo=None))
    assert facts.manifest(together, "ok")["shared_steps"] == [together.shared[0].to_json()]


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(lambda: WarehouseLost("断了", "lost"), id="warehouse-lost"),
        pytest.param(KeyboardInterrupt, id="interrupted"),
    ],
)
def test_a_run_that_stops_leaves_no_temporary_table(
    pack: ir.CheckedPack, warehouse: Warehouse, failure
):
    # The second model's query, once the shared table is made and read by the first.
    seen: list[str] = []

    def second_model(sql: str) -> BaseException | None:
        if "key_1" in sql:
            seen.append(sql)
            return failure() if len(seen) == 2 else None
        return None

    recording = Recording(warehouse, second_model)
    with pytest.raises((WarehouseLost, KeyboardInterrupt)):
        run_models(pack, recording, AS_OF, models_of(pack, READERS))
    assert recording.creates(CIRCLE) == 1 and CIRCLE in seen[0]
    assert recording.temporary_tables() == []


def test_a_failing_model_leaves_the_run_going_and_no_table_behind(
    pack: ir.CheckedPack, warehouse: Warehouse
):
    recording = Recording(
        warehouse,
        lambda sql: (
            QueryFailed("坏了", "broken") if "key_1" in sql and "ca_assistance" in sql else None
        ),
    )
    result = run_models(pack, recording, AS_OF, models_of(pack, READERS))
    assert [o.model_id for o in result.failed] == ["FUN03"]
    assert [o.status for o in result.outcomes if o.model_id != "FUN03"] == ["ran", "ran"]
    assert recording.temporary_tables() == []


def test_a_refused_step_leaves_its_models_reading_the_relation_inline(
    pack: ir.CheckedPack, warehouse: Warehouse
):
    def no_temporary(sql: str) -> BaseException | None:
        if sql.startswith("CREATE TEMPORARY"):
            return PermissionDenied("权限不足", "permission denied for database county")
        return None

    recording = Recording(warehouse, no_temporary)
    refused = run_models(pack, recording, AS_OF, models_of(pack, READERS))
    inline = run_models(pack, warehouse, AS_OF, models_of(pack, READERS), share=False)
    assert [(s.status, s.rows) for s in refused.shared] == [("refused", None)]
    assert "permission denied" in (refused.shared[0].error or "")
    model_queries = [s for s in recording.statements if "key_1" in s]
    assert all(CIRCLE not in s for s in model_queries)
    assert not refused.failed
    assert rows(refused.warnings) == rows(inline.warnings)
    assert recording.temporary_tables() == []


class EndlessCreate(Recording):
    """A warehouse whose CREATE of a shared table runs until something interrupts it."""

    def __init__(self, inner: Warehouse) -> None:
        super().__init__(inner)
        self.interrupted = threading.Event()

    def execute(self, sql: str) -> None:
        if sql.startswith("CREATE TEMPORARY"):
            self.statements.append(sql)
            if not self.interrupted.wait(60):
                raise AssertionError("nothing interrupted the CREATE within 60 s")
            raise QueryCancelled("查询已被取消", "the query was cancelled")  # as adapters do
        super().execute(sql)

    def interrupt(self) -> None:
        self.interrupted.set()


def test_a_shared_step_past_the_runs_time_limit_leaves_its_models_reading_inline(
    pack: ir.CheckedPack, warehouse: Warehouse
):
    """`run --timeout` bounds the CREATE of a shared table as it bounds each model's query."""
    endless = EndlessCreate(warehouse)
    limited = run_models(pack, endless, AS_OF, models_of(pack, READERS), timeout=0.2)
    inline = run_models(pack, warehouse, AS_OF, models_of(pack, READERS), share=False)
    assert [(s.status, s.rows) for s in limited.shared] == [("failed", None)]
    assert "timed out after 0.2s" in (limited.shared[0].error or "")
    assert not limited.failed
    assert rows(limited.warnings) == rows(inline.warnings)
    assert all(CIRCLE not in s for s in endless.statements if "key_1" in s)
    assert endless.temporary_tables() == []


def test_an_interrupt_at_the_shared_step_leaves_no_table(
    pack: ir.CheckedPack, county_tables: dict[str, pa.Table], tmp_path: Path, monkeypatch
):
    """At the fault point right after the table is made (OVERSIGHT_FAULT=SIGINT@run.shared).

    A point fires once per process, so this runs on one warehouse, DuckDB.
    """
    url = f"duckdb:///{tmp_path / 'county.duckdb'}"
    demo_run.build_warehouse(url, type("County", (), {"tables": county_tables})())
    monkeypatch.setenv("OVERSIGHT_FAULT", "SIGINT@run.shared")
    opened = connect(url)
    recording = Recording(opened)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_models(pack, recording, AS_OF, models_of(pack, READERS))
        assert recording.creates(CIRCLE) == 1
        assert not [s for s in recording.statements if "key_1" in s]  # no model ran
        assert recording.temporary_tables() == []
    finally:
        opened.close()


def test_explain_run_shows_the_steps_and_their_models():
    runner = CliRunner()
    policies = ["--policies", str(ROOT / "policies")]
    select = [a for m in READERS for a in ("--select", m)]
    shown = runner.invoke(cli, ["explain", "--run", *policies, *select, "--format", "json"])
    assert shown.exit_code == 0, shown.output
    plan = json.loads(shown.output)
    assert [(s["relation"], s["models"]) for s in plan["shared_steps"]] == [
        ("official_circle", list(READERS))
    ]
    assert plan["shared_steps"][0]["sql"].startswith(f'CREATE TEMPORARY TABLE "{CIRCLE}"')
    assert plan["reads"] == {m: [CIRCLE] for m in READERS}
    text = runner.invoke(cli, ["explain", "--run", *policies, "--dialect", "spark"])
    assert text.exit_code == 0 and "shared steps: 无 none" in text.output
    neither = runner.invoke(cli, ["explain", *policies])
    assert neither.exit_code == 2 and "--run" in neither.output


def test_a_shared_relation_is_as_of_the_run(pack: ir.CheckedPack, warehouse: Warehouse):
    """enterprise_person hides enterprises registered after the day: the run's day, each run."""
    readers = models_of(pack, ("AST05", "ENG04", "ENG08", "FUN04"))
    made = {}
    for day in (date(2012, 12, 31), AS_OF):
        together = run_models(pack, warehouse, day, readers)
        alone = [run_models(pack, warehouse, day, [m]) for m in readers]
        assert [s.relation for s in together.shared] == ["official_circle", "enterprise_person"]
        assert rows(together.warnings) == rows(pa.concat_tables([r.warnings for r in alone]))
        made[day] = together.shared[1].rows
    assert 0 < made[date(2012, 12, 31)] < made[AS_OF]
