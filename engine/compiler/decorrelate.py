"""Which correlated subqueries can be read as one grouped join: a plan made on the checked tree.

`let paid = (from fin_payment f where f.contract_id = c.contract_id select sum(f.amount))`
asks the warehouse for one sum per contract. Written as a correlated subquery, some
warehouses run it once per contract (ENG06 took 14.7 times the hand-written query at 100
times the demo data), and Spark turns one with a comparison beside the equality into a
nested-loop join (FUN04: 260 s at 1x). The same value is read from one grouped derived
table, joined to the model's rows:

    LEFT JOIN (SELECT f.contract_id AS key_1, COALESCE(SUM(f.amount), 0) AS agg
               FROM fin_payment f WHERE <as-of> GROUP BY f.contract_id) g
      ON g.key_1 = c.contract_id

`decorrelation` says whether a subquery can be read so, and how; the expression compiler
(engine/compiler/expressions.py, `_joined_scalar`) builds the SQL. Two forms:

- keys: every condition that reads the outer row is `inner = outer`. The inner rows are
  grouped by their side of each equality and joined with `=`: a null outer value matches
  no group, as it matches no row in the subquery, and reads the empty set's value.
- domain: some condition compares with the outer row otherwise (HOU01's `p.registered_on
  < h.applied_on`), or the outer query keeps only some rows of the source the values are
  of (FUN04's assistance of two kinds: grouping every person's firms would read them all,
  where the warehouse's own plan reads those of the persons assisted). The distinct values
  of the outer columns read (of the one source they are all of, of its rows that meet
  the outer query's conditions on it alone) are joined to the inner rows on all those
  conditions, grouped by them, and joined back with null-safe equality
  (functions.NULL_SAFE_EQUAL): the distinct values include nulls, and a condition such
  as `not (v.deregistered_on < a.start_on)` holds for every vehicle where start_on is
  null, so such a row has a group of its own.

A subquery is kept as written where the joined form is not provably the same: its select
reads anything but its own aggregates (count, sum, min, max, avg) of its own rows, an
aggregate or a join condition reads the outer row, a condition with the outer row holds a
subquery or a call, or (domain) the outer values are not plain columns of one source whose
row is always there (not left joined).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from dsl import ir
from dsl.node import dump, rewrite, walk

# The aggregates whose value over a group is what the subquery gives for that group's rows.
# (first() reads an order and quantiles rank rows: they stay correlated.)
JOINABLE_AGGREGATES = frozenset({"count", "sum", "min", "max", "avg"})


@dataclass(frozen=True)
class Decorrelated:
    """How one scalar subquery is read from a grouped derived table joined to the outer rows.

    Its own sources are renamed (`canonical`), so that two subqueries written alike
    (ENG06's `paid` and `payments`) have equal plans and `signature`s and share one
    derived table. `query` is the derived table's rows: its sources and the conditions
    that read only them. `keys`: each equality with the outer row, its inner side then
    its outer side (the keys form). `domain`, `domain_columns`, `outer_conditions`: the
    outer source, its columns read, and every condition that reads them (the domain
    form). `aggregates`: each aggregate as written in the select, and renamed. A
    subquery linked by equalities alone to columns of one source has both forms,
    and the compiler chooses (`expressions._joined_scalar`).
    """

    query: ir.Query
    keys: tuple[tuple[ir.Expr, ir.Expr], ...]  # empty: the domain form only
    domain: ir.Binding | None  # None: the keys form only
    domain_columns: tuple[str, ...]
    domain_values: tuple[ir.Col, ...]  # each of domain_columns as the subquery reads it
    outer_conditions: tuple[ir.Expr, ...]
    aggregates: tuple[tuple[ir.Agg, ir.Agg], ...]
    signature: str


def decorrelation(scalar: ir.Scalar, left_joined: set[int] | frozenset[int]) -> Decorrelated | None:
    """The plan that reads `scalar` as a grouped join, or None where it stays correlated.

    `left_joined`: the bindings of left-joined sources, whose columns may be null on a
    row with no such source row (a domain of that source's values would miss them).
    """
    inside = {src.binding.uid for q in walk(scalar) if isinstance(q, ir.Query) for src in q.sources}
    own = {src.binding.uid for src in scalar.query.sources}

    def outer_reads(node: Any) -> list[Any]:
        return [
            n
            for n in walk(node)
            if (isinstance(n, ir.Col) and n.binding.uid not in inside)
            or isinstance(n, ir.LetRef | ir.Arg)
        ]

    def reads_own(node: Any) -> bool:
        return any(isinstance(n, ir.Col) and n.binding.uid in own for n in walk(node))

    aggregates = list(dict.fromkeys(_own_aggregates(scalar.select)))
    if (
        not aggregates
        or any(a.name not in JOINABLE_AGGREGATES for a in aggregates)
        or outer_reads(scalar.select)
        or _reads_outside_aggregates(scalar.select)
        or any(isinstance(n, _OPAQUE_IN_SELECT) for n in walk(scalar.select))
        or any(src.on is not None and outer_reads(src.on) for src in scalar.query.sources)
    ):
        return None
    inner: list[ir.Expr] = []
    keys: list[tuple[ir.Expr, ir.Expr]] = []
    other: list[ir.Expr] = []
    correlated: list[ir.Expr] = []  # every condition that reads the outer row, as written
    for condition in ir.conjuncts(scalar.query.where):
        if not outer_reads(condition):
            inner.append(condition)
            continue
        if any(isinstance(n, _OPAQUE) for n in walk(condition)):
            return None  # a subquery or call with the outer row: nested correlation
        correlated.append(condition)
        if isinstance(condition, ir.Compare) and condition.op == "=":
            sides = (condition.left, condition.right)
            for mine, theirs in (sides, sides[::-1]):
                if reads_own(mine) and not outer_reads(mine) and not _reads(theirs, inside):
                    keys.append((mine, theirs))
                    break
            else:
                other.append(condition)
        else:
            other.append(condition)
    if not keys and not other:
        return None  # not correlated: the warehouse computes it once
    canonical = _canonical(scalar.query.sources)
    domain: ir.Binding | None = None
    columns: tuple[str, ...] = ()
    values: tuple[ir.Col, ...] = ()
    outer_conditions: tuple[ir.Expr, ...] = ()
    reads = outer_reads(correlated)
    bindings = {n.binding for n in reads if isinstance(n, ir.Col)}
    if len(bindings) == 1 and len(reads) == sum(isinstance(n, ir.Col) for n in reads):
        (domain,) = bindings
        if domain.uid in left_joined:
            domain = None
    if domain is not None:
        written = {n.column: n for n in reads}
        columns = tuple(sorted(written))
        values = tuple(written[c] for c in columns)
        outer_conditions = tuple(canonical(correlated))
    elif other:
        return None
    if other:
        keys = []
    plan_query = ir.Query(canonical(scalar.query.sources), ir.and_all(canonical(inner)))
    plan_keys = tuple((canonical(mine), theirs) for mine, theirs in keys)
    signature = json.dumps(
        dump((plan_query, plan_keys, domain, columns, outer_conditions), spans=False),
        sort_keys=True,
        default=str,
    )
    return Decorrelated(
        query=plan_query,
        keys=plan_keys,
        domain=domain,
        domain_columns=columns,
        domain_values=values,
        outer_conditions=outer_conditions,
        aggregates=tuple((a, canonical(a)) for a in aggregates),
        signature=signature,
    )


def aggregate_key(agg: ir.Agg) -> str:
    """What tells a renamed aggregate from another (not where it is written)."""
    return json.dumps(dump(agg, spans=False), sort_keys=True, default=str)


# What a condition reading the outer row, or a select, may not hold: each is compiled in a
# scope of its own (a subquery's, a define's, a lookup's join), which the domain form would
# have to give the outer row's values to.
_OPAQUE = (ir.Exists, ir.Scalar, ir.DefCall, ir.LookupCall, ir.Agg)
_OPAQUE_IN_SELECT = (ir.Exists, ir.Scalar, ir.DefCall, ir.LookupCall)


def _reads(node: Any, uids: set[int]) -> bool:
    return any(isinstance(n, ir.Col) and n.binding.uid in uids for n in walk(node))


def _own_aggregates(expr: Any) -> list[ir.Agg]:
    """The aggregates of a subquery's select at its own level."""
    if isinstance(expr, ir.Agg):
        return [expr]
    if isinstance(expr, ir.Scalar | ir.Exists):
        return []
    return [a for child in ir.children(expr) for a in _own_aggregates(child)]


def _reads_outside_aggregates(expr: Any) -> bool:
    """Whether a select reads a column, let or argument outside its aggregates."""
    if isinstance(expr, ir.Agg):
        return False
    if isinstance(expr, ir.Col | ir.LetRef | ir.Arg):
        return True
    return any(_reads_outside_aggregates(child) for child in ir.children(expr))


def _canonical(sources: tuple[ir.From, ...]) -> Any:
    """A rewriter that names the subquery's own bindings by their place (-1, -2 …)."""
    renamed = {
        src.binding.uid: dataclasses.replace(src.binding, uid=-(i + 1))
        for i, src in enumerate(sources)
    }

    def replace(node: Any) -> Any:
        if isinstance(node, ir.Col) and node.binding.uid in renamed:
            return dataclasses.replace(node, binding=renamed[node.binding.uid])
        if isinstance(node, ir.From) and node.binding.uid in renamed:
            on = None if node.on is None else rewrite(node.on, replace)
            return dataclasses.replace(node, binding=renamed[node.binding.uid], on=on)
        return None

    def canonical(tree: Any) -> Any:
        if isinstance(tree, list):
            return [rewrite(item, replace) for item in tree]
        return rewrite(tree, replace)

    return canonical
