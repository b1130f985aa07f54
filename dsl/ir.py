"""The checked, typed form of a pack: what the checker hands to the compiler.

Every name is resolved (a column knows its binding and type, a call knows
whether it is a built-in or a shared definition) and every expression has a
type. Spans are kept for compile errors but left out of equality, so two
expressions written alike compare equal — the compiler relies on that to
match `group by` expressions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from dsl.diagnostics import Span
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
class Col:
    binding: Binding
    column: str
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Lit:
    value: str | int | Decimal | date | datetime | bool | None
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Param:
    name: str
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class AsOf:
    type: Type = Type.DATE
    span: Span = _span()


@dataclass(frozen=True)
class Arg:
    """An argument of a shared definition, inside that definition's body."""

    name: str
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class LetRef:
    name: str
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Func:
    """A built-in scalar function."""

    name: str
    args: tuple[Expr, ...]
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Agg:
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
class DefCall:
    """A call of a shared definition (`define`)."""

    name: str
    args: tuple[Expr, ...]
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class LookupCall:
    """A call of a keyed lookup (`lookup`): one value of a reference source, by its key."""

    name: str
    args: tuple[Expr, ...]
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Arith:
    """+ - * / on numbers; + and - also add days to a date."""

    op: str
    left: Expr
    right: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Neg:
    operand: Expr
    type: Type
    span: Span = _span()


@dataclass(frozen=True)
class Compare:
    op: str  # = != < <= > >=
    left: Expr
    right: Expr
    type: Type = Type.BOOL
    span: Span = _span()


@dataclass(frozen=True)
class Logic:
    op: str  # and | or
    items: tuple[Expr, ...]
    type: Type = Type.BOOL
    span: Span = _span()


@dataclass(frozen=True)
class Not:
    operand: Expr
    type: Type = Type.BOOL
    span: Span = _span()


@dataclass(frozen=True)
class IsNull:
    operand: Expr
    negated: bool
    type: Type = Type.BOOL
    span: Span = _span()


@dataclass(frozen=True)
class In:
    operand: Expr
    items: tuple[Expr, ...]
    negated: bool
    type: Type = Type.BOOL
    span: Span = _span()


@dataclass(frozen=True)
class Between:
    operand: Expr
    low: Expr
    high: Expr
    type: Type = Type.BOOL
    span: Span = _span()


@dataclass(frozen=True)
class From:
    """A binding in a query: the first one, or a join with its condition."""

    binding: Binding
    join: str | None  # None for the first, else "inner" or "left"
    on: Expr | None


@dataclass(frozen=True)
class Query:
    sources: tuple[From, ...]
    where: Expr | None


@dataclass(frozen=True)
class Exists:
    query: Query
    type: Type = Type.BOOL
    span: Span = _span()


@dataclass(frozen=True)
class Scalar:
    """A subquery that gives one value: `(from … where … select aggregate)`."""

    query: Query
    select: Expr
    type: Type
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
    | Between
    | Exists
    | Scalar
)


@dataclass(frozen=True)
class Hole:
    """A `{…}` in a message: an expression and the formatter that writes it (or None).

    `default` is the text written when the value is null (`{x ?? '未填'}`), None if none.
    """

    expr: Expr
    formatter: str | None
    text: str = ""
    default: str | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Expectation:
    key: str
    township: str | None
    message: str | None
    changed: bool = False  # a pre-check example: the warning exists and its message changes
    span: Span = _span()


Rows = tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]  # (source, ((column, value), …)), …


@dataclass(frozen=True)
class Example:
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
class Model:
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
    township: Expr
    message: tuple[str | Hole, ...]
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


@dataclass(frozen=True)
class Define:
    name: str
    title: str | None
    params: tuple[tuple[str, Type], ...]
    body: Expr
    type: Type
    sources: frozenset[str]
    revision: str = ""
    span: Span = _span()


@dataclass(frozen=True)
class Lookup:
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
class Relation:
    name: str
    title: str | None
    columns: tuple[tuple[str, Type], ...]
    branches: tuple[tuple[Query, tuple[tuple[str, Expr], ...]], ...]
    sources: frozenset[str]
    revision: str = ""
    span: Span = _span()


@dataclass(frozen=True)
class Indicator:
    name: str
    title: str
    expr: Expr
    cases: tuple[tuple[Expr, Expr], ...]  # (condition, value): the declared empty cases
    percent: bool = False  # a ratio, shown as a percentage
    span: Span = _span()


@dataclass(frozen=True)
class PartItem:
    indicator: str
    points: Decimal
    higher_is_better: bool


@dataclass(frozen=True)
class Part:
    id: str
    title: str
    items: tuple[PartItem, ...]

    @property
    def points(self) -> Decimal:
        return sum((i.points for i in self.items), Decimal(0))


@dataclass(frozen=True)
class Band:
    colour: str  # red | yellow | green
    title: str
    condition: Expr | None  # over `rank` and `townships`; None: every township left


@dataclass(frozen=True)
class Index:
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
class CheckedPack:
    """A pack whose every rule file parsed and checked without errors."""

    pack: Pack
    models: dict[str, Model]
    defines: dict[str, Define]
    relations: dict[str, Relation]
    index: Index | None = None
    lookups: dict[str, Lookup] = field(default_factory=dict)


def walk(node: Any):
    """Every IR expression node under `node` (itself included), depth first."""
    if isinstance(node, tuple | list):
        for item in node:
            yield from walk(item)
    elif is_dataclass(node) and not isinstance(node, type):
        if not isinstance(node, Binding):
            yield node
        for name in _walked_fields(type(node)):
            yield from walk(getattr(node, name))


@cache
def _walked_fields(cls: type) -> tuple[str, ...]:
    """The fields `walk` descends into (the compiler walks the IR often; fields() is slow)."""
    return tuple(f.name for f in fields(cls) if f.name not in ("span", "type"))


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
        nested = isinstance(node, Exists | Scalar)
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


def rewrite(node: Any, replace: Callable[[Any], Any | None]) -> Any:
    """`node` with every sub-expression for which `replace` gives a value replaced by it.

    `replace` sees each node before its children; where it returns None the
    node is kept and its children are rewritten. Nodes that do not change
    are returned as they are.
    """
    replaced = replace(node)
    if replaced is not None:
        return replaced
    if isinstance(node, tuple):
        items = tuple(rewrite(item, replace) for item in node)
        return node if all(a is b for a, b in zip(items, node, strict=True)) else items
    if not is_dataclass(node) or isinstance(node, type | Binding | Span):
        return node
    changes = {}
    for f in fields(node):
        if f.name in ("span", "type", "binding"):
            continue
        value = getattr(node, f.name)
        new = rewrite(value, replace)
        if new is not value:
            changes[f.name] = new
    return dataclasses.replace(node, **changes) if changes else node


def has_aggregate(expr: Any) -> bool:
    """Whether `expr` aggregates at its own level (aggregates inside subqueries don't count)."""
    if isinstance(expr, Agg):
        return True
    if isinstance(expr, Scalar | Exists):
        return False
    return any(has_aggregate(child) for child in children(expr))


def aggregate_lets(lets: tuple[tuple[str, Any], ...] | list[tuple[str, Any]]) -> set[str]:
    """The lets that aggregate, directly or through a let that does (lets in order)."""
    found: set[str] = set()
    for name, expr in lets:
        if has_aggregate(expr) or any(
            isinstance(n, LetRef) and n.name in found for n in walk(expr)
        ):
            found.add(name)
    return found


def to_json(node: Any) -> Any:
    """Plain JSON-able data for any IR node, for `oversight explain --ir` and debugging."""
    if is_dataclass(node) and not isinstance(node, type):
        data: dict[str, Any] = {"node": type(node).__name__}
        for f in fields(node):
            if f.name == "span" or isinstance(getattr(node, f.name), Pack):
                continue
            data[f.name] = to_json(getattr(node, f.name))
        return data
    if isinstance(node, Type):
        return node.value
    if isinstance(node, tuple | list | frozenset):
        return [to_json(item) for item in (sorted(node) if isinstance(node, frozenset) else node)]
    if isinstance(node, dict):
        return {str(k): to_json(v) for k, v in node.items()}
    if isinstance(node, date | datetime | Decimal):
        return str(node)
    return node
