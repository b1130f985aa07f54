"""Where and for when a model is compiled (Target), and how a query reads a pre-check's rows.

A pre-check (engine/service/precheck.py) evaluates models on records not yet stored:
the compiled query reads their source as `Pending.read` says, a WITH made
here from the stored rows and the pending ones (engine/compiler/expressions.py names
it where a query reads the source). engine/service/precheck.py also copies the
stored rows a pre-check can change into a small table first
(`stored_rows_with`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlglot import exp

from adapters.names import table_named
from dsl import ir
from dsl.pack import Source
from engine.compiler import functions as fn


@dataclass(frozen=True)
class Target:
    """Where and for when a model is compiled.

    `as_of` None leaves a placeholder (`:as_of`), as in the reviewed files of
    compiled/. `parameters` overrides the pack's defaults; `tables` maps
    logical source names to physical ones (`schema.table` allowed).
    `bind_parameters` leaves a placeholder for each scalar parameter too, as in
    the reviewed files (engine/compiler/placeholders.py): its value is bound when
    the query runs, and `parameters` only decide the values still written in
    (a list, a map, a quantile's p).
    """

    dialect: str = "duckdb"
    as_of: date | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    tables: Mapping[str, str] = field(default_factory=dict)
    # A pre-check's rows (engine/service/precheck.py): the source they belong to is read as
    # `Pending.read` says, never from a table they were written to.
    pending: Pending | None = None
    # Relation name → the table holding its rows, computed once by the run of several models
    # that read it (engine/runs/shared.py): the query reads that table instead of a WITH.
    shared: Mapping[str, str] = field(default_factory=dict)
    bind_parameters: bool = False


@dataclass(frozen=True)
class Pending:
    """Rows a pre-check adds to one source, each a value for every column of the catalog.

    `read` says what a query reads for that source: "then" — the stored rows, less
    those a pending row amends (the same key), and the pending rows; "now" — the
    stored rows. `within` (columns of the source) narrows both to the rows whose
    values in those columns equal a pending row's or an amended stored row's: a
    model whose warnings are each made from the rows of one such value (its key)
    is evaluated on the few rows a pre-check can change (engine/service/precheck.py).
    "records" reads the pending rows alone (`within`, `stored` and `amends` aside):
    what "then" narrowed reads when no stored row has the pending rows' values of
    `within` (a new matter, narrowed to its own key).
    """

    source: str
    # None: the warehouse connection provides the rows itself, as a relation named
    # records_name(source) (DuckDB reads a registered Arrow table), so that the query's
    # text is the same for every pre-check and can be compiled once.
    rows: tuple[Mapping[str, Any], ...] | None
    read: str = "then"
    within: tuple[str, ...] = ()
    # A table holding at least the stored rows that `within` lets through (made once per
    # pre-check from stored_rows_with); None: the source's own table.
    stored: str | None = None
    # False: no pending row has the key of a stored row, so none is left out for it.
    amends: bool = True


def pending_queries(
    pack: ir.CheckedPack, target: Target, pending: Pending
) -> tuple[exp.Expression | None, exp.Expression]:
    """The pending rows as a VALUES query, and what is read for their source (`read`).

    Every value but SQLite's is cast to its column's type, so that a column of the
    VALUES that is all null has a type, and the union with the stored rows agrees.
    """
    dialect = target.dialect
    source = pending.source
    catalog = pack.pack.sources[source]
    stored = table_named(pending.stored or target.tables.get(source, source))
    read = _pending_read(catalog, pending, stored)
    if pending.rows is None:  # the connection provides them
        return None, read
    columns = list(catalog.columns.values())
    cast = dialect != "sqlite"  # SQLite's CAST(… AS DATE) would make a date a number
    rows = [
        exp.Tuple(
            expressions=[
                exp.cast(fn.literal(row[c.name], c.type, dialect), fn.SQL_TYPES[c.type])
                if cast
                else fn.literal(row[c.name], c.type, dialect)
                for c in columns
            ]
        )
        for row in pending.rows
    ]
    if dialect == "sqlite":  # SQLite names a VALUES' columns column1, column2 …
        records = exp.select(
            *(exp.alias_(f"column{i}", c.name) for i, c in enumerate(columns, 1))
        ).from_(exp.Subquery(this=exp.Values(expressions=rows)))
    else:
        aliased = exp.Values(
            expressions=rows,
            alias=exp.TableAlias(
                this=exp.to_identifier("v"),
                columns=[exp.to_identifier(c.name) for c in columns],
            ),
        )
        records = exp.select(*(c.name for c in columns)).from_(aliased)
    return records, read


def _has_a_record(source: Source, alias: str) -> exp.Exists:
    """Whether the stored row `alias` is amended: a pending row has its key."""
    same_key = exp.and_(
        *(exp.column(k, table="r").eq(exp.column(k, table=alias)) for k in source.key)
    )
    return exp.Exists(
        this=exp.select("1")
        .from_(exp.alias_(table_named(records_name(source.name)), "r", table=True))
        .where(same_key)
    )


def _touched(source: Source, within: tuple[str, ...], stored: exp.Table) -> exp.Expression:
    """The values of `within` a pre-check touches: its rows', and the stored rows' it amends.

    An amendment may move a row from one value to another: both change.
    """
    return exp.union(
        exp.select(*within).from_(table_named(records_name(source.name))),
        exp.select(*(exp.column(c, table="s") for c in within))
        .from_(exp.alias_(stored.copy(), "s", table=True))
        .where(_has_a_record(source, "s")),
        distinct=True,
    )


def _within_touched(
    source: Source, within: tuple[str, ...], stored: exp.Table, alias: str
) -> exp.Exists:
    """Whether row `alias`'s values of `within` are touched by the pre-check (null as a value)."""
    same = exp.and_(
        *(
            exp.NullSafeEQ(this=exp.column(c, table="t"), expression=exp.column(c, table=alias))
            for c in within
        )
    )
    touched = exp.alias_(exp.Subquery(this=_touched(source, within, stored)), "t", table=True)
    return exp.Exists(this=exp.select("1").from_(touched).where(same))


def _pending_read(source: Source, pending: Pending, stored: exp.Table) -> exp.Expression:
    """What a query reads for the pre-check's source, as `pending.read` and `.within` say."""
    columns = list(source.columns)
    if pending.read == "records":
        return exp.select(*columns).from_(table_named(records_name(source.name)))
    stored_rows = exp.select(*(exp.column(c, table="s") for c in columns)).from_(
        exp.alias_(stored.copy(), "s", table=True)
    )
    if pending.read == "now":
        read: exp.Expression = stored_rows
    else:
        added = exp.select(*columns).from_(table_named(records_name(source.name)))
        kept = stored_rows.where(exp.not_(_has_a_record(source, "s")))
        read = exp.union(kept if pending.amends else stored_rows, added, distinct=False)
    if not pending.within:
        return read
    return (
        exp.select(*(exp.column(c, table="p") for c in columns))
        .from_(exp.alias_(exp.Subquery(this=read), "p", table=True))
        .where(_within_touched(source, pending.within, stored, "p"))
    )


def _equal_to_one_of(
    source: Source, column: str, values: Iterable[Any], dialect: str
) -> exp.Expression:
    """Whether row `s`'s `column` is one of `values`, literals a warehouse checks as it scans.

    A null among the values matches a null.
    """
    values = set(values)
    present = sorted(v for v in values if v is not None)
    kind = source.columns[column].type
    conditions: list[exp.Expression] = []
    if present:
        conditions.append(
            exp.column(column, table="s").isin(*(fn.literal(v, kind, dialect) for v in present))
        )
    if None in values:
        conditions.append(exp.column(column, table="s").is_(exp.null()))
    return exp.or_(*conditions) if conditions else exp.false()


def stored_rows_with(
    pack: ir.CheckedPack,
    source: str,
    values: Mapping[str, Iterable[Any]],
    dialect: str,
    tables: Mapping[str, str],
    columns: Sequence[str] | None = None,
) -> exp.Query:
    """The stored rows of `source` that have in some column one of the values given for it.

    All columns of them, or `columns`. A pre-check reads the rows its records
    amend so (by key), and copies the rows that can matter to a narrowed model
    into a small table before the models run (DuckDB: a temporary one,
    `Pending.stored`): a warehouse that pushes a model's filters down into the
    scan of the whole table would otherwise compute them on every row first.
    One scan per column, each filtering on literals as it reads.
    """
    catalog = pack.pack.sources[source]
    stored = table_named(tables.get(source, source))
    scans = [
        exp.select(*(exp.column(c, table="s") for c in (columns or catalog.columns)))
        .from_(exp.alias_(stored.copy(), "s", table=True))
        .where(_equal_to_one_of(catalog, column, column_values, dialect))
        for column, column_values in values.items()
    ]
    union: exp.Query = scans[0]
    for scan in scans[1:]:
        union = exp.union(union, scan, distinct=True)
    return union


def records_name(source: str) -> str:
    """The name of a pre-check's rows for `source`: a WITH, or a relation the connection has."""
    return f"{source}__records"


def touched_name(source: str) -> str:
    """The name under which a pre-check's touched stored rows are read (`Pending.stored`)."""
    return f"{source}__touched"


def pending_name(source: str) -> str:
    """The WITH name of `source` as a pre-check reads it (engine/service/precheck.py)."""
    return f"{source}__pending"
