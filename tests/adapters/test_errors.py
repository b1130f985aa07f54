"""Each adapter says what went wrong by the error's type, read from the driver, not its wording.

Every fault here is provoked for real: a file another process holds, a writer
another connection blocks, a role without a grant, a session the server ends,
a query cancelled while it runs. The assertions name the type, never the text;
the driver's own exception stays chained as `__cause__`.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from adbc_driver_manager import Error as DriverError
from spark_support import spark_available

import adapters.adbc
import adapters.duckdb
from adapters import (
    Conflict,
    PermissionDenied,
    QueryCancelled,
    QueryFailed,
    WarehouseLost,
    WarehouseUnreachable,
    connect,
)


def cancelled_while_running(warehouse, sql: str) -> BaseException:
    """What `sql` raised when `interrupt()` reached it while it ran.

    The query runs in a thread; interrupt() is called until that thread is done
    (before the statement starts, an interrupt has nothing to cancel), so no
    clock decides the outcome.
    """
    raised: list[BaseException] = []

    def run() -> None:
        try:
            warehouse.query(sql)
        except BaseException as exc:
            raised.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    while worker.is_alive():
        warehouse.interrupt()
        worker.join(0.05)
    assert raised, "the query finished although it was cancelled"
    return raised[0]


# ---- DuckDB ---------------------------------------------------------------------------------


@contextmanager
def held_by_another_process(path: Path) -> Iterator[None]:
    """`path` opened for writing by another process (DuckDB locks the file) until the block ends."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, duckdb\n"
            f"con = duckdb.connect({str(path)!r})\n"
            "print('holding', flush=True)\n"
            "sys.stdin.readline()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


def test_a_duckdb_file_another_process_holds_is_a_conflict(tmp_path: Path, monkeypatch):
    path = tmp_path / "county.duckdb"
    duckdb.connect(str(path)).close()
    monkeypatch.setattr(adapters.duckdb, "LOCK_WAIT_SECONDS", 0)  # give up at once, not in 2 min
    with held_by_another_process(path), pytest.raises(Conflict) as raised:
        connect(f"duckdb:///{path}")
    assert isinstance(raised.value.__cause__, duckdb.IOException)
    # once it is let go, the same file opens
    connect(f"duckdb:///{path}").close()


def test_a_file_that_is_not_a_duckdb_database_is_unreachable_at_once(tmp_path: Path):
    path = tmp_path / "county.duckdb"
    path.write_bytes(b"not a database" * 1000)
    # not waited for as a lock would be (LOCK_WAIT_SECONDS is left as it is)
    with pytest.raises(WarehouseUnreachable) as raised:
        connect(f"duckdb:///{path}")
    assert not isinstance(raised.value, Conflict)


@pytest.fixture
def duck(tmp_path: Path) -> Iterator:
    warehouse = connect(f"duckdb:///{tmp_path / 'w.duckdb'}")
    warehouse.execute("CREATE TABLE ledger (key VARCHAR PRIMARY KEY, seen INTEGER)")
    warehouse.execute("INSERT INTO ledger VALUES ('K1', 1)")
    yield warehouse
    warehouse.close()


def test_duckdb_a_missing_table_is_a_failed_query(duck):
    with pytest.raises(QueryFailed) as raised:
        duck.query("SELECT * FROM nowhere")
    assert isinstance(raised.value.__cause__, duckdb.CatalogException)
    assert duck.query("SELECT count(*) AS n FROM ledger").column(0)[0].as_py() == 1


def test_duckdb_a_key_written_already_is_a_conflict(duck):
    with pytest.raises(Conflict) as raised:
        duck.execute("INSERT INTO ledger VALUES ('K1', 2)")  # as two runs' ledger inserts meet
    assert isinstance(raised.value.__cause__, duckdb.ConstraintException)


def test_duckdb_two_transactions_writing_one_row_conflict(duck, tmp_path: Path):
    other = connect(f"duckdb:///{tmp_path / 'w.duckdb'}")  # a second connection, same database
    try:
        with pytest.raises(Conflict), duck.transaction():
            duck.execute("UPDATE ledger SET seen = 2 WHERE key = 'K1'")
            with other.transaction():
                other.execute("UPDATE ledger SET seen = 3 WHERE key = 'K1'")
    finally:
        other.close()
    assert duck.query("SELECT seen FROM ledger").column(0).to_pylist() == [1]


def test_duckdb_a_refused_file_access_is_permission_denied(duck, tmp_path: Path):
    pq.write_table(pa.table({"a": [1]}), tmp_path / "a.parquet")
    duck.execute("SET enable_external_access = false")
    with pytest.raises(PermissionDenied):
        duck.load_parquet("a", str(tmp_path / "a.parquet"))


def test_duckdb_a_query_interrupted_while_it_runs_is_cancelled(duck):
    failure = cancelled_while_running(duck, "SELECT count(*) FROM range(100000000000) t(i)")
    assert isinstance(failure, QueryCancelled)
    assert isinstance(failure.__cause__, duckdb.InterruptException)


# ---- SQLite ---------------------------------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    warehouse = connect(url)
    warehouse.execute("CREATE TABLE ledger (key TEXT PRIMARY KEY, seen INTEGER)")
    warehouse.execute("INSERT INTO ledger VALUES ('K1', 1)")
    warehouse.close()
    return url


def test_a_sqlite_writer_another_connection_holds_off_is_a_conflict(sqlite_url, monkeypatch):
    writing = connect(sqlite_url)
    monkeypatch.setattr(adapters.adbc, "SQLITE_BUSY_MS", 0)  # the second gives up at once
    waiting = connect(sqlite_url)
    try:
        with writing.transaction():
            writing.execute("UPDATE ledger SET seen = 2")
            with pytest.raises(Conflict) as raised, waiting.transaction():
                waiting.execute("UPDATE ledger SET seen = 3")
            assert isinstance(raised.value.__cause__, DriverError)
            # Outside a transaction the driver cannot say why a statement failed: it reports
            # a locked file as it reports an integer overflow (an IO status, no code).
            with pytest.raises(QueryFailed):
                waiting.execute("UPDATE ledger SET seen = 3")
    finally:
        waiting.close()
    assert writing.query("SELECT seen FROM ledger").column(0).to_pylist() == [2]
    writing.close()


def test_sqlite_a_key_written_already_is_a_conflict(sqlite_url):
    warehouse = connect(sqlite_url)
    with pytest.raises(Conflict):
        warehouse.execute("INSERT INTO ledger VALUES ('K1', 2)")
    warehouse.close()


def test_sqlite_a_missing_table_is_a_failed_query(sqlite_url):
    warehouse = connect(sqlite_url)
    with pytest.raises(QueryFailed) as raised:
        warehouse.query("SELECT * FROM nowhere")
    assert isinstance(raised.value.__cause__, DriverError)
    warehouse.close()


# ---- PostgreSQL -----------------------------------------------------------------------------


@pytest.fixture
def postgres(postgres_database: str) -> Iterator:
    warehouse = connect(postgres_database)
    warehouse.execute("CREATE TABLE ledger (key TEXT PRIMARY KEY, seen INTEGER)")
    warehouse.execute("INSERT INTO ledger VALUES ('K1', 1)")
    yield warehouse
    warehouse.close()


def as_admin(postgres_database: str, *statements: str) -> list:
    """Run statements as the test server's superuser, on their own connection; the last's rows."""
    import adbc_driver_postgresql.dbapi as driver

    with driver.connect(postgres_database, autocommit=True) as admin, admin.cursor() as cursor:
        rows: list = []
        for sql in statements:
            cursor.execute(sql)
            rows = cursor.fetchall() if cursor.description else []
        return rows


@pytest.fixture
def role_without_grants(postgres_database: str, postgres) -> Iterator[str]:
    """The URL of the same database for a new role that was granted nothing."""
    name = f"reader_{uuid.uuid4().hex[:8]}"
    as_admin(postgres_database, f"CREATE ROLE {name} LOGIN PASSWORD 'secret'")
    address = urlparse(postgres_database)
    netloc = f"{name}:secret@{address.hostname}:{address.port}"
    try:
        yield address._replace(netloc=netloc).geturl()
    finally:
        as_admin(postgres_database, f"DROP ROLE {name}")


def test_postgres_a_table_the_role_may_not_read_is_permission_denied(role_without_grants):
    warehouse = connect(role_without_grants)
    try:
        with pytest.raises(PermissionDenied) as raised:
            warehouse.query("SELECT * FROM ledger")
        assert raised.value.__cause__.sqlstate == "42501"
        # issue 19's run: the ledger's schema may not be created by this role either
        with pytest.raises(PermissionDenied):
            warehouse.execute("CREATE SCHEMA IF NOT EXISTS oversight")
        # not a lost connection: the same session goes on
        assert warehouse.query("SELECT 1 AS one").column(0)[0].as_py() == 1
    finally:
        warehouse.close()


def test_postgres_a_missing_table_is_a_failed_query(postgres):
    with pytest.raises(QueryFailed) as raised:
        postgres.query("SELECT * FROM nowhere")
    assert raised.value.__cause__.sqlstate == "42P01"


def test_postgres_a_key_written_already_is_a_conflict(postgres):
    with pytest.raises(Conflict) as raised:
        postgres.execute("INSERT INTO ledger VALUES ('K1', 2)")
    assert raised.value.__cause__.sqlstate == "23505"


def test_postgres_a_table_another_session_has_locked_is_a_conflict(postgres, postgres_database):
    import adbc_driver_postgresql.dbapi as driver

    postgres.execute("SET lock_timeout = '1ms'")  # the server stops waiting for the lock
    with driver.connect(postgres_database) as other, other.cursor() as cursor:
        cursor.execute("LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE")  # held until rollback
        with pytest.raises(Conflict) as raised:
            postgres.query("SELECT * FROM ledger")
        other.rollback()
    assert raised.value.__cause__.sqlstate == "55P03"
    assert postgres.query("SELECT seen FROM ledger").column(0).to_pylist() == [1]


def test_postgres_a_query_interrupted_while_it_runs_is_cancelled(postgres):
    failure = cancelled_while_running(postgres, "SELECT pg_sleep(600)")
    assert isinstance(failure, QueryCancelled)
    assert failure.__cause__.sqlstate == "57014"
    assert postgres.query("SELECT 1 AS one").column(0)[0].as_py() == 1


def test_postgres_a_session_the_server_ends_is_lost(postgres, postgres_database):
    pid = postgres.query("SELECT pg_backend_pid() AS pid").column(0)[0].as_py()
    [(ended,)] = as_admin(postgres_database, f"SELECT pg_terminate_backend({pid})")
    assert ended
    with pytest.raises(WarehouseLost):
        postgres.query("SELECT 1 AS one")


def test_postgres_a_server_that_is_not_there_is_unreachable():
    with pytest.raises(WarehouseUnreachable):
        connect("postgresql://postgres@127.0.0.1:1/none")


# ---- Spark ----------------------------------------------------------------------------------

spark = pytest.mark.skipif(bool(spark_available()), reason=str(spark_available()))


@spark
def test_spark_a_missing_table_is_a_failed_query(tmp_path: Path):
    warehouse = connect(f"spark:///{tmp_path / 'wh'}")
    with pytest.raises(QueryFailed):
        warehouse.query("SELECT * FROM nowhere")


@spark
def test_spark_a_query_interrupted_while_it_runs_is_cancelled(tmp_path: Path):
    warehouse = connect(f"spark:///{tmp_path / 'wh'}")
    failure = cancelled_while_running(
        warehouse, "SELECT sum(a.id * b.id) AS s FROM range(100000) a CROSS JOIN range(100000) b"
    )
    assert isinstance(failure, QueryCancelled)
    # and the session goes on
    assert warehouse.query("SELECT 1 AS one").column(0)[0].as_py() == 1
