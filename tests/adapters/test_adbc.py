"""SQLite and PostgreSQL through ADBC: Arrow in and out, schemas, transactions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from adbc_driver_manager import AdbcStatusCode, OperationalError

from adapters import WarehouseError, WarehouseLost, connect
from adapters.adbc import sqlite_path

ROWS = pa.table(
    {
        "id": ["a", "b"],
        "day": pa.array([date(2021, 1, 31), None], pa.date32()),
        "at": pa.array([datetime(2021, 5, 20, 9, 30), None], pa.timestamp("us")),
        "amount": pa.array([Decimal("1234.50"), Decimal("0.10")], pa.decimal128(18, 2)),
        "flag": [True, None],
        "nothing": pa.array([None, None], pa.null()),
    }
)


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse(request, tmp_path: Path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_database")
    w = connect(url)
    yield w
    w.close()


@pytest.mark.parametrize(
    ("url", "path"),
    [("sqlite://", ":memory:"), ("sqlite:///w.sqlite", "w.sqlite"), ("sqlite:////srv/w", "/srv/w")],
)
def test_sqlite_urls_name_files_as_sqlalchemy_does(url: str, path: str):
    assert sqlite_path(url) == path


def test_arrow_goes_in_and_comes_out(warehouse):
    warehouse.load("t", ROWS)
    rows = warehouse.query("SELECT id, day, at, amount, flag FROM t ORDER BY id").to_pylist()
    first = rows[0]
    assert first["id"] == "a"
    # SQLite keeps dates and timestamps as ISO text and decimals as REAL; PostgreSQL types.
    assert str(first["day"]) == "2021-01-31"
    assert str(first["at"]).replace("T", " ").startswith("2021-05-20 09:30")
    assert Decimal(str(first["amount"])) == Decimal("1234.5")
    assert rows[1]["day"] is None and rows[1]["flag"] is None


def test_amounts_come_back_as_the_amounts_that_went_in(warehouse):
    # SQLite keeps the double nearest each amount (Arrow's own decimal-to-double cast
    # stored 8716.380000000001); PostgreSQL's NUMERIC comes back as Decimal, not text.
    amounts = [Decimal("8716.38"), Decimal("15590.63"), Decimal("0.10"), None]
    warehouse.load(
        "t", pa.table({"id": [1, 2, 3, 4], "amount": pa.array(amounts, pa.decimal128(18, 2))})
    )
    back = warehouse.query("SELECT amount FROM t ORDER BY id").column("amount").to_pylist()
    if warehouse.dialect == "sqlite":
        assert back == [8716.38, 15590.63, 0.1, None]
    else:
        assert back == amounts
        assert [str(v) for v in back[:3]] == ["8716.38", "15590.63", "0.10"]


def test_postgres_numeric_keeps_its_scale_and_what_no_decimal_holds_stays_text(
    postgres_database,
):
    w = connect(postgres_database)
    try:
        row = w.query(
            "SELECT 1::numeric / 3 AS third, 8716.38::numeric(18, 2) AS amount, "
            "'NaN'::numeric AS nan"
        ).to_pylist()[0]
    finally:
        w.close()
    assert row == {
        "third": Decimal("0.33333333333333333333"),
        "amount": Decimal("8716.38"),
        "nan": "nan",  # as the driver writes it
    }


def test_append_and_has_table(warehouse):
    warehouse.load("t", ROWS)
    warehouse.append("t", ROWS.slice(0, 1))
    assert warehouse.query("SELECT count(*) AS n FROM t").column(0)[0].as_py() == 3
    assert warehouse.has_table("t") and not warehouse.has_table("missing")


def test_a_failed_transaction_leaves_nothing_behind(warehouse):
    warehouse.load("ledger", pa.table({"key": ["K1"]}))
    with pytest.raises(RuntimeError), warehouse.transaction():
        warehouse.append("ledger", pa.table({"key": ["K2"]}))
        warehouse.execute("CREATE TABLE scratch (x INTEGER)")
        raise RuntimeError("killed midway")
    assert warehouse.query("SELECT key FROM ledger").column(0).to_pylist() == ["K1"]
    assert not warehouse.has_table("scratch")


def test_errors_are_warehouse_errors(warehouse):
    with pytest.raises(WarehouseError):
        warehouse.query("SELECT nope FROM nowhere")
    # and the connection is still usable afterwards
    assert warehouse.query("SELECT 1 AS one").column(0)[0].as_py() == 1


class _LostAtCommit:
    """A connection whose server goes away between a statement and its commit.

    It fails as libpq makes ADBC's PostgreSQL driver fail then: an IO status
    and no SQLSTATE (the server sent none; tests/adapters/test_errors.py ends a
    real session).
    """

    def __init__(self, connection):
        self._connection = connection

    def __getattr__(self, name):
        return getattr(self._connection, name)

    def commit(self):
        raise OperationalError(
            "IO: [libpq] Failed to commit: no connection to the server",
            status_code=AdbcStatusCode.IO,
        )


def test_a_connection_lost_at_commit_is_lost_not_a_crash(postgres_database):
    """A server's connection only: SQLite commits each statement itself, and has none to lose."""
    warehouse = connect(postgres_database)
    warehouse.load("ledger", pa.table({"key": ["K1"]}))
    real = warehouse.connection
    warehouse.connection = _LostAtCommit(real)
    try:
        with pytest.raises(WarehouseLost):
            warehouse.query("SELECT key FROM ledger")
        with pytest.raises(WarehouseLost), warehouse.transaction():
            warehouse.append("ledger", pa.table({"key": ["K2"]}))
    finally:
        warehouse.connection = real
    real.rollback()
    assert warehouse.query("SELECT key FROM ledger").column(0).to_pylist() == ["K1"]
    warehouse.close()


def test_postgres_schemas(postgres_database):
    w = connect(postgres_database)
    try:
        w.execute("CREATE SCHEMA ods")
        w.load("ods.dr_project", pa.table({"project_id": ["P1"]}))
        assert w.has_table("ods.dr_project") and not w.has_table("dr_project")
        assert w.query("SELECT project_id FROM ods.dr_project").column(0).to_pylist() == ["P1"]
    finally:
        w.close()


def test_a_missing_sqlite_file_is_not_invented(tmp_path: Path):
    with pytest.raises(WarehouseError):
        connect(f"sqlite:///{tmp_path / 'missing.sqlite'}", must_exist=True)
    assert not (tmp_path / "missing.sqlite").exists()


def test_an_unreachable_postgres_is_a_warehouse_error():
    with pytest.raises(WarehouseError):
        connect("postgresql://postgres@127.0.0.1:1/none")
