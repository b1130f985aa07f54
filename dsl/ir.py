"""The checked, typed form of a pack: what the checker hands to the compiler.

Every name is resolved (a column knows its binding and type, a call knows
whether it is a built-in or a shared definition) and every expression has a
type. Spans are kept for compile errors but left out of equality, so two
expressions written alike compare equal — the compiler relies on that to
match `group by` expressions. Walking, rewriting and dumping a tree are
dsl/node.py's, as for the syntax tree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from dsl.diagnostics import Span
from dsl.node import ADDED_LATER, Node, walk
from dsl.pack import Pack
from dsl.types import Type

NO_SPAN = Span("", 0, 0, 0, 0)


def _span() -> Any:
    return field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Binding:
    """One use of a source or relation in one query; `uid` tells uses apart."""

    uid: int
    alias: str
    source: str
    is_relation: bool


@dataclass(frozen=True)
class Col(Node):
    binding: Binding
    column: str
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Lit(Node):
    value: str | int | Decimal | date | datetime | bool | None
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Param(Node):
    """`$name`. Inside InParam and ValueOf it stands for a list or map: `type` is its items'."""

    name: str
    type: Type
    span: Span = _span()
    nullable: bool = False  # declared nullable: its value may be null ("no threshold")


@dataclass(frozen=True)
class AsOf(Node):
    type: Type = Type.DATE
    span: Span = _span()


@dataclass(frozen=True)
class Arg(Node):
    """An argument of a shared definition, inside that definition's body."""

    name: str
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class LetRef(Node):
    name: str
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Func(Node):
    """A built-in scalar function."""

    name: str
    args: tuple[Expr, ...]
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Agg(Node):
    """An aggregate: count, sum, min, max, avg, first."""

    name: str
    args: tuple[Expr, ...]
    type: Type
    distinct: bool = False
    star: bool = False
    order_by: tuple[tuple[Expr, bool], ...] = ()  # (expression, descending)
    filter: Expr | None = None  # only rows for which this holds are aggregated
    span: Span = _span()


@dataclass(frozen=True)
class DefCall(Node):
    """A call of a shared definition (`define`)."""

    name: str
    args: tuple[Expr, ...]
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class LookupCall(Node):
    """A call of a keyed lookup (`lookup`): one value of a reference source, by its key."""

    name: str
    args: tuple[Expr, ...]
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Arith(Node):
    """+ - * / on numbers; + and - also add days to a date."""

    op: str
    left: Expr
    right: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Neg(Node):
    operand: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Compare(Node):
    op: str  # = != < <= > >=
    left: Expr
    right: Expr
    type: Type = Type.BOOL
    span: Span = _span()


@dataclass(frozen=True)
class Logic(Node):
    op: str  # and | or
    items: tuple[Expr, ...]
    type: Type = Type.BOOL
    span: Span = _span()


@dataclass(frozen=True)
class Not(Node):
    operand: Expr
    type: Type = Type.BOOL
    span: Span = _span()


@dataclass(frozen=True)
class IsNull(Node):
    operand: Expr
    negated: bool
    type: Type = Type.BOOL
    span: Span = _span()


@dataclass(frozen=True)
class In(Node):
    operand: Expr
    items: tuple[Expr, ...]
    negated: bool
    type: Type = Type.BOOL
    span: Span = _span()


@dataclass(frozen=True)
class InParam(Node):
    """`x in $list` / `x not in $list`: as `in (…)` with the list parameter's items in effect."""

    operand: Expr
    param: Param
    negated: bool
    type: Type = Type.BOOL
    span: Span = _span()


@dataclass(frozen=True)
class ValueOf(Node):
    """`value_of($map, key, default)`: the map parameter's value for `key`, else `default`.

    A null key, or a key the map does not hold, gives `default`.
    """

    param: Param
    key: Expr
    default: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Between(Node):
    operand: Expr
    low: Expr
    high: Expr
    type: Type = Type.BOOL
    span: Span = _span()


@dataclass(frozen=True)
class From(Node):
    """A binding in a query: the first one, or a join with its condition."""

    binding: Binding
    join: str | None  # None for the first, else "inner" or "left"
    on: Expr | None


@dataclass(frozen=True)
class Query(Node):
    sources: tuple[From, ...]
    where: Expr | None


@dataclass(frozen=True)
class Exists(Node):
    query: Query
    type: Type = Type.BOOL
    span: Span = _span()


@dataclass(frozen=True)
class Scalar(Node):
    """A subquery that gives one value: `(from … where … select aggregate)`."""

    query: Query
    select: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Case(Node):
    """`case when c then v … else w end`: the value of the first condition that holds.

    A condition that is null does not hold (the contract's two-valued logic);
    `otherwise` None means null when none holds.
    """

    branches: tuple[tuple[Expr, Expr], ...]
    otherwise: Expr | None
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class RowFound(Node):
    """`exists(m)`: whether the model's row has a bound row `m` (see BoundRow)."""

    binding: Binding
    type: Type = Type.BOOL
    span: Span = _span()


@dataclass(frozen=True)
class BoundRow(Node):
    """`let m = first(from … where … order by … select …)`: one row of a query per model row.

    `m.name` is a `Col` of `binding`, whose value is `columns[name]` on the
    first row of `query` in `order_by` among the rows whose `links` hold: each
    pair is (a value of the query's rows, a value of the model's row) that must
    be equal — the only way the query reads the model's row, so that it can be
    computed once for all of them. No row: every `m.name` is null.
    """

    name: str
    binding: Binding
    query: Query
    links: tuple[tuple[Expr, Expr], ...]
    order_by: tuple[tuple[Expr, bool], ...]  # (expression, descending)
    columns: tuple[tuple[str, Expr], ...]
    span: Span = _span()


Expr = (
    Col
    | Lit
    | Param
    | AsOf
    | Arg
    | LetRef
    | Func
    | Agg
    | DefCall
    | LookupCall
    | Arith
    | Neg
    | Compare
    | Logic
    | Not
    | IsNull
    | In
    | InParam
    | ValueOf
    | Between
    | Exists
    | Scalar
    | Case
    | RowFound
)


@dataclass(frozen=True)
class Hole(Node):
    """A `{…}` in a message: an expression and the formatter that writes it (or None).

    `default` is the text written when the value is null: the hole's own
    (`{x ?? '未填'}`), else the model's (`missing "不详"`), else the pack's
    (`messages: {missing: …}`); None if none says, and a null then reads 空.
    `formatter_args` are the formatter's literal arguments after the value
    (the 1 of `{pct(x, 1)}`).
    """

    expr: Expr
    formatter: str | None
    text: str = ""
    default: str | None = None
    span: Span = _span()
    formatter_args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class KeyHole(Node):
    """`{key}` in a message: the warning's key, written as the ledger writes it (`a|b`).

    Not a value of the model's query: the key is written from its parts when
    the rows become warnings (engine/runs/warnings.py), so the message shows
    exactly what `expect "…"` and a disposal record name.
    """

    text: str = "key"
    span: Span = _span()


@dataclass(frozen=True)
class Expectation(Node):
    key: str
    township: str | None
    message: str | None
    changed: bool = False  # a pre-check example: the warning exists and its message changes
    span: Span = _span()


Rows = tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]  # (source, ((column, value), …)), …


@dataclass(frozen=True)
class Example(Node):
    """An example, checked; one with `pending` rows is run as a pre-check.

    The pending rows all name one source. `rows` are then what is stored, and
    `expect` lists the warnings the pending rows would add or change.
    """

    title: str
    as_of: date
    rows: Rows
    params: tuple[tuple[str, Any], ...]
    expect: tuple[Expectation, ...]
    pending: Rows = ()
    span: Span = _span()

    @property
    def pending_source(self) -> str | None:
        """The source of the pending rows, None for an example that is not a pre-check."""
        return self.pending[0][0] if self.pending else None


@dataclass(frozen=True)
class Model(Node):
    id: str
    title: str
    domain: str
    severity: str
    status: str
    query: Query
    lets: tuple[tuple[str, Expr], ...]
    group_by: tuple[Expr, ...] | None
    having: Expr | None
    key: tuple[Expr, ...]
    township: Expr | None  # None in a pack without townships (`townships: none`)
    message: tuple[str | Hole | KeyHole, ...]
    examples: tuple[Example, ...]
    note: str | None
    sources: frozenset[str]
    parameters: frozenset[str]
    revision: str
    file: str
    # Whether the operation wing's pre-check runs it (`precheck no`: a check that only
    # time passing can trip, which means nothing while a record is being approved).
    precheck: bool = True
    span: Span = _span()
    # The rows its lets bind (`let m = first(from …)`), in the order written.
    bound: tuple[BoundRow, ...] = ()
    # What a township should fix or put in place (`advice "…"`, 整改建议) and the law or
    # regulation the model rests on (`basis "…"`): for people and the recommendation
    # drafts, never for the SQL, so neither is part of the model's revision.
    advice: str | None = field(default=None, metadata=ADDED_LATER)
    basis: str | None = field(default=None, metadata=ADDED_LATER)
    # The money a warning involves (`amount EXPR`, 涉及金额, in 元), read in the model's row
    # scope as a message hole is: one more column of its query, written into each warning's
    # evidence as "@amount" (engine/runs/warnings.py). None when the model has none.
    amount: Expr | None = field(default=None, metadata=ADDED_LATER)


@dataclass(frozen=True)
class Define(Node):
    name: str
    title: str | None
    params: tuple[tuple[str, Type], ...]
    body: Expr
    type: Type
    sources: frozenset[str]
    revision: str = ""
    span: Span = _span()


@dataclass(frozen=True)
class Lookup(Node):
    """A keyed lookup, checked: one column of a source, found by the source's key.

    `column` of the `source` row whose `by` columns equal the arguments (in
    order), else `default` (an expression over the parameters; None: null).
    `by` holds the source's whole key, so at most one row matches: the compiler reads it
    with one left join per model, however many times the model calls the lookup.
    """

    name: str
    title: str | None
    params: tuple[tuple[str, Type], ...]
    source: str
    column: str
    by: tuple[str, ...]
    default: Expr | None
    type: Type
    sources: frozenset[str]
    revision: str = ""
    span: Span = _span()


@dataclass(frozen=True)
class Branch(Node):
    """One part of a relation: its rows, and the named values it selects from them.

    `distinct` keeps one of rows alike; `group_by` (None: no grouping) makes one
    row per group, its `items` then over group values and aggregates, and
    `having` keeps the groups for which it holds.
    """

    query: Query
    items: tuple[tuple[str, Expr], ...]
    distinct: bool = False
    group_by: tuple[Expr, ...] | None = None
    having: Expr | None = None


@dataclass(frozen=True)
class Relation(Node):
    name: str
    title: str | None
    columns: tuple[tuple[str, Type], ...]
    branches: tuple[Branch, ...]
    sources: frozenset[str]
    revision: str = ""
    span: Span = _span()


@dataclass(frozen=True)
class Indicator(Node):
    name: str
    title: str
    expr: Expr
    cases: tuple[tuple[Expr, Expr], ...]  # (condition, value): the declared empty cases
    percent: bool = False  # a ratio, shown as a percentage
    span: Span = _span()


@dataclass(frozen=True)
class PartItem(Node):
    indicator: str
    points: Decimal
    higher_is_better: bool


@dataclass(frozen=True)
class Part(Node):
    id: str
    title: str
    items: tuple[PartItem, ...]

    @property
    def points(self) -> Decimal:
        return sum((i.points for i in self.items), Decimal(0))


@dataclass(frozen=True)
class Band(Node):
    colour: str  # red | yellow | green
    title: str
    condition: Expr | None  # over `rank` and `townships`; None: every township left


@dataclass(frozen=True)
class Index(Node):
    """The integrity index, checked: what the compiler turns into one scoring query.

    `measures` are aggregates over the period's warnings of a township (the
    binding `warnings`), with `staff` its staff count; `indicators` combine
    them; `parts` give points; `bands` colour the ranking from the bottom.
    """

    name: str
    title: str
    warnings: Binding
    measures: tuple[tuple[str, Expr], ...]
    indicators: tuple[Indicator, ...]
    parts: tuple[Part, ...]
    scale: str
    rounding: int
    ties: str  # shared (1, 2, 2, 4) | dense (1, 2, 2, 3)
    bands: tuple[Band, ...]
    consequences: dict[str, str]
    revision: str
    file: str
    span: Span = _span()


@dataclass(frozen=True)
class CheckedPack(Node):
    """A pack whose every rule file parsed and checked without errors."""

    pack: Pack
    models: dict[str, Model]
    defines: dict[str, Define]
    relations: dict[str, Relation]
    index: Index | None = None
    lookups: dict[str, Lookup] = field(default_factory=dict)


def children(node: Any) -> list[Any]:
    """The direct sub-expressions of an IR node (a subquery's conditions and select too)."""
    out: list[Any] = []

    def collect(item: Any) -> None:
        if isinstance(item, Query):
            out.extend(src.on for src in item.sources if src.on is not None)
            if item.where is not None:
                out.append(item.where)
        elif isinstance(item, tuple):
            for element in item:
                collect(element)
        elif is_dataclass(item) and not isinstance(item, Binding | From | Type):
            out.append(item)

    for f in fields(node):
        if f.name not in ("span", "type", "binding"):
            collect(getattr(node, f.name))
    return out


@dataclass(frozen=True)
class Extent:
    """How large an expression is once the compiler has written out what it names.

    The compiler writes a shared definition's body (with its arguments in
    place) wherever it is called, and a `let` may be written where it is read;
    a call of a small definition can so stand for a deep or huge query. The
    checker measures this before anything compiles (dsl/limits.py).
    """

    depth: int = 0  # levels of the written-out expression
    size: int = 0  # its nodes
    subqueries: int = 0  # exists / scalar subqueries inside one another
    uses: int = 0  # how often a definition's arguments appear in it, written out


def extent(root: Any, named: Callable[[Any], Extent | None]) -> Extent:
    """The Extent of `root`; `named(node)` gives what a DefCall, LookupCall or LetRef stands for.

    For an Exists or Scalar, `named` may give the extent of the relations it
    reads. Post-order over an explicit stack, so any tree is measured safely.
    """
    done: dict[int, Extent] = {}
    pending: list[tuple[Any, bool]] = [(root, False)]
    while pending:
        node, ready = pending.pop()
        if not ready:
            pending.append((node, True))
            pending.extend((child, False) for child in children(node))
            continue
        kids = [done[id(child)] for child in children(node)]
        nested = isinstance(node, Exists | Scalar | BoundRow)
        depth = 1 + max((k.depth for k in kids), default=0)
        size = 1 + sum(k.size for k in kids)
        subqueries = nested + max((k.subqueries for k in kids), default=0)
        uses = isinstance(node, Arg) + sum(k.uses for k in kids)
        written = named(node)
        if written is not None and isinstance(node, DefCall | LookupCall):
            # The body, each argument copied wherever the body uses its parameter.
            depth = 1 + written.depth + max((k.depth for k in kids), default=0)
            size = 1 + written.size + written.uses * max((k.size for k in kids), default=0)
            subqueries = written.subqueries + max((k.subqueries for k in kids), default=0)
            uses = written.uses * max((k.uses for k in kids), default=0)
        elif written is not None:
            depth = max(depth, 1 + written.depth)
            size += written.size
            subqueries = max(subqueries, nested + written.subqueries)
        done[id(node)] = Extent(depth, size, subqueries, uses)
    return done[id(root)]


def has_aggregate(expr: Any) -> bool:
    """Whether `expr` aggregates at its own level (aggregates inside subqueries don't count)."""
    return own_aggregate(expr) is not None


def own_aggregate(expr: Any) -> Agg | None:
    """The first aggregate of `expr`'s own level (not inside a subquery), or None."""
    if isinstance(expr, Agg):
        return expr
    if isinstance(expr, Scalar | Exists):
        return None
    return next((a for a in map(own_aggregate, children(expr)) if a is not None), None)


def conjuncts(expr: Expr | None) -> list[Expr]:
    """The conditions an `and` joins, each on its own (none for no condition)."""
    if expr is None:
        return []
    if isinstance(expr, Logic) and expr.op == "and":
        return [c for item in expr.items for c in conjuncts(item)]
    return [expr]


def and_all(items: list[Expr]) -> Expr | None:
    """`items` joined by `and`: None for none, the one itself for one."""
    if not items:
        return None
    return items[0] if len(items) == 1 else Logic("and", tuple(items))


def aggregate_lets(lets: tuple[tuple[str, Any], ...] | list[tuple[str, Any]]) -> set[str]:
    """The lets that aggregate, directly or through a let that does (lets in order)."""
    found: set[str] = set()
    for name, expr in lets:
        if has_aggregate(expr) or any(
            isinstance(n, LetRef) and n.name in found for n in walk(expr)
        ):
            found.add(name)
    return found


QUANTILES = frozenset({"quantile", "median"})
_MEDIAN = Lit(Decimal("0.5"), Type.DECIMAL)


def quantile_fraction(agg: Agg) -> Expr:
    """The p of quantile(x, p): a number, a parameter or a negated number; median's is 0.5."""
    return _MEDIAN if agg.name == "median" else agg.args[1]


def number_written(expr: Expr) -> Decimal | None:
    """The value of a number written out (`0.75`, `-0.5`, `1`), or None for anything else."""
    if isinstance(expr, Neg):
        inner = number_written(expr.operand)
        return None if inner is None else -inner
    if isinstance(expr, Lit) and expr.type in (Type.INT, Type.DECIMAL, Type.FLOAT):
        return Decimal(str(expr.value))
    return None
