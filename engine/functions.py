"""What every function and date operation means in SQL, once, with per-warehouse overrides.

Each entry gives the generic sqlglot tree for a meaning fixed by the data
contract, and overrides for the warehouses whose defaults disagree. An
override of `UNSUPPORTED` becomes a compile error naming the model and the
construct, never a silently different query. Keep a comment with a link
beside each override saying which default it corrects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce

from sqlglot import exp


class Unsupported(Exception):
    """A construct the target warehouse cannot express with the meaning we fixed."""

    def __init__(self, construct: str, dialect: str) -> None:
        super().__init__(f"{construct} on {dialect}")
        self.construct = construct
        self.dialect = dialect


@dataclass(frozen=True)
class Builders:
    """What a builder may ask of the compiler: the dialect and a few shared pieces."""

    dialect: str
    calendar_count: Callable[[exp.Expression, exp.Expression], exp.Expression]


Builder = Callable[[list[exp.Expression], Builders], exp.Expression]
UNSUPPORTED: Builder | None = None


@dataclass(frozen=True)
class Meaning:
    """The generic SQL of one function and the warehouses that need something else."""

    generic: Builder
    overrides: dict[str, Builder | None] = field(default_factory=dict)

    def build(self, name: str, args: list[exp.Expression], b: Builders) -> exp.Expression:
        builder = self.overrides.get(b.dialect, self.generic)
        if builder is None:
            raise Unsupported(name, b.dialect)
        return builder([a.copy() for a in args], b)


def _date(e: exp.Expression) -> exp.Expression:
    return exp.cast(e, exp.DataType.Type.DATE)


def _paren(e: exp.Expression) -> exp.Expression:
    return e if isinstance(e, exp.Column | exp.Literal | exp.Paren) else exp.paren(e)


# ---- dates ----------------------------------------------------------------------


def _add_months(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # Same day n months later, clamped to the month's end (DuckDB, PostgreSQL, Spark 3,
    # Trino, BigQuery, MySQL, ClickHouse clamp). Some return a timestamp: cast back.
    return _date(exp.DateAdd(this=args[0], expression=args[1], unit=exp.var("MONTH")))


def _sqlite_modifier(n: exp.Expression, unit: str) -> exp.Expression:
    """`'+6 months'`-style modifier text for SQLite's date(): printf('%+d months', n)."""
    if isinstance(n, exp.Literal) and not n.is_string:
        return exp.Literal.string(f"{int(n.this):+d} {unit}")
    if isinstance(n, exp.Neg) and isinstance(n.this, exp.Literal):
        return exp.Literal.string(f"{-int(n.this.this):+d} {unit}")
    return exp.Anonymous(this="printf", expressions=[exp.Literal.string(f"%+d {unit}"), n])


def _add_months_sqlite(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # SQLite's date(d, '+1 months') overflows instead of clamping (2021-01-31 → 2021-03-03;
    # https://www.sqlite.org/lang_datefunc.html#modifiers), so take the earlier of that and
    # the last day of the target month.
    d, n = args
    plain = exp.Anonymous(this="date", expressions=[d, _sqlite_modifier(n, "months")])
    if isinstance(n, exp.Literal) and not n.is_string:
        next_n: exp.Expression = exp.Literal.number(int(n.this) + 1)
    else:
        next_n = exp.Add(this=_paren(n.copy()), expression=exp.Literal.number(1))
    month_end = exp.Anonymous(
        this="date",
        expressions=[
            d.copy(),
            exp.Literal.string("start of month"),
            _sqlite_modifier(next_n, "months"),
            exp.Literal.string("-1 day"),
        ],
    )
    return exp.Anonymous(this="min", expressions=[plain, month_end])


def _add_months_hive(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # Hive's add_months keeps month ends (2021-02-28 + 1 → 2021-03-31;
    # https://cwiki.apache.org/confluence/display/Hive/LanguageManual+UDF#DateFunctions).
    # When the result's day is later than the start's, step back to the start's day.
    d, n = args
    moved = exp.Anonymous(this="ADD_MONTHS", expressions=[d, n])
    back = exp.Sub(this=exp.Day(this=moved.copy()), expression=exp.Day(this=d.copy()))
    return exp.Case(
        ifs=[
            exp.If(
                this=exp.GT(this=exp.Day(this=moved.copy()), expression=exp.Day(this=d.copy())),
                true=exp.Anonymous(this="DATE_SUB", expressions=[moved.copy(), back]),
            )
        ],
        default=moved.copy(),
    )


def _add_days(args: list[exp.Expression], b: Builders) -> exp.Expression:
    return _date(exp.DateAdd(this=args[0], expression=args[1], unit=exp.var("DAY")))


def _add_days_sqlite(args: list[exp.Expression], b: Builders) -> exp.Expression:
    return exp.Anonymous(this="date", expressions=[args[0], _sqlite_modifier(args[1], "days")])


def _days_between(args: list[exp.Expression], b: Builders) -> exp.Expression:
    a, later = args
    return exp.DateDiff(this=later, expression=a, unit=exp.var("DAY"))


def _days_between_postgres(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # date − date is an integer number of days in PostgreSQL.
    return exp.paren(exp.Sub(this=_paren(args[1]), expression=_paren(args[0])))


def _workdays(args: list[exp.Expression], b: Builders) -> exp.Expression:
    return b.calendar_count(args[0], args[1])


def _year(args: list[exp.Expression], b: Builders) -> exp.Expression:
    return exp.Year(this=args[0])


def _month(args: list[exp.Expression], b: Builders) -> exp.Expression:
    return exp.Month(this=args[0])


def _strftime_sqlite(fmt: str) -> Builder:
    # SQLite has no YEAR()/MONTH(); strftime gives text, cast to a number.
    def build(args: list[exp.Expression], b: Builders) -> exp.Expression:
        text = exp.Anonymous(this="strftime", expressions=[exp.Literal.string(fmt), args[0]])
        return exp.cast(text, exp.DataType.Type.BIGINT)

    return build


def _year_month(args: list[exp.Expression], b: Builders) -> exp.Expression:
    return exp.TimeToStr(this=args[0], format=exp.Literal.string("%Y-%m"))


def _to_date(args: list[exp.Expression], b: Builders) -> exp.Expression:
    return _date(args[0])


# ---- conditions and nulls ---------------------------------------------------------


def _coalesce(args: list[exp.Expression], b: Builders) -> exp.Expression:
    return exp.Coalesce(this=args[0], expressions=args[1:])


def _if(args: list[exp.Expression], b: Builders) -> exp.Expression:
    cond, then, otherwise = args
    return exp.Case(ifs=[exp.If(this=cond, true=then)], default=otherwise)


def _extreme(op: type[exp.Binary]) -> Builder:
    # LEAST/GREATEST disagree on nulls (PostgreSQL skips them, most others return null);
    # the language says null when any argument is null, so spell it out.
    def pick(a: exp.Expression, c: exp.Expression) -> exp.Expression:
        any_null = exp.or_(
            exp.Is(this=a.copy(), expression=exp.null()),
            exp.Is(this=c.copy(), expression=exp.null()),
        )
        return exp.Case(
            ifs=[
                exp.If(this=any_null, true=exp.null()),
                exp.If(this=op(this=a.copy(), expression=c.copy()), true=a.copy()),
            ],
            default=c.copy(),
        )

    return lambda args, b: reduce(pick, args)


def _blank(args: list[exp.Expression], b: Builders) -> exp.Expression:
    value = args[0]
    return exp.paren(
        exp.or_(
            exp.Is(this=value, expression=exp.null()),
            exp.EQ(this=exp.Trim(this=value.copy()), expression=exp.Literal.string("")),
        )
    )


def _contains(args: list[exp.Expression], b: Builders) -> exp.Expression:
    return exp.GT(
        this=exp.StrPosition(this=args[0], substr=args[1]), expression=exp.Literal.number(0)
    )


def _starts_with(args: list[exp.Expression], b: Builders) -> exp.Expression:
    text, prefix = args
    head = exp.Substring(
        this=text, start=exp.Literal.number(1), length=exp.Length(this=prefix.copy())
    )
    return exp.EQ(this=head, expression=prefix)


def _substr(args: list[exp.Expression], b: Builders) -> exp.Expression:
    return exp.Substring(this=args[0], start=args[1], length=args[2] if len(args) > 2 else None)


# ---- numbers ----------------------------------------------------------------------


def _to_int(e: exp.Expression) -> exp.Expression:
    return exp.cast(e, exp.DataType.Type.BIGINT)


def _round(args: list[exp.Expression], b: Builders) -> exp.Expression:
    digits = args[1] if len(args) > 1 else exp.Literal.number(0)
    return exp.Round(this=args[0], decimals=digits)


def _round_postgres(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # PostgreSQL rounds double precision halves to even; numeric rounds halves away from zero.
    digits = args[1] if len(args) > 1 else exp.Literal.number(0)
    return exp.Round(this=exp.cast(args[0], exp.DataType.Type.DECIMAL), decimals=digits)


FUNCTIONS: dict[str, Meaning] = {
    "add_months": Meaning(_add_months, {"sqlite": _add_months_sqlite, "hive": _add_months_hive}),
    "add_days": Meaning(_add_days, {"sqlite": _add_days_sqlite}),
    "days_between": Meaning(_days_between, {"postgres": _days_between_postgres}),
    "workdays": Meaning(_workdays),
    "year": Meaning(_year, {"sqlite": _strftime_sqlite("%Y")}),
    "month": Meaning(_month, {"sqlite": _strftime_sqlite("%m")}),
    "year_month": Meaning(_year_month),
    "date": Meaning(_to_date),
    "coalesce": Meaning(_coalesce),
    "if": Meaning(_if),
    "least": Meaning(_extreme(exp.LTE)),
    "greatest": Meaning(_extreme(exp.GTE)),
    "blank": Meaning(_blank),
    "trim": Meaning(lambda a, b: exp.Trim(this=a[0])),
    "upper": Meaning(lambda a, b: exp.Upper(this=a[0])),
    "lower": Meaning(lambda a, b: exp.Lower(this=a[0])),
    "length": Meaning(lambda a, b: exp.Length(this=a[0])),
    "contains": Meaning(_contains),
    "starts_with": Meaning(_starts_with),
    "substr": Meaning(_substr),
    "abs": Meaning(lambda a, b: exp.Abs(this=a[0])),
    "floor": Meaning(lambda a, b: _to_int(exp.Floor(this=a[0]))),
    "ceil": Meaning(lambda a, b: _to_int(exp.Ceil(this=a[0]))),
    "round": Meaning(_round, {"postgres": _round_postgres}),
}


# ---- operations the language has without a function name ---------------------------


def date_literal(value: str, dialect: str) -> exp.Expression:
    """A date constant; SQLite keeps dates as ISO text, so there it stays a string."""
    if dialect == "sqlite":
        return exp.Literal.string(value)
    return _date(exp.Literal.string(value))


def timestamp_literal(value: str, dialect: str) -> exp.Expression:
    """A timestamp constant, written `YYYY-MM-DD HH:MM:SS`."""
    if dialect == "sqlite":
        return exp.Literal.string(value)
    return exp.cast(exp.Literal.string(value), exp.DataType.Type.TIMESTAMP)


def divide(left: exp.Expression, right: exp.Expression, dialect: str) -> exp.Expression:
    """True division, null when dividing by zero.

    Engines disagree: integer division truncates in PostgreSQL, SQLite and
    MySQL's DIV; division by zero errors in PostgreSQL and null elsewhere.
    """
    numerator = exp.cast(left, exp.DataType.Type.DOUBLE)
    denominator = exp.Nullif(this=_paren(right), expression=exp.Literal.number(0))
    return exp.Div(this=numerator, expression=denominator)


def sum_of(value: exp.Expression) -> exp.Expression:
    """SUM that is 0 over no rows, as the contract says."""
    return exp.Coalesce(this=exp.Sum(this=value), expressions=[exp.Literal.number(0)])


def average_of(value: exp.Expression) -> exp.Expression:
    """AVG in floating point (integer averages truncate on some engines)."""
    return exp.Avg(this=exp.cast(value, exp.DataType.Type.DOUBLE))
