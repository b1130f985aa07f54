"""What the connected role may do, asked of the warehouse's catalog or the file system, never tried.

A county's DBA gives the engine's role only what it needs (`oversight grants` prints
that). When a command is refused, or before one is run (`oversight grants --check`),
`missing` says which of the privileges it needs the role does not hold: PostgreSQL
answers from pg_catalog, a DuckDB or SQLite warehouse is a file whose reading and
writing the operating system decides. Trying a statement to see whether it is refused
would leave traces (an aborted transaction, a row written); asking does not.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from adapters.base import Warehouse
from adapters.names import statement, table_named
from adapters.registry import scheme

TABLE_ACTIONS = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
SCHEMA_ACTIONS = ("USAGE", "CREATE")
DATABASE_ACTIONS = ("CONNECT", "TEMPORARY", "CREATE")
FILE_ACTIONS = ("READ", "WRITE")


@dataclass(frozen=True)
class Privilege:
    """One privilege on one object, as a DBA grants it: SELECT ON TABLE public.dr_project.

    `action` is the SQL name (SELECT INSERT UPDATE USAGE CREATE CONNECT TEMPORARY), or
    READ and WRITE for the files of an embedded warehouse; `kind` is table, schema,
    database, file or folder; `name` the object as the deployment or the URL names it
    (a table may be `schema.table`; an unqualified one is in the role's current schema).
    """

    action: str
    kind: str
    name: str

    def text(self) -> str:
        """The privilege as a DBA reads it: `SELECT ON TABLE public.dr_project`."""
        return f"{self.action} ON {self.kind.upper()} {self.name}"

    def to_json(self) -> dict[str, str]:
        return {"action": self.action, "kind": self.kind, "name": self.name, "text": self.text()}


def missing(warehouse: Warehouse, wanted: Iterable[Privilege]) -> list[Privilege] | None:
    """The privileges of `wanted` the connected role does not hold, in the order given.

    None when this warehouse cannot tell (Spark, a warehouse behind a generic ADBC
    driver). An object that does not exist (a table not delivered yet, a schema not
    made) is left out: that is not a privilege a DBA can grant, and `oversight sources`
    reports a missing source table. Raises WarehouseError when the catalog cannot be
    read.
    """
    wanted = list(wanted)
    kind = scheme(warehouse.url)
    if kind in ("postgresql", "postgres"):
        return _postgres_missing(warehouse, wanted)
    if kind in ("duckdb", "sqlite"):
        return files_missing(database_file(warehouse), wanted)
    return None


def database_file(warehouse: Warehouse) -> str:
    """The file of a DuckDB or SQLite warehouse (":memory:" for one in memory)."""
    path = getattr(warehouse, "path", None)
    if isinstance(path, str):
        return path
    from adapters.duckdb import database_path  # an embedded adapter, imported when asked

    return database_path(warehouse.url)


# ---- PostgreSQL: pg_catalog, by OID ----------------------------------------------------------
#
# has_table_privilege(oid, …) answers for a table in a schema the role has no USAGE on, where
# the same call with the table's name would raise (the name cannot be looked up without USAGE;
# https://www.postgresql.org/docs/current/functions-info.html#FUNCTIONS-INFO-ACCESS). A row is
# found only for an object that exists: a missing table gives no row and is left out.


def _folded(name: str) -> str:
    """A name as PostgreSQL stores an unquoted one (lower case), as the engine's queries read it."""
    identifier = Dialect.get_or_raise("postgres").normalize_identifier(exp.to_identifier(name))
    return identifier.name


def _held(index: int, function: str, oid: exp.Expression, action: str) -> list[exp.Expression]:
    asked = exp.Anonymous(this=function, expressions=[oid, exp.Literal.string(action)])
    return [exp.alias_(exp.Literal.number(index), "i"), exp.alias_(asked, "held")]


def _schema_is(column: exp.Expression, schema: str | None) -> exp.Expression:
    """`column` names `schema`, or the role's current schema when the name has none."""
    expected = (
        exp.Literal.string(_folded(schema)) if schema else exp.Anonymous(this="current_schema")
    )
    return exp.EQ(this=column, expression=expected)


def _postgres_question(index: int, privilege: Privilege) -> exp.Select | None:
    """One row (i, held) when the object exists; None for a privilege PostgreSQL has no name for."""
    action = privilege.action.upper()
    if privilege.kind == "table" and action in TABLE_ACTIONS:
        table = table_named(privilege.name)
        return (
            exp.select(*_held(index, "has_table_privilege", exp.column("oid", table="c"), action))
            .from_(exp.alias_(exp.table_("pg_class", db="pg_catalog"), "c", table=True))
            .join(
                exp.alias_(exp.table_("pg_namespace", db="pg_catalog"), "n", table=True),
                on=exp.EQ(
                    this=exp.column("oid", table="n"),
                    expression=exp.column("relnamespace", table="c"),
                ),
            )
            .where(
                exp.EQ(
                    this=exp.column("relname", table="c"),
                    expression=exp.Literal.string(_folded(table.name)),
                )
            )
            .where(exp.column("relkind", table="c").isin("r", "v", "m", "p", "f"))
            .where(_schema_is(exp.column("nspname", table="n"), table.db or None))
        )
    if privilege.kind == "schema" and action in SCHEMA_ACTIONS:
        return (
            exp.select(*_held(index, "has_schema_privilege", exp.column("oid", table="n"), action))
            .from_(exp.alias_(exp.table_("pg_namespace", db="pg_catalog"), "n", table=True))
            .where(_schema_is(exp.column("nspname", table="n"), privilege.name))
        )
    if privilege.kind == "database" and action in DATABASE_ACTIONS:
        return (
            exp.select(
                *_held(index, "has_database_privilege", exp.column("oid", table="d"), action)
            )
            .from_(exp.alias_(exp.table_("pg_database", db="pg_catalog"), "d", table=True))
            .where(
                exp.EQ(
                    this=exp.column("datname", table="d"),
                    expression=exp.Literal.string(privilege.name),
                )
            )
        )
    return None


def _postgres_missing(warehouse: Warehouse, wanted: list[Privilege]) -> list[Privilege]:
    questions = [q for i, p in enumerate(wanted) if (q := _postgres_question(i, p)) is not None]
    if not questions:
        return []
    asked: exp.Expression = questions[0]
    for question in questions[1:]:
        asked = exp.union(asked, question, distinct=False)
    rows = warehouse.query(statement(asked, warehouse.dialect)).to_pylist()
    refused = {int(row["i"]) for row in rows if not row["held"]}
    return [p for i, p in enumerate(wanted) if i in refused]


# ---- DuckDB and SQLite: one file, and the folder its journal is written in ---------------------


def files_missing(path: str, wanted: Iterable[Privilege]) -> list[Privilege]:
    """The privileges of `wanted` that the operating system refuses this process on `path`.

    READ and WRITE on a file or folder are asked of it (os.access). The SQL privileges
    have no object of their own in one file: reading anything (SELECT, USAGE, CONNECT)
    is reading the file, changing anything (INSERT, UPDATE, CREATE, …) is writing it.
    A database in memory refuses nothing; a file or folder that is not there is left out.
    """
    if path == ":memory:":
        return []
    refused = []
    for privilege in wanted:
        target, mode = _file_question(path, privilege)
        if os.path.exists(target) and not os.access(target, mode):
            refused.append(privilege)
    return refused


def _file_question(path: str, privilege: Privilege) -> tuple[str, int]:
    """The path to ask about and the os.access mode that holding `privilege` means."""
    writes = privilege.action.upper() not in ("READ", "SELECT", "USAGE", "CONNECT")
    if privilege.kind == "folder":
        # A folder is written by making a file in it (a journal, a write-ahead log): that
        # takes search permission too.
        return privilege.name, (os.W_OK if writes else os.R_OK) | os.X_OK
    target = privilege.name if privilege.kind == "file" else path
    return target, os.W_OK if writes else os.R_OK


def journal_folder(path: str) -> str:
    """The folder beside a database file where DuckDB's .wal and SQLite's journal are made."""
    return str(Path(path).resolve().parent)
