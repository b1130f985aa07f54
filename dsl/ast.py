"""The syntax tree of a rule file: frozen dataclasses, each with the span it came from.

The parser produces these and nothing else reads Lark trees. The tree says
what was written, not what it means: names are unresolved and unchecked.
Walking, rewriting and dumping a tree are dsl/node.py's, as for the IR.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from dsl.diagnostics import Span
from dsl.node import ADDED_LATER, AS_WRITTEN, Node

# ---- expressions ---------------------------------------------------------------


@dataclass(frozen=True)
class Literal(Node):
    """A constant as written: kind is string, int, decimal, date, timestamp, bool or null."""

    span: Span
    kind: str
    value: str | int | Decimal | date | datetime | bool | None


@dataclass(frozen=True)
class Name(Node):
    """A bare name: a `let`, or an argument inside a `define`."""

    span: Span
    name: str


@dataclass(frozen=True)
class ColumnRef(Node):
    """`alias.column`."""

    span: Span
    alias: str
    column: str
    column_span: Span


@dataclass(frozen=True)
class ParamRef(Node):
    """`$name`, a parameter declared in pack.yaml."""

    span: Span
    name: str


@dataclass(frozen=True)
class AsOf(Node):
    """`as_of`, the day a run is evaluated for."""

    span: Span


@dataclass(frozen=True)
class OrderItem(Node):
    span: Span
    expr: Expr
    descending: bool


@dataclass(frozen=True)
class Call(Node):
    """A function, aggregate or shared definition applied to arguments."""

    span: Span
    name: str
    name_span: Span
    args: tuple[Expr, ...]
    star: bool = False
    distinct: bool = False
    order_by: tuple[OrderItem, ...] = ()
    filter: Expr | None = None  # count(* where …): only the rows for which it holds


@dataclass(frozen=True)
class Unary(Node):
    """`not x` or `-x`."""

    span: Span
    op: str
    operand: Expr


@dataclass(frozen=True)
class Binary(Node):
    """Arithmetic (+ - * /), comparison (= != < <= > >=) or logic (and, or)."""

    span: Span
    op: str
    left: Expr
    right: Expr
    op_span: Span


@dataclass(frozen=True)
class IsNull(Node):
    span: Span
    operand: Expr
    negated: bool


@dataclass(frozen=True)
class InList(Node):
    span: Span
    operand: Expr
    items: tuple[Expr, ...]
    negated: bool


@dataclass(frozen=True)
class InParam(Node):
    """`x in $name` / `x not in $name`: one of the items of a list parameter."""

    span: Span
    operand: Expr
    param: ParamRef
    negated: bool


@dataclass(frozen=True)
class Between(Node):
    span: Span
    operand: Expr
    low: Expr
    high: Expr


@dataclass(frozen=True)
class SourceRef(Node):
    """A source (or shared relation) with the alias it goes by in this query."""

    span: Span
    source: str
    alias: str
    source_span: Span


@dataclass(frozen=True)
class Join(Node):
    span: Span
    left: bool
    source: SourceRef
    on: Expr


@dataclass(frozen=True)
class Query(Node):
    """`source alias join … where …`: the rows a model or a subquery ranges over."""

    span: Span
    source: SourceRef
    joins: tuple[Join, ...]
    where: Expr | None


@dataclass(frozen=True)
class Exists(Node):
    span: Span
    query: Query


@dataclass(frozen=True)
class Subquery(Node):
    """`(from … where … select aggregate)`: one value computed over other rows."""

    span: Span
    query: Query
    select: Expr


@dataclass(frozen=True)
class Case(Node):
    """`case when c then v … [else w] end`: the value of the first `when` that holds.

    `operand` is what SQL's simple form puts after `case` (`case p.status when …`);
    the language has only the searched form, and the checker says how to write it.
    """

    span: Span
    branches: tuple[tuple[Expr, Expr], ...]
    otherwise: Expr | None
    operand: Expr | None = None


@dataclass(frozen=True)
class FirstRow(Node):
    """`first(from … where … order by … select x as name, …)`: the first row of a query.

    Only a `let`'s whole value (`let m = first(…)`); the model then reads the
    row's values as `m.name` (without `select`, the columns of its `from`
    source) and asks whether there is one with `exists(m)`.
    """

    span: Span
    name: str
    name_span: Span
    query: Query
    order_by: tuple[OrderItem, ...]
    select: tuple[SelectItem, ...]


Expr = (
    Literal
    | Name
    | ColumnRef
    | ParamRef
    | AsOf
    | Call
    | Unary
    | Binary
    | IsNull
    | InList
    | InParam
    | Between
    | Exists
    | Subquery
    | Case
    | FirstRow
)

# ---- message templates ---------------------------------------------------------


@dataclass(frozen=True)
class TemplateText(Node):
    text: str


@dataclass(frozen=True)
class TemplateHole(Node):
    """`{expr}` inside a message; `expr` may be wrapped in a formatter such as wan().

    `default` is the text written when the value is null: `{g.signed_on ?? '无'}`.
    `text` is the expression as written, without the default.
    """

    span: Span
    expr: Expr
    text: str = field(metadata=AS_WRITTEN)
    default: str | None = None


@dataclass(frozen=True)
class Template(Node):
    span: Span
    parts: tuple[TemplateText | TemplateHole, ...]


# ---- model clauses -------------------------------------------------------------


@dataclass(frozen=True)
class Clause(Node):
    """A clause of a model: `kind` names it (domain, from, where, key, …)."""

    span: Span
    kind: str
    value: Any


@dataclass(frozen=True)
class Let(Node):
    span: Span
    name: str
    expr: Expr


@dataclass(frozen=True)
class GivenRow(Node):
    """One row of a source in an example (`given` or `pending`); omitted columns are null."""

    span: Span
    source: str
    source_span: Span
    fields: tuple[tuple[str, Literal, Span], ...]


@dataclass(frozen=True)
class Expectation(Node):
    """`expect "KEY" [changed] [township "…"] [message "…"]`.

    `changed`: in a pre-check example, the warning exists already and the pending
    rows change its message (without it, the pending rows raise it anew).
    """

    span: Span
    key: str
    township: str | None
    message: str | None
    changed: bool = False


@dataclass(frozen=True)
class ListValue(Node):
    """A list parameter's value in an example: `$methods = [邀请招标, 竞争性谈判]`."""

    span: Span
    items: tuple[Literal, ...]


@dataclass(frozen=True)
class MapValue(Node):
    """A map parameter's value in an example: `$days = {公开招标: 20}` (key, its span, value).

    A key written twice is kept, for the checker to report.
    """

    span: Span
    entries: tuple[tuple[str, Span, Literal], ...]


ParamValue = Literal | ListValue | MapValue


@dataclass(frozen=True)
class Example(Node):
    """An inline example: data as of a day and the exact warnings it must raise.

    With `pending` rows it is a pre-check: the `given` rows are what is stored,
    and the warnings expected are those the pending rows would add or change.
    """

    span: Span
    title: str
    as_of: Literal | None
    given: tuple[GivenRow, ...]
    params: tuple[tuple[str, ParamValue, Span], ...]
    expect: tuple[Expectation, ...]
    expect_none: bool
    pending: tuple[GivenRow, ...] = ()


@dataclass(frozen=True)
class Model(Node):
    span: Span
    id: str
    id_span: Span
    title: str | None
    clauses: tuple[Clause, ...]


@dataclass(frozen=True)
class Param(Node):
    span: Span
    name: str
    type_name: str
    type_span: Span


@dataclass(frozen=True)
class Define(Node):
    """A named expression with typed arguments, shared by many models."""

    span: Span
    name: str
    name_span: Span
    title: str | None
    params: tuple[Param, ...]
    body: Expr


@dataclass(frozen=True)
class SelectItem(Node):
    span: Span
    expr: Expr
    name: str


@dataclass(frozen=True)
class Branch(Node):
    """`from … [group by … [having …]] select [distinct] …`: one part of a relation."""

    span: Span
    query: Query
    select: tuple[SelectItem, ...]
    distinct: bool = field(default=False, metadata=ADDED_LATER)
    group_by: tuple[Expr, ...] = field(default=(), metadata=ADDED_LATER)
    having: Expr | None = field(default=None, metadata=ADDED_LATER)


@dataclass(frozen=True)
class Relation(Node):
    """A named set of rows (a union of queries) that models use like a source."""

    span: Span
    name: str
    name_span: Span
    title: str | None
    branches: tuple[Branch, ...]


@dataclass(frozen=True)
class Indicator(Node):
    """`indicator name "中文" = expr when divisor = 0 then value …`."""

    span: Span
    name: str
    title: str
    expr: Expr
    cases: tuple[tuple[Expr, Expr], ...]
    unit: str | None = None  # "percent": a ratio shown as a percentage
    unit_span: Span | None = None


@dataclass(frozen=True)
class PartItem(Node):
    span: Span
    points: Decimal
    indicator: str
    indicator_span: Span
    higher_is_better: bool


@dataclass(frozen=True)
class Part(Node):
    span: Span
    id: str
    title: str
    items: tuple[PartItem, ...]


@dataclass(frozen=True)
class Band(Node):
    """A colour of the map, and when a township's rank gets it (None: the rest)."""

    span: Span
    colour: str
    title: str
    condition: Expr | None


@dataclass(frozen=True)
class Index(Node):
    """The integrity index: measures, indicators, parts and points, ranking and colours."""

    span: Span
    name: str
    name_span: Span
    title: str | None
    clauses: tuple[Clause, ...]


@dataclass(frozen=True)
class Lookup(Node):
    """A keyed lookup of a reference source, called like a function.

    `lookup township_name(code) "乡镇名称" = ref_township.name by township default code`:
    the `column` of the `source` row whose `by` columns equal the arguments, in
    order; where there is none (or its value is null), `default` (null without one).
    """

    span: Span
    name: str
    name_span: Span
    title: str | None
    params: tuple[tuple[str, Span], ...]
    source: str
    source_span: Span
    column: str
    column_span: Span
    by: tuple[tuple[str, Span], ...]
    default: Expr | None


Item = Model | Define | Relation | Index | Lookup


@dataclass(frozen=True)
class RuleFile(Node):
    path: str
    text: str = field(metadata=AS_WRITTEN)
    items: tuple[Item, ...] = field(default=())
