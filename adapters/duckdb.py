"""DuckDB, the embedded default warehouse: `duckdb:///path/to/file.duckdb` or `duckdb:///:memory:`."""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
from sqlglot import exp

from adapters.base import (
    Conflict,
    PermissionDenied,
    QueryCancelled,
    QueryFailed,
    QueryTimeout,
    TimeLimit,
    WarehouseError,
    WarehouseNotFound,
    WarehouseUnreachable,
)
from adapters.names import statement, table_named

if TYPE_CHECKING:  # the hints only: `oversight check` runs its examples without pyarrow
    import pyarrow as pa

LOCK_WAIT_SECONDS = 120.0

STATISTICS_OPTIMIZERS = ("statistics_propagation", "compressed_materialization", "row_group_pruner")
"""DuckDB's optimisers whose plans depend on the rows' statistics at planning time."""

PREPARED_MAX = 512
"""Statements one connection keeps prepared at most (`prepared`)."""

SMALL_ROWS = 64
"""Rows appended as parameters rather than through a registered Arrow table (`append`)."""


def database_path(url: str) -> str:
    """The file a URL names, as SQLAlchemy reads it.

    `duckdb:///demo.duckdb` is relative to the working directory,
    `duckdb:////srv/county.duckdb` absolute, `duckdb://` or
    `duckdb:///:memory:` an in-memory database.
    """
    rest = url.split("://", 1)[1] if "://" in url else url
    if rest.startswith("/"):
        rest = rest[1:]
    return rest or ":memory:"


class DuckDBWarehouse:
    """One DuckDB database; Arrow in and out without copies where DuckDB allows."""

    dialect = "duckdb"
    transactional = True

    def __init__(self, url: str, read_only: bool = False, must_exist: bool = False) -> None:
        self.url = url
        path = database_path(url)
        if path != ":memory:" and (read_only or must_exist) and not Path(path).exists():
            raise WarehouseNotFound(path, "DuckDB database")
        self.connection = self._open(path, read_only)
        # What `prepared` and `kept` remember of this connection. `_catalog` counts what this
        # connection did that may change its catalog (a DDL statement, a registered Arrow
        # table): DuckDB then binds a statement prepared before it again at every execution.
        self._catalog = 0
        self._prepared: dict[str, tuple[str, int]] = {}
        self._without_statistics = False
        self._named = 0
        self._kept: dict[str, object] = {}
        self._texts: dict[tuple[str, str, int], str] = {}
        # Kept tables known to be empty (`kept` emptied them when its block ended), and
        # whether a transaction of `transaction()` is open.
        self._emptied: set[str] = set()
        self._in_transaction = False

    @staticmethod
    def _open(path: str, read_only: bool) -> duckdb.DuckDBPyConnection:
        """Open the file, waiting while another process holds it.

        DuckDB lets one process write a file at a time; a second run started
        at the same moment waits for the first rather than failing
        (https://duckdb.org/docs/connect/concurrency), and fails with Conflict
        when the file is still held after LOCK_WAIT_SECONDS.
        """
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        pause = 0.1
        tried_again = False
        while True:
            try:
                return duckdb.connect(path, read_only=read_only)
            except duckdb.Error as exc:
                failure = exc
            # DuckDB reports a held file as an IOException, like a file that is not a
            # database: the file's lock itself says which.
            held = isinstance(failure, duckdb.IOException) and _held_elsewhere(path, read_only)
            if held and time.monotonic() < deadline:
                time.sleep(pause)
                pause = min(pause * 2, 2.0)
                continue
            if not held and isinstance(failure, duckdb.IOException) and not tried_again:
                tried_again = True  # the holder may have let go between the two
                continue
            kind = Conflict if held else WarehouseUnreachable
            raise kind(
                f"无法打开 DuckDB 数据库 {path}", f"cannot open {path}: {failure}"
            ) from failure

    def query(
        self, sql: str, timeout: float | None = None, parameters: Mapping[str, Any] | None = None
    ) -> pa.Table:
        limit = TimeLimit(timeout, self.interrupt)
        try:
            with limit:
                if parameters:
                    # execute, the way DuckDB documents parameters: sql(…, params=…) runs the
                    # statement at once into a materialised relation, then converts that.
                    return self.connection.execute(sql, dict(parameters)).to_arrow_table()
                return self.connection.sql(sql).to_arrow_table()
        except duckdb.InterruptException as exc:
            if limit.expired.is_set():
                raise QueryTimeout.after(timeout) from exc
            raise QueryCancelled("查询已被取消", "the query was cancelled") from exc
        except duckdb.Error as exc:
            raise failure(exc, "查询执行失败") from exc

    def query_rows(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """A statement's answer as Python rows, with its columns' names.

        For the few rows of `check`'s examples: no Arrow table is made (nor pyarrow,
        with numpy, imported for it), and fetching a handful of rows so is quicker.
        """
        try:
            answer = self.connection.execute(sql)
            return [column[0] for column in answer.description or ()], answer.fetchall()
        except duckdb.InterruptException as exc:
            raise QueryCancelled("查询已被取消", "the query was cancelled") from exc
        except duckdb.Error as exc:
            raise failure(exc, "查询执行失败") from exc

    def query_batches(self, sql: str, batch_rows: int = 65536) -> Iterator[pa.RecordBatch]:
        try:
            yield from self.connection.sql(sql).to_arrow_reader(batch_rows)
        except duckdb.Error as exc:
            raise failure(exc, "查询执行失败") from exc

    def interrupt(self) -> None:
        # https://duckdb.org/docs/api/python/reference/#duckdb.DuckDBPyConnection.interrupt
        self.connection.interrupt()

    def has_table(self, name: str) -> bool:
        # An unqualified name means the current schema, as it would in a query.
        table = table_named(name)
        schema = exp.Literal.string(table.db) if table.db else exp.Anonymous(this="current_schema")
        sql = (
            exp.select(exp.Count(this=exp.Star()))
            .from_("information_schema.tables")
            .where(exp.column("table_name").eq(exp.Literal.string(table.name)))
            .where(exp.column("table_schema").eq(schema))
        )
        try:
            return bool(self.connection.sql(statement(sql, "duckdb")).fetchall()[0][0])
        except duckdb.Error as exc:  # e.g. inside a transaction a failed query has aborted
            raise failure(exc, "无法查询数据目录") from exc

    def has_schema(self, name: str) -> bool:
        sql = (
            exp.select(exp.Count(this=exp.Star()))
            .from_("information_schema.schemata")
            .where(exp.column("schema_name").eq(exp.Literal.string(name)))
            .where(exp.column("catalog_name").eq(exp.Anonymous(this="current_database")))
        )
        try:
            return bool(self.connection.sql(statement(sql, "duckdb")).fetchall()[0][0])
        except duckdb.Error as exc:
            raise failure(exc, "无法查询数据目录") from exc

    def table_schema(self, name: str) -> pa.Schema | None:
        if not self.has_table(name):
            return None
        empty = exp.select(exp.Star()).from_(table_named(name)).limit(0)
        try:
            return self.connection.sql(statement(empty, "duckdb")).to_arrow_table().schema
        except duckdb.Error as exc:
            raise failure(exc, f"无法读取表 {name} 的列") from exc

    def execute(self, sql: str) -> None:
        self._catalog += 1
        try:
            self.connection.execute(sql)
        except duckdb.Error as exc:
            raise failure(exc, "语句执行失败") from exc

    def prepared(self, sql: str) -> str:
        """A statement that runs `sql` (no placeholders) as prepared once on this connection.

        Binding and optimising a model's query costs about as much as running it on the
        few rows a pre-check reads; a prepared statement does that once. DuckDB binds it
        again by itself whenever the catalog changed since (correct, but no longer
        cheaper), so it is prepared again after this connection changed its catalog.
        https://duckdb.org/docs/stable/sql/query_syntax/prepared_statements
        """
        entry = self._prepared.get(sql)
        if entry is not None and entry[1] == self._catalog:
            return f"EXECUTE {entry[0]}"
        self.plan_without_statistics()
        if entry is None and len(self._prepared) >= PREPARED_MAX:  # many days asked about
            for old, _ in self._prepared.values():
                with suppress(duckdb.Error):
                    self.connection.execute(f"DEALLOCATE {old}")
            self._prepared = {}
        self._named += 1
        name = entry[0] if entry else f"oversight_prepared_{self._named}"
        try:
            self.connection.execute(f"PREPARE {name} AS {sql}")
        except duckdb.Error as exc:
            self._prepared.pop(sql, None)
            raise failure(exc, "查询准备失败") from exc
        self._prepared[sql] = (name, self._catalog)
        return f"EXECUTE {name}"

    def plan_without_statistics(self) -> None:
        """Plans that hold for any rows: the optimisers that read the rows' statistics, off.

        DuckDB plans a prepared statement with the statistics its tables have then (a
        filter that no row passed becomes an empty result; `length(name)` counts bytes
        where the column held no character past ASCII) and keeps the plan while the
        rows change: a pre-check's kept tables and the examples' tables change at every
        use. A setting of the database (DuckDB has no per-connection one), so of every
        connection to it in this process; the others' answers are the same, planned
        without them. https://duckdb.org/docs/stable/configuration/overview
        """
        if self._without_statistics:
            return
        self._without_statistics = True
        setting = "current_setting('disabled_optimizers')"
        now = self.connection.sql(f"SELECT {setting}").fetchall()[0][0] or ""
        off = [name for name in now.split(",") if name.strip()]
        off += [name for name in STATISTICS_OPTIMIZERS if name not in off]
        self.connection.execute(f"SET disabled_optimizers = '{','.join(off)}'")

    @contextmanager
    def kept(self, name: str, rows: pa.Table | exp.Query, shape: object) -> Iterator[int]:
        """`rows` readable as `name` until the block ends; yields how many there are.

        Like `registered`, a temporary table only this connection sees, but kept empty
        between uses rather than dropped (`filled`): nothing changes the catalog, so
        statements prepared on the connection stay prepared. Only `kept` and `filled`
        write it: emptied at the end of a use, it is known to be empty at the next one.
        """
        count = self.filled(name, rows, shape)
        try:
            yield count
        finally:
            with suppress(duckdb.Error):
                self.connection.execute(self._text("delete", name))
                if not self._in_transaction:  # a rollback cannot bring the rows back
                    self._emptied.add(name)

    def filled(self, name: str, rows: pa.Table | exp.Query, shape: object) -> int:
        """A temporary table `name` of this connection holding `rows` alone; how many.

        Made the first time, and again when `shape` (the columns the caller means)
        differs from the last time's; otherwise emptied and filled, which leaves the
        catalog as it was (`prepared`).
        """
        if self._kept.get(name) != shape:
            self._kept.pop(name, None)
            self._emptied.discard(name)
            drop = exp.Drop(tables=[table_named(name)], kind="TABLE", exists=True)
            self.execute(statement(drop, "duckdb"))
            arrow = not isinstance(rows, exp.Query)  # an Arrow table: pyarrow is loaded
            empty = (
                exp.select("*").from_("__oversight_arrow")
                if arrow
                else exp.select("*").from_(exp.Subquery(this=rows.copy(), alias="r"))
            ).where(exp.false())
            create = exp.Create(
                this=table_named(name),
                kind="TABLE",
                properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
                expression=empty,
            )
            if arrow:
                self._with_arrow(rows.schema.empty_table(), statement(create, "duckdb"))
            else:
                self.execute(statement(create, "duckdb"))
            self._kept[name] = shape
        try:
            if name in self._emptied:  # emptied when last used (`kept`): no DELETE again
                self._emptied.discard(name)
            else:
                self.connection.execute(self._text("delete", name))
            if not isinstance(rows, exp.Query):
                self._insert_rows(name, rows)
                return rows.num_rows
            insert = exp.insert(rows, table_named(name))
            return int(self.connection.execute(statement(insert, "duckdb")).fetchall()[0][0])
        except duckdb.Error as exc:
            self._kept.pop(name, None)  # made again at the next use
            raise failure(exc, "写入临时表失败") from exc

    def _insert_rows(self, name: str, table: pa.Table) -> None:
        """Append a few rows as parameters: no Arrow table registered, the catalog unchanged."""
        if table.num_rows == 0:
            return
        if table.num_rows > SMALL_ROWS or not _plain(table.schema):
            insert = exp.insert(exp.select("*").from_("__oversight_arrow"), table_named(name))
            self._with_arrow(table, statement(insert, "duckdb"))
            return
        # By position, as `INSERT … SELECT *` from the Arrow table would.
        insert = self._text("insert", name, table.num_columns)
        rows = [list(row.values()) for row in table.to_pylist()]
        if len(rows) == 1:  # a pre-check's record, an audit row: a quarter cheaper so
            self.connection.execute(insert, rows[0])
        else:
            self.connection.executemany(insert, rows)

    def _text(self, kind: str, name: str, columns: int = 0) -> str:
        """The statement emptying table `name` ("delete") or adding a row of `columns` to it.

        ("insert", the values as parameters.) Written once per connection: a pre-check
        runs several, and writing one costs as much as DuckDB running it.
        """
        key = (kind, name, columns)
        text = self._texts.get(key)
        if text is None:
            if kind == "delete":
                tree: exp.Expression = exp.delete(table_named(name))
            else:
                values = exp.Tuple(expressions=[exp.Placeholder() for _ in range(columns)])
                tree = exp.Insert(
                    this=table_named(name), expression=exp.Values(expressions=[values])
                )
            text = self._texts[key] = statement(tree, "duckdb")
        return text

    def load(self, name: str, table: pa.Table, replace: bool = False) -> None:
        rows = exp.select("*").from_("__oversight_arrow")
        create = exp.Create(this=table_named(name), kind="TABLE", expression=rows, replace=replace)
        self._with_arrow(table, statement(create, "duckdb"))

    @contextmanager
    def scratch(self, name: str, table: pa.Table) -> Iterator[None]:
        # DuckDB reads the Arrow table in place, as a view of this connection: no DDL at all.
        self._catalog += 1
        self.connection.register(name, table)
        try:
            yield
        finally:
            self.connection.unregister(name)

    def prepare(self, sql: str) -> str:
        """Prepare a statement once, its placeholders left open; returns its name.

        `executing` then gives the statement that runs it with given values. Running a
        prepared statement skips parsing, binding and planning the query again: most
        of the time a query over a handful of rows takes (the examples of `check`).
        """
        self._named += 1  # one count with `prepared`'s names: no name is used twice
        name = exp.to_identifier(f"__oversight_prepared_{self._named}", quoted=True)
        prepare = exp.Command(
            this="PREPARE", expression=exp.Literal.string(f"{name.sql(self.dialect)} AS {sql}")
        )
        self.execute(prepare.sql(self.dialect))
        return name.name

    def executing(self, name: str, values: Mapping[str, exp.Expression]) -> str:
        """The statement that runs the prepared `name`, each placeholder given a literal.

        Literals, not values bound by the driver: DuckDB's Python binding of a value
        imports pandas when it is installed (0.2–0.7 s of an edit loop's check).
        """
        named = exp.to_identifier(name, quoted=True).sql(self.dialect)
        arguments = ", ".join(
            exp.PropertyEQ(this=exp.to_identifier(key), expression=value).sql(self.dialect)
            for key, value in values.items()
        )
        called = f"{named}({arguments})" if arguments else named  # DuckDB refuses "()"
        call = exp.Command(this="EXECUTE", expression=exp.Literal.string(called))
        return call.sql(self.dialect)

    def load_parquet(self, name: str, path: str, replace: bool = False) -> None:
        # DuckDB reads Parquet itself, in parallel, without going through Python.
        rows = exp.select("*").from_(
            exp.Anonymous(this="read_parquet", expressions=[exp.Literal.string(str(path))])
        )
        create = exp.Create(this=table_named(name), kind="TABLE", expression=rows, replace=replace)
        self._catalog += 1
        try:
            self.connection.execute(statement(create, "duckdb"))
        except duckdb.Error as exc:
            raise failure(exc, f"无法读取 Parquet 文件 {path}") from exc

    def append(self, name: str, table: pa.Table) -> None:
        if table.num_rows <= SMALL_ROWS and _plain(table.schema):  # a pre-check's audit row
            try:
                self._insert_rows(name, table)
            except duckdb.Error as exc:
                raise failure(exc, "写入数据失败") from exc
            return
        insert = exp.insert(exp.select("*").from_("__oversight_arrow"), table_named(name))
        self._with_arrow(table, statement(insert, "duckdb"))

    def _with_arrow(self, table: pa.Table, statement: str) -> None:
        """Run a statement that reads the Arrow table under the name __oversight_arrow."""
        self._catalog += 1  # a registered table is a view of the connection's catalog
        self.connection.register("__oversight_arrow", table)
        try:
            self.connection.execute(statement)
        except duckdb.Error as exc:
            raise failure(exc, "写入数据失败") from exc
        finally:
            self.connection.unregister("__oversight_arrow")

    @contextmanager
    def registered(self, name: str, rows: pa.Table | exp.Query) -> Iterator[None]:
        """`rows` (an Arrow table, or a query's) readable as `name` until the block ends.

        A temporary table: only this connection sees it, and it lives in memory, not
        in the database file (a pre-check's records are read so). Not the Arrow table
        itself: DuckDB cannot push every filter it plans into a scan of one.
        """
        self._emptied.discard(name)
        if self._kept.pop(name, None) is not None:  # kept by `kept` until now: made anew
            self.execute(statement(exp.Drop(tables=[table_named(name)], kind="TABLE"), "duckdb"))
        arrow = not isinstance(rows, exp.Query)
        query = exp.select("*").from_("__oversight_arrow") if arrow else rows
        temporary = exp.Create(
            this=table_named(name),
            kind="TABLE",
            properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
            expression=query,
        )
        if arrow:
            self._with_arrow(rows, statement(temporary, "duckdb"))
        else:
            self.execute(statement(temporary, "duckdb"))
        try:
            yield
        finally:
            drop = exp.Drop(tables=[table_named(name)], kind="TABLE", exists=True)
            self.execute(statement(drop, "duckdb"))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._control("BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            yield
        except BaseException:
            # What failed is the error to report; a rollback that fails too adds nothing.
            self._in_transaction = False
            self._emptied.clear()  # a DELETE rolled back leaves rows again
            with suppress(duckdb.Error):
                self.connection.execute("ROLLBACK")
            raise
        self._in_transaction = False
        self._control("COMMIT")  # a write-write conflict can surface only here: Conflict

    def _control(self, sql: str) -> None:
        """A transaction's BEGIN or COMMIT: the catalog is not changed by it."""
        try:
            self.connection.execute(sql)
        except duckdb.Error as exc:
            raise failure(exc, "语句执行失败") from exc

    def close(self) -> None:
        self.connection.close()


def _plain(schema: pa.Schema) -> bool:
    """Whether every column's values pass through Python unchanged (as parameters)."""
    import pyarrow as pa  # loaded already: the schema is an Arrow table's

    return all(
        pa.types.is_string(t)
        or pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or pa.types.is_date32(t)
        or pa.types.is_decimal(t)
        or (pa.types.is_timestamp(t) and t.tz is None and t.unit in ("s", "ms", "us"))
        for t in schema.types
    )


def connect_duckdb(url: str, read_only: bool = False, must_exist: bool = False) -> DuckDBWarehouse:
    """Open the DuckDB database a duckdb:/// URL names (adapters.registry's entry)."""
    return DuckDBWarehouse(url, read_only=read_only, must_exist=must_exist)


# What each of DuckDB's exception classes means for the caller
# (https://duckdb.org/docs/api/python/reference/#exceptions); any other is a failed query.
# A ConstraintException is most often a key another connection has just written, which a
# second try finds there; DuckDB does not say which constraint failed.
_KINDS: tuple[tuple[type[duckdb.Error], type[WarehouseError]], ...] = (
    (duckdb.TransactionException, Conflict),  # write-write conflicts between transactions
    (duckdb.ConstraintException, Conflict),
    (duckdb.PermissionException, PermissionDenied),
    (duckdb.InterruptException, QueryCancelled),
)


def failure(exc: duckdb.Error, message_zh: str) -> WarehouseError:
    """The warehouse error a DuckDB exception is, by its class; its text is the English."""
    kind = next((kind for cls, kind in _KINDS if isinstance(exc, cls)), QueryFailed)
    return kind(message_zh, str(exc))


def _held_elsewhere(path: str, read_only: bool) -> bool:
    """Whether another process holds the lock DuckDB takes on its file, so opening must wait.

    DuckDB locks the whole file with fcntl, shared when it opens it read-only and
    exclusive otherwise. The same lock is tried here without waiting and let go at
    once; a file that cannot be opened at all is not held, it is unreadable.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY if read_only else os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.lockf(descriptor, (fcntl.LOCK_SH if read_only else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except OSError as exc:
        return exc.errno in (errno.EAGAIN, errno.EACCES)
    finally:
        os.close(descriptor)
    return False
