"""Warehouses reached through ADBC: SQLite, PostgreSQL, and any other ADBC driver.

Arrow goes in with `adbc_ingest` and comes out with `fetch_arrow_table`; what
each driver cannot take or give as Arrow types is converted here, in one
table per warehouse (`_Quirks`), so the rest of the engine sees the catalog's
types.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse, urlunparse

import pyarrow as pa
import pyarrow.compute as pc
from adbc_driver_manager import AdbcStatusCode
from adbc_driver_manager import Error as DriverError
from sqlglot import exp

from adapters.base import (
    Conflict,
    PermissionDenied,
    QueryCancelled,
    QueryFailed,
    QueryTimeout,
    TimeLimit,
    WarehouseError,
    WarehouseLost,
    WarehouseNotFound,
    WarehouseUnreachable,
    read_parquet_file,
)
from adapters.names import table_named


@dataclass(frozen=True)
class _Quirks:
    """What one warehouse needs done to Arrow data on the way in and out."""

    dialect: str
    # Arrow type -> conversion of a column before ingest (None: keep)
    inbound: dict[str, Callable[[pa.ChunkedArray], pa.ChunkedArray]]
    tables_query: Callable[[str | None, str], exp.Select]
    schemas_query: Callable[[str], exp.Select]
    # The schemas holding a table of that name which the role may not use (None: not asked).
    hiding_query: Callable[[str], exp.Select] | None = None


def _iso_dates(column: pa.ChunkedArray) -> pa.ChunkedArray:
    # SQLite keeps dates as ISO text, which sorts and compares as dates do
    # (https://www.sqlite.org/lang_datefunc.html).
    return pc.strftime(column, format="%Y-%m-%d")


def _iso_timestamps(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.strftime(column, format="%Y-%m-%d %H:%M:%S")


def _to_double(column: pa.ChunkedArray) -> pa.ChunkedArray:
    # The SQLite driver cannot ingest decimals; SQLite stores them as REAL anyway
    # (https://www.sqlite.org/datatype3.html), and the compiler compares them rounded.
    # Through the decimal's text: Arrow's decimal-to-double cast scales the integer by a
    # power of ten and is off by one bit for about one amount in eight (8716.38 becomes
    # 8716.380000000001), while parsing text gives the double nearest the amount.
    return pc.cast(pc.cast(column, pa.string()), pa.float64())


def _null_to_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.cast(column, pa.string())


def _sqlite_tables(schema: str | None, name: str) -> exp.Select:
    return (
        exp.select(exp.Count(this=exp.Star()))
        .from_("sqlite_master")
        .where(exp.column("type").isin("table", "view"))
        .where(exp.EQ(this=exp.column("name"), expression=exp.Literal.string(name)))
    )


def _sqlite_schemas(name: str) -> exp.Select:
    """SQLite's schemas are its attached databases."""
    databases = exp.Table(this=exp.Anonymous(this="pragma_database_list"))
    return (
        exp.select(exp.Count(this=exp.Star()))
        .from_(databases)
        .where(exp.EQ(this=exp.column("name"), expression=exp.Literal.string(name)))
    )


def _pg_class(schema: str | None, name: str) -> exp.Select:
    """Whether a table is there, from PostgreSQL's own catalog, which lists every table.

    information_schema.tables leaves out those the role holds no privilege on, and a
    table the role may not read is there all the same (a refused permission, not a
    missing source).
    """
    namespace = exp.column("nspname", table="n")
    return (
        exp.select(exp.Count(this=exp.Star()))
        .from_(exp.alias_(exp.table_("pg_class", db="pg_catalog"), "c", table=True))
        .join(
            exp.alias_(exp.table_("pg_namespace", db="pg_catalog"), "n", table=True),
            on=exp.EQ(
                this=exp.column("oid", table="n"), expression=exp.column("relnamespace", table="c")
            ),
        )
        .where(exp.EQ(this=exp.column("relname", table="c"), expression=exp.Literal.string(name)))
        .where(exp.column("relkind", table="c").isin("r", "v", "m", "p", "f"))
        .where(
            exp.EQ(
                this=namespace,
                expression=exp.Literal.string(schema)
                if schema
                else exp.Anonymous(this="current_schema"),
            )
        )
    )


def _pg_namespace(name: str) -> exp.Select:
    return (
        exp.select(exp.Count(this=exp.Star()))
        .from_(exp.table_("pg_namespace", db="pg_catalog"))
        .where(exp.EQ(this=exp.column("nspname"), expression=exp.Literal.string(name)))
    )


def _pg_hiding(name: str) -> exp.Select:
    """The schemas with a table `name` the role has no USAGE on, and the search path.

    Such a table is there, but hidden from the role's unqualified name.
    """
    schema = exp.column("oid", table="n")
    usage = exp.Anonymous(
        this="has_schema_privilege", expressions=[schema, exp.Literal.string("USAGE")]
    )
    return (
        exp.select(
            exp.column("nspname", table="n"),
            exp.alias_(
                exp.Anonymous(
                    this="current_setting", expressions=[exp.Literal.string("search_path")]
                ),
                "search_path",
            ),
            exp.alias_(exp.CurrentUser(), "role"),
        )
        .from_(exp.alias_(exp.table_("pg_class", db="pg_catalog"), "c", table=True))
        .join(
            exp.alias_(exp.table_("pg_namespace", db="pg_catalog"), "n", table=True),
            on=exp.EQ(this=schema.copy(), expression=exp.column("relnamespace", table="c")),
        )
        .where(exp.EQ(this=exp.column("relname", table="c"), expression=exp.Literal.string(name)))
        .where(exp.not_(usage))
    )


def _information_schemata(name: str) -> exp.Select:
    return (
        exp.select(exp.Count(this=exp.Star()))
        .from_("information_schema.schemata")
        .where(exp.EQ(this=exp.column("schema_name"), expression=exp.Literal.string(name)))
    )


def _information_schema(schema: str | None, name: str) -> exp.Select:
    where = exp.EQ(
        this=exp.column("table_schema"),
        expression=exp.Literal.string(schema) if schema else exp.Anonymous(this="current_schema"),
    )
    return (
        exp.select(exp.Count(this=exp.Star()))
        .from_("information_schema.tables")
        .where(exp.EQ(this=exp.column("table_name"), expression=exp.Literal.string(name)))
        .where(where)
    )


SQLITE_BUSY_MS = 30_000
"""How long a SQLite statement waits for another connection's lock before it fails."""

_QUIRKS = {
    "sqlite": _Quirks(
        "sqlite",
        {
            "date": _iso_dates,
            "timestamp": _iso_timestamps,
            "decimal": _to_double,
            "null": _null_to_text,
        },
        _sqlite_tables,
        _sqlite_schemas,
    ),
    "postgres": _Quirks("postgres", {"null": _null_to_text}, _pg_class, _pg_namespace, _pg_hiding),
}


# What a SQLSTATE means for the caller: the five-character code, else its two-character
# class (https://www.postgresql.org/docs/current/errcodes-appendix.html). A code not here
# is a failed statement.
_SQLSTATES: dict[str, type[WarehouseError]] = {
    "08": WarehouseLost,  # connection_exception
    "57P01": WarehouseLost,  # admin_shutdown: the session was ended (pg_terminate_backend)
    "57P02": WarehouseLost,  # crash_shutdown
    "57P03": WarehouseLost,  # cannot_connect_now
    "28": PermissionDenied,  # invalid_authorization_specification
    "42501": PermissionDenied,  # insufficient_privilege
    "23505": Conflict,  # unique_violation: a key another run has just written
    "40001": Conflict,  # serialization_failure
    "40P01": Conflict,  # deadlock_detected
    "55P03": Conflict,  # lock_not_available
    "57014": QueryCancelled,  # query_canceled
    # CREATE … IF NOT EXISTS is not safe against a concurrent one in PostgreSQL: the second of
    # two runs creating the ledger at the same moment is told the table (or schema) exists.
    "42P07": Conflict,  # duplicate_table
    "42P06": Conflict,  # duplicate_schema
}

# ADBC's status, for an error that carries no SQLSTATE (the SQLite driver sets none).
_STATUSES: dict[int, type[WarehouseError]] = {
    AdbcStatusCode.UNAUTHENTICATED: PermissionDenied,
    AdbcStatusCode.UNAUTHORIZED: PermissionDenied,
    AdbcStatusCode.INTEGRITY: Conflict,
    AdbcStatusCode.CANCELLED: QueryCancelled,
}


def error_kind(exc: Exception, io_means_lost: bool) -> type[WarehouseError]:
    """What an exception from an ADBC driver means, from its SQLSTATE, else its status.

    `io_means_lost`: whether an IO status without a SQLSTATE is the connection
    going away — true of a server, whose own errors all carry a SQLSTATE (libpq
    reports a closed socket so); not of SQLite, whose driver gives IO for every
    statement that fails while it runs.
    """
    if not isinstance(exc, DriverError):
        return QueryFailed
    state = exc.sqlstate or ""
    if state:
        return _SQLSTATES.get(state) or _SQLSTATES.get(state[:2]) or QueryFailed
    if exc.status_code == AdbcStatusCode.IO and io_means_lost:
        return WarehouseLost
    return _STATUSES.get(exc.status_code, QueryFailed)


def _kind(type_: pa.DataType) -> str:
    if pa.types.is_date(type_):
        return "date"
    if pa.types.is_timestamp(type_):
        return "timestamp"
    if pa.types.is_decimal(type_):
        return "decimal"
    if pa.types.is_null(type_):
        return "null"
    return str(type_)


def _is_numeric_text(type_: pa.DataType) -> bool:
    """PostgreSQL's NUMERIC as the driver returns it: its text in an opaque extension type."""
    return (
        isinstance(type_, pa.OpaqueType)
        and type_.type_name == "numeric"
        and pa.types.is_string(type_.storage_type)
    )


def _numeric(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """NUMERIC text as decimal128 at the scale PostgreSQL wrote: 8716.38 stays 8716.38.

    The scale is the most places any value has (a numeric(18, 2) column writes every
    value with 2), so DuckDB's DECIMAL and PostgreSQL's NUMERIC give equal values of
    equal scale. A column with NaN, or with a value that needs more than 38 digits,
    stays text, which is exact too and which readers of numbers parse.
    """
    text = pa.chunked_array([chunk.storage for chunk in column.chunks], column.type.storage_type)
    values = [None if v is None else Decimal(v) for v in text.to_pylist()]
    present = [v for v in values if v is not None]
    if not all(v.is_finite() for v in present):
        return text
    scale = max([0, *(-v.as_tuple().exponent for v in present)])
    whole_digits = max([1, *(v.adjusted() + 1 for v in present)])
    if whole_digits + scale > 38:
        return text
    return pa.chunked_array([pa.array(values, pa.decimal128(38, scale))])


def _plain(table: pa.Table) -> pa.Table:
    """Results without driver metadata; PostgreSQL NUMERIC as decimal."""
    columns, fields = [], []
    for field, column in zip(table.schema, table.columns, strict=True):
        if _is_numeric_text(field.type):
            column = _numeric(column)
        columns.append(column)
        fields.append(pa.field(field.name, column.type))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


class ADBCWarehouse:
    """A warehouse behind an ADBC DB-API connection, which is always in a transaction.

    The driver begins one as the connection opens and after each commit; a
    statement outside `transaction()` is committed when it has run.
    """

    transactional = True
    io_means_lost = True  # see error_kind

    def __init__(self, url: str, dialect: str, connection: Any) -> None:
        self.url = url
        self.dialect = dialect
        generic = _Quirks(dialect, {}, _information_schema, _information_schemata)
        self.quirks = _QUIRKS.get(dialect, generic)
        self.connection = connection
        self._depth = 0
        self._running: Any = None  # the cursor of the query running now, for interrupt()

    # ---- reading

    def query(
        self, sql: str, timeout: float | None = None, parameters: Mapping[str, Any] | None = None
    ) -> pa.Table:
        limit = TimeLimit(timeout, self.interrupt)
        try:
            with self.connection.cursor() as cursor:
                self._running = cursor
                try:
                    with limit:
                        cursor.execute(sql, self._bound(parameters))
                        table = cursor.fetch_arrow_table()
                finally:
                    self._running = None
        except Exception as exc:
            raise self._failure(exc, "查询执行失败", limit.expired.is_set(), timeout) from exc
        self._after_statement()
        return _plain(table)

    def _bound(self, parameters: Mapping[str, Any] | None) -> pa.RecordBatch | None:
        """Parameters as one Arrow row, in the order given, converted as ingest converts.

        ADBC binds a row's columns to placeholders by position; SQLite gives every
        `:as_of` of a statement the same position, and PostgreSQL numbers them `$1`.
        """
        if not parameters:
            return None
        row = pa.Table.from_pydict({name: [value] for name, value in parameters.items()})
        return self._inbound(row).to_batches()[0]

    def _failure(
        self, exc: Exception, zh: str, cancelled: bool = False, timeout: float | None = None
    ) -> WarehouseError:
        """The warehouse error an exception from the driver means (`cancelled`: by the timer)."""
        text = f"{type(exc).__name__}: {exc}"
        if cancelled:
            self._after_error()
            return QueryTimeout.after(timeout)
        kind = error_kind(exc, self.io_means_lost)
        if kind is WarehouseLost:
            return WarehouseLost("与数据仓库的连接中断", text)
        self._after_error()
        return kind(zh, text)

    def query_batches(self, sql: str, batch_rows: int = 65536) -> Iterator[pa.RecordBatch]:
        yield from self.query(sql).to_batches(max_chunksize=batch_rows)

    def interrupt(self) -> None:
        cursor = self._running
        if cursor is None:
            return
        # Best effort: the SQLite driver cannot cancel (NOT_IMPLEMENTED), so there a query
        # runs to its end, and a time limit or a signal takes effect only then (README).
        with suppress(Exception):
            cursor.adbc_cancel()

    def has_table(self, name: str) -> bool:
        """Whether the table is there; PermissionDenied when it is, hidden from the role.

        PostgreSQL resolves an unqualified name only in the schemas of the search path
        the role may use: a table in one it has no USAGE on reads as "no such table",
        which would make a refused privilege look like a missing source.
        """
        table = table_named(name)
        query = self.quirks.tables_query(table.db or None, table.name)
        if bool(self.query(query.sql(self.dialect)).column(0)[0].as_py()):
            return True
        if self.quirks.hiding_query is None or table.db:
            return False
        for row in self.query(self.quirks.hiding_query(table.name).sql(self.dialect)).to_pylist():
            path = [
                part.strip().strip('"').replace("$user", row["role"])
                for part in str(row["search_path"]).split(",")
            ]
            if row["nspname"] in path:
                schema = row["nspname"]
                raise PermissionDenied(
                    f"角色不能使用模式 {schema}（缺少 USAGE ON SCHEMA {schema}），"
                    f"看不到其中的表 {name}",
                    f"the role may not use schema {schema} (missing USAGE ON SCHEMA {schema}): "
                    f"its table {name} is hidden",
                )
        return False

    def has_schema(self, name: str) -> bool:
        query = self.quirks.schemas_query(name)
        return bool(self.query(query.sql(self.dialect)).column(0)[0].as_py())

    def table_schema(self, name: str) -> pa.Schema | None:
        if not self.has_table(name):
            return None
        table = table_named(name)
        try:
            schema = self.connection.adbc_get_table_schema(
                table.name, db_schema_filter=table.db or None
            )
        except Exception as exc:
            raise self._failure(exc, f"无法读取表 {name} 的列") from exc
        self._after_statement()
        # PostgreSQL's NUMERIC is the driver's opaque text type; the engine reads it as decimal.
        return pa.schema(
            pa.field(f.name, pa.decimal128(38, 2)) if _is_numeric_text(f.type) else f
            for f in schema
        )

    # ---- writing the engine's own tables

    def execute(self, sql: str) -> None:
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(sql)
        except Exception as exc:
            raise self._failure(exc, "语句执行失败") from exc
        self._after_statement()

    def load(self, name: str, table: pa.Table, replace: bool = False) -> None:
        self._ingest(name, table, "replace" if replace else "create")

    def load_parquet(self, name: str, path: str, replace: bool = False) -> None:
        self.load(name, read_parquet_file(path), replace)

    def append(self, name: str, table: pa.Table) -> None:
        self._ingest(name, table, "append")

    @contextmanager
    def scratch(self, name: str, table: pa.Table) -> Iterator[None]:
        # A temporary table: PostgreSQL's TEMPORARY privilege (PUBLIC's by default), no CREATE.
        self._ingest(name, table, "create", temporary=True)
        try:
            yield
        finally:
            drop = exp.Drop(tables=[table_named(name)], kind="TABLE", exists=True)
            self.execute(drop.sql(self.dialect))

    def _ingest(self, name: str, table: pa.Table, mode: str, temporary: bool = False) -> None:
        target = table_named(name)
        converted = self._inbound(table)
        try:
            with self.connection.cursor() as cursor:
                cursor.adbc_ingest(
                    target.name,
                    converted,
                    mode=mode,
                    db_schema_name=target.db or None,
                    temporary=temporary,
                )
        except Exception as exc:
            raise self._failure(exc, f"写入表 {name} 失败") from exc
        self._after_statement()

    def _inbound(self, table: pa.Table) -> pa.Table:
        columns = []
        for column in table.columns:
            convert = self.quirks.inbound.get(_kind(column.type))
            columns.append(convert(column) if convert else column)
        return pa.Table.from_arrays(columns, names=table.column_names)

    # ---- transactions: commit after each statement unless inside `transaction()`.

    def _after_statement(self) -> None:
        if self._depth == 0:
            self._commit()

    def _begin(self) -> None:
        """Open the transaction of `transaction()`: the driver has one open already."""

    def _commit(self) -> None:
        # A connection lost between a statement and its commit fails here, not in the
        # statement: it must still read as lost (exit 3, run again), not as a crash.
        try:
            self.connection.commit()
        except Exception as exc:
            raise self._failure(exc, "提交失败") from exc

    def _rollback(self) -> None:
        self.connection.rollback()

    def _after_error(self) -> None:
        if self._depth == 0:
            try:
                self._rollback()
            except Exception as exc:  # the connection itself is gone
                raise WarehouseLost("与数据仓库的连接中断", str(exc)) from exc

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth == 0:
            self._begin()
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                # The connection may be gone (which is then the error being raised);
                # the warehouse rolls back an unfinished transaction by itself.
                with suppress(Exception):
                    self._rollback()
            raise
        self._depth -= 1
        if self._depth == 0:
            self._commit()

    def close(self) -> None:
        self.connection.close()


class SQLiteWarehouse(ADBCWarehouse):
    """A SQLite file, whose transactions the engine begins itself, taking the write lock first.

    SQLite lets one connection write at a time. A transaction begun the default
    (deferred) way takes the write lock at its first write, and if another
    connection is writing then, that statement fails at once instead of waiting:
    waiting could deadlock (https://www.sqlite.org/c3ref/busy_handler.html).
    `BEGIN IMMEDIATE` takes the lock before anything else, waiting for it up to
    SQLITE_BUSY_MS (https://www.sqlite.org/lang_transaction.html), so two writers
    — a run and the pre-check service's audit rows — queue instead. Outside
    `transaction()` each statement commits by itself (the connection is opened
    with ADBC's autocommit).
    """

    io_means_lost = False  # a file: nothing to lose, and IO is any failed statement

    def table_schema(self, name: str) -> pa.Schema | None:
        # The driver's schema of a table is guessed from its rows (an empty table's
        # columns all read as integers); what a column was declared with is in the catalog.
        if not self.has_table(name):
            return None
        table = table_named(name)
        arguments = [exp.Literal.string(part) for part in (table.name, table.db) if part]
        info = exp.Table(this=exp.Anonymous(this="pragma_table_info", expressions=arguments))
        query = exp.select(exp.column("name"), exp.column("type")).from_(info)
        declared = self.query(query.sql("sqlite")).to_pylist()
        return pa.schema(pa.field(c["name"], sqlite_declared(c["type"])) for c in declared)

    def __init__(self, url: str, path: str, connection: Any) -> None:
        super().__init__(url, "sqlite", connection)
        self.path = path

    def _after_statement(self) -> None:
        """Committed already: by itself, or with its transaction."""

    def _after_error(self) -> None:
        """Rolled back already: the statement by SQLite, a transaction by `transaction()`."""

    def _begin(self) -> None:
        try:
            self._run("BEGIN IMMEDIATE")
        except Exception as exc:
            # The statement only takes the write lock: it fails when another connection
            # held it past the wait, or when the file cannot be written at all.
            writable = self.path == ":memory:" or os.access(self.path, os.W_OK)
            kind = Conflict if writable else PermissionDenied
            raise kind(
                f"无法开始写入 SQLite 数据库 {self.path}", f"{type(exc).__name__}: {exc}"
            ) from exc

    def _commit(self) -> None:
        try:
            self._run("COMMIT")
        except Exception as exc:
            with suppress(Exception):  # SQLite keeps a transaction whose commit failed open
                self._rollback()
            raise self._failure(exc, "提交失败") from exc

    def _rollback(self) -> None:
        self._run("ROLLBACK")

    def _run(self, sql: str) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql)


def sqlite_declared(declared: str | None) -> pa.DataType:
    """The Arrow type a SQLite column's declared type stands for.

    By SQLite's affinity rules (https://www.sqlite.org/datatype3.html, 3.1), after the
    names the engine's own tables and a DBA would write for dates, decimals and
    booleans; a column declared with no type can hold anything (null: not judged).
    """
    text = (declared or "").upper()
    if "TIMESTAMP" in text or "DATETIME" in text:
        return pa.timestamp("us")
    if "DATE" in text:
        return pa.date32()
    if "BOOL" in text:
        return pa.bool_()
    if "INT" in text:
        return pa.int64()
    if any(word in text for word in ("CHAR", "CLOB", "TEXT")):
        return pa.string()
    if not text or "BLOB" in text:
        return pa.null()
    if any(word in text for word in ("REAL", "FLOA", "DOUB")):
        return pa.float64()
    return pa.decimal128(38, 2)  # NUMERIC affinity: DECIMAL(18, 2), NUMERIC


def sqlite_path(url: str) -> str:
    """The file a sqlite:// URL names, read as SQLAlchemy reads it (:memory: when none)."""
    rest = url.split("://", 1)[1] if "://" in url else url
    if rest.startswith("/"):
        rest = rest[1:]
    return rest or ":memory:"


def connect_sqlite(url: str, read_only: bool = False, must_exist: bool = False) -> SQLiteWarehouse:
    """SQLite through its ADBC driver: sqlite:///relative.db, sqlite:////abs.db, sqlite://."""
    import adbc_driver_sqlite.dbapi as sqlite

    path = sqlite_path(url)
    if path != ":memory:" and (read_only or must_exist) and not Path(path).exists():
        raise WarehouseNotFound(path, "SQLite database")
    try:
        connection = sqlite.connect(path, autocommit=True)  # transactions: SQLiteWarehouse
        # Several connections share one file (the pre-check service holds a pool, a run may
        # overlap it): a statement that meets another's lock waits for it, up to this long,
        # instead of failing at once with "database is locked".
        wait = exp.Pragma(
            this=exp.EQ(this=exp.var("busy_timeout"), expression=exp.Literal.number(SQLITE_BUSY_MS))
        )
        with connection.cursor() as cursor:
            cursor.execute(wait.sql("sqlite"))
    except Exception as exc:
        raise WarehouseUnreachable(f"无法打开 SQLite 数据库 {path}", str(exc)) from exc
    return SQLiteWarehouse(url, path, connection)


def connect_postgres(url: str, read_only: bool = False, must_exist: bool = False) -> ADBCWarehouse:
    """PostgreSQL through its ADBC driver: postgresql://user:password@host:port/database.

    A server creates no database on connecting, so `must_exist` holds by itself;
    `read_only` is not asked of the session: the engine only reads a county's tables.
    """
    import adbc_driver_postgresql.dbapi as postgres

    uri = url.replace("postgres://", "postgresql://", 1)
    try:
        connection = postgres.connect(uri)
    except Exception as exc:
        database = urlparse(uri).path.lstrip("/")
        if database and _connect_refused(postgres, uri, database):
            raise PermissionDenied(
                f"角色没有连接数据库 {database} 的权限（CONNECT ON DATABASE {database}）",
                f"the role may not connect: missing CONNECT ON DATABASE {database}",
            ) from exc
        shown = urlparse(uri)._replace(netloc=urlparse(uri).hostname or "")
        raise WarehouseUnreachable(
            f"无法连接 PostgreSQL {urlunparse(shown)}", f"cannot connect: {exc}"
        ) from exc
    return ADBCWarehouse(url, "postgres", connection)


def _connect_refused(postgres: Any, uri: str, database: str) -> bool:
    """Whether the role lacks CONNECT on `database`, asked from the server's `postgres` database.

    The driver reports a refused login with no SQLSTATE, so the failure is not read
    from its wording: the same role, on the maintenance database that every role may
    connect to by default, asks the catalog. False when that cannot be asked either
    (the server is down, the password is wrong): the failure is then what it says.
    """
    question = (
        exp.select(
            exp.not_(
                exp.Anonymous(
                    this="has_database_privilege",
                    expressions=[exp.column("oid"), exp.Literal.string("CONNECT")],
                )
            )
        )
        .from_(exp.table_("pg_database", db="pg_catalog"))
        .where(exp.EQ(this=exp.column("datname"), expression=exp.Literal.string(database)))
    )
    try:
        probe = postgres.connect(urlunparse(urlparse(uri)._replace(path="/postgres")))
    except Exception:
        return False
    try:
        with probe.cursor() as cursor:
            cursor.execute(question.sql("postgres"))
            row = cursor.fetchone()
        return bool(row and row[0])
    except Exception:
        return False
    finally:
        probe.close()


def connect_generic(url: str, read_only: bool = False, must_exist: bool = False) -> ADBCWarehouse:
    """`adbc+DRIVER://…?dialect=NAME`: any ADBC driver package, SQL in a sqlglot dialect.

    DRIVER names the Python package `adbc_driver_DRIVER` (e.g. flightsql,
    snowflake, bigquery); the rest of the URL is the driver's URI. As with
    PostgreSQL, `read_only` and `must_exist` are the server's business.
    """
    parsed = urlparse(url)
    driver = parsed.scheme.partition("+")[2]
    options = parse_qs(parsed.query)
    dialect = options.pop("dialect", [""])[0]
    if not driver:
        raise WarehouseUnreachable(
            "通用 ADBC 地址需写作 adbc+驱动://…", "name the driver: adbc+DRIVER://…?dialect=NAME"
        )
    if not dialect:
        raise WarehouseUnreachable(
            "通用 ADBC 地址需要 ?dialect=方言", "add ?dialect=NAME to the URL"
        )
    try:
        module = importlib.import_module(f"adbc_driver_{driver}.dbapi")
    except ImportError as exc:
        raise WarehouseUnreachable(
            f"没有安装 ADBC 驱动 adbc-driver-{driver}", f"pip install adbc-driver-{driver}"
        ) from exc
    query = "&".join(f"{k}={v[0]}" for k, v in options.items())
    uri = urlunparse(parsed._replace(scheme=driver, query=query))
    try:
        connection = module.connect(uri)
    except Exception as exc:
        raise WarehouseUnreachable(f"无法连接 {driver}", str(exc)) from exc
    return ADBCWarehouse(url, dialect, connection)
