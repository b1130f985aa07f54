"""Spark through pyspark: `spark:///DIR` (local mode), one Parquet directory per table.

Tables are registered in the session's catalog as external Parquet tables when
the warehouse is opened, so a warehouse built by one process (`oversight demo`)
is there for the next (`oversight run`) without a metastore. A schema-qualified
name `ods.dr_project` is the directory `ods/dr_project` in database `ods`.
Spark has no transactions here: writes replace a table's directory by a rename,
and the engine's ledger is merged in Python (see `engine.runs.ledger`).
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from adapters.base import (
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
from adapters.names import statement, table_named

# A Spark 4 optimizer bug: a filter over a column computed by a correlated scalar
# subquery with a non-equality correlation (ENG07's `paid`) is pushed below the
# projection, and the rewritten plan fails — with SCALAR_SUBQUERY_TOO_MANY_ROWS although
# the subquery aggregates, or with "Expects 1 field, but got 2; something went wrong in
# analysis". A query that fails is run once more without pushing predicates down (a
# query that is really wrong fails again, and that error is reported).
# tests/adapters/test_spark.py reproduces it.
_RETRY_WITHOUT = "org.apache.spark.sql.catalyst.optimizer.PushDownPredicates"

_SESSION: Any = None


def session(master: str = "local[2]") -> Any:
    """The process's one SparkSession, started on first use (it takes a few seconds)."""
    global _SESSION
    if _SESSION is None:
        from pyspark.sql import SparkSession

        _SESSION = (
            SparkSession.builder.master(master)
            .appName("oversight")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            # Timestamps in the warehouse are local, without a zone; never shift them.
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.parquet.inferTimestampNTZ.enabled", "true")
            .getOrCreate()
        )
        # Spark logs recoverable errors (a shuffle block fetched again) at ERROR; failures
        # that matter reach us as exceptions.
        _SESSION.sparkContext.setLogLevel("OFF")
    return _SESSION


def warehouse_dir(url: str) -> Path:
    """The directory a spark:// URL names, read as SQLAlchemy reads file URLs."""
    rest = urlparse(url).path
    rest = rest[1:] if rest.startswith("/") else rest
    if not rest:
        raise WarehouseUnreachable(
            "Spark 数据仓库地址需要一个目录",
            "a Spark warehouse URL names a directory: spark:///DIR",
        )
    return Path(rest)


class SparkWarehouse:
    """A directory of Parquet tables, queried with Spark SQL."""

    dialect = "spark"
    transactional = False
    supports_dml = False  # no UPDATE on plain Parquet tables: the ledger is merged in Python

    def __init__(self, url: str, must_exist: bool = False) -> None:
        self.url = url
        self.root = warehouse_dir(url)
        if must_exist and not self.root.is_dir():
            raise WarehouseNotFound(str(self.root), "Spark warehouse directory")
        self.root.mkdir(parents=True, exist_ok=True)
        master = parse_qs(urlparse(url).query).get("master", ["local[2]"])[0]
        try:
            self.spark = session(master)
        except Exception as exc:
            raise WarehouseUnreachable("无法启动 Spark", f"cannot start Spark: {exc}") from exc
        self._interrupted = threading.Event()  # set by interrupt() while a query runs
        self._register_all()

    # ---- the catalog

    def _location(self, name: str) -> Path:
        table = table_named(name)
        return self.root / table.db / table.name if table.db else self.root / table.name

    def _register(self, name: str) -> None:
        """Make the table's Parquet directory a table of the session's catalog."""
        table = table_named(name)
        if table.db:
            database = exp.Create(this=table_named(table.db), kind="DATABASE", exists=True)
            self.spark.sql(statement(database, "spark"))
        location = exp.Literal.string(str(self._location(name).resolve()))
        drop = exp.Drop(tables=[table.copy()], kind="TABLE", exists=True)
        self.spark.sql(statement(drop, "spark"))
        create = exp.Create(
            this=table,
            kind="TABLE",
            properties=exp.Properties(
                expressions=[
                    exp.FileFormatProperty(this=exp.var("PARQUET")),
                    exp.LocationProperty(this=location),
                ]
            ),
        )
        self.spark.sql(statement(create, "spark"))

    def _register_all(self) -> None:
        # One SparkSession serves the process: forget the tables of a warehouse opened
        # before this one (they are external tables, so nothing is deleted).
        for database in self.spark.catalog.listDatabases():
            for table in self.spark.catalog.listTables(database.name):
                if not table.isTemporary:
                    name = exp.Table(
                        this=exp.to_identifier(table.name), db=exp.to_identifier(database.name)
                    )
                    drop = exp.Drop(tables=[name], kind="TABLE", exists=True)
                    self.spark.sql(statement(drop, "spark"))
        for entry in sorted(self.root.iterdir()):
            if not entry.is_dir() or entry.name.startswith((".", "_")):
                continue
            if any(entry.glob("*.parquet")):
                self._register(entry.name)
            else:
                for inner in sorted(entry.iterdir()):
                    if inner.is_dir() and any(inner.glob("*.parquet")):
                        self._register(f"{entry.name}.{inner.name}")

    # ---- reading

    def query(
        self, sql: str, timeout: float | None = None, parameters: Mapping[str, Any] | None = None
    ) -> pa.Table:
        bound = dict(parameters) if parameters else None  # named markers, :as_of
        self._interrupted.clear()
        with TimeLimit(timeout, self.interrupt) as limit:
            try:
                return self.spark.sql(sql, args=bound).toArrow()
            except Exception as exc:  # retried below; a query really wrong fails again there
                failure = self._failure(exc, limit.expired.is_set(), timeout)
                if not isinstance(failure, QueryFailed):
                    raise failure from exc
            self.spark.conf.set("spark.sql.optimizer.excludedRules", _RETRY_WITHOUT)
            try:
                return self.spark.sql(sql, args=bound).toArrow()
            except Exception as exc:
                raise self._failure(exc, limit.expired.is_set(), timeout) from exc
            finally:
                self.spark.conf.unset("spark.sql.optimizer.excludedRules")

    def _failure(self, exc: Exception, timed_out: bool, timeout: float | None) -> WarehouseError:
        """What a failed query was: the JVM gone, cancelled (by its time limit), or itself."""
        if timed_out:
            return QueryTimeout.after(timeout)
        if _is_lost(exc):
            return WarehouseLost("与 Spark 的连接中断", _first_line(exc))
        if self._interrupted.is_set():
            return QueryCancelled("查询已被取消", "the query was cancelled")
        return QueryFailed("查询执行失败", _first_line(exc))

    def query_batches(self, sql: str, batch_rows: int = 65536) -> Iterator[pa.RecordBatch]:
        yield from self.query(sql).to_batches(max_chunksize=batch_rows)

    def interrupt(self) -> None:
        self._interrupted.set()
        self.spark.sparkContext.cancelAllJobs()

    def has_table(self, name: str) -> bool:
        return bool(self.spark.catalog.tableExists(statement(table_named(name), "spark")))

    def has_schema(self, name: str) -> bool:
        return bool(self.spark.catalog.databaseExists(name))

    def table_schema(self, name: str) -> pa.Schema | None:
        if not self.has_table(name):
            return None
        empty = exp.select(exp.Star()).from_(table_named(name)).limit(0)
        return self.query(statement(empty, "spark")).schema

    # ---- writing the engine's own tables

    def execute(self, sql: str) -> None:
        try:
            self.spark.sql(sql)
        except Exception as exc:
            kind = WarehouseLost if _is_lost(exc) else QueryFailed
            raise kind("语句执行失败", _first_line(exc)) from exc

    def load(self, name: str, table: pa.Table, replace: bool = False) -> None:
        location = self._location(name)
        if location.exists() and not replace:
            raise QueryFailed(f"表 {name} 已存在", f"table {name} already exists")
        staging = location.parent / f".{location.name}.{uuid.uuid4().hex}"
        staging.mkdir(parents=True)
        pq.write_table(table, staging / "part-0.parquet")
        # Replace the directory by renames, so that a reader sees the old or the new table.
        retired = location.parent / f".{location.name}.old.{uuid.uuid4().hex}"
        if location.exists():
            os.replace(location, retired)
        os.replace(staging, location)
        shutil.rmtree(retired, ignore_errors=True)
        self._register(name)

    @contextmanager
    def scratch(self, name: str, table: pa.Table) -> Iterator[None]:
        # A temporary view of the session: nothing is written under the warehouse's folder.
        self.spark.createDataFrame(table).createOrReplaceTempView(name)
        try:
            yield
        finally:
            self.spark.catalog.dropTempView(name)

    def load_parquet(self, name: str, path: str, replace: bool = False) -> None:
        self.load(name, read_parquet_file(path), replace)

    def append(self, name: str, table: pa.Table) -> None:
        location = self._location(name)
        if not location.exists():
            raise QueryFailed(f"表 {name} 不存在", f"no table {name}")
        part = location / f"part-{uuid.uuid4().hex}.parquet"
        temporary = location / f".{part.name}.tmp"
        pq.write_table(table, temporary)
        os.replace(temporary, part)
        self.spark.sql(statement(exp.Refresh(this=table_named(name), kind="TABLE"), "spark"))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        yield

    def close(self) -> None:
        """The session stays up for the process: starting Spark again costs seconds."""


def _is_lost(exc: Exception) -> bool:
    """Whether the JVM behind the session is gone (not a bad query).

    py4j raises Py4JNetworkError when the JVM does not answer (its answer is
    empty, or the socket fails); Arrow results come over a local socket of their
    own, which fails as a ConnectionError.
    """
    from py4j.protocol import Py4JNetworkError

    return isinstance(exc, Py4JNetworkError | ConnectionError)


def _first_line(exc: Exception) -> str:
    """The useful part of a Spark error: its error class line, or the innermost cause."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if line.startswith("[") or ("Exception:" in line and "Caused by" not in line):
            return line[:500]
    causes = [line for line in lines if line.startswith("Caused by")]
    return (causes[-1] if causes else lines[0] if lines else type(exc).__name__)[:500]


def connect_spark(url: str, read_only: bool = False, must_exist: bool = False) -> SparkWarehouse:
    """Open (or create) the Spark warehouse directory a spark:/// URL names.

    `read_only` changes nothing: the engine writes only its own tables' directories.
    """
    return SparkWarehouse(url, must_exist=must_exist)
