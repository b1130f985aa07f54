"""What every function and date operation means in SQL, once, with per-warehouse overrides.

Each entry gives the generic sqlglot tree for a meaning fixed by the data
contract, and overrides for the warehouses whose defaults disagree. An
override of `UNSUPPORTED` becomes a compile error naming the model and the
construct, never a silently different query. Keep a comment with a link
beside each override saying which default it corrects.

tests/engine/test_function_semantics.py runs every meaning on DuckDB and
SQLite against a Python reference, and pins the SQL text of the other
warehouses. Decisions the contract leaves to us, taken here:

- `round(x, n)` rounds halves away from zero, of `x` taken to 9 decimal
  places first. Decimals and integers are therefore exact; a binary float
  rounds as its decimal reading does (`round(1.005, 2)` is 1.01 even though
  the double nearest 1.005 lies just below it). `n` must be a constant.
- `blank(x)`: null, or nothing but spaces, tabs, line breaks, no-break
  spaces (U+00A0) and ideographic spaces (U+3000, the full-width space of
  Chinese input methods). `trim(x)` removes spaces (U+0020) only.
- `upper`/`lower` are exact for ASCII letters (codes, ID numbers) and leave
  Chinese unchanged; letters such as é follow the warehouse (SQLite without
  ICU changes ASCII letters only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import reduce
from typing import Any

from sqlglot import exp

from adapters.names import nodes
from dsl.types import Type


class Unsupported(Exception):
    """A construct the target warehouse cannot express with the meaning we fixed."""

    def __init__(self, construct: str, dialect: str) -> None:
        super().__init__(f"{construct} on {dialect}")
        self.construct = construct
        self.dialect = dialect


class TooLarge(Exception):
    """SQL for one construct that would grow past MAX_SQL_NODES on the target warehouse."""

    def __init__(self, construct: str, dialect: str) -> None:
        super().__init__(f"{construct} on {dialect}")
        self.construct = construct
        self.dialect = dialect


# The most nodes the SQL of one function call or comparison may have. Some warehouses need
# an argument written more than once (SQLite's and Hive's add_months, least and greatest,
# `!=` that holds for null), so calls nested in one another grow exponentially: add_months
# nested six deep is 2 MB of Hive SQL and takes 40 s to write, twelve deep would never
# finish. The pack's largest call has 50 nodes.
MAX_SQL_NODES = 20_000


def within_size(tree: exp.Expression, construct: str, dialect: str) -> exp.Expression:
    """`tree`, or TooLarge when it has more than MAX_SQL_NODES nodes (counted up to that)."""
    for count, _ in enumerate(nodes(tree), start=1):
        if count > MAX_SQL_NODES:
            raise TooLarge(construct, dialect)
    return tree


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
    # `not f(…)` where the warehouse runs it faster written on its own than negated.
    negated: dict[str, Builder] = field(default_factory=dict)

    def build(self, name: str, args: list[exp.Expression], b: Builders) -> exp.Expression:
        builder = self.overrides.get(b.dialect, self.generic)
        if builder is None:
            raise Unsupported(name, b.dialect)
        return within_size(builder([a.copy() for a in args], b), f"{name}()", b.dialect)

    def negates(self, dialect: str) -> bool:
        """Whether `not f(…)` has a form of its own here (else f's SQL is negated)."""
        return dialect in self.negated

    def build_negated(self, name: str, args: list[exp.Expression], b: Builders) -> exp.Expression:
        """`not f(…)` as this warehouse's own form of it (where `negates`)."""
        builder = self.negated[b.dialect]
        return within_size(builder([a.copy() for a in args], b), f"not {name}()", b.dialect)


def _date_type(dialect: str) -> exp.DataType.Type:
    # ClickHouse's Date only holds 1970-01-01..2149-06-06, so a birth date or an old
    # homestead registration would wrap; Date32 holds 1900..2299
    # (https://clickhouse.com/docs/en/sql-reference/data-types/date32).
    return exp.DataType.Type.DATE32 if dialect == "clickhouse" else exp.DataType.Type.DATE


def _date(e: exp.Expression, dialect: str) -> exp.Expression:
    return exp.cast(e, _date_type(dialect))


def _paren(e: exp.Expression) -> exp.Expression:
    return e if isinstance(e, exp.Column | exp.Literal | exp.Paren) else exp.Paren(this=e)


def _constant_int(e: exp.Expression) -> int | None:
    """The value of an integer constant (`6`, `-13`, `(6)`), or None for anything else."""
    if isinstance(e, exp.Paren):
        return _constant_int(e.this)
    if isinstance(e, exp.Neg):
        inner = _constant_int(e.this)
        return None if inner is None else -inner
    if isinstance(e, exp.Literal) and not e.is_string:
        try:
            return int(e.this)
        except ValueError:
            return None
    return None


def _as_int(n: exp.Expression) -> exp.Expression:
    """`n` as a 32-bit INT, for functions that refuse a BIGINT column (constants are INT)."""
    if _constant_int(n) is not None:
        return n
    return exp.cast(n, exp.DataType.Type.INT)


# ---- dates ----------------------------------------------------------------------


def _add_months(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # Same day n months later, clamped to the month's end, month ends NOT kept
    # (2021-02-28 + 1 → 2021-03-28): DuckDB, PostgreSQL, Trino, BigQuery, MySQL, Doris,
    # StarRocks and ClickHouse do this with their interval addition, Spark 3 with ADD_MONTHS
    # (Spark 2 kept month ends), Snowflake with DATEADD (its ADD_MONTHS keeps month ends;
    # sqlglot writes DATEADD, https://docs.snowflake.com/en/sql-reference/functions/add_months).
    # Some give a timestamp: cast back.
    d, n = args
    return _date(exp.DateAdd(this=d, expression=n, unit=exp.var("MONTH")), b.dialect)


def _add_months_spark(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # Spark 3's ADD_MONTHS no longer keeps month ends (https://spark.apache.org/docs/latest/
    # sql-migration-guide.html, "add_months"), but takes only an INT month count: a BIGINT
    # column is an analysis error (https://spark.apache.org/docs/latest/api/sql/#add_months).
    d, n = args
    return _add_months([d, _as_int(n)], b)


def _sqlite_modifier(n: exp.Expression, unit: str) -> exp.Expression:
    """The modifier of SQLite's date(): `'+6 months'` for a constant, else `n || ' months'`.

    Not printf('%+d months', n): printf writes NULL as 0 (https://www.sqlite.org/printf.html),
    so a missing n would move the date by nothing; `NULL || …` is NULL and so is the date.
    """
    constant = _constant_int(n)
    if constant is not None:
        return exp.Literal.string(f"{constant:+d} {unit}")
    return exp.DPipe(this=_paren(n), expression=exp.Literal.string(f" {unit}"), safe=True)


def _add_months_sqlite(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # SQLite's date(d, '+1 months') overflows instead of clamping (2021-01-31 → 2021-03-03;
    # https://www.sqlite.org/lang_datefunc.html#modifiers), so take the earlier of that and
    # the last day of the target month. ISO text compares as dates do.
    d, n = args
    plain = exp.Anonymous(this="date", expressions=[d, _sqlite_modifier(n, "months")])
    constant = _constant_int(n)
    if constant is not None:
        next_n: exp.Expression = exp.Literal.number(constant + 1)
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
    # https://cwiki.apache.org/confluence/display/Hive/LanguageManual+UDF#LanguageManualUDF-DateFunctions),
    # takes an INT count and returns a string. When the result's day is later than the
    # start's, step back to the start's day; cast the result to a date.
    d, n = args
    moved = exp.Anonymous(this="ADD_MONTHS", expressions=[d, _as_int(n)])
    back = exp.Sub(this=exp.Day(this=moved.copy()), expression=exp.Day(this=d.copy()))
    stepped = exp.Case(
        ifs=[
            exp.If(
                this=exp.GT(this=exp.Day(this=moved.copy()), expression=exp.Day(this=d.copy())),
                true=exp.Anonymous(this="DATE_SUB", expressions=[moved.copy(), back]),
            )
        ],
        default=moved.copy(),
    )
    return _date(stepped, b.dialect)


def _add_days(args: list[exp.Expression], b: Builders) -> exp.Expression:
    d, n = args
    return _date(exp.DateAdd(this=d, expression=n, unit=exp.var("DAY")), b.dialect)


def _add_days_int(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # Spark's and Hive's DATE_ADD take an INT (or smaller) day count; a BIGINT column is an
    # analysis error (https://spark.apache.org/docs/latest/api/sql/#date_add,
    # https://cwiki.apache.org/confluence/display/Hive/LanguageManual+UDF#LanguageManualUDF-DateFunctions).
    d, n = args
    return _add_days([d, _as_int(n)], b)


def _add_days_sqlite(args: list[exp.Expression], b: Builders) -> exp.Expression:
    return exp.Anonymous(this="date", expressions=[args[0], _sqlite_modifier(args[1], "days")])


def _days_between(args: list[exp.Expression], b: Builders) -> exp.Expression:
    a, later = args
    return exp.DateDiff(this=later, expression=a, unit=exp.var("DAY"))


def _days_between_postgres(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # date − date is an integer number of days in PostgreSQL
    # (https://www.postgresql.org/docs/current/functions-datetime.html).
    return exp.Paren(this=exp.Sub(this=_paren(args[1]), expression=_paren(args[0])))


def _days_between_spark(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # sqlglot writes Spark's DATEDIFF(DAY, a, b), an alias of TIMESTAMPDIFF that exists only
    # from Spark 3.3 (SPARK-38389); DATEDIFF(b, a) means b − a in days on every version
    # (https://spark.apache.org/docs/latest/api/sql/#datediff).
    a, later = args
    return exp.DateDiff(this=later, expression=a)


def _days_between_starrocks(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # sqlglot writes DATE_DIFF('DAY', b, a), which StarRocks has only from 3.1; DATEDIFF(b, a)
    # is b − a in days on every version
    # (https://docs.starrocks.io/docs/sql-reference/sql-functions/date-time-functions/datediff/).
    a, later = args
    return exp.Anonymous(this="DATEDIFF", expressions=[later, a])


# seconds_between(a, b) is b − a in whole seconds, each timestamp taken to its second (its
# fraction dropped: the SQLite warehouse keeps timestamps as text to the second, so every
# warehouse must ignore fractions to agree). Counting the second boundaries from a to b is
# the same thing, and that is what DATE_DIFF / DATEDIFF count on DuckDB
# (https://duckdb.org/docs/sql/functions/timestamp#date_diffpart-starttimestamp-endtimestamp),
# Snowflake (https://docs.snowflake.com/en/sql-reference/functions/datediff), ClickHouse
# (https://clickhouse.com/docs/en/sql-reference/functions/date-time-functions#date_diff)
# and BigQuery's DATETIME_DIFF (https://cloud.google.com/bigquery/docs/reference/
# standard-sql/datetime_functions#datetime_diff).


def _seconds_between(args: list[exp.Expression], b: Builders) -> exp.Expression:
    a, later = args
    return exp.DateDiff(this=later, expression=a, unit=exp.var("SECOND"))


def _seconds_between_postgres(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # timestamp − timestamp is an interval whose EXTRACT(EPOCH …) counts fractions too
    # (https://www.postgresql.org/docs/current/functions-datetime.html): truncate each first.
    # The difference of whole seconds is a whole number, so the cast is exact.
    a, later = args
    elapsed = exp.Sub(
        this=exp.TimestampTrunc(this=later, unit=exp.var("SECOND")),
        expression=exp.TimestampTrunc(this=a, unit=exp.var("SECOND")),
    )
    return _to_int(exp.Extract(this=exp.var("EPOCH"), expression=elapsed))


def _seconds_between_sqlite(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # Not sqlglot's (JULIANDAY(b) − JULIANDAY(a)) * 86400: a day fraction in binary floating
    # point gives 59.99999… seconds, cast down to 59. strftime('%s', t) is t's whole Unix
    # seconds as text, null for null (https://www.sqlite.org/lang_datefunc.html).
    def unix(t: exp.Expression) -> exp.Expression:
        seconds = exp.Anonymous(this="strftime", expressions=[exp.Literal.string("%s"), t])
        return _to_int(seconds)

    a, later = args
    return exp.Paren(this=exp.Sub(this=unix(later), expression=unix(a)))


def _seconds_between_unix(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # Spark's DATEDIFF(SECOND, a, b) exists only from 3.3 and counts elapsed time, fractions
    # included; UNIX_TIMESTAMP(t) is t's whole seconds on every version of Spark and Hive
    # (https://spark.apache.org/docs/latest/api/sql/#unix_timestamp).
    a, later = args
    return exp.Paren(
        this=exp.Sub(this=exp.TimeToUnix(this=later), expression=exp.TimeToUnix(this=a))
    )


def _seconds_between_trino(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # Trino's date_diff counts elapsed units, fractions included
    # (https://trino.io/docs/current/functions/datetime.html#date_diff): truncate each first.
    a, later = args
    return exp.DateDiff(
        this=exp.TimestampTrunc(this=later, unit=exp.var("SECOND")),
        expression=exp.TimestampTrunc(this=a, unit=exp.var("SECOND")),
        unit=exp.var("SECOND"),
    )


def _seconds_between_bigquery(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # Timestamps are DATETIME on BigQuery; DATE_DIFF takes dates.
    a, later = args
    return exp.DatetimeDiff(this=later, expression=a, unit=exp.var("SECOND"))


def _seconds_between_mysql(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # sqlglot writes DATEDIFF, which counts days there. TIMESTAMPDIFF(SECOND, a, b) is b − a
    # in seconds (https://dev.mysql.com/doc/refman/8.0/en/date-and-time-functions.html
    # #function_timestampdiff; Doris and StarRocks have it too); their DATETIME holds whole
    # seconds unless a column is declared with fractions.
    a, later = args
    return exp.TimestampDiff(this=later, expression=a, unit=exp.var("SECOND"))


def _minutes_between(seconds: Meaning) -> Builder:
    # Whole minutes of seconds_between, the remainder dropped toward zero (89 s is 1 minute,
    # −89 s is −1), so that minutes_between(a, b) = −minutes_between(b, a). `%` takes the
    # sign of the dividend on every warehouse, so s − s % 60 is a multiple of 60 and the
    # division exact, however each warehouse divides (DuckDB and Spark in floating point,
    # PostgreSQL and SQLite in integers); no rounding cast is left to disagree.
    def build(args: list[exp.Expression], b: Builders) -> exp.Expression:
        total = seconds.build("seconds_between", args, b)
        if not isinstance(total, exp.Func | exp.Paren):
            total = exp.Paren(this=total)
        sixty = exp.Literal.number(60)
        remainder = exp.Mod(this=total.copy(), expression=sixty)
        whole = exp.Paren(this=exp.Sub(this=total, expression=remainder))
        return _to_int(exp.Div(this=whole, expression=sixty.copy()))

    return build


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


def _year_month_bigquery(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # sqlglot writes FORMAT_DATE, which takes a DATE only: a DATETIME or TIMESTAMP argument
    # has no matching signature
    # (https://cloud.google.com/bigquery/docs/reference/standard-sql/date_functions#format_date).
    return _year_month([_date(args[0], b.dialect)], b)


def _to_date(args: list[exp.Expression], b: Builders) -> exp.Expression:
    return _date(args[0], b.dialect)


# ---- conditions and nulls ---------------------------------------------------------


def _coalesce(args: list[exp.Expression], b: Builders) -> exp.Expression:
    return exp.Coalesce(this=args[0], expressions=args[1:])


def _if(args: list[exp.Expression], b: Builders) -> exp.Expression:
    cond, then, otherwise = args
    return exp.Case(ifs=[exp.If(this=cond, true=then)], default=otherwise)


def _extreme(op: type[exp.Binary]) -> Builder:
    # LEAST/GREATEST disagree on nulls (PostgreSQL and Spark skip them, most others return
    # null); the language says null when any argument is null, so spell it out: the first
    # value that is ≤ (≥) every later one is the least (greatest).
    def build(args: list[exp.Expression], b: Builders) -> exp.Expression:
        if len(args) == 1:
            return args[0]
        maybe_null = [a for a in args if not isinstance(a, exp.Literal)]
        ifs = []
        if maybe_null:
            nulls = [exp.Is(this=a.copy(), expression=exp.null()) for a in maybe_null]
            ifs.append(exp.If(this=reduce(exp.or_, nulls), true=exp.null()))
        for i, a in enumerate(args[:-1]):
            beats = [op(this=a.copy(), expression=c.copy()) for c in args[i + 1 :]]
            ifs.append(exp.If(this=reduce(exp.and_, beats), true=a.copy()))
        return exp.Case(ifs=ifs, default=args[-1].copy())

    return build


# ---- text -------------------------------------------------------------------------

# White space for blank(). TRIM(x, characters) removes any of a set of characters on these
# warehouses, which makes blank() one call per value. MySQL, Doris and StarRocks remove a
# whole string instead of a set, Hive has no second argument, and ClickHouse removes bytes
# (so that 〠, E3 80 A0, would read as blank): there each character is removed one by one.
BLANK_CHARACTERS = (" ", "\t", "\n", "\r", "\u00a0", "\u3000")
_TRIM_TAKES_A_SET = frozenset(
    {"duckdb", "sqlite", "postgres", "spark", "trino", "bigquery", "snowflake"}
)

# Where CHAR(n) gives bytes rather than a character; their literals take backslash escapes,
# which sqlglot writes ('\t'). Elsewhere a control character is written CHR(n), so that the
# SQL text has no raw tab or line break in a literal.
_CHAR_IS_BYTES = frozenset({"mysql", "doris", "starrocks"})


def _character(character: str, dialect: str) -> exp.Expression:
    if ord(character) >= 32 or dialect in _CHAR_IS_BYTES:
        return exp.Literal.string(character)
    return exp.Chr(expressions=[exp.Literal.number(ord(character))])


def _blank_characters(dialect: str) -> exp.Expression:
    """All of BLANK_CHARACTERS as one string expression: ' ' || CHR(9) || … || ' 　'."""
    pieces: list[exp.Expression] = []
    for character in BLANK_CHARACTERS:
        piece = _character(character, dialect)
        last = pieces[-1] if pieces else None
        if isinstance(piece, exp.Literal) and isinstance(last, exp.Literal):
            pieces[-1] = exp.Literal.string(last.this + character)
        else:
            pieces.append(piece)
    return reduce(lambda left, right: exp.DPipe(this=left, expression=right), pieces)


def _blank(args: list[exp.Expression], b: Builders) -> exp.Expression:
    value = args[0]
    if b.dialect in _TRIM_TAKES_A_SET:
        stripped: exp.Expression = exp.Trim(
            this=value.copy(), expression=_blank_characters(b.dialect)
        )
    else:
        stripped = value.copy()
        for character in BLANK_CHARACTERS:
            stripped = exp.Replace(
                this=stripped,
                expression=_character(character, b.dialect),
                replacement=exp.Literal.string(""),
            )
    return exp.Paren(
        this=exp.or_(
            exp.Is(this=value, expression=exp.null()),
            exp.EQ(this=stripped, expression=exp.Literal.string("")),
        )
    )


# On DuckDB a regular expression finds a character that is not white space three to four
# times faster than TRIM(x, characters) = '' strips and compares (0.09 s against 0.33 s for
# blank() over fin_subsidy's 1.2 million rows): it allocates no trimmed string. The pattern
# is RE2's, escapes and all, so the SQL text holds no raw control character. Most values
# are settled by their first character before that (UNICODE(x), -1 for ''): one above a
# space and not a no-break or ideographic space is not white space, so the value is not
# blank; the expression runs only for the rest. That check is three times faster than the
# expression again, but only where DuckDB can skip the expression for the rows it settles:
# under NOT it evaluates both for every row, so `not blank(x)` is written as its own
# condition (FUN02, FUN06 and FIN03 scan a million rows with it at 10x).
def _re2_character(character: str) -> str:
    r"""A character as RE2 reads it inside [...]: \t, \n, \r and \x{3000} escaped."""
    if character in "\t\n\r":
        return {"\t": r"\t", "\n": r"\n", "\r": r"\r"}[character]
    return character if ord(character) < 128 else f"\\x{{{ord(character):X}}}"


_NOT_BLANK_PATTERN = "[^" + "".join(map(_re2_character, BLANK_CHARACTERS)) + "]"
_WIDE_BLANKS = [ord(c) for c in BLANK_CHARACTERS if ord(c) > ord(" ")]


def _found_not_blank(value: exp.Expression) -> exp.Expression:
    return exp.RegexpLike(this=value.copy(), expression=exp.Literal.string(_NOT_BLANK_PATTERN))


def _first_character_white(value: exp.Expression, white: bool) -> exp.Expression:
    """Whether the first character may be white space (`white`), or is surely not.

    A control character, and '' (whose UNICODE is -1), may be: the expression decides.
    """
    first = exp.Unicode(this=value.copy())
    space = exp.Literal.number(ord(" "))
    wide = [exp.Literal.number(n) for n in _WIDE_BLANKS]
    if white:
        return exp.Paren(
            this=exp.or_(
                exp.LTE(this=first, expression=space), exp.In(this=first.copy(), expressions=wide)
            )
        )
    return exp.Paren(
        this=exp.and_(
            exp.GT(this=first, expression=space),
            exp.Not(this=exp.In(this=first.copy(), expressions=wide)),
        )
    )


def _blank_duckdb(args: list[exp.Expression], b: Builders) -> exp.Expression:
    value = args[0]
    return exp.Paren(
        this=exp.or_(
            exp.Is(this=value, expression=exp.null()),
            exp.and_(_first_character_white(value, white=True), exp.not_(_found_not_blank(value))),
        )
    )


def _not_blank_duckdb(args: list[exp.Expression], b: Builders) -> exp.Expression:
    value = args[0]
    return exp.Paren(
        this=exp.and_(
            exp.not_(exp.Is(this=value, expression=exp.null())),
            exp.Paren(
                this=exp.or_(_first_character_white(value, white=False), _found_not_blank(value))
            ),
        )
    )


def _trim(args: list[exp.Expression], b: Builders) -> exp.Expression:
    return exp.Trim(this=args[0])


def _trim_spaces(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # TRIM(x) removes every Unicode white space on BigQuery
    # (https://cloud.google.com/bigquery/docs/reference/standard-sql/string_functions#trim)
    # and on Trino (Java's Character.isWhitespace; https://trino.io/docs/current/functions/
    # string.html#trim); the language removes spaces only, as everywhere else.
    return exp.Trim(this=args[0], expression=exp.Literal.string(" "))


def _utf8(name: str) -> Builder:
    # ClickHouse's upper/lower change ASCII letters only and substring counts bytes, which
    # cuts a Chinese character in three; the *UTF8 functions work on code points
    # (https://clickhouse.com/docs/en/sql-reference/functions/string-functions).
    return lambda args, b: exp.Anonymous(this=name, expressions=args)


def _substring(
    text: exp.Expression, start: exp.Expression, length: exp.Expression | None, dialect: str
) -> exp.Expression:
    if dialect == "clickhouse":  # see _utf8
        rest = [length] if length is not None else []
        return exp.Anonymous(this="substringUTF8", expressions=[text, start, *rest])
    return exp.Substring(this=text, start=start, length=length)


def _contains(args: list[exp.Expression], b: Builders) -> exp.Expression:
    return exp.GT(
        this=exp.StrPosition(this=args[0], substr=args[1]), expression=exp.Literal.number(0)
    )


def _starts_with(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # The prefix's length in characters (sqlglot writes CHAR_LENGTH where LENGTH counts
    # bytes), so the substring must count characters too (see _utf8).
    text, prefix = args
    head = _substring(text, exp.Literal.number(1), exp.Length(this=prefix.copy()), b.dialect)
    return exp.EQ(this=head, expression=prefix)


def _substr(args: list[exp.Expression], b: Builders) -> exp.Expression:
    return _substring(args[0], args[1], args[2] if len(args) > 2 else None, b.dialect)


def _concat(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # `a || b` is null when a part is null on every warehouse that has it, and so is the
    # CONCAT sqlglot writes for MySQL, Doris and StarRocks
    # (https://dev.mysql.com/doc/refman/8.0/en/string-functions.html#function_concat).
    # Not the CONCAT() of DuckDB and PostgreSQL, which skips null parts.
    return exp.Paren(this=reduce(lambda left, right: exp.DPipe(this=left, expression=right), args))


def as_text(value: exp.Expression) -> exp.Expression:
    """An int as its digits, for concat(): the same text on every warehouse."""
    return exp.cast(value, exp.DataType.Type.TEXT)


# ---- numbers ----------------------------------------------------------------------


def _to_int(e: exp.Expression) -> exp.Expression:
    return exp.cast(e, exp.DataType.Type.BIGINT)


def _floor_sqlite(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # FLOOR/CEIL exist in SQLite only when it is built with SQLITE_ENABLE_MATH_FUNCTIONS
    # (https://www.sqlite.org/lang_mathfunc.html). CAST(x AS INTEGER) truncates toward zero
    # (https://www.sqlite.org/lang_expr.html#castexpr): step down when that went up.
    x = args[0]
    whole = _to_int(x.copy())
    return exp.Paren(
        this=exp.Sub(
            this=whole, expression=exp.Paren(this=exp.LT(this=_paren(x), expression=whole.copy()))
        )
    )


def _ceil_sqlite(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # See _floor_sqlite: step up when truncation went down.
    x = args[0]
    whole = _to_int(x.copy())
    return exp.Paren(
        this=exp.Add(
            this=whole, expression=exp.Paren(this=exp.GT(this=_paren(x), expression=whole.copy()))
        )
    )


def _digits(args: list[exp.Expression], b: Builders) -> exp.Expression:
    digits = args[1] if len(args) > 1 else exp.Literal.number(0)
    if _constant_int(digits) is None:
        # DuckDB cannot round a DECIMAL to a column's number of digits, Spark and ClickHouse
        # want a constant scale: keep the meaning the same everywhere by refusing it.
        raise Unsupported("round() with a number of digits that is not a constant", b.dialect)
    return digits


def _round(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # Halves away from zero, of the value taken to 9 decimal places (see the module doc).
    # Rounding a DOUBLE differs by warehouse: half-even in MySQL (https://dev.mysql.com/doc/
    # refman/8.0/en/precision-math-rounding.html), ClickHouse (https://clickhouse.com/docs/
    # en/sql-reference/functions/rounding-functions#round) and usually PostgreSQL, x·10ⁿ
    # rounded in DuckDB (round(1.005, 2) = 1.0, round(0.285, 2) = 0.28); each of them rounds
    # DECIMAL halves away from zero. DECIMAL(28, 9) leaves room for arithmetic on the
    # result: at 38 digits Spark would give up scale (to 6 places, rounding) on a product
    # (https://spark.apache.org/docs/latest/sql-ref-ansi-compliance.html, allowPrecisionLoss).
    digits = _digits(args, b)
    value = exp.cast(args[0], exp.DataType.build("DECIMAL(28, 9)"))
    return exp.Round(this=value, decimals=digits)


def _round_sqlite(args: list[exp.Expression], b: Builders) -> exp.Expression:
    # SQLite has no decimals; its round() formats the value in decimal with its own printf
    # (https://www.sqlite.org/lang_corefunc.html#round), which rounds halves away from zero of
    # the decimal reading (1.005 → 1.01). Take the value to 9 places first, as elsewhere. It
    # reads negative digits as 0, so round to tens, hundreds … as round(x / 100) * 100.
    digits = _digits(args, b)
    places = _constant_int(digits)
    value = args[0]
    if places is not None and places < 9:
        value = exp.Round(this=value, decimals=exp.Literal.number(9))
    if places is None or places >= 0:
        return exp.Round(this=value, decimals=digits)
    scale = exp.Literal.number(10**-places)
    shifted = exp.Div(this=value, expression=exp.Literal.number(f"{10**-places}.0"))
    return exp.Paren(this=exp.Mul(this=exp.Round(this=shifted), expression=scale))


_SECONDS_BETWEEN = Meaning(
    _seconds_between,
    {
        "sqlite": _seconds_between_sqlite,
        "postgres": _seconds_between_postgres,
        "spark": _seconds_between_unix,
        "hive": _seconds_between_unix,
        "trino": _seconds_between_trino,
        "bigquery": _seconds_between_bigquery,
        "mysql": _seconds_between_mysql,
        "doris": _seconds_between_mysql,
        "starrocks": _seconds_between_mysql,
    },
)

FUNCTIONS: dict[str, Meaning] = {
    "add_months": Meaning(
        _add_months,
        {"sqlite": _add_months_sqlite, "hive": _add_months_hive, "spark": _add_months_spark},
    ),
    "add_days": Meaning(
        _add_days, {"sqlite": _add_days_sqlite, "spark": _add_days_int, "hive": _add_days_int}
    ),
    "days_between": Meaning(
        _days_between,
        {
            "postgres": _days_between_postgres,
            "spark": _days_between_spark,
            "starrocks": _days_between_starrocks,
        },
    ),
    "seconds_between": _SECONDS_BETWEEN,
    "minutes_between": Meaning(_minutes_between(_SECONDS_BETWEEN)),
    "workdays": Meaning(_workdays),
    "year": Meaning(_year, {"sqlite": _strftime_sqlite("%Y")}),
    "month": Meaning(_month, {"sqlite": _strftime_sqlite("%m")}),
    "year_month": Meaning(_year_month, {"bigquery": _year_month_bigquery}),
    # sqlglot writes SQLite's CAST(ts AS DATE) as DATE(ts): a real CAST would have NUMERIC
    # affinity and make '2021-03-05 10:00:00' 2021 (https://www.sqlite.org/datatype3.html).
    "date": Meaning(_to_date),
    "coalesce": Meaning(_coalesce),
    "if": Meaning(_if),
    "least": Meaning(_extreme(exp.LTE)),
    "greatest": Meaning(_extreme(exp.GTE)),
    "concat": Meaning(_concat),
    "blank": Meaning(_blank, {"duckdb": _blank_duckdb}, negated={"duckdb": _not_blank_duckdb}),
    "trim": Meaning(_trim, {"bigquery": _trim_spaces, "trino": _trim_spaces}),
    "upper": Meaning(lambda a, b: exp.Upper(this=a[0]), {"clickhouse": _utf8("upperUTF8")}),
    "lower": Meaning(lambda a, b: exp.Lower(this=a[0]), {"clickhouse": _utf8("lowerUTF8")}),
    "length": Meaning(lambda a, b: exp.Length(this=a[0])),
    "contains": Meaning(_contains),
    "starts_with": Meaning(_starts_with),
    "substr": Meaning(_substr),
    "abs": Meaning(lambda a, b: exp.Abs(this=a[0])),
    "floor": Meaning(lambda a, b: _to_int(exp.Floor(this=a[0])), {"sqlite": _floor_sqlite}),
    "ceil": Meaning(lambda a, b: _to_int(exp.Ceil(this=a[0])), {"sqlite": _ceil_sqlite}),
    "round": Meaning(_round, {"sqlite": _round_sqlite}),
}


# ---- operations the language has without a function name ---------------------------


def _null_safe_equal(args: list[exp.Expression], b: Builders) -> exp.Expression:
    return exp.NullSafeEQ(this=args[0], expression=args[1])


def _null_safe_equal_clickhouse(args: list[exp.Expression], b: Builders) -> exp.Expression:
    return exp.Anonymous(this="isNotDistinctFrom", expressions=args)


# `a` equals `b`, or both are null: how a decorrelated subquery's groups are joined back to the
# outer rows when a group may be of a null (engine/compiler/decorrelate.py). sqlglot writes
# NullSafeEQ as each warehouse says it: IS NOT DISTINCT FROM (DuckDB, PostgreSQL, Spark,
# Trino, BigQuery, Snowflake, Hive), <=> (MySQL, Doris, StarRocks), IS (SQLite). ClickHouse
# takes it in a JOIN's ON as its function isNotDistinctFrom.
NULL_SAFE_EQUAL = Meaning(_null_safe_equal, {"clickhouse": _null_safe_equal_clickhouse})


# Warehouses whose decimals are binary floating point: SQLite stores DECIMAL columns as
# REAL (https://www.sqlite.org/datatype3.html), where 0.10 + 0.20 is 0.30000000000000004.
INEXACT_DECIMALS = frozenset({"sqlite"})
COMPARED_PLACES = 6


def exact_decimals(dialect: str) -> bool:
    """Whether decimal arithmetic is exact on the warehouse (it is everywhere but SQLite)."""
    return dialect not in INEXACT_DECIMALS


def comparable_decimal(value: exp.Expression, type_: Any, dialect: str) -> exp.Expression:
    """A number as compared where decimals are binary: rounded to 6 places.

    Money has 2 places and ratios a few more, so two values equal as decimals
    round to the same float, and a sum or product one rounding error off its
    decimal value compares as that value. Integers need nothing.
    """
    if dialect in INEXACT_DECIMALS and str(type_) in ("decimal", "float"):
        return exp.Round(this=value, decimals=exp.Literal.number(COMPARED_PLACES))
    return value


def date_literal(value: str, dialect: str) -> exp.Expression:
    """A date constant; SQLite keeps dates as ISO text, so there it stays a string."""
    if dialect == "sqlite":
        return exp.Literal.string(value)
    return _date(exp.Literal.string(value), dialect)


def timestamp_literal(value: str, dialect: str) -> exp.Expression:
    """A timestamp constant, written `YYYY-MM-DD HH:MM:SS`."""
    if dialect == "sqlite":
        return exp.Literal.string(value)
    return exp.cast(exp.Literal.string(value), exp.DataType.Type.TIMESTAMP)


def literal(value: Any, type_: Type, dialect: str) -> exp.Expression:
    """A value of a language type as a SQL literal of `dialect`.

    Used wherever a value becomes SQL: a rule's constants and parameters
    (engine/compiler/expressions.py) and a pre-check's rows (engine/compiler/target.py).
    """
    if value is None:
        return exp.null()
    if type_ is Type.BOOL:
        return exp.Boolean(this=bool(value))
    if type_ is Type.STRING:
        return exp.Literal.string(str(value))
    if type_ is Type.DATE:
        return date_literal(value.isoformat(), dialect)
    if type_ is Type.TIMESTAMP:
        text = value.isoformat(sep=" ") if isinstance(value, datetime) else str(value)
        return timestamp_literal(text, dialect)
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    if text.startswith("-"):
        return exp.Neg(this=exp.Literal.number(text[1:]))
    return exp.Literal.number(text)


# The warehouse type of each catalog type, for a null parameter and a pre-check's rows
# (sqlglot spells it for each dialect).
SQL_TYPES = {
    Type.STRING: exp.DataType.build("TEXT"),
    Type.INT: exp.DataType.build("BIGINT"),
    Type.DECIMAL: exp.DataType.build("DECIMAL(18, 2)"),
    Type.FLOAT: exp.DataType.build("DOUBLE"),
    Type.DATE: exp.DataType.build("DATE"),
    Type.TIMESTAMP: exp.DataType.build("TIMESTAMP"),
    Type.BOOL: exp.DataType.build("BOOLEAN"),
}


def divide(left: exp.Expression, right: exp.Expression, b: Builders) -> exp.Expression:
    """True division to 9 decimal places, null when dividing by zero.

    Engines disagree: integer division truncates in PostgreSQL, SQLite and
    Trino; division by zero is an error in PostgreSQL, BigQuery, Snowflake and
    ANSI Spark, infinity on ClickHouse, null elsewhere. The quotient is taken
    to 9 places as `round` does, so that 500.10 / 5 is exactly 100.02 and a
    threshold of 100.02 is not exceeded (in binary floating point it is).
    """
    numerator = exp.cast(left, exp.DataType.Type.DOUBLE)
    denominator = exp.Nullif(this=_paren(right), expression=exp.Literal.number(0))
    quotient = exp.Div(this=numerator, expression=denominator)
    return FUNCTIONS["round"].build("round", [quotient, exp.Literal.number(9)], b)


# Where an aggregate takes its own ORDER BY, first(x order by …) is FIRST(x ORDER BY …):
# one pass over each group. Elsewhere it is the value on the row a ROW_NUMBER() window
# numbers 1, which sorts every row of the table first (FIN03 took 1.7 times as long).
_ORDERED_FIRST = frozenset({"duckdb"})


def ordered_first(dialect: str) -> bool:
    """Whether first(x order by …) can be one ordered aggregate on this warehouse."""
    return dialect in _ORDERED_FIRST


# A grouped model whose `having` asks for at least n rows per group (count(…) >= n, which
# count(*) >= n implies) keeps, before it groups, only the rows of groups that have n rows:
# counted by one 64-bit hash of the group values, which groups far faster than the values
# themselves when they are several strings. A hash shared by two groups only keeps more rows
# (the exact grouping after it decides); most groups of a rule's grouping are one or two rows
# and warn of none, so the grouping that computes messages sees few rows. FUN02 at 10x: 0.6
# of its time. Elsewhere the model groups its rows once, as written.
# https://duckdb.org/docs/stable/sql/functions/utility#hashvalue
_GROUP_HASH: dict[str, Callable[[list[exp.Expression]], exp.Expression]] = {
    "duckdb": lambda values: exp.Anonymous(this="hash", expressions=values),
}


def group_hash(dialect: str, values: list[exp.Expression]) -> exp.Expression | None:
    """One hash of a group's `values` where the warehouse has one (see _GROUP_HASH), else None."""
    build = _GROUP_HASH.get(dialect)
    return build(values) if build is not None else None


# `exists(… where inner.a = outer.x and …)` whose every tie to the outer row is such an
# equality, as `outer.x IN (SELECT inner.a FROM … WHERE …)`: DuckDB joins the rows to the
# subquery's by hash, where for a correlated EXISTS it first collects the distinct outer
# values of every row that reaches it, all their columns carried along (a delim join).
# FIN05 at 10x: 0.10 s against 0.035 s. Elsewhere the warehouse's own EXISTS.
_EXISTS_AS_IN = frozenset({"duckdb"})


def exists_as_in(dialect: str) -> bool:
    """Whether an `exists` tied to its outer row by equalities alone is better an IN here."""
    return dialect in _EXISTS_AS_IN


# count(distinct x) per group as two groupings (by the group values and x, then by the group
# values), which DuckDB runs in parallel where one DISTINCT aggregate is not: FUN06 at 10x,
# 0.9 of its time. Elsewhere the warehouse's own DISTINCT.
_TWO_PHASE_DISTINCT = frozenset({"duckdb"})


def two_phase_distinct(dialect: str) -> bool:
    """Whether a group's one count(distinct x) is better taken in two groupings here."""
    return dialect in _TWO_PHASE_DISTINCT


def sum_of(value: exp.Expression) -> exp.Expression:
    """SUM that is 0 over no rows, as the contract says."""
    return exp.Coalesce(this=exp.Sum(this=value), expressions=[exp.Literal.number(0)])


def average_of(value: exp.Expression) -> exp.Expression:
    """AVG in floating point (integer averages truncate on some engines).

    `avg(distinct x)` casts inside the DISTINCT: `CAST(DISTINCT x AS …)` is not SQL.
    """
    if isinstance(value, exp.Distinct):
        return exp.Avg(
            this=exp.Distinct(
                expressions=[exp.cast(v, exp.DataType.Type.DOUBLE) for v in value.expressions]
            )
        )
    return exp.Avg(this=exp.cast(value, exp.DataType.Type.DOUBLE))


# ---- quantile(x, p) and median(x) --------------------------------------------------------
#
# The continuous quantile of type 7 (Hyndman & Fan), the default of R and NumPy and the
# definition of SQL's PERCENTILE_CONT: over the n values that are not null, sorted
# x[0] ≤ … ≤ x[n−1], at position h = (n−1)·p, x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]).
# Null over no values. Each warehouse computes it in binary floating point, with its own
# order of operations (Spark writes (⌈h⌉−h)·x[⌊h⌋] + (h−⌊h⌋)·x[⌈h⌉]); the result is taken
# to 9 decimal places as `/` is, so that the four executed warehouses give the same value for
# amounts and a p of a few decimals (tests/engine/test_quantiles.py compares them with an exact
# reference); PostgreSQL casts a double to NUMERIC by its first 15 significant digits.


def _quantile_cont(value: exp.Expression, fraction: exp.Expression) -> exp.Expression:
    # DuckDB's exact quantile with linear interpolation (its QUANTILE is QUANTILE_DISC;
    # https://duckdb.org/docs/stable/sql/functions/aggregates#quantile_contx-pos).
    return exp.Anonymous(this="QUANTILE_CONT", expressions=[value, fraction])


def _percentile_cont_within_group(
    value: exp.Expression, fraction: exp.Expression
) -> exp.Expression:
    # The SQL standard's ordered-set aggregate: PostgreSQL (double precision only,
    # https://www.postgresql.org/docs/current/functions-aggregate.html#FUNCTIONS-ORDEREDSET-TABLE)
    # and Snowflake (https://docs.snowflake.com/en/sql-reference/functions/percentile_cont).
    return exp.WithinGroup(
        this=exp.PercentileCont(this=fraction),
        expression=exp.Order(expressions=[exp.Ordered(this=value)]),
    )


def _percentile(value: exp.Expression, fraction: exp.Expression) -> exp.Expression:
    # Spark's PERCENTILE is exact (PERCENTILE_APPROX, which sqlglot writes for
    # PERCENTILE_CONT, is not; https://spark.apache.org/docs/latest/api/sql/#percentile).
    return exp.Anonymous(this="PERCENTILE", expressions=[value, fraction])


def _percentile_cont_starrocks(value: exp.Expression, fraction: exp.Expression) -> exp.Expression:
    # StarRocks' aggregate PERCENTILE_CONT(expr, p) interpolates linearly (from 2.4;
    # https://docs.starrocks.io/docs/sql-reference/sql-functions/aggregate-functions/percentile_cont/).
    return exp.Anonymous(this="PERCENTILE_CONT", expressions=[value, fraction])


def _quantile_exact_inclusive(value: exp.Expression, fraction: exp.Expression) -> exp.Expression:
    # ClickHouse's quantileExactInclusive(p)(x) is R-7, exact; its quantile() samples
    # (https://clickhouse.com/docs/en/sql-reference/aggregate-functions/reference/quantileexactinclusive).
    return exp.ParameterizedAgg(
        this="quantileExactInclusive", expressions=[fraction], params=[value]
    )


# The warehouses' own exact ordered aggregate; the ones absent have none that is exact:
# Trino and Hive's only exact one takes integers (https://cwiki.apache.org/confluence/display/
# Hive/LanguageManual+UDF#LanguageManualUDF-Built-inAggregateFunctions(UDAF)), Trino has
# APPROX_PERCENTILE only, BigQuery's PERCENTILE_CONT is a window function, MySQL has none,
# Doris' PERCENTILE took integers only before 3.0.3. SQLite has none either: there the
# compiler ranks the rows and interpolates itself (quantile_ranks, quantile_from_ranks).
_QUANTILE: dict[str, Callable[[exp.Expression, exp.Expression], exp.Expression]] = {
    "duckdb": _quantile_cont,
    "postgres": _percentile_cont_within_group,
    "snowflake": _percentile_cont_within_group,
    "spark": _percentile,
    "starrocks": _percentile_cont_starrocks,
    "clickhouse": _quantile_exact_inclusive,
}
_RANKED_QUANTILE = frozenset({"sqlite"})


def ranked_quantile(dialect: str) -> bool:
    """Whether quantile() is computed from ranked rows on this warehouse (it has no aggregate)."""
    return dialect in _RANKED_QUANTILE


def _double(value: exp.Expression) -> exp.Expression:
    return exp.cast(value, exp.DataType.Type.DOUBLE)


def _to_nine_places(value: exp.Expression, b: Builders) -> exp.Expression:
    return FUNCTIONS["round"].build("round", [value, exp.Literal.number(9)], b)


def quantile_of(value: exp.Expression, fraction: exp.Expression, b: Builders) -> exp.Expression:
    """The warehouse's own quantile of `value` at the constant `fraction`; Unsupported if none."""
    build = _QUANTILE.get(b.dialect)
    if build is None:
        raise Unsupported("quantile()", b.dialect)
    return _to_nine_places(build(_double(value), fraction), b)


def quantile_ranks(
    value: exp.Expression, partition: list[exp.Expression], fraction: exp.Expression
) -> tuple[exp.Expression, exp.Expression]:
    """Two window columns of the rows a quantile is computed over (where it is ranked).

    The rank of each row's value among its group's, nulls after every value,
    and the position h = (n − 1)·p of the quantile, n counting the values
    that are not null. `value` is what is ranked: null on a row an aggregate's
    `where` leaves out.
    """
    rank = exp.Window(
        this=exp.RowNumber(),
        partition_by=[p.copy() for p in partition],
        order=exp.Order(expressions=[exp.Ordered(this=value.copy(), nulls_first=False)]),
    )
    count = exp.Window(
        this=exp.Count(this=value.copy()), partition_by=[p.copy() for p in partition]
    )
    position = exp.Mul(
        this=exp.Paren(this=exp.Sub(this=count, expression=exp.Literal.number(1))),
        expression=fraction,
    )
    return rank, position


def quantile_from_ranks(
    value: exp.Expression, rank: exp.Expression, position: exp.Expression, b: Builders
) -> exp.Expression:
    """The quantile over a group of ranked rows (columns made by quantile_ranks).

    x[⌊h⌋] + (h − ⌊h⌋)·(x[⌈h⌉] − x[⌊h⌋]), ranks counting from 1: the values
    of the rows ranked ⌊h⌋ + 1 and ⌈h⌉ + 1. With no values, every value is
    null and so is the result.
    """

    def at_rank(step: str) -> exp.Expression:
        index = FUNCTIONS[step].build(step, [position.copy()], b)
        wanted = exp.EQ(
            this=rank.copy(), expression=exp.Add(this=index, expression=exp.Literal.number(1))
        )
        return exp.Max(this=exp.Case(ifs=[exp.If(this=wanted, true=_double(value.copy()))]))

    h = exp.Max(this=position.copy())
    fraction = exp.Sub(this=h, expression=FUNCTIONS["floor"].build("floor", [h.copy()], b))
    low, high = at_rank("floor"), at_rank("ceil")
    spread = exp.Paren(this=exp.Sub(this=high, expression=low.copy()))
    interpolated = exp.Add(
        this=low, expression=exp.Mul(this=spread, expression=exp.Paren(this=fraction))
    )
    return _to_nine_places(interpolated, b)
