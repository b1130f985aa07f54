"""Spark through pyspark: `spark:///DIR`, one Parquet directory per table.

Tables are registered in the session's catalog as external Parquet tables when
the warehouse is opened, so a warehouse built by one process (`oversight demo`)
is there for the next (`oversight run`) without a metastore. A schema-qualified
name `ods.dr_project` is the directory `ods/dr_project` in database `ods`.

The master is the URL's `?master=`: `local[N]` (the default, `local[2]`), a
standalone cluster `spark://HOST:7077`, or `local-cluster[N,CORES,MB]` (N
executor JVMs on this machine, what the tests use). On a cluster DIR must be
the same path on every machine (a shared mount): the executors read the
tables there, and write the engine's own.

Spark has no transactions here. Source tables are replaced by renaming a
directory; the engine's ledger and runs table are merged in Python (see
`engine.runs.ledger`), written by the cluster into a new generation directory
under DIR/.generations, and committed together by replacing one small file,
DIR/_oversight_tables.json, that names each one's current directory: a run
that fails before that rename leaves both as they were.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
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
_MASTER = ""

POINTER = "_oversight_tables.json"
"""In DIR: which generation directory holds each table written by `replace_tables`."""

GENERATIONS = ".generations"


class OtherMaster(Exception):
    """The process's one session already runs on another master (its name)."""


def session(master: str = "local[2]", settings: Mapping[str, str] | None = None) -> Any:
    """The process's one SparkSession, started on first use (it takes a few seconds).

    `settings` are Spark properties (`spark.executor.memory` …) for the session
    it starts. Spark keeps one SparkContext per process: a warehouse on another
    master cannot be opened beside it (OtherMaster), and the settings of a later
    warehouse are not applied.
    """
    global _SESSION, _MASTER
    if _SESSION is not None and master != _MASTER:
        raise OtherMaster(_MASTER)
    if _SESSION is None:
        from pyspark.sql import SparkSession

        builder = (
            SparkSession.builder.master(master)
            .appName("oversight")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            # Timestamps in the warehouse are local, without a zone; never shift them.
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.parquet.inferTimestampNTZ.enabled", "true")
        )
        for key, value in (settings or {}).items():
            builder = builder.config(key, value)
        _SESSION = builder.getOrCreate()
        _MASTER = master
        # Spark logs recoverable errors (a shuffle block fetched again) at ERROR; failures
        # that matter reach us as exceptions.
        _SESSION.sparkContext.setLogLevel("OFF")
    return _SESSION


def master_and_settings(url: str) -> tuple[str, dict[str, str]]:
    """The `?master=` of a spark:// URL (default local[2]) and its `spark.*` properties.

    `spark:///DIR?master=spark://host:7077&spark.executor.memory=4g`: the query
    is read as it stands, so the master's own `spark://`, `:` and the brackets of
    `local-cluster[2,1,1024]` need no escaping (escaped, they are read the same).
    Any other key is a mistake, named rather than ignored.
    """
    query = parse_qs(urlparse(url).query, keep_blank_values=True)
    unknown = sorted(key for key in query if key != "master" and not key.startswith("spark."))
    if unknown:
        raise WarehouseUnreachable(
            f"Spark 数据仓库地址中有不认识的参数 {', '.join(unknown)}",
            f"unknown parameter in the Spark warehouse URL: {', '.join(unknown)} "
            "(known: master=…, and Spark properties spark.…=…)",
        )
    settings = {key: values[-1] for key, values in query.items() if key.startswith("spark.")}
    return query.get("master", ["local[2]"])[-1], settings


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
        master, settings = master_and_settings(url)
        if must_exist and not self.root.is_dir():
            raise WarehouseNotFound(str(self.root), "Spark warehouse directory")
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self.spark = session(master, settings)
        except OtherMaster as exc:
            raise WarehouseUnreachable(
                f"本进程的 Spark 已在 {exc} 上运行，不能再连接 {master}",
                f"this process's Spark runs on {exc}: a warehouse on {master} needs a process "
                "of its own",
            ) from exc
        except Exception as exc:
            raise WarehouseUnreachable("无法启动 Spark", f"cannot start Spark: {exc}") from exc
        self._interrupted = threading.Event()  # set by interrupt() while a query runs
        self._register_all()

    # ---- the catalog

    def _location(self, name: str) -> Path:
        current = self._generations().get(name)
        return self.root / current if current else self._plain(name)

    def _plain(self, name: str) -> Path:
        table = table_named(name)
        return self.root / table.db / table.name if table.db else self.root / table.name

    def _generations(self) -> dict[str, str]:
        """Table name -> its directory (relative to DIR) for the tables `replace_tables` wrote."""
        return dict(self._pointer()["tables"])

    def _pointer(self) -> dict[str, Any]:
        """What DIR/_oversight_tables.json says: `tables` and `retired`.

        `tables` maps each table to its directory; `retired` lists the generations
        the last commit stopped using (the next commit deletes them).
        """
        try:
            return dict(json.loads((self.root / POINTER).read_text(encoding="utf-8")))
        except FileNotFoundError:
            return {"tables": {}, "retired": []}

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
        for name in self._generations():  # the engine's own tables, where their pointer says
            self._register(name)

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
        if name in self._generations():
            if not replace:
                raise QueryFailed(f"表 {name} 已存在", f"table {name} already exists")
            self.replace_tables({name: table})
            return
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

    def replace_tables(
        self, tables: Mapping[str, pa.Table], before_commit: Callable[[], None] | None = None
    ) -> None:
        """Replace (or create) these tables together, in one atomic step, written by the cluster.

        Each table is written by Spark's executors into a new directory under
        DIR/.generations; then DIR/_oversight_tables.json, naming every such
        table's current directory, is replaced by one rename. Until that rename
        (a failed job, a lost executor, the process killed, `before_commit`
        raising) every reader sees all the tables as they were; after it, all as
        written. A generation no table uses any more is deleted one commit later, so
        that a reader still scanning it is not cut short.
        """
        generation = Path(GENERATIONS) / uuid.uuid4().hex
        written: dict[str, str] = {}
        try:
            for name, table in tables.items():
                relative = generation / self._plain(name).relative_to(self.root)
                frame = self._frame(table).coalesce(1)
                try:
                    frame.write.parquet(str((self.root / relative).resolve()))
                except Exception as exc:
                    kind = WarehouseLost if _is_lost(exc) else QueryFailed
                    raise kind(f"写入表 {name} 失败", _first_line(exc)) from exc
                written[name] = relative.as_posix()
            if before_commit is not None:
                before_commit()
        except BaseException:
            shutil.rmtree(self.root / generation, ignore_errors=True)
            raise
        before = self._pointer()
        tables_now = {**before["tables"], **written}
        in_use = {_generation_of(path) for path in tables_now.values()}
        retired = {_generation_of(path) for path in before["tables"].values()} - in_use
        pointer = self.root / POINTER
        staging = self.root / f".{POINTER}.{uuid.uuid4().hex}"
        with staging.open("w", encoding="utf-8") as file:
            document = {"tables": tables_now, "retired": sorted(retired)}
            json.dump(document, file, ensure_ascii=False, indent=1, sort_keys=True)
            file.flush()
            os.fsync(file.fileno())
        os.replace(staging, pointer)  # the commit
        for name in tables:
            plain = self._plain(name)  # written before the pointer existed: now stale
            if plain.is_dir() and name not in before["tables"]:
                shutil.rmtree(plain, ignore_errors=True)
            self._register(name)
        # A generation retired by the commit before this one is no longer read by anyone
        # who opened the warehouse since: delete it. (Only committed generations are ever
        # deleted, never a directory another process may be writing.)
        for generation_name in set(before["retired"]) - in_use - retired:
            shutil.rmtree(self.root / GENERATIONS / generation_name, ignore_errors=True)

    def _frame(self, table: pa.Table) -> Any:
        """`table` as a DataFrame of the same types.

        pyspark reads an Arrow timestamp without a zone as Spark's TIMESTAMP (with the
        session's zone, written as INT96); the engine's timestamps have no zone, as in
        every other table here: cast back to TIMESTAMP_NTZ (the session's zone is UTC,
        so the wall-clock values stay).
        """
        from pyspark.sql import functions

        frame = self.spark.createDataFrame(table)
        columns = [
            functions.col(field.name).cast("timestamp_ntz").alias(field.name)
            if pa.types.is_timestamp(field.type) and field.type.tz is None
            else functions.col(field.name)
            for field in table.schema
        ]
        return frame.select(*columns)

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


def _generation_of(path: str) -> str:
    """The generation a table's directory belongs to: `.generations/ID/…` -> ID."""
    return Path(path).parts[1]


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
