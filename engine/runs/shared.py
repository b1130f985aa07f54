"""Plan the run, not each model: a relation several of its models read is computed once.

A model compiled alone holds each relation it reads as a WITH of its own query
(engine/compiler/expressions.py), so a run of the pack would compute
`official_circle` once per model that reads it. A run of several models instead
makes each relation that two or more of them read one temporary table of its
connection before the models run (`shared_tables`), as of the run's day, and
compiles those models to read that table (`Target.shared`) instead of the WITH;
the reviewed files of compiled/ and a model compiled alone (compile, explain,
examples, pre-checks) stay as they are. The tables are dropped when the run ends,
whether it ends well or not; a connection that is lost takes them with it.

How a warehouse keeps a run's rows is `HOW_SHARED`, one table. A warehouse that
refuses the step (a PostgreSQL role without TEMPORARY) or fails it leaves its
models reading the relation inline, as before: the step says so, and the run's
manifest records every step with its rows and seconds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from typing import Any

from sqlglot import exp

from adapters.base import (
    PermissionDenied,
    QueryTimeout,
    TimeLimit,
    Warehouse,
    WarehouseError,
    WarehouseLost,
)
from adapters.names import statement, table_named
from dsl import ir
from engine import signals
from engine.compiler.expressions import relation_rows
from engine.compiler.target import Target
from engine.runs.reads import relations_read

HOW_SHARED: dict[str, str | None] = {
    # A temporary table of the connection: only it sees the table, which lives in memory
    # (DuckDB, also on a read-only connection), in the connection's temporary database
    # (SQLite), or in the session's pg_temp schema (PostgreSQL: the database's TEMPORARY
    # privilege, which `oversight grants` gives the run; without it the models read the
    # relation inline). https://duckdb.org/docs/stable/sql/statements/create_table,
    # https://www.postgresql.org/docs/current/sql-createtable.html
    "duckdb": "temporary table",
    "sqlite": "temporary table",
    "postgres": "temporary table",
    # Not shared: a temporary view is the inlined query again, and caching one costs jobs
    # of its own besides each model's fixed cost per query. Measured on local[2] at 1x, the
    # seven readers but FUN04: inline 9.1 s, CACHE TABLE 9.2 s, temporary view 11.0 s.
    "spark": None,
}
"""Per warehouse, how a run keeps a shared relation's rows; None: each model inlines it.

A warehouse not named here (the compile-only dialects, a generic ADBC driver) inlines.
"""


@dataclass(frozen=True)
class SharedStep:
    """One relation a run computes once: which table holds it, for which models, how it went.

    `status`: planned (not yet made), made, refused (the warehouse denied the privilege)
    or failed (any other error); a step not made leaves its models reading it inline.
    """

    relation: str
    table: str
    models: tuple[str, ...]
    status: str = "planned"
    rows: int | None = None
    seconds: float = 0.0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "relation": self.relation,
            "table": self.table,
            "models": list(self.models),
            "status": self.status,
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "error": self.error,
        }


def shared_table(relation: str) -> str:
    """The temporary table holding a run's rows of `relation`: apart from any source's name."""
    return f"oversight_run__{relation}"


def plan_shared(pack: ir.CheckedPack, models: Sequence[ir.Model], dialect: str) -> list[SharedStep]:
    """The relations two or more of `models` read, each a step, in the pack's order.

    The pack holds its relations in dependency order (dsl/check/shared.py), so a
    relation reading another comes after it and can read its table. None on a
    warehouse that `HOW_SHARED` does not share on.
    """
    if HOW_SHARED.get(dialect) is None:
        return []
    readers: dict[str, list[str]] = {}
    for model in models:
        for relation in relations_read(pack, model):
            readers.setdefault(relation, []).append(model.id)
    return [
        SharedStep(name, shared_table(name), tuple(sorted(readers[name])))
        for name in pack.relations
        if len(readers.get(name, ())) >= 2
    ]


@contextmanager
def shared_tables(
    warehouse: Warehouse,
    pack: ir.CheckedPack,
    target: Target,
    steps: list[SharedStep],
    timeout: float | None = None,
) -> Iterator[Target]:
    """Make each step's table, yield `target` reading them, and drop them when the block ends.

    `steps` is updated in place with how each went. A step the warehouse refuses or
    fails, or that runs past `timeout` seconds (the run's limit for one query), is left
    out of the target, so its models read the relation inline, each within that limit
    again; a lost warehouse stops the run (WarehouseLost), as it would at the first model.
    """
    made: dict[str, str] = {}
    tried: list[str] = []  # dropped at the end, made or not: a step may stop halfway
    try:
        for i, step in enumerate(steps):
            tried.append(step.table)
            steps[i] = _make(warehouse, pack, replace(target, shared=dict(made)), step, timeout)
            if steps[i].status == "made":
                made[step.relation] = step.table
            signals.point("run.shared")
        yield replace(target, shared=made)
    finally:
        for table in reversed(tried):
            drop = exp.Drop(tables=[table_named(table)], kind="TABLE", exists=True)
            # A connection that was lost or interrupted took its temporary tables with it.
            with suppress(WarehouseError):
                warehouse.execute(statement(drop, warehouse.dialect))


def create_statement(pack: ir.CheckedPack, step: SharedStep, target: Target) -> exp.Create:
    """CREATE TEMPORARY TABLE of `step` as the relation's rows for `target` (its as-of day).

    `target.shared` names the tables of the steps before it, which it reads.
    """
    return exp.Create(
        this=table_named(step.table),
        kind="TABLE",
        properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
        expression=relation_rows(pack, step.relation, target),
    )


def _make(
    warehouse: Warehouse,
    pack: ir.CheckedPack,
    target: Target,
    step: SharedStep,
    timeout: float | None = None,
) -> SharedStep:
    """Create one step's temporary table and count its rows (the caller drops it).

    The CREATE runs the relation's whole query, so it has the run's time limit for
    one query, as each model's query has.
    """
    started = time.perf_counter()
    create = create_statement(pack, step, target)
    count = exp.select(exp.Count(this=exp.Star())).from_(table_named(step.table))
    limit = TimeLimit(timeout, warehouse.interrupt)
    try:
        with limit:
            warehouse.execute(statement(create, warehouse.dialect))
        rows = int(warehouse.query(statement(count, warehouse.dialect)).column(0)[0].as_py())
    except WarehouseLost:
        raise
    except WarehouseError as exc:
        signals.raise_if_received()  # a driver that turned a signal into its own error
        # The adapter saw a cancel; when the time limit expired, it was the limit's.
        why = QueryTimeout.after(timeout) if limit.expired.is_set() else exc
        status = "refused" if isinstance(why, PermissionDenied) else "failed"
        return replace(step, status=status, seconds=time.perf_counter() - started, error=str(why))
    return replace(step, status="made", rows=rows, seconds=time.perf_counter() - started)
