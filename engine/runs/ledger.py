"""The warnings ledger: every warning the engine has issued, kept in the warehouse.

A warning is issued once: its `issued_on` and township are those of the
first run that raised it, whatever later runs say; a later run that raises
it again only moves `last_seen_on` forward, and a warning that stops firing
stays. Each run also leaves a row in the runs table. A run writes all of
that in one transaction, so a run that fails or is killed leaves the ledger
exactly as it was, and running the same as_of again adds nothing.

Every statement is a sqlglot tree rendered for the warehouse's dialect.
"""

from __future__ import annotations

import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TypeVar

import pyarrow as pa
from sqlglot import exp

from adapters.base import Conflict, Warehouse, WarehouseError
from adapters.names import statement, table_named
from engine import __version__, signals
from engine.compiler.functions import date_literal

LEDGER = "oversight_ledger"
RUNS = "oversight_runs"
PRECHECKS = "oversight_prechecks"

T = TypeVar("T")

LEDGER_SCHEMA = pa.schema(
    [
        pa.field("model_id", pa.string(), nullable=False),
        pa.field("warning_key", pa.string(), nullable=False),
        pa.field("township", pa.string()),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("domain", pa.string(), nullable=False),
        pa.field("model_title", pa.string(), nullable=False),
        pa.field("message", pa.string(), nullable=False),
        pa.field("issued_on", pa.date32(), nullable=False),
        pa.field("last_seen_on", pa.date32(), nullable=False),
        pa.field("model_revision", pa.string(), nullable=False),
        pa.field("pack_version", pa.string(), nullable=False),
        pa.field("evidence", pa.string(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
    ]
)
"""One row per (model_id, warning_key), as first issued; `last_seen_on` moves on."""

RUNS_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("as_of", pa.date32(), nullable=False),
        pa.field("started_at", pa.timestamp("us"), nullable=False),
        pa.field("finished_at", pa.timestamp("us"), nullable=False),
        pa.field("pack_version", pa.string(), nullable=False),
        pa.field("engine_version", pa.string(), nullable=False),
        pa.field("models_run", pa.int64(), nullable=False),
        pa.field("models_failed", pa.int64(), nullable=False),
        pa.field("models_skipped", pa.int64(), nullable=False),
        pa.field("warnings", pa.int64(), nullable=False),
        pa.field("new_warnings", pa.int64(), nullable=False),
        pa.field("manifest", pa.string()),  # the run's manifest as JSON (engine/runs/manifest.py)
    ]
)

PRECHECKS_SCHEMA = pa.schema(
    [
        pa.field("precheck_id", pa.string(), nullable=False),
        pa.field("checked_at", pa.timestamp("us"), nullable=False),
        pa.field("caller", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("as_of", pa.date32(), nullable=False),
        pa.field("records", pa.int64(), nullable=False),
        pa.field("digest", pa.string(), nullable=False),
        pa.field("models", pa.string(), nullable=False),  # the models evaluated, comma-separated
        pa.field("warnings", pa.int64(), nullable=False),
        pa.field("answer", pa.string(), nullable=False),  # JSON: [{model_id, warning_key, change}]
        pa.field("pack_version", pa.string(), nullable=False),
        pa.field("engine_version", pa.string(), nullable=False),
    ]
)
"""One row per pre-check (engine/service/precheck.py): who asked about what, what they were told.

The records themselves are not kept (they may hold personal data the matter's own
system keeps), only their digest: the same records give the same digest."""

_SQL_TYPES = {
    pa.string(): exp.DataType.Type.TEXT,
    pa.date32(): exp.DataType.Type.DATE,
    pa.timestamp("us"): exp.DataType.Type.TIMESTAMP,
    pa.int64(): exp.DataType.Type.BIGINT,
}


@dataclass(frozen=True)
class Tables:
    """Where the engine's own tables live: a schema the deployment names, or the default."""

    schema: str | None = None

    def name(self, table: str) -> str:
        return f"{self.schema}.{table}" if self.schema else table

    def table(self, table: str) -> exp.Table:
        return table_named(self.name(table))


@dataclass(frozen=True)
class Recorded:
    """What one run did to the ledger."""

    run_id: str
    raised: int
    new: int


def new_run_id() -> str:
    """A fresh run id: random, so two runs started at once never share one."""
    return uuid.uuid4().hex[:16]


ENGINE_TABLES: dict[str, tuple[pa.Schema, tuple[str, ...]]] = {
    LEDGER: (LEDGER_SCHEMA, ("model_id", "warning_key")),
    RUNS: (RUNS_SCHEMA, ("run_id",)),
    PRECHECKS: (PRECHECKS_SCHEMA, ("precheck_id",)),
}
"""The engine's own tables, each with its columns and key: all it ever creates or writes."""


def create_table(tables: Tables, name: str) -> exp.Create:
    """The CREATE TABLE of one of the engine's own tables (ENGINE_TABLES), as a DBA may run it."""
    schema, key = ENGINE_TABLES[name]
    columns: list[exp.Expression] = []
    for field in schema:
        constraints = (
            [] if field.nullable else [exp.ColumnConstraint(kind=exp.NotNullColumnConstraint())]
        )
        columns.append(
            exp.ColumnDef(
                this=exp.to_identifier(field.name),
                kind=exp.DataType(this=_SQL_TYPES[field.type]),
                constraints=constraints,
            )
        )
    columns.append(exp.PrimaryKey(expressions=[exp.to_identifier(k) for k in key]))
    return exp.Create(this=exp.Schema(this=tables.table(name), expressions=columns), kind="TABLE")


def create_schema(tables: Tables) -> exp.Create | None:
    """The CREATE SCHEMA of the engine's own schema, when the deployment names one."""
    if not tables.schema:
        return None
    return exp.Create(this=table_named(tables.schema), kind="SCHEMA")


def ensure_tables(
    warehouse: Warehouse, tables: Tables, names: tuple[str, ...] = (LEDGER, RUNS)
) -> None:
    """Create those of the engine's tables `names` that are missing, and their schema if it is.

    The catalog is asked first, and nothing that exists is created again (not even
    with IF NOT EXISTS): a role that a DBA gave only what the engine needs, with the
    tables made ahead of time, holds no CREATE privilege at all. Two runs creating
    the same table at once: the second is told it exists (Conflict), and is retried.
    """
    missing = [name for name in names if not warehouse.has_table(tables.name(name))]
    if not missing:
        return
    schema = create_schema(tables)
    if schema is not None and not warehouse.has_schema(str(tables.schema)):
        warehouse.execute(statement(schema, warehouse.dialect))
    for name in missing:
        warehouse.execute(statement(create_table(tables, name), warehouse.dialect))


def record_precheck(
    warehouse: Warehouse, row: dict[str, object], tables: Tables = Tables()
) -> None:
    """Add one pre-check's audit row (PRECHECKS_SCHEMA), creating the table the first time.

    Pre-checks come many at once: an append that meets another's lock is tried again.
    """
    audit = pa.Table.from_pylist([row], schema=PRECHECKS_SCHEMA)
    name = tables.name(PRECHECKS)
    try:
        seen = _AUDITED.setdefault(warehouse, set())
    except TypeError:  # a connection that cannot be referred to weakly: the catalog each time
        seen = set()

    def append_audit() -> None:
        # The catalog is asked once per connection (a query as long as the append): a
        # table dropped since makes the append fail, and it is asked again. Once the table
        # is known, the append is one statement, all or nothing by itself: no transaction
        # around it (its BEGIN and COMMIT cost a pre-check as much as the append).
        if name in seen:
            warehouse.append(name, audit)
            return
        with warehouse.transaction():
            ensure_tables(warehouse, tables, (PRECHECKS,))
            warehouse.append(name, audit)
        seen.add(name)

    try:
        _retry_on_conflict(append_audit, pause=0.05)
    except Conflict:
        raise
    except WarehouseError:
        if name not in seen:
            raise
        seen.discard(name)
        _retry_on_conflict(append_audit, pause=0.05)


_AUDITED: weakref.WeakKeyDictionary[Warehouse, set[str]] = weakref.WeakKeyDictionary()
"""Per connection, the audit tables it has appended to: they exist (`record_precheck`)."""


def _retry_on_conflict(attempt: Callable[[], T], pause: float) -> T:
    """`attempt()`, tried again while it meets another writer's Conflict.

    At most CONFLICT_RETRIES tries, waiting `pause` seconds longer before each
    new one; the last try's Conflict is raised.
    """
    for tried in range(CONFLICT_RETRIES):
        try:
            return attempt()
        except Conflict:
            if tried == CONFLICT_RETRIES - 1:
                raise
            time.sleep(pause * (tried + 1))
    raise AssertionError("unreachable")


def record(
    warehouse: Warehouse,
    warnings: pa.Table,
    as_of: date,
    run: dict[str, object],
    tables: Tables = Tables(),
) -> Recorded:
    """Record one run's warnings and the run itself, all or nothing.

    `warnings` has the columns of engine.schema.WARNINGS_SCHEMA; `run` the
    counts of RUNS_SCHEMA that only the caller knows (models run, failed,
    skipped, started_at).
    """
    run_id = str(run.get("run_id") or new_run_id())
    if not getattr(warehouse, "supports_dml", True):
        return _record_by_merge(warehouse, warnings, as_of, run, run_id, tables)
    # Two runs recording at once (two schedulers, a retry overlapping a slow run): the
    # second one's insert meets the first one's rows and fails on the key, or finds the
    # database locked (the adapter says Conflict for both); recorded again, it sees those
    # rows and adds nothing twice.
    return _retry_on_conflict(
        lambda: _record(warehouse, warnings, as_of, run, run_id, tables), pause=0.2
    )


CONFLICT_RETRIES = 5

_UPDATE_CHUNK = 500
"""Keys per UPDATE of last_seen_on: a statement stays small on every warehouse."""


@dataclass(frozen=True)
class _Merge:
    """What one run changes in the ledger: rows to add, and warnings seen again."""

    new: list[dict[str, object]]
    seen_again: dict[str, list[str]]  # model_id -> warning keys whose last_seen_on moves on


def _merge(known: dict[tuple[str, str], date], staged: pa.Table, as_of: date) -> _Merge:
    """Split a run's warnings by what the ledger `known` ((model, key) -> last_seen_on) holds."""
    new: list[dict[str, object]] = []
    seen_again: dict[str, list[str]] = {}
    for row in staged.to_pylist():
        key = (str(row["model_id"]), str(row["warning_key"]))
        if key not in known:
            new.append(row)
        elif known[key] < as_of:
            seen_again.setdefault(key[0], []).append(key[1])
    return _Merge(new, seen_again)


def _known(warehouse: Warehouse, tables: Tables, models: list[str]) -> dict[tuple[str, str], date]:
    """(model, key) -> last_seen_on of the ledger's warnings of `models`."""
    if not models:
        return {}
    query = (
        exp.select(exp.column("model_id"), exp.column("warning_key"), exp.column("last_seen_on"))
        .from_(tables.table(LEDGER))
        .where(exp.column("model_id").isin(*models))
    )
    rows = warehouse.query(statement(query, warehouse.dialect))
    if rows.num_rows == 0:  # (SQLite's driver types an empty result's columns as integers)
        return {}
    rows = rows.cast(pa.schema([LEDGER_SCHEMA.field(n) for n in rows.column_names]))
    return {
        (str(r["model_id"]), str(r["warning_key"])): r["last_seen_on"] for r in rows.to_pylist()
    }


def _record(
    warehouse: Warehouse,
    warnings: pa.Table,
    as_of: date,
    run: dict[str, object],
    run_id: str,
    tables: Tables,
) -> Recorded:
    """One attempt at recording, in one transaction.

    The run's warnings are compared with the ledger here rather than in a staging
    table, so that recording needs SELECT, INSERT and UPDATE on the engine's own
    tables and no CREATE: what a least-privilege role is given (oversight grants).
    """
    ensure_tables(warehouse, tables)
    dialect = warehouse.dialect
    staged = _staged(warnings, as_of, run_id)
    models = sorted(set(staged.column("model_id").to_pylist()))
    with warehouse.transaction():
        merge = _merge(_known(warehouse, tables, models), staged, as_of)
        if merge.new:
            rows = pa.Table.from_pylist(merge.new, schema=LEDGER_SCHEMA)
            warehouse.append(tables.name(LEDGER), rows)
        for model_id, keys in merge.seen_again.items():
            for at in range(0, len(keys), _UPDATE_CHUNK):
                chunk = keys[at : at + _UPDATE_CHUNK]
                move = _move_last_seen(tables, model_id, chunk, as_of, dialect)
                warehouse.execute(statement(move, dialect))
        warehouse.append(tables.name(RUNS), _run_row(run, run_id, as_of, warnings, len(merge.new)))
        signals.point("ledger.staged")
    signals.point("ledger.committed")
    return Recorded(run_id, warnings.num_rows, len(merge.new))


def _move_last_seen(
    tables: Tables, model_id: str, keys: list[str], as_of: date, dialect: str
) -> exp.Update:
    """UPDATE the last_seen_on of one model's warnings `keys` to `as_of`, never backwards."""
    today = _date(as_of, dialect)
    return exp.Update(
        this=tables.table(LEDGER),
        expressions=[exp.EQ(this=exp.column("last_seen_on"), expression=today)],
        where=exp.Where(
            this=exp.and_(
                exp.EQ(this=exp.column("model_id"), expression=exp.Literal.string(model_id)),
                exp.column("warning_key").isin(*keys),
                exp.LT(this=exp.column("last_seen_on"), expression=today.copy()),
            )
        ),
    )


def _record_by_merge(
    warehouse: Warehouse,
    warnings: pa.Table,
    as_of: date,
    run: dict[str, object],
    run_id: str,
    tables: Tables,
) -> Recorded:
    """The same record for a warehouse without UPDATE (Spark on Parquet): merge in Python.

    The ledger is small (a county's warnings, thousands a year): the merged
    ledger and the runs table with this run's row are written whole, and
    replace the old ones together in one step (`replace_tables`: the cluster
    writes new directories, one rename commits both), so a run that fails —
    an executor lost while writing, the process killed — leaves both as they were.
    """
    if warehouse.has_table(tables.name(LEDGER)):
        current = read(warehouse, tables).to_pylist()
    else:
        current = []
    known = {(r["model_id"], r["warning_key"]): r["last_seen_on"] for r in current}
    merge = _merge(known, _staged(warnings, as_of, run_id), as_of)
    for entry in current:
        if entry["warning_key"] in merge.seen_again.get(entry["model_id"], ()):
            entry["last_seen_on"] = as_of
    merged = sorted([*current, *merge.new], key=lambda r: (r["model_id"], r["warning_key"]))
    row = _run_row(run, run_id, as_of, warnings, len(merge.new))
    runs = pa.concat_tables([_read_runs(warehouse, tables), row])
    signals.point("ledger.writing")  # the cluster's write jobs start here
    replace = warehouse.replace_tables  # type: ignore[attr-defined]
    replace(
        {
            tables.name(LEDGER): pa.Table.from_pylist(merged, schema=LEDGER_SCHEMA),
            tables.name(RUNS): runs,
        },
        before_commit=lambda: signals.point("ledger.staged"),
    )
    signals.point("ledger.committed")
    return Recorded(run_id, warnings.num_rows, len(merge.new))


def _read_runs(warehouse: Warehouse, tables: Tables) -> pa.Table:
    """The whole runs table (empty when there is none), in RUNS_SCHEMA."""
    if not warehouse.has_table(tables.name(RUNS)):
        return RUNS_SCHEMA.empty_table()
    query = exp.select(*(exp.column(f.name) for f in RUNS_SCHEMA)).from_(tables.table(RUNS))
    return warehouse.query(statement(query, warehouse.dialect)).cast(RUNS_SCHEMA)


def _date(day: date, dialect: str) -> exp.Expression:
    return date_literal(day.isoformat(), dialect)


def _staged(warnings: pa.Table, as_of: date, run_id: str) -> pa.Table:
    rows = warnings.num_rows
    columns = {
        name: warnings.column(name)
        for name in (
            "model_id",
            "warning_key",
            "township",
            "severity",
            "domain",
            "model_title",
            "message",
            "model_revision",
            "pack_version",
            "evidence",
        )
    }
    columns["issued_on"] = pa.array([as_of] * rows, pa.date32())
    columns["last_seen_on"] = pa.array([as_of] * rows, pa.date32())
    columns["run_id"] = pa.array([run_id] * rows, pa.string())
    return pa.table({f.name: columns[f.name] for f in LEDGER_SCHEMA}, schema=LEDGER_SCHEMA)


def _run_row(
    run: dict[str, object], run_id: str, as_of: date, warnings: pa.Table, new: int
) -> pa.Table:
    now = datetime.now(UTC).replace(tzinfo=None)
    row = {
        "run_id": run_id,
        "as_of": as_of,
        "started_at": run.get("started_at") or now,
        "finished_at": now,
        "pack_version": run.get("pack_version", ""),
        "engine_version": __version__,
        "models_run": run.get("models_run", 0),
        "models_failed": run.get("models_failed", 0),
        "models_skipped": run.get("models_skipped", 0),
        "warnings": warnings.num_rows,
        "new_warnings": new,
        "manifest": run.get("manifest"),
    }
    return pa.Table.from_pylist([row], schema=RUNS_SCHEMA)


def read(warehouse: Warehouse, tables: Tables = Tables()) -> pa.Table:
    """The whole ledger, ordered by model and key; empty when the engine has not run here."""
    if not warehouse.has_table(tables.name(LEDGER)):
        return LEDGER_SCHEMA.empty_table()
    query = (
        exp.select(*(exp.column(f.name) for f in LEDGER_SCHEMA))
        .from_(tables.table(LEDGER))
        .order_by(exp.column("model_id"), exp.column("warning_key"))
    )
    return warehouse.query(statement(query, warehouse.dialect)).cast(LEDGER_SCHEMA)
