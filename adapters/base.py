"""The interface every warehouse adapter offers, and the errors they raise."""

from __future__ import annotations

import heapq
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from adapters.redaction import scrub

if TYPE_CHECKING:  # only for the hints: `oversight check` and `fmt` never import pyarrow
    import pyarrow as pa


class WarehouseError(Exception):
    """The warehouse could not be reached or refused a statement; says which, in Chinese too.

    Each adapter raises one of the subclasses below, chosen from what its driver
    reports (an exception class, a SQLSTATE, an ADBC status), never from an error
    message's wording; the driver's own exception is chained as `__cause__`. The
    subclasses are named by what a caller does next. A driver may echo its
    connection string, so both messages are scrubbed of passwords here
    (adapters/redaction.py), whichever adapter words them.
    """

    def __init__(self, message_zh: str, message_en: str) -> None:
        message_zh, message_en = scrub(message_zh), scrub(message_en)
        super().__init__(f"{message_zh} / {message_en}")
        self.message_zh = message_zh
        self.message_en = message_en


class WarehouseUnreachable(WarehouseError):
    """The warehouse a URL names could not be opened or connected to: nothing ran on it."""


class WarehouseLost(WarehouseError):
    """The connection to the warehouse went away: the run stops, and can be run again."""


class PermissionDenied(WarehouseError):
    """The warehouse refused a statement for want of a privilege: a DBA has to grant it.

    Not a lost connection: the same statement fails again until the grant is made.
    """


class Conflict(WarehouseError):
    """Another connection got there first: the same work, tried again, can succeed.

    A lock held past the wait for it, a serialization failure or deadlock, a key
    another run has just written.
    """


class QueryCancelled(WarehouseError):
    """The statement was cancelled while it ran (`Warehouse.interrupt`, a signal)."""


class QueryTimeout(QueryCancelled):
    """A query ran past its time limit and was cancelled."""

    @classmethod
    def after(cls, seconds: float | None) -> QueryTimeout:
        """A query cancelled by its time limit of `seconds`, said the same by every adapter."""
        return cls(f"查询超过 {seconds} 秒，已取消", f"timed out after {seconds}s")


class TimeLimit:
    """A query's time limit: `interrupt` is called once `seconds` pass inside the `with`.

    `expired` tells afterwards whether it was, so that the adapter can report the
    failure that follows as QueryTimeout rather than as a cancel from elsewhere.
    No limit (None or 0) watches nothing. One thread of the process (`_Watch`)
    watches every limit: a thread started per query cost a pre-check of nine
    queries more than a millisecond of CPU, and as much again waiting for each to
    start. Once the `with` is left, `interrupt` is not called.
    """

    def __init__(self, seconds: float | None, interrupt: Callable[[], None]) -> None:
        self.expired = threading.Event()
        self._interrupt = interrupt
        self._seconds = seconds

    def _expire(self) -> None:
        """Called by the watch, under its lock, if the `with` is still open."""
        self.expired.set()
        self._interrupt()

    def __enter__(self) -> TimeLimit:
        if self._seconds:
            _WATCH.add(self, self._seconds)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._seconds:
            _WATCH.remove(self)


class _Watch:
    """The thread that calls the interrupt of each TimeLimit whose time is up.

    Limits wait in a heap by deadline; the thread sleeps until the first one's. A
    limit removed (its `with` left) is only marked, and skipped when its turn comes.
    Started at the first limit; a daemon thread, so it never keeps a process alive.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._heap: list[tuple[float, int, TimeLimit]] = []
        self._open: set[int] = set()
        self._count = 0
        self._thread: threading.Thread | None = None

    def add(self, limit: TimeLimit, seconds: float) -> None:
        with self._lock:
            self._count += 1
            self._open.add(id(limit))
            heapq.heappush(self._heap, (time.monotonic() + seconds, self._count, limit))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="oversight-time-limits", daemon=True
                )
                self._thread.start()
            if self._heap[0][2] is limit:  # the earliest now: the thread sleeps less
                self._lock.notify()

    def remove(self, limit: TimeLimit) -> None:
        with self._lock:
            self._open.discard(id(limit))

    def _run(self) -> None:
        with self._lock:
            while True:
                while self._heap and id(self._heap[0][2]) not in self._open:
                    heapq.heappop(self._heap)  # left already
                if not self._heap:
                    self._lock.wait()
                    continue
                deadline, _, limit = self._heap[0]
                left = deadline - time.monotonic()
                if left > 0:
                    self._lock.wait(left)
                    continue
                heapq.heappop(self._heap)
                self._open.discard(id(limit))
                limit._expire()  # under the lock: never after the `with` was left


_WATCH = _Watch()


def _watch_anew() -> None:
    """A forked child has none of its parent's threads: it watches its own limits afresh."""
    _WATCH.__init__()  # type: ignore[misc]


os.register_at_fork(after_in_child=_watch_anew)


class QueryFailed(WarehouseError):
    """The statement itself failed; the connection is fine: report it, go on with the next.

    Bad SQL, a table that is not there, data a function cannot take. Whether a
    table is missing is asked of the catalog (`Warehouse.has_table`): not every
    driver tells it apart from a syntax error (SQLite does not).
    """


class WarehouseNotFound(WarehouseUnreachable):
    """The database file or folder a URL names is not there; nothing was created in its place.

    Its text ends with a hint: the warehouses that are in that folder (the demo's
    file, when the default was expected), or how to name one.
    """

    def __init__(self, path: str, what: str) -> None:
        others = warehouses_beside(path)
        if others:
            shown = "、".join(others[:3])
            hint = f"同一目录下有 {shown}，可用 --warehouse 指定 / did you mean {others[0]}?"
        else:
            hint = (
                "用 --warehouse、部署文件的 warehouse: 或 $OVERSIGHT_WAREHOUSE 指定数据仓库；"
                "oversight demo 会建一个演示数据仓库 / name the warehouse with --warehouse, "
                "or build the demo's with `oversight demo`"
            )
        super().__init__(
            f"找不到数据仓库 {path}",
            f"warehouse not found: no {what} at {path}\n  = 提示 hint: {hint}",
        )


WAREHOUSE_SUFFIXES = {".duckdb": "duckdb", ".sqlite": "sqlite", ".sqlite3": "sqlite"}


def warehouses_beside(path: str) -> list[str]:
    """URLs of the database files in the folder of `path`, written as `path` is (relative or not).

    So that a mistyped or defaulted file name is answered with the files that
    are really there, such as duckdb:///oversight-demo.duckdb.
    """
    folder = Path(path).parent
    try:
        files = sorted(p for p in folder.iterdir() if p.suffix in WAREHOUSE_SUFFIXES)
    except OSError:
        return []
    return [f"{WAREHOUSE_SUFFIXES[p.suffix]}:///{folder / p.name}" for p in files]


@runtime_checkable
class Warehouse(Protocol):
    """A connection to one warehouse.

    `dialect` names the sqlglot dialect its SQL is compiled for. Reading
    (`query`) never changes anything; `load` and `write` touch only tables
    the engine owns (its ledger, or a demo warehouse it builds) — never a
    county's source tables.
    """

    url: str
    dialect: str
    transactional: bool  # whether transaction() really rolls back (Spark's does not)

    def query(
        self, sql: str, timeout: float | None = None, parameters: Mapping[str, Any] | None = None
    ) -> pa.Table:
        """Run one SELECT and return its rows; cancel it after `timeout` seconds.

        `parameters` are bound to the statement's placeholders by the driver,
        never pasted into its text: by name where the warehouse names them
        (`$as_of`, `:as_of`), in the mapping's order where it numbers them
        (PostgreSQL's `$1`).
        """
        ...

    def query_batches(self, sql: str, batch_rows: int = 65536) -> Iterator[pa.RecordBatch]:
        """Run one SELECT and return its rows a batch at a time, for large results."""
        ...

    def interrupt(self) -> None:
        """Cancel the statement running now; called from another thread (a timer, a signal).

        The statement then fails with QueryCancelled (QueryTimeout when its own
        time limit ran out); with nothing running, nothing happens.
        """
        ...

    def has_table(self, name: str) -> bool:
        """Whether a table or view of that (possibly schema-qualified) name exists."""
        ...

    def has_schema(self, name: str) -> bool:
        """Whether a schema of that name exists (Spark: a database; SQLite: an attached one)."""
        ...

    def table_schema(self, name: str) -> pa.Schema | None:
        """The columns of a table or view and their Arrow types as the warehouse declares them.

        None when there is no such table. Read from the catalog, not the rows, so an
        empty table has its columns too; `oversight sources` compares them with the
        pack's catalog. SQLite declares what a column was created with (dates as TEXT).
        """
        ...

    def execute(self, sql: str) -> None:
        """Run one statement that changes a table of the engine's own (DDL or DML)."""
        ...

    def load(self, name: str, table: pa.Table, replace: bool = False) -> None:
        """Create table `name` from Arrow data (replacing it when asked) and fill it."""
        ...

    def scratch(self, name: str, table: pa.Table) -> AbstractContextManager[None]:
        """Arrow data as table `name`, seen by this connection only, while the `with` lasts.

        A temporary table (a registered view where the warehouse can read Arrow in
        place), so that a file given on the command line can be queried beside the
        warehouse's tables by a role that may create nothing in any schema.
        """
        ...

    def load_parquet(self, name: str, path: str, replace: bool = False) -> None:
        """Create table `name` from a Parquet file (or a glob of files)."""
        ...

    def append(self, name: str, table: pa.Table) -> None:
        """Add rows to an existing table of the engine's own."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """Everything inside commits together or not at all."""
        ...

    def close(self) -> None: ...


def read_parquet_file(path: str) -> pa.Table:
    """A Parquet file (or glob) as Arrow, for warehouses that cannot read Parquet themselves."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise QueryFailed(f"无法读取 Parquet 文件 {path}", str(exc)) from exc
