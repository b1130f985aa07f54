"""The warnings ledger: first run wins, repeated runs add nothing, failures leave no trace."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pytest

from adapters import WarehouseError
from adapters.duckdb import DuckDBWarehouse
from engine.runs import ledger
from engine.schema import WARNINGS_SCHEMA


def warnings(*rows: tuple[str, str, str]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "model_id": model_id,
                "warning_key": key,
                "township": township,
                "severity": "red",
                "domain": "ENG",
                "message": f"{model_id} {key} {township}",
                "as_of": date(2021, 1, 31),
                "model_title": "t",
                "model_revision": "r1",
                "pack_version": "0.1.0",
                "evidence": "{}",
            }
            for model_id, key, township in rows
        ],
        schema=WARNINGS_SCHEMA,
    )


def entries(warehouse) -> list[tuple]:
    return [
        (r["model_id"], r["warning_key"], r["township"], r["issued_on"], r["last_seen_on"])
        for r in ledger.read(warehouse).to_pylist()
    ]


@pytest.fixture
def warehouse():
    w = DuckDBWarehouse("duckdb://")
    yield w
    w.close()


def test_a_warning_keeps_the_township_and_day_of_the_first_run(warehouse):
    ledger.record(warehouse, warnings(("FUN01", "A|x", "330122101")), date(2021, 1, 31), {})
    ledger.record(warehouse, warnings(("FUN01", "A|x", "330122105")), date(2021, 2, 28), {})
    assert entries(warehouse) == [
        ("FUN01", "A|x", "330122101", date(2021, 1, 31), date(2021, 2, 28))
    ]


def test_running_the_same_day_twice_adds_nothing(warehouse):
    first = ledger.record(warehouse, warnings(("ENG01", "P1", "330122102")), date(2021, 10, 31), {})
    before = ledger.read(warehouse)
    again = ledger.record(warehouse, warnings(("ENG01", "P1", "330122102")), date(2021, 10, 31), {})
    assert (first.new, again.new) == (1, 0)
    assert ledger.read(warehouse).equals(before)


def test_an_earlier_day_run_later_changes_nothing(warehouse):
    ledger.record(warehouse, warnings(("ENG01", "P1", "330122102")), date(2021, 11, 30), {})
    ledger.record(warehouse, warnings(("ENG01", "P1", "330122102")), date(2021, 10, 31), {})
    assert entries(warehouse) == [
        ("ENG01", "P1", "330122102", date(2021, 11, 30), date(2021, 11, 30))
    ]


def test_a_warning_that_stops_firing_stays_with_the_last_day_it_was_seen(warehouse):
    ledger.record(warehouse, warnings(("ENG01", "P1", "330122102")), date(2021, 10, 31), {})
    ledger.record(warehouse, warnings(("ENG03", "T1", "330122100")), date(2021, 11, 30), {})
    assert entries(warehouse) == [
        ("ENG01", "P1", "330122102", date(2021, 10, 31), date(2021, 10, 31)),
        ("ENG03", "T1", "330122100", date(2021, 11, 30), date(2021, 11, 30)),
    ]


def test_each_run_is_recorded_with_its_counts(warehouse):
    ledger.record(
        warehouse,
        warnings(("ENG01", "P1", "330122102")),
        date(2021, 10, 31),
        {"models_run": 35, "pack_version": "0.1.0"},
    )
    [run] = warehouse.query("SELECT * FROM oversight_runs").to_pylist()
    assert (run["as_of"], run["models_run"], run["warnings"], run["new_warnings"]) == (
        date(2021, 10, 31),
        35,
        1,
        1,
    )


def test_a_run_that_fails_while_writing_leaves_the_ledger_as_it_was(warehouse, monkeypatch):
    ledger.record(warehouse, warnings(("ENG01", "P1", "330122102")), date(2021, 10, 31), {})
    before = ledger.read(warehouse)
    runs_before = warehouse.query("SELECT count(*) AS n FROM oversight_runs").column(0)[0]
    original = warehouse.execute

    def lose_connection(sql: str) -> None:
        if sql.startswith("UPDATE"):
            raise WarehouseError("连接中断", "connection lost")
        original(sql)

    monkeypatch.setattr(warehouse, "execute", lose_connection)
    with pytest.raises(WarehouseError):
        ledger.record(
            warehouse,
            warnings(("ENG01", "P1", "330122102"), ("ENG03", "T1", "330122100")),
            date(2021, 11, 30),
            {},
        )
    monkeypatch.undo()
    assert ledger.read(warehouse).equals(before)
    assert warehouse.query("SELECT count(*) AS n FROM oversight_runs").column(0)[0] == runs_before
    tables = warehouse.query("SELECT table_name FROM information_schema.tables").column(0)
    assert sorted(tables.to_pylist()) == ["oversight_ledger", "oversight_runs"]


def test_the_ledger_can_live_in_a_schema_of_its_own(warehouse):
    tables = ledger.Tables("oversight")
    ledger.record(warehouse, warnings(("ENG01", "P1", "330122102")), date(2021, 10, 31), {}, tables)
    assert warehouse.has_table("oversight.oversight_ledger")
    assert not warehouse.has_table("oversight_ledger")
    assert len(ledger.read(warehouse, tables)) == 1


def audit_row(number: int) -> dict[str, object]:
    """One pre-check's audit row (ledger.PRECHECKS_SCHEMA)."""
    return {
        "precheck_id": f"p{number}",
        "checked_at": datetime(2021, 12, 31, 9, 0, number),
        "caller": "finance",
        "source": "fin_payment",
        "as_of": date(2021, 12, 31),
        "records": 1,
        "digest": "d",
        "models": "FIN04",
        "warnings": 0,
        "answer": "[]",
        "pack_version": "0.1.0",
        "engine_version": "0",
    }


def test_an_audit_table_dropped_after_its_first_row_is_made_again(warehouse):
    """The connection remembers the audit table exists; the append still makes it again."""
    ledger.record_precheck(warehouse, audit_row(1))
    warehouse.execute(f"DROP TABLE {ledger.PRECHECKS}")
    ledger.record_precheck(warehouse, audit_row(2))
    ledger.record_precheck(warehouse, audit_row(3))
    ids = warehouse.query(f"SELECT precheck_id FROM {ledger.PRECHECKS} ORDER BY 1")
    assert ids.column(0).to_pylist() == ["p2", "p3"]
