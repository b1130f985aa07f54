"""Pre-checks proven right by the demo's planted cases (issue 14), on every kind of warehouse.

The demo generator plants several warnings of every model, and records with
each the row whose arrival makes it fire (engine/demo/plants: `trigger`). For
every model that takes part in pre-checks, each planted warning is found again
the way a township would meet it: the trigger is taken out of the demo
warehouse and pre-checked as of the first month-end run that raised the
warning — and the answer must hold the warning as new, with the very message
the batch run gives. Each near miss planted beside the cases is pre-checked the
same way, and must answer nothing of its model. The two cases no single row
makes are named in EXEMPT, and what is said of them is checked too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import reduce
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from county_fixture import WAREHOUSE_KINDS
from sqlglot import exp

from adapters import Warehouse, connect
from adapters.names import statement, table_named
from dsl import ir
from engine.demo import demo_run
from engine.demo.generator import MONTH_ENDS, DemoCounty, generate
from engine.demo.plants import plant_all
from engine.demo.plants.base import NearMiss, Planted, Row
from engine.runs.run import run_models, select_models
from engine.service.precheck import precheck, request, takes_part

SIZE = 0.05
SEED = 2021
YEAR_END = MONTH_ENDS[-1]

PLANTER = plant_all()
"""The planted cases: the same rows whatever the size and seed of the county."""


@dataclass(frozen=True)
class Exempt:
    """A planted warning that no single row triggers: why, and which rows make it."""

    why: str
    source: str
    rows: dict[str, Any]  # what the case's rows of `source` have in common


EXEMPT = {
    ("FUN06", "6230919000000000031"): Exempt(
        "five recipients are paid into the account on one day: without any one of them "
        "four remain, so each subsidy, pre-checked, changes the warning's message only",
        "fin_subsidy",
        {"account_no": "6230919000000000031"},
    ),
    ("INV05", "91330122MA70005Q45|2020"): Exempt(
        "three townships pay the enterprise's 2020 incentives in June: without any one "
        "of them two remain, so each incentive, pre-checked, changes the warning's message only",
        "com_incentive",
        {"enterprise_code": "91330122MA70005Q45", "year": 2020},
    ),
}
"""Planted warnings of models taking part that no single row triggers."""


def _planted_id(planted: Planted) -> str:
    return f"{planted.model}:{planted.key}"


def _near_id(near: NearMiss) -> str:
    return f"{near.model}:{near.description}"


TRIGGERED = [t for t in PLANTER.truth if t.trigger is not None]
EXEMPTED = [t for t in PLANTER.truth if (t.model, t.key) in EXEMPT]
NEAR_TRIGGERED = [n for n in PLANTER.near_misses if n.trigger is not None]


@dataclass
class DemoWarehouse:
    """The demo county in a warehouse, and what its batch runs say of the planted warnings."""

    warehouse: Warehouse
    pack: ir.CheckedPack
    tables: dict[str, pa.Table]
    batch: dict[tuple[str, str, dt.date], dict[str, Any]]  # (model, key, as of): warning

    def precheck_without(self, trigger: Row, as_of: dt.date) -> list[dict[str, Any]]:
        """Take `trigger` out of the warehouse, pre-check it as of `as_of`, and put it back."""
        source, row = trigger
        key = self.pack.pack.sources[source].key
        matches = exp.and_(*(exp.column(k).eq(exp.Literal.string(row[k])) for k in key))
        table = table_named(source)
        counted = exp.select(exp.Count(this=exp.Star()).as_("n")).from_(table).where(matches)
        stored = self.warehouse.query(statement(counted, self.warehouse.dialect))
        assert stored.column("n").to_pylist() == [1], f"{source} holds the trigger once"
        loaded = self.tables[source]
        original = loaded.filter(reduce(pc.and_, (pc.equal(loaded[k], row[k]) for k in key)))
        self.warehouse.execute(statement(exp.delete(table, where=matches), self.warehouse.dialect))
        try:
            asked = request(self.pack, source, [row], as_of)
            return precheck(self.warehouse, self.pack, asked).warnings.to_pylist()
        finally:
            self.warehouse.append(source, original)


@pytest.fixture(scope="module")
def county() -> DemoCounty:
    return generate(size=SIZE, seed=SEED)


@pytest.fixture(scope="module", params=WAREHOUSE_KINDS)
def demo(
    request: pytest.FixtureRequest, county: DemoCounty, pack: ir.CheckedPack, tmp_path_factory
) -> Iterator[DemoWarehouse]:
    """The demo county on each kind of warehouse, and its batch runs as of each first run."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_module_database")
    else:
        url = f"{request.param}:///{tmp_path_factory.mktemp('planted') / 'demo.db'}"
    demo_run.build_warehouse(url, county)
    warehouse = connect(url)
    try:
        models = [m for m in select_models(pack) if takes_part(m)]
        batch = {}
        for day in sorted({t.first_as_of for t in [*TRIGGERED, *EXEMPTED]}):
            result = run_models(pack, warehouse, day, models)
            assert result.failed == []
            for warning in result.warnings.to_pylist():
                batch[(warning["model_id"], warning["warning_key"], day)] = warning
        yield DemoWarehouse(warehouse, pack, county.tables, batch)
    finally:
        warehouse.close()


@pytest.mark.parametrize("planted", TRIGGERED, ids=_planted_id)
def test_a_planted_warning_is_found_again_by_a_precheck_of_its_trigger(
    planted: Planted, demo: DemoWarehouse
):
    assert planted.trigger is not None
    batch = demo.batch[(planted.model, planted.key, planted.first_as_of)]
    answer = demo.precheck_without(planted.trigger, planted.first_as_of)
    # The warning, new, as the batch run words it and routes it; and nothing else of the
    # model: the case's rows are its own, so no other warning of the model moves.
    assert _of_model(answer, planted.model) == [
        (planted.key, "new", planted.township, batch["message"])
    ]


@pytest.mark.parametrize("planted", EXEMPTED, ids=_planted_id)
def test_an_exempt_warning_is_changed_not_new_by_a_precheck_of_each_of_its_rows(
    planted: Planted, demo: DemoWarehouse
):
    exempt = EXEMPT[(planted.model, planted.key)]
    rows = [
        row
        for row in PLANTER.rows[exempt.source]
        if all(row[column] == value for column, value in exempt.rows.items())
    ]
    assert len(rows) >= 3
    batch = demo.batch[(planted.model, planted.key, planted.first_as_of)]
    for row in rows:
        answer = demo.precheck_without((exempt.source, row), planted.first_as_of)
        assert _of_model(answer, planted.model) == [
            (planted.key, "changed", planted.township, batch["message"])
        ]


def _of_model(answer: list[dict[str, Any]], model: str) -> list[tuple[str, str, str, str]]:
    """What a pre-check answers of one model: (key, new or changed, township, message)."""
    return [
        (w["warning_key"], w["change"], w["township"], w["message"])
        for w in answer
        if w["model_id"] == model
    ]


def _arrives(trigger: Row, pack: ir.CheckedPack) -> dt.date | None:
    """The day a trigger becomes known: its source's event date (None: known always)."""
    source, row = trigger
    event = pack.pack.sources[source].event_date
    day = row[event] if event else None
    return day.date() if isinstance(day, dt.datetime) else day


def _first_run_seeing(trigger: Row, pack: ir.CheckedPack) -> dt.date:
    """The month-end run right after a near miss's trigger arrives: the first that sees it.

    A row dated after the year is checked as of the year's last run, which must not
    see it either.
    """
    day = _arrives(trigger, pack)
    return next((d for d in MONTH_ENDS if day is None or day <= d), YEAR_END)


@pytest.mark.parametrize("near", NEAR_TRIGGERED, ids=_near_id)
def test_a_near_miss_precheck_answers_nothing_of_its_model(
    near: NearMiss, demo: DemoWarehouse, pack: ir.CheckedPack
):
    assert near.trigger is not None
    answer = demo.precheck_without(near.trigger, _first_run_seeing(near.trigger, pack))
    # Nothing of the model, new or changed: the near miss's rows are its own (persons,
    # enterprises, ids no other case uses), so no warning of the model can move.
    assert _of_model(answer, near.model) == []


def test_every_model_taking_part_is_proven_by_its_planted_cases(pack: ir.CheckedPack):
    taking_part = {m.id for m in select_models(pack) if takes_part(m)}
    assert {t.model for t in TRIGGERED} == taking_part
    assert {n.model for n in NEAR_TRIGGERED} == taking_part
    # Only the cases explained in EXEMPT lack a trigger, and no near miss does.
    untriggered = {
        (t.model, t.key) for t in PLANTER.truth if t.model in taking_part and t.trigger is None
    }
    assert untriggered == set(EXEMPT)
    assert [n for n in PLANTER.near_misses if n.model in taking_part and n.trigger is None] == []
    # A model that says `precheck no` claims nothing.
    assert all(t.model in taking_part for t in [*TRIGGERED, *NEAR_TRIGGERED])


def test_each_trigger_is_a_row_the_model_reads_and_sees_by_its_first_run(pack: ir.CheckedPack):
    for planted in TRIGGERED:
        assert planted.trigger is not None
        assert planted.trigger[0] in pack.models[planted.model].sources, planted
        day = _arrives(planted.trigger, pack)
        assert day is None or day <= planted.first_as_of, planted
