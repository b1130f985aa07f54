"""The expression compiler: one checked expression (`dsl/ir.py`) to a sqlglot tree.

Both planners build on it: the model planner (engine/compiler/compile.py), which
makes a model's query of rows, groups and lets, and the index planner
(engine/index/score.py), which makes the 廉情指数 query. What an expression can
see is handed in with it as a `CompileScope` — the aliases of the rows in
scope, the define's arguments, the columns a derived table already holds,
the groups' values and aggregates — and a planner makes a new scope for each
level it builds (`scope.with_frame(…)`, `scope.with_rows(…)`) instead of
changing one in place. What stays with the compiler across a whole query is
what every level shares: the names already taken (`fresh_alias`), the
relations read (`with_relations`) and whether it reads a pre-check's rows.

The contract's common meaning is applied here once, for every expression:
two-valued logic (a comparison with null is false; `!=` and `not in` hold
for null), the as-of rule for every source a subquery reads, sums over no
rows being 0, true division. What functions mean is in engine/compiler/functions.py.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from sqlglot import exp

from adapters.names import table_named
from dsl import ir
from dsl.diagnostics import DiagnosticError
from dsl.messages import diagnostic
from dsl.node import walk
from dsl.types import Type
from engine.compiler import functions as fn
from engine.compiler import placeholders
from engine.compiler.decorrelate import Decorrelated, aggregate_key, decorrelation
from engine.compiler.target import Target, pending_name, pending_queries, records_name

# What first(x order by …) reads on the grouped rows: the columns of its order, each with
# whether it descends (a warehouse with ordered aggregates), or the column of a ROW_NUMBER().
FirstBy = list[tuple[str, bool]] | str | None

# The most branches an `exists` is split into (see _exists_branches); the pack's have two.
MAX_EXISTS_BRANCHES = 8


@dataclass
class JoinScope:
    """One SELECT being built, for the lookups (`lookup`) compiled into it.

    `aliases` are the tables its FROM reads: a lookup whose key reads one of them
    is joined here (`joins`), one left join per lookup and key (`made`: its alias).
    The planner that builds the SELECT joins them to it last (`join_to`).
    """

    aliases: set[str]
    joins: list[exp.Join] = field(default_factory=list)
    made: dict[tuple[str, tuple[exp.Expression, ...]], str] = field(default_factory=dict)
    # Correlated subqueries read as grouped derived tables joined here (see `_joined_scalar`),
    # by their plan's signature and outer values: siblings add columns to one.
    grouped: dict[tuple[str, bool, tuple[str, ...]], GroupedJoin] = field(default_factory=dict)
    # Whether such a join can be added: not while the SELECT's own joins are being built
    # (a condition of one of them cannot read a table joined after it).
    takes_subqueries: bool = True

    def join_to(self, select: exp.Select) -> None:
        """Join the lookups made here to `select`, after its own sources."""
        for join in self.joins:
            select.join(join, copy=False)


@dataclass
class GroupedJoin:
    """A grouped derived table joined to a SELECT in place of correlated subqueries.

    `select` is its query (grouped by the correlation), `scope` the scope inside it in
    which more aggregates are compiled, `columns` the column of each aggregate (by
    decorrelate.aggregate_key) already computed.
    """

    alias: str
    select: exp.Select
    scope: CompileScope
    join: exp.Join
    columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CompileScope:
    """What an expression compiled at one place of a query can see.

    - `frames`: the alias of each binding in scope (by its uid), one frame per
      enclosing SELECT, innermost last.
    - `args`: the values of the arguments of the define (or lookup default)
      being compiled, by name; only the innermost call's are visible.
    - `lets`: the expression of each let, written out where a let is read and
      not yet a column (`row_columns`).
    - `row_columns`, `rows_alias`: once a query's rows are a derived table
      named `rows_alias`, the column holding each of its columns
      ((binding uid, column) → name) and each let (let name → name).
    - `star_value`: what `count(*)` counts; None: every row (the index counts a
      column that is null only where its left join found no warning).
    - `group_map`, `agg_map`: in a grouped query, the column holding each group
      value and each aggregate.
    - `joins`: the SELECTs being built, innermost last, that a lookup's left
      join can join (see `JoinScope`).

    Immutable: each `with_…` returns a new scope, so a planner hands a level its
    own scope and nothing needs restoring afterwards.
    """

    frames: tuple[Mapping[int, str], ...] = ()
    args: Mapping[str, exp.Expression] = field(default_factory=dict)
    lets: Mapping[str, ir.Expr] = field(default_factory=dict)
    row_columns: Mapping[tuple[int, str] | str, str] = field(default_factory=dict)
    rows_alias: str | None = None
    star_value: exp.Expression | None = None
    group_map: Mapping[Any, exp.Expression] = field(default_factory=dict)
    agg_map: Mapping[ir.Agg, exp.Expression] = field(default_factory=dict)
    joins: tuple[JoinScope, ...] = ()

    def with_frame(self, frame: Mapping[int, str]) -> CompileScope:
        """The scope of a SELECT inside: `frame`'s bindings, innermost."""
        return dataclasses.replace(self, frames=(*self.frames, frame))

    def with_binding(self, binding: ir.Binding, alias: str) -> CompileScope:
        """One more binding of the innermost SELECT (a source or a joined row) named `alias`."""
        inner = {**self.frames[-1], binding.uid: alias}
        return dataclasses.replace(self, frames=(*self.frames[:-1], inner))

    def with_args(self, args: Mapping[str, exp.Expression]) -> CompileScope:
        """Inside a call: its arguments' values, which hide the caller's."""
        return dataclasses.replace(self, args=args)

    def with_rows(
        self, alias: str | None, columns: Mapping[tuple[int, str] | str, str]
    ) -> CompileScope:
        """Rows read from derived table `alias`, whose `columns` hold those values and lets."""
        return dataclasses.replace(self, rows_alias=alias, row_columns=columns)

    def with_groups(
        self, group_map: Mapping[Any, exp.Expression], agg_map: Mapping[ir.Agg, exp.Expression]
    ) -> CompileScope:
        """Over groups: each group value and aggregate is the expression given for it."""
        return dataclasses.replace(self, group_map=group_map, agg_map=agg_map)

    def with_joins(self, joins: JoinScope) -> CompileScope:
        """Inside a SELECT being built that lookups can be joined to."""
        return dataclasses.replace(self, joins=(*self.joins, joins))

    def alias_of(self, binding: ir.Binding) -> str:
        """The alias of `binding` in the innermost frame that has it."""
        for frame in reversed(self.frames):
            if binding.uid in frame:
                return frame[binding.uid]
        raise AssertionError(f"binding {binding.alias} is not in scope")


# A join a planner adds to a query after its sources (a model's bound rows): given the scope
# with the sources, the join and the scope with what it binds.
ExtraJoin = Callable[[CompileScope], tuple[exp.Join, CompileScope]]


class ExpressionCompiler:
    """Compiles expressions, and the subqueries and relations they read, for one query.

    One compiler builds one whole query (a model's, or the index's): the
    names it hands out (`fresh_alias`, `fresh_column`) are unique across it,
    each relation read anywhere in it is built once and named in a WITH
    (`with_relations`). `model_id` names the model in a diagnostic (None: the
    index).
    """

    def __init__(self, pack: ir.CheckedPack, target: Target, model_id: str | None = None) -> None:
        self.pack = pack
        self.target = target
        self.dialect = target.dialect
        self.model_id = model_id
        self.used_aliases: set[str] = set()
        # The columns of the query's derived tables (see `fresh_column`).
        self.used_columns: set[str] = set()
        self.builders = fn.Builders(self.dialect, self._calendar_count)
        # Each relation the query reads, built once and named in a WITH (see `with_relations`).
        self.relations: dict[str, exp.Expression] = {}
        self.reads_pending = False  # whether the query reads a pre-check's source
        # The bindings of the sources of the query's SELECTs, and of those left joined (a row
        # may lack one): a decorrelated subquery's domain is read from one of the first, not
        # of the second (see `_domain_join`).
        self.sources: set[int] = set()
        self.left_joined: set[int] = set()
        # Conditions of a query's `where` that read one binding's columns alone, by its uid:
        # every row of that query meets them (a decorrelated subquery's domain, see
        # `_domain_join`, needs no values of other rows).
        self.row_conditions: dict[int, list[ir.Expr]] = {}
        # The parameters whose values are written into the query (the target's, else the
        # pack's defaults) rather than bound: a list, a map, a quantile's p, round's digits,
        # or every one when the target binds none (engine/compiler/placeholders.py).
        self.written: set[str] = set()
        self._writing_in = 0  # > 0: compiling what must be a constant (see `constant`)

    # ---- names

    def fresh_alias(self, wanted: str) -> str:
        """A table alias no other table of the query has."""
        return fresh(wanted, self.used_aliases)

    def fresh_column(self, wanted: str) -> str:
        """A column name of the query's derived tables that no other column of them has.

        A let keeps its own name (they are named first); the engine's columns
        (`p__investment`, `group_1`, `agg_1` …) give way to a let so named.
        """
        return fresh(wanted, self.used_columns)

    def table(self, source: str) -> exp.Table:
        """The table a source is read from: the deployment's, or a pre-check's WITH."""
        pending = self.target.pending
        if pending is not None and pending.source == source:
            self.reads_pending = True
            return table_named(pending_name(source))
        return table_named(self.target.tables.get(source, source))

    # ---- constants

    def as_of(self) -> exp.Expression:
        """The as-of day: the target's, or the `:as_of` placeholder of the reviewed files."""
        if self.target.as_of is None:
            return placeholders.placeholder(placeholders.AS_OF, Type.DATE, self.dialect)
        return fn.date_literal(self.target.as_of.isoformat(), self.dialect)

    def literal(self, value: Any, type_: Type) -> exp.Expression:
        """A value as a literal of this query's warehouse."""
        return fn.literal(value, type_, self.dialect)

    def parameter(self, name: str) -> Any:
        """A parameter's value in effect, to be written in: the deployment's, else the pack's."""
        self.written.add(name)
        if name in self.target.parameters:
            return self.target.parameters[name]
        return self.pack.pack.parameters[name].default

    # ---- queries

    @contextmanager
    def query(
        self, query: ir.Query, scope: CompileScope, then_join: Sequence[ExtraJoin] = ()
    ) -> Iterator[tuple[exp.Select, CompileScope]]:
        """A SELECT over `query`'s rows (no projections yet), and the scope inside it.

        An aggregate written inside is the query's own: `count(*)` in a subquery
        is not the groups' `count(*)`, though the two compare equal. `then_join`
        (a model's rows bound by lets) are joined after its sources, each seeing
        them and those before it. Lookups compiled inside are joined last, when
        the caller is done with the SELECT.
        """
        lookups = JoinScope(set(), takes_subqueries=False)
        inner = dataclasses.replace(scope, agg_map={}).with_frame({}).with_joins(lookups)
        select = exp.Select()
        conditions: list[exp.Expression] = []
        for src in query.sources:
            alias = self.fresh_alias(src.binding.alias)
            inner = inner.with_binding(src.binding, alias)
            self.sources.add(src.binding.uid)
            lookups.aliases.add(alias)
            relation = self.relation_or_table(src.binding, alias, inner)
            visible = self.visibility(src.binding, alias)
            if src.join is None:
                select = select.from_(relation, copy=False)
                if visible is not None:
                    conditions.append(visible)
            else:
                if src.join == "left":
                    self.left_joined.add(src.binding.uid)
                on = [self.condition(src.on, inner)] if src.on is not None else []
                if visible is not None:
                    on.append(visible)
                join = exp.Join(
                    this=relation,
                    on=exp.and_(*on, copy=False) if on else exp.true(),
                    **({"side": "LEFT"} if src.join == "left" else {"kind": "INNER"}),
                )
                select = select.join(join, copy=False)
        for extra in then_join:
            join, inner = extra(inner)
            select = select.join(join, copy=False)
        lookups.takes_subqueries = True
        if query.where is not None:
            own = {src.binding.uid for src in query.sources}
            for condition in ir.conjuncts(query.where):
                read = _only_reads(condition)
                if read in own:
                    self.row_conditions.setdefault(read, []).append(condition)
            conditions.append(self.condition(query.where, inner))
        if conditions:
            select = select.where(exp.and_(*conditions, copy=False), copy=False)
        yield select, inner
        lookups.join_to(select)

    def relation_or_table(
        self, binding: ir.Binding, alias: str, scope: CompileScope
    ) -> exp.Expression:
        """What a source reads as `alias`: its table, or the WITH of the relation it names.

        A relation the run computed once (`Target.shared`) is read from its table.
        """
        if not binding.is_relation:
            return exp.alias_(self.table(binding.source), alias, table=True, copy=False)
        if binding.source in self.target.shared:
            shared = table_named(self.target.shared[binding.source])
            return exp.alias_(shared, alias, table=True, copy=False)
        if binding.source not in self.relations:
            self.relations[binding.source] = self._relation_query(binding.source, scope)
        return exp.alias_(table_named(relation_name(binding.source)), alias, table=True, copy=False)

    def _relation_query(self, name: str, scope: CompileScope) -> exp.Expression:
        """A relation's rows: the union of its branches (relations it reads come first)."""
        relation = self.pack.relations[name]
        # A relation sees nothing of the query using it: neither its aliases nor, when it is
        # first read from a grouped model's groups, their group values and aggregates.
        alone = dataclasses.replace(scope, frames=(), group_map={}, agg_map={})
        selects = [self._relation_branch(branch, alone) for branch in relation.branches]
        union: exp.Expression = selects[0]
        for other in selects[1:]:
            union = exp.union(union, other, distinct=True)
        return union

    def _relation_branch(self, branch: ir.Branch, scope: CompileScope) -> exp.Select:
        """One part of a relation: its values over its rows, or over its groups."""
        if branch.group_by is not None:
            return self._grouped_branch(branch, scope)
        with self.query(branch.query, scope) as (select, inner):
            columns = [exp.alias_(self.value(e, inner), n, copy=False) for n, e in branch.items]
            select = select.select(*columns, copy=False)
            return select.distinct(distinct=branch.distinct, copy=False)

    def _grouped_branch(self, branch: ir.Branch, scope: CompileScope) -> exp.Select:
        """A grouped part of a relation, in three levels as a grouped model is written.

        The rows with their group values and the inputs of each aggregate; the
        groups, with nothing but group values and aggregates (so every warehouse
        accepts them); then the selected values and `having` over those as plain
        columns, where a subquery (`township_name(…)`) may read them.
        """
        assert branch.group_by is not None
        wanted = [e for _, e in branch.items]
        if branch.having is not None:
            wanted.append(branch.having)
        aggregates = list(dict.fromkeys(a for e in wanted for a in level_aggregates(e, scope.lets)))
        rows_alias = self.fresh_alias("relation_rows")
        group_names = [f"group_{i + 1}" for i in range(len(branch.group_by))]
        with self.query(branch.query, scope) as (rows, inner):
            columns = [
                exp.alias_(self.value(g, inner), n, copy=False)
                for g, n in zip(branch.group_by, group_names, strict=True)
            ]
            inputs: list[list[str]] = []
            for j, agg in enumerate(aggregates, 1):
                names = [f"agg_{j}_{k}" for k in range(1, len(agg.args) + 1)]
                columns += [
                    exp.alias_(self.value(a, inner), n, copy=False)
                    for a, n in zip(agg.args, names, strict=True)
                ]
                if agg.filter is not None:
                    names.append(f"agg_{j}_when")
                    columns.append(
                        exp.alias_(self.condition(agg.filter, inner), names[-1], copy=False)
                    )
                inputs.append(names)
            rows = rows.select(*columns, copy=False)

        def row_column(name: str) -> exp.Column:
            return exp.column(name, table=rows_alias)

        agg_names = [f"agg_{j}" for j in range(1, len(aggregates) + 1)]
        grouped = (
            exp.select(
                *(exp.alias_(row_column(n), n, copy=False) for n in group_names),
                *(
                    exp.alias_(
                        self.plain_aggregate(
                            agg,
                            [row_column(n) for n in names[: len(agg.args)]],
                            row_column(names[-1]) if agg.filter is not None else None,
                            scope.star_value,
                        ),
                        agg_name,
                        copy=False,
                    )
                    for agg, names, agg_name in zip(aggregates, inputs, agg_names, strict=True)
                ),
            )
            .from_(exp.alias_(exp.Subquery(this=rows), rows_alias, table=True, copy=False))
            .group_by(*(row_column(n) for n in group_names), copy=False)
        )
        groups_alias = self.fresh_alias("relation_groups")
        groups = scope.with_groups(
            {
                g: exp.column(n, table=groups_alias)
                for g, n in zip(branch.group_by, group_names, strict=True)
            },
            {
                a: exp.column(n, table=groups_alias)
                for a, n in zip(aggregates, agg_names, strict=True)
            },
        )
        outer = exp.select(
            *(exp.alias_(self.value(e, groups), n, copy=False) for n, e in branch.items)
        )
        outer = outer.from_(
            exp.alias_(exp.Subquery(this=grouped), groups_alias, table=True, copy=False)
        )
        if branch.having is not None:
            outer = outer.where(self.condition(branch.having, groups), copy=False)
        return outer.distinct(distinct=branch.distinct, copy=False)

    def with_relations(self, tree: exp.Select) -> exp.Select:
        """`tree` with a WITH naming each relation it reads (and a pre-check's rows).

        A relation read in several places (the persons of the two bidders, and
        again in the message) is written, and can be computed, once. It depends
        on nothing but as_of, so it can stand at the top of the query.
        """
        if self.reads_pending and self.target.pending is not None:  # first: relations read it
            source = self.target.pending.source
            records, read = pending_queries(self.pack, self.target, self.target.pending)
            if records is not None:
                tree = tree.with_(records_name(source), as_=records, copy=False)
            tree = tree.with_(pending_name(source), as_=read, copy=False)
        for name, query in self.relations.items():
            tree = tree.with_(relation_name(name), as_=query, copy=False)
        return tree

    def visibility(self, binding: ir.Binding, alias: str) -> exp.Expression | None:
        """The as-of rule: a row whose event_date is after as_of is invisible; null is visible."""
        if binding.is_relation:
            return None
        source = self.pack.pack.sources[binding.source]
        if source.event_date is None:
            return None
        column: exp.Expression = exp.column(source.event_date, table=alias)
        if source.columns[source.event_date].type is Type.TIMESTAMP:
            column = fn.FUNCTIONS["date"].build("date", [column], self.builders)
        return exp.Paren(
            this=exp.or_(
                exp.LTE(this=column, expression=self.as_of()),
                exp.Is(this=column.copy(), expression=exp.null()),
                copy=False,
            )
        )

    def _calendar_count(self, start: exp.Expression, end: exp.Expression) -> exp.Expression:
        """workdays(a, b): ref_calendar days d with a < d <= b that are workdays."""
        alias = self.fresh_alias("cal")
        day = exp.column("day", table=alias)
        select = (
            exp.select(exp.Count(this=exp.Star()))
            .from_(
                exp.alias_(self.table("ref_calendar"), alias, table=True, copy=False), copy=False
            )
            .where(
                exp.and_(
                    exp.GT(this=day, expression=start),
                    exp.LTE(this=day.copy(), expression=end),
                    exp.column("is_workday", table=alias),
                    copy=False,
                ),
                copy=False,
            )
        )
        return exp.Subquery(this=select)

    # ---- aggregates

    def quantile_inputs(
        self, j: int, agg: ir.Agg, partition: list[exp.Expression], scope: CompileScope
    ) -> tuple[list[exp.Expression], list[str]]:
        """The columns of the rows below the groups that quantile number `j` reads, and their names.

        Its value, null where the aggregate's `where` does not hold (p is a
        constant, written where the quantile is); where the warehouse has no
        ordered aggregate, also each value's rank in its group and the
        quantile's position (functions.quantile_ranks).
        """
        value = self.value(agg.args[0], scope)
        if agg.filter is not None:
            value = exp.Case(ifs=[exp.If(this=self.condition(agg.filter, scope), true=value)])
        names = [self.fresh_column(f"agg_{j + 1}_1")]
        columns = [exp.alias_(value, names[0], copy=False)]
        if fn.ranked_quantile(self.dialect):
            rank, position = fn.quantile_ranks(value, partition, self.fraction(agg))
            names += [self.fresh_column(f"agg_{j + 1}_rank"), self.fresh_column(f"agg_{j + 1}_at")]
            columns += [exp.alias_(rank, names[1]), exp.alias_(position, names[2])]
        return columns, names

    def aggregate(
        self,
        agg: ir.Agg,
        args: list[exp.Expression],
        first_by: FirstBy,
        rows_alias: str,
        star_value: exp.Expression | None = None,
    ) -> exp.Expression:
        """One aggregate over grouped rows `rows_alias`, its inputs read from their `args`.

        `first_by` is what first() orders by (see FirstBy); a quantile's
        inputs are `quantile_inputs`'; `star_value` is what `count(*)` counts.
        """
        if agg.name in ir.QUANTILES:
            if len(args) == 3:
                return fn.quantile_from_ranks(*args, self.builders)
            return fn.quantile_of(args[0], self.fraction(agg), self.builders)
        when = args.pop() if agg.filter is not None else None
        if isinstance(first_by, list):
            order = [
                exp.Ordered(this=exp.column(n, table=rows_alias), desc=desc, nulls_first=False)
                for n, desc in first_by
            ]
            return exp.First(this=exp.Order(this=args[0], expressions=order))
        if first_by is not None:
            first_row: exp.Expression = exp.EQ(
                this=exp.column(first_by, table=rows_alias), expression=exp.Literal.number(1)
            )
            if when is not None:
                first_row = exp.and_(first_row, when, copy=False)
            return exp.Max(this=exp.Case(ifs=[exp.If(this=first_row, true=args[0])]))
        return self.plain_aggregate(agg, args, when, star_value)

    def plain_aggregate(
        self,
        agg: ir.Agg,
        args: list[exp.Expression],
        when: exp.Expression | None = None,
        star_value: exp.Expression | None = None,
    ) -> exp.Expression:
        """An aggregate over `args`; with `when`, only over the rows where it holds.

        `star_value`: what `count(*)` counts (see CompileScope), None: every row.
        """
        if agg.star:
            if when is None and star_value is None:
                return exp.Count(this=exp.Star())
            counted = star_value.copy() if star_value else exp.Literal.number(1)
            if when is None:
                return exp.Count(this=counted)
            return exp.Count(this=exp.Case(ifs=[exp.If(this=when, true=counted)]))
        value = args[0]
        if when is not None:
            value = exp.Case(ifs=[exp.If(this=when, true=value)])
        if agg.distinct:
            value = exp.Distinct(expressions=[value])
        if agg.name == "count":
            return exp.Count(this=value)
        if agg.name == "sum":
            return fn.sum_of(value)
        if agg.name == "avg":
            return fn.average_of(value)
        if agg.name == "min":
            return exp.Min(this=value)
        if agg.name == "max":
            return exp.Max(this=value)
        if agg.name in ir.QUANTILES:
            return fn.quantile_of(value, self.fraction(agg), self.builders)
        raise fn.Unsupported(f"{agg.name}() here", self.dialect)

    def fraction(self, agg: ir.Agg) -> exp.Expression:
        """The p of a quantile as a number literal; E745 when a value given for it is not in [0, 1].

        The checker has seen a written p to lie in [0, 1] and a parameter's range
        to lie within it; an example may still set the parameter to anything.
        """
        fraction = ir.quantile_fraction(agg)
        if isinstance(fraction, ir.Param):
            value: Any = self.parameter(fraction.name)
            number = None if value is None else Decimal(str(value))
        else:
            number = ir.number_written(fraction)
        if number is None or not 0 <= number <= 1:
            shown = f"${fraction.name} = {value}" if isinstance(fraction, ir.Param) else number
            raise DiagnosticError(
                [
                    diagnostic(
                        "E745",
                        agg.span,
                        hints=["p 是比例：上四分位数为 0.75"],
                        id=self.model_id,
                        name=agg.name,
                        shown=shown,
                    )
                ]
            )
        return exp.Literal.number(format(number, "f"))

    # ---- expressions

    def condition(self, expr: ir.Expr, scope: CompileScope) -> exp.Expression:
        """A condition; may be NULL in SQL where the language means false (see `_not`)."""
        return self.value(expr, scope)

    def value(self, expr: ir.Expr, scope: CompileScope) -> exp.Expression:
        """`expr` as SQL, where `scope` says what it can see."""
        if scope.group_map and expr in scope.group_map:
            return scope.group_map[expr].copy()
        return HANDLERS[type(expr)](self, expr, scope)

    def _col(self, e: ir.Col, scope: CompileScope) -> exp.Expression:
        name = scope.row_columns.get((e.binding.uid, e.column))
        if name is not None:
            return exp.column(name, table=scope.rows_alias)
        return exp.column(e.column, table=scope.alias_of(e.binding))

    def _lit(self, e: ir.Lit, scope: CompileScope) -> exp.Expression:
        return self.literal(e.value, e.type)

    @contextmanager
    def constant(self) -> Iterator[None]:
        """Compile what a warehouse wants as a constant: parameters are written in, not bound."""
        self._writing_in += 1
        try:
            yield
        finally:
            self._writing_in -= 1

    def _param(self, e: ir.Param, scope: CompileScope) -> exp.Expression:
        if self.target.bind_parameters and not self._writing_in and e.name != placeholders.AS_OF:
            # Bound when the query runs (engine/compiler/placeholders.py): the deployment's
            # value, else the pack's default; a null one as null of the parameter's type.
            return placeholders.placeholder(e.name, e.type, self.dialect)
        value = self.parameter(e.name)
        if value is None and self.dialect != "sqlite":
            # No threshold: a null of the parameter's type, so that it reads alike everywhere
            # (SQLite's CAST(NULL AS DATE) would be a number; its NULL has no type anyway).
            return exp.cast(exp.null(), fn.SQL_TYPES[e.type])
        return self.literal(value, e.type)

    def _asof(self, e: ir.AsOf, scope: CompileScope) -> exp.Expression:
        return self.as_of()

    def _arg(self, e: ir.Arg, scope: CompileScope) -> exp.Expression:
        return scope.args[e.name].copy()

    def _letref(self, e: ir.LetRef, scope: CompileScope) -> exp.Expression:
        if e.name in scope.row_columns:
            return exp.column(scope.row_columns[e.name], table=scope.rows_alias)
        return self.value(scope.lets[e.name], scope)

    def _func(self, e: ir.Func, scope: CompileScope) -> exp.Expression:
        args = [self.value(a, scope) for a in e.args]
        if e.name == "round" and len(e.args) > 1:  # its digits must be a constant (fn._digits)
            with self.constant():
                args[1] = self.value(e.args[1], scope)
        if e.name == "if":
            args[0] = self.condition(e.args[0], scope)
        if e.name == "concat":
            parts = zip(e.args, args, strict=True)
            args = [fn.as_text(v) if a.type is Type.INT else v for a, v in parts]
        return fn.FUNCTIONS[e.name].build(e.name, args, self.builders)

    def _case(self, e: ir.Case, scope: CompileScope) -> exp.Expression:
        # SQL's CASE takes the first WHEN that is true; a condition that is NULL is not, as
        # the language's two-valued logic says.
        ifs = [
            exp.If(this=self.condition(c, scope), true=self.value(v, scope)) for c, v in e.branches
        ]
        default = self.value(e.otherwise, scope) if e.otherwise is not None else None
        return exp.Case(ifs=ifs, default=default)

    def _agg(self, e: ir.Agg, scope: CompileScope) -> exp.Expression:
        if e in scope.agg_map:
            return scope.agg_map[e].copy()
        if e.name == "first":
            raise fn.Unsupported("first() outside a grouped model", self.dialect)
        when = self.condition(e.filter, scope) if e.filter is not None else None
        args = [self.value(a, scope) for a in e.args]
        return self.plain_aggregate(e, args, when, scope.star_value)

    def _defcall(self, e: ir.DefCall, scope: CompileScope) -> exp.Expression:
        define = self.pack.defines[e.name]
        frame = {
            name: self.value(arg, scope)
            for (name, _), arg in zip(define.params, e.args, strict=True)
        }
        return _paren(self.value(define.body, scope.with_args(frame)))

    def _lookupcall(self, e: ir.LookupCall, scope: CompileScope) -> exp.Expression:
        """The looked-up value: a column of a left join of the lookup's source on its key.

        Joined to the SELECT whose FROM holds the tables the key reads (the
        innermost being built when it reads none), once per lookup and key there:
        a model calls each lookup on its own rows through a let
        (engine/compiler/compile.py's `_lookups_as_lets`), so its source is joined once
        however often the model calls it. Rows of the source whose event_date is
        after as_of are invisible, in the join's ON as for any joined source.
        Where no row matches, or its value is null, the lookup's default (with
        the key's values as its parameters), else null.
        """
        lookup = self.pack.lookups[e.name]
        keys = [self.value(a, scope) for a in e.args]
        read = {c.table for key in keys for c in key.find_all(exp.Column)}
        if not scope.joins:
            raise AssertionError(f"lookup {e.name} compiled outside any SELECT")
        joins = next((s for s in reversed(scope.joins) if s.aliases & read), scope.joins[-1])
        made = (e.name, tuple(keys))
        alias = joins.made.get(made)
        if alias is None:
            alias = self.fresh_alias(e.name)
            source = self.pack.pack.sources[lookup.source]
            on: list[exp.Expression] = []
            for column, key in zip(lookup.by, keys, strict=True):
                found: exp.Expression = exp.column(column, table=alias)
                kind = source.columns[column].type
                if kind in (Type.DECIMAL, Type.FLOAT) and not fn.exact_decimals(self.dialect):
                    found = fn.comparable_decimal(found, kind, self.dialect)
                    key = fn.comparable_decimal(key, kind, self.dialect)
                on.append(exp.EQ(this=found, expression=key.copy()))
            visible = self.visibility(ir.Binding(0, alias, lookup.source, False), alias)
            if visible is not None:
                on.append(visible)
            joins.joins.append(
                exp.Join(
                    this=exp.alias_(self.table(lookup.source), alias, table=True, copy=False),
                    on=exp.and_(*on, copy=False),
                    side="LEFT",
                )
            )
            joins.made[made] = alias
        value: exp.Expression = exp.column(lookup.column, table=alias)
        if lookup.default is None:
            return value
        args = {n: k for (n, _), k in zip(lookup.params, keys, strict=True)}
        default = self.value(lookup.default, scope.with_args(args))
        return exp.Coalesce(this=value, expressions=[default])

    def _arith(self, e: ir.Arith, scope: CompileScope) -> exp.Expression:
        left, right = self.value(e.left, scope), self.value(e.right, scope)
        if e.type is Type.DATE:
            if e.op == "-":
                right = exp.Neg(this=_paren(right))
            return fn.FUNCTIONS["add_days"].build("add_days", [left, right], self.builders)
        if e.op == "/":
            return fn.divide(_paren(left), right, self.builders)
        node = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul}[e.op]
        # `((a + b) + c)` is written `(a + b + c)`: the same, as both operators group to the
        # left, and a long sum no longer opens a bracket per term, which parsers (sqlglot's
        # among them) read by recursion, and so could not read a sum of 50 terms back.
        same_level = (exp.Mul,) if node is exp.Mul else (exp.Add, exp.Sub)
        if isinstance(left, exp.Paren) and isinstance(left.this, same_level):
            left = left.this
        else:
            left = _paren(left)
        return exp.Paren(this=node(this=left, expression=_paren(right)))

    def _neg(self, e: ir.Neg, scope: CompileScope) -> exp.Expression:
        return exp.Neg(this=_paren(self.value(e.operand, scope)))

    def _compared(self, scope: CompileScope, *operands: ir.Expr) -> list[exp.Expression]:
        """Operands of a comparison, taken to fixed places where decimals are binary floats."""
        values = [self.value(o, scope) for o in operands]
        if fn.exact_decimals(self.dialect) or all(
            o.type not in (Type.DECIMAL, Type.FLOAT) for o in operands
        ):
            return values
        return [
            fn.comparable_decimal(v, o.type, self.dialect)
            for v, o in zip(values, operands, strict=True)
        ]

    def _compare(self, e: ir.Compare, scope: CompileScope) -> exp.Expression:
        left, right = self._compared(scope, e.left, e.right)
        if e.op == "!=":
            # "is not" holds for a missing value: a project with no status is not 终止.
            parts: list[exp.Expression] = [exp.NEQ(this=left, expression=right)]
            for side, node in ((e.left, left), (e.right, right)):
                if not _never_null(side):
                    parts.append(exp.Is(this=node.copy(), expression=exp.null()))
            if len(parts) == 1:
                return parts[0]
            return fn.within_size(exp.Paren(this=exp.or_(*parts, copy=False)), "!=", self.dialect)
        node = {"=": exp.EQ, "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}[e.op]
        return node(this=left, expression=right)

    def _logic(self, e: ir.Logic, scope: CompileScope) -> exp.Expression:
        items = [self.condition(i, scope) for i in e.items]
        joined = exp.and_(*items, copy=False) if e.op == "and" else exp.or_(*items, copy=False)
        return exp.Paren(this=joined)

    def _not(self, e: ir.Not, scope: CompileScope) -> exp.Expression:
        # A condition on a missing value is false, so its negation is true: NOT over NULL
        # would stay NULL in SQL, hence COALESCE unless the operand can't be NULL.
        if isinstance(e.operand, ir.Func) and _never_null(e.operand):
            call, meaning = e.operand, fn.FUNCTIONS[e.operand.name]
            if meaning.negates(self.dialect):
                args = [self.value(a, scope) for a in call.args]
                return meaning.build_negated(call.name, args, self.builders)
        inner = self.condition(e.operand, scope)
        if not _never_null(e.operand):
            inner = exp.Coalesce(this=inner, expressions=[exp.false()])
        return exp.Not(this=_paren(inner))

    def _isnull(self, e: ir.IsNull, scope: CompileScope) -> exp.Expression:
        test = exp.Is(this=self.value(e.operand, scope), expression=exp.null())
        return exp.Not(this=test) if e.negated else test

    def _in(self, e: ir.In, scope: CompileScope) -> exp.Expression:
        operand = self.value(e.operand, scope)
        test = exp.In(this=operand, expressions=[self.value(i, scope) for i in e.items])
        if not e.negated:
            return test
        result: exp.Expression = exp.Not(this=test)
        if not _never_null(e.operand):
            result = exp.Paren(
                this=exp.or_(exp.Is(this=operand.copy(), expression=exp.null()), result, copy=False)
            )
            fn.within_size(result, "not in", self.dialect)
        return result

    def _inparam(self, e: ir.InParam, scope: CompileScope) -> exp.Expression:
        """`x in $list`: `in (…)` with the list in effect written out, as if typed in the rule.

        The items are the deployment's when it overrides the list, else the
        pack's, like every parameter (`parameter`). Nothing is on an empty list,
        not even null: `in` is false and `not in` true (SQL has no `in ()`).
        """
        items = self.parameter(e.param.name)
        if not items:
            return exp.true() if e.negated else exp.false()
        written = tuple(ir.Lit(item, e.param.type) for item in items)
        return self._in(ir.In(e.operand, written, e.negated, span=e.span), scope)

    def _valueof(self, e: ir.ValueOf, scope: CompileScope) -> exp.Expression:
        """`value_of($map, key, default)`: `CASE key WHEN 'k' THEN v … ELSE default END`.

        The key is written once, compared with each key of the map in effect;
        a null key equals none of them and gives the default. An empty map is
        its default.
        """
        default = self.value(e.default, scope)
        pairs = self.parameter(e.param.name)
        if not pairs:
            return default
        return exp.Case(
            this=self.value(e.key, scope),
            ifs=[
                exp.If(this=self.literal(key, Type.STRING), true=self.literal(v, e.param.type))
                for key, v in pairs
            ],
            default=default,
        )

    def _between(self, e: ir.Between, scope: CompileScope) -> exp.Expression:
        operand, low, high = self._compared(scope, e.operand, e.low, e.high)
        return exp.Between(this=operand, low=low, high=high)

    def _exists(self, e: ir.Exists, scope: CompileScope) -> exp.Expression:
        branches = []
        for query in _exists_branches(e.query):
            ties = _equal_ties(query, self.dialect) if fn.exists_as_in(self.dialect) else None
            if ties is not None:
                branches.append(self._exists_as_in(ties, scope))
                continue
            with self.query(query, scope) as (select, _):
                branches.append(exp.Exists(this=select.select(exp.Literal.number(1), copy=False)))
        if len(branches) == 1:
            return branches[0]
        return exp.Paren(this=exp.or_(*branches, copy=False))

    def _exists_as_in(self, ties: Ties, scope: CompileScope) -> exp.Expression:
        """`exists` as `x IS NOT NULL AND … AND (x, …) IN (SELECT a, … WHERE a IS NOT NULL …)`.

        Where EXISTS is true or false, an IN is null when a value on either side
        is; the tests of both sides keep it two-valued, so that the rewrite means
        the same under `not` and `or` too (fn.exists_as_in says why it is made).
        """
        with self.query(ties.rest, scope) as (select, inner):
            wanted = [self.value(col, inner) for col, _ in ties.pairs]
            for value in wanted:
                select = select.where(exp.Not(this=_is_null(value)), copy=False)
            select = select.select(*wanted, copy=False)
        outer = [self.value(col, scope) for _, col in ties.pairs]
        tested = outer[0] if len(outer) == 1 else exp.Tuple(expressions=outer)
        parts = [exp.Not(this=_is_null(value)) for value in outer]
        parts.append(exp.In(this=tested.copy(), query=exp.Subquery(this=select)))
        return exp.Paren(this=exp.and_(*parts, copy=False))

    def _scalar(self, e: ir.Scalar, scope: CompileScope) -> exp.Expression:
        if fn.ranked_quantile(self.dialect) and any(
            a.name in ir.QUANTILES for a in _own_aggregates(e.select)
        ):
            return self._ranked_scalar(e, scope)
        joined = self._joined_scalar(e, scope)
        if joined is not None:
            return joined
        with self.query(e.query, scope) as (select, inner):
            return exp.Subquery(this=select.select(self.value(e.select, inner), copy=False))

    def _joined_scalar(self, e: ir.Scalar, scope: CompileScope) -> exp.Expression | None:
        """A correlated aggregate subquery read from a grouped derived table joined to its rows.

        The plan is engine/compiler/decorrelate.py's (which says why); None where it
        has none, or where the outer values it joins on are not columns of the
        SELECT being built (`scope.joins[-1]`), and the subquery stays correlated.
        The derived table is made once per SELECT for subqueries with the same
        sources, conditions and outer values, each aggregate a column of it. Each
        aggregate reads the empty set's value where the outer row has no group:
        count and sum 0 (a sum is 0 over no rows, `functions.sum_of`), the others
        null, which the LEFT JOIN gives; the select is then computed over those.
        """
        if not scope.joins or not scope.joins[-1].takes_subqueries or scope.star_value is not None:
            return None
        plan = decorrelation(e, self.left_joined)
        if plan is None:
            return None
        domain = plan.domain
        if domain is not None and domain.uid not in self.sources:
            domain = None  # not a source's row (a bound row's, say)
        if domain is not None and (not plan.keys or self.row_conditions.get(domain.uid)):
            plan = dataclasses.replace(plan, keys=())
        elif plan.keys:
            plan = dataclasses.replace(plan, domain=None)  # a domain would be the whole source
        else:
            return None
        joins = scope.joins[-1]
        if plan.domain is None:
            outer = [self._comparable(self.value(theirs, scope), theirs) for _, theirs in plan.keys]
        else:
            outer = [self.value(value, scope) for value in plan.domain_values]
        if any(
            isinstance(node, exp.Subquery | exp.Select)
            or (isinstance(node, exp.Column) and node.table not in joins.aliases)
            for value in outer
            for node in fn.nodes(value)
        ):
            return None
        key = (plan.signature, plan.domain is None, tuple(value.sql() for value in outer))
        grouped = joins.grouped.get(key)
        if grouped is None:
            grouped = self._grouped_join(plan, outer, scope)
            joins.grouped[key] = grouped
            joins.joins.append(grouped.join)
        empty_is_zero = ("count", "sum")
        agg_map: dict[ir.Agg, exp.Expression] = {}
        for written, renamed in plan.aggregates:
            name = grouped.columns.get(aggregate_key(renamed))
            if name is None:
                name = self.fresh_column("agg")
                value = self.value(renamed, grouped.scope)
                grouped.select.select(exp.alias_(value, name, copy=False), copy=False)
                grouped.columns[aggregate_key(renamed)] = name
            column: exp.Expression = exp.column(name, table=grouped.alias)
            if written.name in empty_is_zero:
                column = exp.Coalesce(this=column, expressions=[exp.Literal.number(0)])
            agg_map[written] = column
        return self.value(e.select, dataclasses.replace(scope, agg_map=agg_map, group_map={}))

    def _grouped_join(
        self, plan: Decorrelated, outer: list[exp.Expression], scope: CompileScope
    ) -> GroupedJoin:
        """The grouped derived table of `plan`, LEFT JOINed on `outer` (its aggregates to come).

        Keys form: grouped by the inner side of each equality, joined with `=`.
        Domain form: the distinct outer values are joined to the inner rows on the
        conditions reading them, grouped by them and joined with null-safe equality.
        """
        # The derived table sees nothing of the query around it but lets' definitions.
        alone = CompileScope(lets=scope.lets)
        then_join: list[ExtraJoin] = []
        if plan.domain is not None:
            then_join.append(functools.partial(self._domain_join, plan))
        with self.query(plan.query, alone, then_join) as (select, inner):
            if plan.domain is None:
                keys = [self._comparable(self.value(mine, inner), mine) for mine, _ in plan.keys]
            else:
                keys = [
                    exp.column(c, table=inner.alias_of(plan.domain)) for c in plan.domain_columns
                ]
            names = [self.fresh_column(f"key_{i + 1}") for i in range(len(keys))]
            select = select.select(
                *(exp.alias_(k, n, copy=False) for k, n in zip(keys, names, strict=True)),
                copy=False,
            ).group_by(*(k.copy() for k in keys), copy=False)
        alias = self.fresh_alias(f"{plan.query.sources[0].binding.alias}_groups")
        on = [
            self._joined_on(plan, exp.column(n, table=alias), o)
            for n, o in zip(names, outer, strict=True)
        ]
        join = exp.Join(
            this=exp.alias_(exp.Subquery(this=select), alias, table=True, copy=False),
            on=exp.and_(*on, copy=False),
            side="LEFT",
        )
        return GroupedJoin(alias, select, inner, join)

    def _joined_on(
        self, plan: Decorrelated, group: exp.Expression, outer: exp.Expression
    ) -> exp.Expression:
        """A group's column against the outer row's: `=` (keys), null-safe `=` (domain)."""
        if plan.domain is None:
            return exp.EQ(this=group, expression=outer)
        return fn.NULL_SAFE_EQUAL.build("null-safe =", [group, outer], self.builders)

    def _domain_join(
        self, plan: Decorrelated, inner: CompileScope
    ) -> tuple[exp.Join, CompileScope]:
        """The distinct values of the outer columns a subquery reads, joined to its rows.

        Read from the outer source's visible rows that meet the conditions of
        the outer query's `where` on that source alone (every outer row is one of
        them, as the source is not left joined: FUN04's assistance of its two
        kinds, not all), joined on the conditions that read them.
        """
        assert plan.domain is not None
        binding = plan.domain
        source_alias = self.fresh_alias(binding.alias)
        values = exp.select(
            *(exp.column(c, table=source_alias) for c in plan.domain_columns)
        ).from_(self.relation_or_table(binding, source_alias, inner), copy=False)
        own = CompileScope().with_frame({binding.uid: source_alias})
        met = [self.condition(c, own) for c in self.row_conditions.get(binding.uid, [])]
        visible = self.visibility(binding, source_alias)
        if visible is not None:
            met.insert(0, visible)
        if met:
            values = values.where(exp.and_(*met, copy=False), copy=False)
        alias = self.fresh_alias(f"{binding.alias}_values")
        inner = inner.with_binding(binding, alias)
        on = [self.condition(c, inner) for c in plan.outer_conditions]
        join = exp.Join(
            this=exp.alias_(
                exp.Subquery(this=values.distinct(copy=False)), alias, table=True, copy=False
            ),
            on=exp.and_(*on, copy=False),
            kind="INNER",
        )
        return join, inner

    def _comparable(self, value: exp.Expression, expr: ir.Expr) -> exp.Expression:
        """A value as `=` compares it (see `_compared`): to fixed places on binary decimals."""
        if fn.exact_decimals(self.dialect) or expr.type not in (Type.DECIMAL, Type.FLOAT):
            return value
        return fn.comparable_decimal(value, expr.type, self.dialect)

    def _ranked_scalar(self, e: ir.Scalar, scope: CompileScope) -> exp.Expression:
        """A subquery with a quantile where the warehouse has no ordered aggregate: two levels.

        Its rows, with the inputs of each of its aggregates and each quantile's
        ranks (as the rows of a grouped model have, partitioned by nothing),
        then the select over them, each aggregate reading its columns.
        """
        aggregates = list(dict.fromkeys(_own_aggregates(e.select)))
        rows_alias = self.fresh_alias("ranked_rows")
        with self.query(e.query, scope) as (rows, inner):
            columns: list[exp.Expression] = []
            plan: list[tuple[ir.Agg, list[str]]] = []
            for j, agg in enumerate(aggregates):
                if agg.name in ir.QUANTILES:
                    quantile_columns, names = self.quantile_inputs(j, agg, [], inner)
                    columns += quantile_columns
                else:
                    inputs = [self.value(a, inner) for a in agg.args]
                    if agg.filter is not None:
                        inputs.append(self.condition(agg.filter, inner))
                    names = [self.fresh_column(f"agg_{j + 1}_{k + 1}") for k in range(len(inputs))]
                    columns += [
                        exp.alias_(v, n, copy=False) for v, n in zip(inputs, names, strict=True)
                    ]
                plan.append((agg, names))
            rows = rows.select(*columns, copy=False)
            over_rows = {
                agg: self.aggregate(
                    agg,
                    [exp.column(n, table=rows_alias) for n in names],
                    None,
                    rows_alias,
                    inner.star_value,
                )
                for agg, names in plan
            }
            value = self.value(e.select, dataclasses.replace(inner, agg_map=over_rows))
        ranked = exp.alias_(exp.Subquery(this=rows), rows_alias, table=True, copy=False)
        return exp.Subquery(this=exp.select(value).from_(ranked, copy=False))

    def _rowfound(self, e: ir.RowFound, scope: CompileScope) -> exp.Expression:
        # The model planner writes `exists(m)` as a column of m's join before compiling
        # (engine/compiler/compile.py, `_found_as_columns`): one reaching here is the planner's bug.
        raise AssertionError(f"exists({e.binding.alias}) was not written as its found column")


# Which method compiles each expression node class of dsl/ir.py: `value` looks an expression's
# class up here. tests/engine/test_dispatch_compile.py checks that every node class has one.
HANDLERS: Mapping[type[Any], Callable[[ExpressionCompiler, Any, CompileScope], exp.Expression]]
HANDLERS = MappingProxyType(
    {
        ir.Col: ExpressionCompiler._col,
        ir.Lit: ExpressionCompiler._lit,
        ir.Param: ExpressionCompiler._param,
        ir.AsOf: ExpressionCompiler._asof,
        ir.Arg: ExpressionCompiler._arg,
        ir.LetRef: ExpressionCompiler._letref,
        ir.Func: ExpressionCompiler._func,
        ir.Agg: ExpressionCompiler._agg,
        ir.DefCall: ExpressionCompiler._defcall,
        ir.LookupCall: ExpressionCompiler._lookupcall,
        ir.Arith: ExpressionCompiler._arith,
        ir.Neg: ExpressionCompiler._neg,
        ir.Compare: ExpressionCompiler._compare,
        ir.Logic: ExpressionCompiler._logic,
        ir.Not: ExpressionCompiler._not,
        ir.IsNull: ExpressionCompiler._isnull,
        ir.In: ExpressionCompiler._in,
        ir.InParam: ExpressionCompiler._inparam,
        ir.ValueOf: ExpressionCompiler._valueof,
        ir.Between: ExpressionCompiler._between,
        ir.Exists: ExpressionCompiler._exists,
        ir.Scalar: ExpressionCompiler._scalar,
        ir.Case: ExpressionCompiler._case,
        ir.RowFound: ExpressionCompiler._rowfound,
    }
)


def level_aggregates(expr: Any, lets: Mapping[str, ir.Expr]) -> Iterator[ir.Agg]:
    """Aggregates of a grouped query's own level in `expr`, through lets, not into subqueries.

    The aggregates its groups compute (a model's, engine/compiler/compile.py, and a
    relation's grouped branch, here).
    """
    if isinstance(expr, ir.Agg):
        yield expr
        return
    if isinstance(expr, ir.LetRef):
        yield from level_aggregates(lets[expr.name], lets)
        return
    if isinstance(expr, ir.Scalar | ir.Exists):
        return
    for child in ir.children(expr):
        yield from level_aggregates(child, lets)


def fresh(wanted: str, used: set[str]) -> str:
    """`wanted`, else `wanted_2`, `wanted_3` …: a name not in `used` (which it joins).

    Compared in lower case: DuckDB, SQLite and Spark read quoted names without
    case too, so lets `a` and `A` would be one column there. The model planner
    names a bound row's columns with it too (engine/compiler/compile.py).
    """
    name, n = wanted, 1
    while name.lower() in used:
        n += 1
        name = f"{wanted}_{n}"
    used.add(name.lower())
    return name


def relation_rows(pack: ir.CheckedPack, name: str, target: Target) -> exp.Query:
    """The rows of relation `name` as one query of their own, for a run to compute once.

    The same union a model's WITH holds (the relations it reads as WITHs of its
    own, or the run's tables of them, `Target.shared`), visibility as of
    `target.as_of`: a model reading the table sees what its WITH would hold.
    """
    compiler = ExpressionCompiler(pack, target)
    query = compiler._relation_query(name, CompileScope())
    return compiler.with_relations(query)


def relation_name(relation: str) -> str:
    """The WITH name of a relation: apart from any source table's name."""
    return f"{relation}__relation"


def _own_aggregates(expr: Any) -> Iterator[ir.Agg]:
    """The aggregates of a subquery's select at its own level (not of subqueries inside)."""
    if isinstance(expr, ir.Agg):
        yield expr
        return
    if isinstance(expr, ir.Scalar | ir.Exists | ir.LetRef):
        return
    for child in ir.children(expr):
        yield from _own_aggregates(child)


def _only_reads(condition: ir.Expr) -> int | None:
    """The one binding whose columns `condition` reads, if it reads nothing else of a row."""
    read = _rows_read(condition)
    return read.pop() if read is not None and len(read) == 1 else None


def _rows_read(condition: ir.Expr | None) -> set[int] | None:
    """The bindings whose columns `condition` reads, or None if it reads more than columns.

    Nothing compiled in a scope of its own (a subquery, a define's or lookup's
    body), no let, argument or aggregate: only rows' columns and constants.
    """
    opaque = (ir.Exists, ir.Scalar, ir.LookupCall, ir.DefCall, ir.LetRef, ir.Arg, ir.Agg)
    opaque += (ir.RowFound,)
    nodes = list(walk(condition)) if condition is not None else []
    if any(isinstance(n, opaque) for n in nodes):
        return None
    return {n.binding.uid for n in nodes if isinstance(n, ir.Col)}


def _paren(e: exp.Expression) -> exp.Expression:
    simple = exp.Column | exp.Literal | exp.Paren | exp.Func | exp.Subquery | exp.Cast | exp.Null
    return e if isinstance(e, simple) else exp.Paren(this=e)


def _never_null(e: ir.Expr) -> bool:
    """Whether a condition or value can never be NULL in the SQL we generate for it."""
    if isinstance(e, ir.Exists | ir.IsNull | ir.Not | ir.AsOf):
        return True
    if isinstance(e, ir.Lit):
        return e.value is not None
    if isinstance(e, ir.Param):
        return not e.nullable
    if isinstance(e, ir.Logic):
        return all(_never_null(i) for i in e.items)
    if isinstance(e, ir.Compare) and e.op == "!=":
        return True
    if isinstance(e, ir.Func) and e.name == "blank":
        return True
    if isinstance(e, ir.Agg) and e.name in ("count", "sum"):
        return True
    return False


@dataclass(frozen=True)
class Ties:
    """An `exists` query split for ExpressionCompiler._exists_as_in.

    `pairs` are its equalities with the outer row (its own column, the outer
    one), `rest` the query without them: it reads no value of the outer row.
    """

    pairs: list[tuple[ir.Col, ir.Col | ir.Arg]]
    rest: ir.Query


def _equal_ties(query: ir.Query, dialect: str) -> Ties | None:
    """`query`'s ties to the outer row, when each is `own column = outer value`, else None.

    An outer value is a column of an enclosing query's row, or an argument of
    the define whose body this is (in_official_circle's `person`), compiled
    where it was passed. None where another condition reads the outer row or
    what is compiled in a scope of its own (a nested subquery, a let), or where
    the two sides of an equality differ in type or compare at fixed places
    (SQLite's decimals): the IN would not compare them as `=` does.
    """
    own = {src.binding.uid for src in query.sources}
    if not all(_reads_own_row_only(src.on, own) for src in query.sources):
        return None
    pairs: list[tuple[ir.Col, ir.Col | ir.Arg]] = []
    rest: list[ir.Expr] = []
    for condition in ir.conjuncts(query.where):
        tie = _tie(condition, own)
        if tie is not None:
            inner, outer = tie
            if inner.type != outer.type or (
                inner.type in (Type.DECIMAL, Type.FLOAT) and not fn.exact_decimals(dialect)
            ):
                return None
            pairs.append(tie)
        elif _reads_own_row_only(condition, own):
            rest.append(condition)
        else:
            return None
    if not pairs:
        return None
    return Ties(pairs, ir.Query(query.sources, ir.and_all(rest)))


def _tie(condition: ir.Expr, own: set[int]) -> tuple[ir.Col, ir.Col | ir.Arg] | None:
    """`own column = outer value` (either way round) as (the column, the value), else None."""
    if not (isinstance(condition, ir.Compare) and condition.op == "="):
        return None
    for inner, outer in ((condition.left, condition.right), (condition.right, condition.left)):
        outside = isinstance(outer, ir.Arg) or (
            isinstance(outer, ir.Col) and outer.binding.uid not in own
        )
        if isinstance(inner, ir.Col) and inner.binding.uid in own and outside:
            return inner, outer  # type: ignore[return-value]
    return None


def _reads_own_row_only(condition: ir.Expr | None, own: set[int]) -> bool:
    """Whether `condition` reads only the columns of `own` bindings and constants."""
    read = _rows_read(condition)
    return read is not None and read <= own


def _is_null(value: exp.Expression) -> exp.Expression:
    return exp.Is(this=value.copy(), expression=exp.null())


def _exists_branches(query: ir.Query) -> list[ir.Query]:
    """`exists(… where a and (b or c))` as `exists(… where a and b) or exists(… where a and c)`.

    The two mean the same (a row meets a and (b or c) exactly when it meets a
    and b or a and c). But an equality with the outer row inside an `or`
    cannot become a join key, so the warehouse compares every pair of rows
    that the other keys let through: FIN04's `d.contract_id = p.contract_id
    or (…)` paired every large payment with every decision of its township
    (6.1 s at 100 times the demo data; 0.17 s split). So the first `or` with
    such an equality in one of its branches is split, one level. An `or` of
    other conditions (HOU03's `moved_out_on is null or moved_out_on > …`)
    is kept: splitting it would only read the table twice. So is an `or` of
    more than MAX_EXISTS_BRANCHES conditions: each branch repeats the whole
    subquery, and forty of them took seconds to compile for every dialect.
    """
    own = {src.binding.uid for src in query.sources}
    conjuncts = ir.conjuncts(query.where)

    def joins_outer_row(condition: ir.Expr) -> bool:
        """Whether one of its conjuncts is `column = column`, one inside, one outside."""
        return any(
            isinstance(c, ir.Compare)
            and c.op == "="
            and isinstance(c.left, ir.Col)
            and isinstance(c.right, ir.Col)
            and (c.left.binding.uid in own) != (c.right.binding.uid in own)
            for c in ir.conjuncts(condition)
        )

    for i, conjunct in enumerate(conjuncts):
        if (
            isinstance(conjunct, ir.Logic)
            and conjunct.op == "or"
            and len(conjunct.items) <= MAX_EXISTS_BRANCHES
        ):
            if any(joins_outer_row(item) for item in conjunct.items):
                rest = conjuncts[:i] + conjuncts[i + 1 :]
                return [
                    ir.Query(query.sources, ir.and_all([*rest, item])) for item in conjunct.items
                ]
    return [query]
