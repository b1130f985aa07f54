"""`case`, concat(), seconds_between()/minutes_between() and relations with `distinct` and
`group by` mean the same on DuckDB, SQLite, PostgreSQL and Spark.

Proved by running: the small pack in tests/engine/expressions/ (bids, tenders and bidders)
has a model for each construct, and its inline examples say exactly which warnings, with
which messages, each warehouse must give — values at the edges (89 seconds is 1 minute,
−89 is −1), a missing value in every place it can be (a `when` on null falls through, a
null part of concat() makes it null), and a near miss for every rule. The other eight
dialects cannot run here: every model must compile for them and parse back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from spark_support import spark_available

from adapters import connect
from adapters.base import Warehouse
from dsl import ir
from dsl.check import check_pack
from dsl.diagnostics import Severity
from dsl.node import walk
from dsl.types import Type
from engine.compiler.compile import DIALECTS, Target, compile_model, parses_back
from engine.policy.examples import run_examples
from engine.runs.run import run_models
from engine.schema import source_schema

PACK = Path(__file__).with_name("expressions")
ENGINES = ("duckdb", "sqlite", "postgres", "spark")


@pytest.fixture(scope="module")
def pack() -> ir.CheckedPack:
    result = check_pack(PACK)
    errors = [d for d in result.diagnostics if d.severity is not Severity.WARNING]
    assert result.pack is not None and not errors, [d.message_en for d in errors]
    return result.pack


@pytest.fixture(params=ENGINES)
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    """An empty warehouse of each engine the examples must agree on."""
    engine = request.param
    if engine == "spark" and (why := spark_available()):
        pytest.skip(why)
    if engine == "postgres":
        url = request.getfixturevalue("postgres_database")
    else:
        url = f"{engine}:///{tmp_path / engine}"
    opened = connect(url)
    try:
        yield opened
    finally:
        opened.close()


def test_the_pack_uses_each_construct(pack: ir.CheckedPack):
    """What the examples below prove is about these constructs, not about others."""
    nodes = [n for m in pack.models.values() for n in walk(m)]
    nodes += [n for r in pack.relations.values() for n in walk(r)]
    functions = {n.name for n in nodes if isinstance(n, ir.Func)}
    assert {"concat", "seconds_between", "minutes_between"} <= functions
    assert any(isinstance(n, ir.Case) and n.otherwise is None for n in nodes)
    assert any(isinstance(n, ir.Case) and n.type is Type.DECIMAL for n in nodes)
    branches = [b for r in pack.relations.values() for b in r.branches]
    assert any(b.distinct for b in branches)
    assert any(b.group_by and b.having is not None for b in branches)
    assert sum(len(m.examples) for m in pack.models.values()) == 18


def test_every_example_holds_on_each_warehouse(pack: ir.CheckedPack, warehouse: Warehouse):
    outcomes = run_examples(pack, warehouse=warehouse)
    failures = {
        f"{o.model_id} {o.title}": [d.message for d in o.problems] for o in outcomes if not o.passed
    }
    assert len(outcomes) == 18
    assert failures == {}


def test_fractions_of_a_second_are_ignored_on_each_warehouse(
    pack: ir.CheckedPack, warehouse: Warehouse
):
    """Each timestamp counts by its whole second, as SQLite keeps it: 09:59:59.9 to 10:00:00.1
    is 1 second (10:00:00 − 09:59:59), and 10:00:00.1 to 10:00:00.9 is none."""
    opened = datetime(2021, 6, 1, 10, 0, 0, 100_000)
    tenders = [{"tender_id": "T1", "township": "330122001", "opened_at": opened}]
    submitted = {
        "B1": datetime(2021, 6, 1, 9, 59, 59, 900_000),
        "B2": datetime(2021, 6, 1, 10, 0, 0, 900_000),
        "B3": datetime(2021, 6, 1, 9, 58, 0, 999_999),
    }
    bids = [{"bid_id": k, "tender_id": "T1", "submitted_at": v} for k, v in submitted.items()]
    for name, rows in (("tender", tenders), ("bid", bids)):
        schema = source_schema(pack.pack.sources[name])
        warehouse.load(name, pa.Table.from_pylist(rows, schema=schema), replace=True)
    result = run_models(pack, warehouse, date(2021, 6, 30), [pack.models["EXP03"]])
    messages = {w["warning_key"]: w["message"] for w in result.warnings.to_pylist()}
    assert messages == {"B1": "1秒，0分", "B2": "0秒，0分", "B3": "120秒，2分"}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_model_compiles_for_each_dialect(pack: ir.CheckedPack, dialect: str):
    """None of these constructs needs E700 anywhere: each model's SQL is written and reads back."""
    for model in pack.models.values():
        sql = compile_model(model, pack, Target(dialect)).sql()
        assert parses_back(sql, dialect), (model.id, dialect)
