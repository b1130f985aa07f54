"""The integrity index (廉情指数): compile the pack's index to one query, run it, rank and colour.

The index is SQL run in the warehouse, built as sqlglot trees like the
models, in five steps a reader can follow in the compiled query:

    period_warnings  the ledger's warnings first issued in the period, with disposal
    measures         per township with staff: the index's `let`s (aggregates)
    indicators       the index's indicators, with their declared empty cases
    points           each indicator scaled min–max across the townships, times its points
    ranked           parts, the rounded total, rank (shared ties), and the colour bands

The index's own expressions (measures, indicators, bands) are compiled by the
models' expression compiler (engine/compiler/expressions.py), each in the scope of the
step that reads it: over the warnings, over the measures, over the ranks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pyarrow as pa
from sqlglot import exp

from adapters.base import Warehouse
from adapters.names import quote_identifiers, table_named
from dsl import ir
from dsl.diagnostics import DiagnosticError
from dsl.messages import diagnostic
from engine.compiler import functions as fn
from engine.compiler.compile import Target, assert_read_only
from engine.compiler.expressions import CompileScope, ExpressionCompiler

_QUARTERS = {1: (1, 3), 2: (4, 6), 3: (7, 9), 4: (10, 12)}


@dataclass(frozen=True)
class Period:
    """A quarter (2021Q4) or a year (2021): which warnings count and which staffing year."""

    label: str
    start: date
    end: date
    year: int
    quarter: int | None

    @classmethod
    def parse(cls, text: str) -> Period:
        match = re.fullmatch(r"\s*(\d{4})(?:\s*-?\s*[Qq]([1-4]))?\s*", text)
        if not match:
            raise ValueError(f"「{text}」不是期间：写作 2021 或 2021Q4 / not a period")
        year = int(match.group(1))
        if match.group(2) is None:
            return cls(str(year), date(year, 1, 1), date(year, 12, 31), year, None)
        quarter = int(match.group(2))
        first, last = _QUARTERS[quarter]
        end = (date(year + 1, 1, 1) if last == 12 else date(year, last + 1, 1)).toordinal() - 1
        return cls(f"{year}Q{quarter}", date(year, first, 1), date.fromordinal(end), year, quarter)

    @property
    def is_year(self) -> bool:
        return self.quarter is None

    def quarters(self) -> list[Period]:
        """The four quarters of the period's year."""
        return [Period.parse(f"{self.year}Q{q}") for q in range(1, 5)]


@dataclass(frozen=True)
class ScoreTables:
    """The physical tables the index reads."""

    ledger: str
    disposal: str
    staffing: str


def score_columns(index: ir.Index) -> list[str]:
    """The columns of a score table, in order."""
    return [
        "township", "staff",
        *(f"measure_{name.lower()}" for name, _ in index.measures),
        *(i.name for i in index.indicators),
        *(f"part_{p.id}" for p in index.parts),
        "total", "rank", "colour", "consequence",
    ]  # fmt: skip


def index_of(pack: ir.CheckedPack) -> ir.Index:
    """The pack's index, or DiagnosticError saying why it has none to score or report with.

    A pack that routes no warning to a township (`townships: none`) has nothing the index
    could rank: its scores and report are not available (E699).
    """
    if not pack.pack.has_townships:
        raise DiagnosticError(
            [
                diagnostic(
                    "E699",
                    None,
                    hints=[
                        "用 oversight warnings 查看预警台账 / "
                        "list its warnings with: oversight warnings"
                    ],
                    name=pack.pack.name,
                )
            ]
        )
    if pack.index is None:
        raise DiagnosticError(
            [diagnostic("E441", None, hints=["在 policies/ 中写一个 index 文件"])]
        )
    return pack.index


def compile_score(
    pack: ir.CheckedPack, target: Target, period: Period | None, tables: ScoreTables
) -> exp.Select:
    """The index's query for one period on one warehouse.

    Without a period it keeps placeholders (:period_start, :period_end,
    :staffing_year), as in the reviewed file compiled/DIALECT/index.sql.
    """
    index = index_of(pack)
    c = ExpressionCompiler(pack, target)
    dialect = target.dialect

    def day(value: date | None, placeholder: str) -> exp.Expression:
        if value is None:
            return _placeholder(placeholder, "date", dialect)
        return fn.date_literal(value.isoformat(), dialect)

    staffing_year = (
        exp.Literal.number(period.year)
        if period is not None
        else _placeholder("staffing_year", "int", dialect)
    )

    def col(name: str, table: str | None = None) -> exp.Column:
        return exp.column(name, table=table)

    # period_warnings: the ledger's warnings first issued in the period, with disposal.
    warning_columns = [
        "model_id",
        "warning_key",
        "township",
        "severity",
        "domain",
        "issued_on",
        "last_seen_on",
    ]
    disposal_columns = [
        "verified_on",
        "outcome",
        "rectified_on",
        "persons_disposed",
        "funds_recovered",
    ]
    period_warnings = (
        exp.select(
            *(col(n, "l") for n in warning_columns), *(col(n, "d") for n in disposal_columns)
        )
        .from_(exp.alias_(table_named(tables.ledger), "l", table=True))
        .join(
            exp.alias_(table_named(tables.disposal), "d", table=True),
            on=exp.and_(
                exp.EQ(this=col("model_id", "d"), expression=col("model_id", "l")),
                exp.EQ(this=col("warning_key", "d"), expression=col("warning_key", "l")),
            ),
            join_type="left",
        )
        .where(
            exp.and_(
                exp.GTE(
                    this=col("issued_on", "l"),
                    expression=day(period.start if period else None, "period_start"),
                ),
                exp.LTE(
                    this=col("issued_on", "l"),
                    expression=day(period.end if period else None, "period_end"),
                ),
            )
        )
    )

    # measures: per township with a positive staff count that year.
    staffing = (
        exp.select(col("township"), exp.alias_(exp.Max(this=col("staff_count")), "staff_count"))
        .from_(table_named(tables.staffing))
        .where(
            exp.and_(
                exp.EQ(this=col("year"), expression=staffing_year),
                exp.GT(this=col("staff_count"), expression=exp.Literal.number(0)),
            )
        )
        .group_by(col("township"))
    )
    # The measures see the warnings `w` (count(*) counts them: none where the left join found
    # none), the township's staff, and the measures before them, written out where read.
    w = index.warnings
    over_warnings = CompileScope(
        frames=({w.uid: "w"},),
        args={"staff": col("staff_count", "s")},
        lets=dict(index.measures),
        star_value=col("warning_key", "w"),
    )
    measures = (
        exp.select(
            col("township", "s"),
            exp.alias_(col("staff_count", "s"), "staff"),
            *(
                exp.alias_(c.value(e, over_warnings), f"measure_{n.lower()}")
                for n, e in index.measures
            ),
        )
        .from_(exp.alias_(exp.Subquery(this=staffing), "s", table=True))
        .join(
            exp.alias_(exp.to_table("period_warnings"), "w", table=True),
            on=exp.EQ(this=col("township", "w"), expression=col("township", "s")),
            join_type="left",
        )
        .group_by(col("township", "s"), col("staff_count", "s"))
    )

    # indicators, with their declared empty cases: they read the measures as columns of `m`.
    over_measures = CompileScope(args={"staff": col("staff", "m")}).with_rows(
        "m", {name: f"measure_{name.lower()}" for name, _ in index.measures}
    )
    indicator_columns = []
    for indicator in index.indicators:
        value = c.value(indicator.expr, over_measures)
        if indicator.cases:
            value = exp.Case(
                ifs=[
                    exp.If(this=c.condition(cond, over_measures), true=c.value(v, over_measures))
                    for cond, v in indicator.cases
                ],
                default=value,
            )
        indicator_columns.append(exp.alias_(value, indicator.name))
    indicators = exp.select(
        col("township", "m"),
        col("staff", "m"),
        *(col(f"measure_{n.lower()}", "m") for n, _ in index.measures),
        *indicator_columns,
    ).from_(exp.alias_(exp.to_table("measures"), "m", table=True))

    # points: each indicator scaled across the townships scored in the period.
    point_columns = []
    for part in index.parts:
        for item in part.items:
            point_columns.append(
                exp.alias_(
                    _scaled(col(item.indicator, "i"), item, c.builders), f"points_{item.indicator}"
                )
            )
    points = exp.select(
        *(
            col(n, "i")
            for n in ["township", "staff", *(f"measure_{m.lower()}" for m, _ in index.measures)]
        ),
        *(col(i.name, "i") for i in index.indicators),
        *point_columns,
    ).from_(exp.alias_(exp.to_table("indicators"), "i", table=True))

    # ranked: parts, the rounded total, rank with shared (or dense) ties, townships scored.
    part_columns = [
        exp.alias_(
            _sum([col(f"points_{item.indicator}", "p") for item in part.items]), f"part_{part.id}"
        )
        for part in index.parts
    ]
    every_point = [
        col(f"points_{item.indicator}", "p") for part in index.parts for item in part.items
    ]
    total = fn.FUNCTIONS["round"].build(
        "round", [_sum(every_point), exp.Literal.number(index.rounding)], c.builders
    )
    totals = exp.select(
        *(
            col(n, "p")
            for n in ["township", "staff", *(f"measure_{m.lower()}" for m, _ in index.measures)]
        ),
        *(col(i.name, "p") for i in index.indicators),
        *part_columns,
        exp.alias_(total, "total"),
    ).from_(exp.alias_(exp.to_table("points"), "p", table=True))
    ranking = exp.Rank() if index.ties == "shared" else exp.DenseRank()
    order = exp.Order(expressions=[exp.Ordered(this=col("total"), desc=True, nulls_first=False)])
    ranked = exp.select(
        exp.Star(),
        exp.alias_(exp.Window(this=ranking, order=order), "rank"),
        exp.alias_(exp.Window(this=exp.Count(this=exp.Star())), "townships"),
    ).from_(exp.to_table("totals"))

    # The final rows: colour bands from the bottom of the ranking, and consequences.
    over_ranks = CompileScope(args={"rank": col("rank", "r"), "townships": col("townships", "r")})
    colour = exp.Case(
        ifs=[
            exp.If(this=c.condition(b.condition, over_ranks), true=exp.Literal.string(b.colour))
            for b in index.bands
            if b.condition is not None
        ],
        default=exp.Literal.string(index.bands[-1].colour),
    )
    consequence: exp.Expression = exp.null()
    if (period is None or period.is_year) and index.consequences:
        consequence = exp.Case(
            ifs=[
                exp.If(
                    this=exp.EQ(this=col("colour_", None), expression=exp.Literal.string(k)),
                    true=exp.Literal.string(v),
                )
                for k, v in index.consequences.items()
            ]
        )
    coloured = exp.select(exp.Star(), exp.alias_(colour, "colour_")).from_(
        exp.alias_(exp.to_table("ranked"), "r", table=True)
    )
    final = (
        exp.select(
            col("township"),
            col("staff"),
            *(col(f"measure_{n.lower()}") for n, _ in index.measures),
            *(col(i.name) for i in index.indicators),
            *(col(f"part_{p.id}") for p in index.parts),
            col("total"),
            col("rank"),
            exp.alias_(col("colour_"), "colour"),
            exp.alias_(consequence, "consequence"),
        )
        .from_(exp.to_table("coloured"))
        .order_by(col("rank"), col("township"))
    )
    final = c.with_relations(final)  # any relation an indicator reads, first
    for name, query in (
        ("period_warnings", period_warnings),
        ("measures", measures),
        ("indicators", indicators),
        ("points", points),
        ("totals", totals),
        ("ranked", ranked),
        ("coloured", coloured),
    ):
        final = final.with_(name, as_=query)
    assert_read_only(final)
    return quote_identifiers(final, dialect)


def _placeholder(name: str, type_name: str, dialect: str) -> exp.Expression:
    kind = exp.DataType.build(type_name)
    placeholder = exp.Placeholder(this=name, kind=kind)
    return placeholder if dialect == "sqlite" else exp.cast(placeholder, kind)


def _sum(items: list[exp.Expression]) -> exp.Expression:
    result = items[0]
    for item in items[1:]:
        result = exp.Add(this=result, expression=item)
    return exp.Paren(this=result) if len(items) > 1 else result


def _scaled(x: exp.Expression, item: ir.PartItem, b: fn.Builders) -> exp.Expression:
    """Min–max scaling: the best value earns all the points, the worst none; all equal, all."""
    low = exp.Window(this=exp.Min(this=x.copy()))
    high = exp.Window(this=exp.Max(this=x.copy()))
    spread = exp.Sub(this=high.copy(), expression=low.copy())
    gained = (
        exp.Sub(this=x.copy(), expression=low.copy())
        if item.higher_is_better
        else exp.Sub(this=high.copy(), expression=x.copy())
    )
    points = exp.Literal.number(format(Decimal(item.points), "f"))
    share = fn.divide(exp.Paren(this=gained), spread, b)
    return exp.Case(
        ifs=[exp.If(this=exp.EQ(this=high.copy(), expression=low.copy()), true=points.copy())],
        default=exp.Mul(this=points, expression=share),
    )


@dataclass
class ScoreResult:
    """A period's scores, and the townships left out of it."""

    period: Period
    table: pa.Table
    left_out: list[str]


def run_score(
    pack: ir.CheckedPack,
    warehouse: Warehouse,
    period: Period,
    tables: ScoreTables,
    township_names: dict[str, str],
) -> ScoreResult:
    """Run the index for `period`; name every township, list those left out."""
    query = compile_score(pack, Target(warehouse.dialect), period, tables)
    rows = warehouse.query(query.sql(dialect=warehouse.dialect))
    scored = rows.column("township").to_pylist()
    names = [township_names.get(t, t) for t in scored]
    table = rows.add_column(1, "name", pa.array(names, pa.string()))
    left_out = sorted(set(township_names) - set(scored))
    return ScoreResult(period, table, left_out)
