"""What functions the language has, what they take and what they give back.

This is the checker's view (names, argument types, result types, a line of
documentation in Chinese). What each function means in SQL, per warehouse,
is in engine/compiler/functions.py; a test keeps the two tables in step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dsl.types import NUMERIC, ORDERED, TEMPORAL, Type, unify

ANY = frozenset(t for t in Type if t not in (Type.ERROR,))
ArgTypes = frozenset[Type]


@dataclass(frozen=True)
class Signature:
    """A function's shape.

    `args` gives the accepted types per position; `variadic` repeats the last
    one; `optional` counts trailing arguments that may be left out. `result`
    maps the argument types to the result type, or to the problem that says
    why they don't fit; `argument_hint` says what to write instead.
    """

    name: str
    kind: str  # scalar | aggregate | formatter | parameter (reads a list or map parameter)
    args: tuple[ArgTypes, ...]
    result: Callable[[list[Type]], Type | ArgumentProblem]
    doc_zh: str
    doc_en: str
    example: str
    variadic: bool = False
    optional: int = 0
    # Said when the arguments don't fit, besides the usage: how to write the likely intent.
    argument_hint: str = ""


@dataclass(frozen=True)
class ArgumentProblem:
    """Why arguments do not fit a signature: a message variant of the catalog and its fields.

    The variant (argument_count, argument_type) is the same for every code that
    checks arguments; the caller's code makes the key (`E302.argument_type` for a
    function call, `E311.argument_type` for a formatter in a message).
    """

    variant: str
    fields: dict[str, object]

    def key(self, code: str) -> str:
        """The catalog key of this problem as `code` reports it."""
        return f"{code}.{self.variant}"


def _fixed(t: Type) -> Callable[[list[Type]], Type]:
    return lambda _: t


def _same_as_first(types: list[Type]) -> Type:
    return types[0] if types[0] is not Type.NULL else Type.NULL


def _unified(types: list[Type]) -> Type | ArgumentProblem:
    result = Type.NULL
    for t in types:
        joined = unify(result, t)
        if joined is None:
            return ArgumentProblem("types_differ", {"first_zh": result.zh, "other_zh": t.zh})
        result = joined
    return result


def _if_result(types: list[Type]) -> Type | ArgumentProblem:
    return _unified(types[1:])


def _last(types: list[Type]) -> Type:
    return types[-1]


def _sum_result(types: list[Type]) -> Type:
    return types[0] if types[0] in NUMERIC else Type.DECIMAL


def _round_result(types: list[Type]) -> Type:
    return Type.FLOAT if types[0] is Type.FLOAT else Type.DECIMAL


# What concat() joins: texts, and ints written as their digits (the same on every warehouse;
# amounts and dates would be written differently by each, so they belong in a message).
_TEXT_PARTS = frozenset({Type.STRING, Type.INT})
_TIMESTAMPS_ONLY = (
    "两个日期相差的天数用 days_between(a, b)；日期与时间戳之间，先用 date(t) 取时间戳的日期 / "
    "days between two dates: days_between(a, b); for a date and a timestamp, take date(t) first"
)

SIGNATURES: dict[str, Signature] = {
    s.name: s
    for s in [
        # ---- dates
        Signature(
            "add_months",
            "scalar",
            (frozenset({Type.DATE}), frozenset({Type.INT})),
            _fixed(Type.DATE),
            "日期加 n 个月，同日对齐，该月没有这一天时取月末（1月31日加1个月为2月28日）",
            "the same day n months later, clamped to the month's last day",
            "add_months(p.approved_on, $tender_grace_months)",
        ),
        Signature(
            "add_days",
            "scalar",
            (frozenset({Type.DATE}), frozenset({Type.INT})),
            _fixed(Type.DATE),
            "日期加 n 天（也可写作 日期 + n）",
            "the date n days later",
            "add_days(r.due_on, $arrears_grace_days)",
        ),
        Signature(
            "days_between",
            "scalar",
            (frozenset({Type.DATE}), frozenset({Type.DATE})),
            _fixed(Type.INT),
            "从 a 到 b 的天数，即 b − a",
            "b − a in days",
            "days_between(a.applied_on, a.approved_on)",
        ),
        Signature(
            "seconds_between",
            "scalar",
            (frozenset({Type.TIMESTAMP}), frozenset({Type.TIMESTAMP})),
            _fixed(Type.INT),
            "从 a 到 b 的整秒数，即 b − a（不足一秒的部分不计）",
            "b − a in whole seconds (fractions of a second are ignored)",
            "seconds_between(a.submitted_at, b.submitted_at)",
            argument_hint=_TIMESTAMPS_ONLY,
        ),
        Signature(
            "minutes_between",
            "scalar",
            (frozenset({Type.TIMESTAMP}), frozenset({Type.TIMESTAMP})),
            _fixed(Type.INT),
            "从 a 到 b 的整分钟数，即 b − a 的秒数除以 60、舍去零头（89 秒为 1，−89 秒为 −1）",
            "b − a in whole minutes, the remainder dropped toward zero",
            "minutes_between(a.submitted_at, b.submitted_at)",
            argument_hint=_TIMESTAMPS_ONLY,
        ),
        Signature(
            "workdays",
            "scalar",
            (frozenset({Type.DATE}), frozenset({Type.DATE})),
            _fixed(Type.INT),
            "a 之后到 b（含 b）之间的工作日数，按工作日历 ref_calendar 计算",
            "ref_calendar workdays d with a < d <= b",
            "workdays(h.applied_on, h.approved_on)",
        ),
        Signature(
            "year",
            "scalar",
            (TEMPORAL,),
            _fixed(Type.INT),
            "日期的年份",
            "the year",
            "year(f.paid_on)",
        ),
        Signature(
            "month",
            "scalar",
            (TEMPORAL,),
            _fixed(Type.INT),
            "日期的月份（1–12）",
            "the month number",
            "month(f.paid_on)",
        ),
        Signature(
            "year_month",
            "scalar",
            (TEMPORAL,),
            _fixed(Type.STRING),
            "日期所在年月，写作 YYYY-MM",
            "the month as YYYY-MM",
            "year_month(r.expense_on)",
        ),
        Signature(
            "date",
            "scalar",
            (TEMPORAL,),
            _fixed(Type.DATE),
            "时间戳的日期部分",
            "the date of a timestamp",
            "date(b.submitted_at)",
        ),
        # ---- nulls, conditions
        Signature(
            "coalesce",
            "scalar",
            (ANY,),
            _unified,
            "第一个非空的值",
            "the first value that is not null",
            "coalesce(p.parent_project_id, c.project_id)",
            variadic=True,
        ),
        Signature(
            "if",
            "scalar",
            (frozenset({Type.BOOL}), ANY, ANY),
            _if_result,
            "条件成立取第二个值，否则取第三个值（条件为空视为不成立）",
            "the second value when the condition holds, else the third",
            "if(r.guest_count <= 10, 3, floor(r.guest_count / 3))",
        ),
        Signature(
            "least",
            "scalar",
            (ORDERED,),
            _unified,
            "最小的值（有空值时结果为空）",
            "the smallest value (null if any is null)",
            "least(coalesce(h.approved_on, as_of), as_of)",
            variadic=True,
        ),
        Signature(
            "greatest",
            "scalar",
            (ORDERED,),
            _unified,
            "最大的值（有空值时结果为空）",
            "the largest value (null if any is null)",
            "greatest(a.amount, 0)",
            variadic=True,
        ),
        # ---- text
        Signature(
            "concat",
            "scalar",
            (_TEXT_PARTS, _TEXT_PARTS),
            _fixed(Type.STRING),
            "依次连接各段文字（整数按数字写出）；有一段为空值时结果为空值",
            "the texts joined in order (ints as their digits); null if any part is null",
            'concat(b.bidder_code, "-", year(b.submitted_at))',
            variadic=True,
            argument_hint=(
                "concat 连接文本和整数；金额、日期写进文字请在消息中写 {…}，"
                '空值要当作空文字时写 coalesce(x, "") / concat joins texts and ints; '
                'write amounts and dates in a message hole, and coalesce(x, "") for a null '
                "part read as empty"
            ),
        ),
        Signature(
            "blank",
            "scalar",
            (frozenset({Type.STRING}),),
            _fixed(Type.BOOL),
            "为空或只有空白字符；not blank(x) 即“非空”",
            "null or only white space; `not blank(x)` means non-empty",
            "not blank(b.contact_phone)",
        ),
        Signature(
            "trim",
            "scalar",
            (frozenset({Type.STRING}),),
            _fixed(Type.STRING),
            "去掉首尾空格",
            "without leading and trailing spaces",
            "trim(s.account_no)",
        ),
        Signature(
            "upper",
            "scalar",
            (frozenset({Type.STRING}),),
            _fixed(Type.STRING),
            "转为大写",
            "in upper case",
            "upper(o.person_id)",
        ),
        Signature(
            "lower",
            "scalar",
            (frozenset({Type.STRING}),),
            _fixed(Type.STRING),
            "转为小写",
            "in lower case",
            "lower(b.ip_address)",
        ),
        Signature(
            "length",
            "scalar",
            (frozenset({Type.STRING}),),
            _fixed(Type.INT),
            "字符个数",
            "the number of characters",
            "length(p.name)",
        ),
        Signature(
            "contains",
            "scalar",
            (frozenset({Type.STRING}), frozenset({Type.STRING})),
            _fixed(Type.BOOL),
            "第一个文本包含第二个文本",
            "the first text contains the second",
            'contains(f.purpose, "工程")',
        ),
        Signature(
            "starts_with",
            "scalar",
            (frozenset({Type.STRING}), frozenset({Type.STRING})),
            _fixed(Type.BOOL),
            "第一个文本以第二个文本开头",
            "the first text starts with the second",
            'starts_with(e.enterprise_code, "91")',
        ),
        Signature(
            "substr",
            "scalar",
            (frozenset({Type.STRING}), frozenset({Type.INT}), frozenset({Type.INT})),
            _fixed(Type.STRING),
            "从第 start 个字符起（从 1 数起）取 n 个字符",
            "n characters from position start (counting from 1)",
            "substr(h.applicant_id, 7, 8)",
            optional=1,
        ),
        # ---- numbers
        Signature(
            "abs",
            "scalar",
            (NUMERIC,),
            _same_as_first,
            "绝对值",
            "the absolute value",
            "abs(x.amount_delta)",
        ),
        Signature(
            "floor",
            "scalar",
            (NUMERIC,),
            _fixed(Type.INT),
            "向下取整",
            "rounded down to an integer",
            "floor(r.guest_count / 3)",
        ),
        Signature(
            "ceil",
            "scalar",
            (NUMERIC,),
            _fixed(Type.INT),
            "向上取整",
            "rounded up to an integer",
            "ceil(a.area)",
        ),
        Signature(
            "round",
            "scalar",
            (NUMERIC, frozenset({Type.INT})),
            _round_result,
            "四舍五入到 n 位小数（默认 0 位，五入远离零）",
            "rounded to n decimals, halves away from zero",
            "round(x, 2)",
            optional=1,
        ),
        # ---- aggregates
        Signature(
            "count",
            "aggregate",
            (ANY,),
            _fixed(Type.INT),
            "行数：count(*)；非空值个数：count(x)；不同值个数：count(distinct x)",
            "rows, non-null values, or distinct values",
            "count(distinct s.recipient_id)",
        ),
        Signature(
            "sum",
            "aggregate",
            (NUMERIC,),
            _sum_result,
            "合计；没有行时为 0",
            "the total; 0 over no rows",
            "sum(f.amount)",
        ),
        Signature(
            "min",
            "aggregate",
            (ORDERED | {Type.BOOL},),
            _same_as_first,
            "最小值",
            "the smallest value",
            "min(i.paid_on)",
        ),
        Signature(
            "max",
            "aggregate",
            (ORDERED | {Type.BOOL},),
            _same_as_first,
            "最大值",
            "the largest value",
            "max(c.amount)",
        ),
        Signature(
            "avg",
            "aggregate",
            (NUMERIC,),
            _fixed(Type.FLOAT),
            "平均值",
            "the average",
            "avg(c.amount)",
        ),
        Signature(
            "first",
            "aggregate",
            (ANY,),
            _same_as_first,
            "按 order by 排在最前的那一行的值（并列时按后续排序项）",
            "the value of the first row in the given order",
            "first(f.township order by f.paid_on desc, f.township)",
        ),
        Signature(
            "quantile",
            "aggregate",
            (NUMERIC, NUMERIC),
            _fixed(Type.FLOAT),
            "分位数：p 为 0 到 1 之间的常数或参数，在排好序的值之间按位置 (n−1)·p 线性插值"
            "（R、NumPy 默认的第 7 种定义），空值不参与，没有值时为空",
            "the p-quantile, interpolated linearly at position (n−1)·p of the sorted values",
            "quantile(r.amount, 0.75)",
        ),
        Signature(
            "median",
            "aggregate",
            (NUMERIC,),
            _fixed(Type.FLOAT),
            "中位数，即 quantile(值, 0.5)",
            "the median: quantile(x, 0.5)",
            "median(r.amount)",
        ),
        # ---- list and map parameters
        Signature(
            "value_of",
            "parameter",
            (ANY, frozenset({Type.STRING}), ANY),
            _last,  # the checker unifies it with the map's values (dsl/check/expressions.py)
            "映射参数中键对应的值；键不在映射中或为空时取默认值",
            "the map parameter's value for the key, else the default",
            "value_of($min_bid_days, p.method, 20)",
        ),
        # ---- message formatters
        Signature(
            "wan",
            "formatter",
            (NUMERIC,),
            _fixed(Type.STRING),
            "以万元为单位写出金额，去掉末尾的 0（88320000 写作 8832）",
            "an amount in units of 10,000 yuan, without trailing zeros",
            "{wan(p.investment)}万元",
        ),
        Signature(
            "pct",
            "formatter",
            (NUMERIC, frozenset({Type.INT})),
            _fixed(Type.STRING),
            "把比例写成百分数（0.3 写作 30%），默认最多两位小数，可指定 0–4 位",
            "a ratio as a percentage (0.3 reads 30%), at most 2 decimals unless given 0–4",
            "{pct($prepay_ratio)}",
            optional=1,
        ),
    ]
}

# How many decimals pct(x) writes, and the most pct(x, n) may ask for: a percentage to 4
# places is a ratio to 6, far inside the 15 digits a float holds, so the value every
# warehouse computes writes the same.
PCT_DIGITS = 2
PCT_MAX_DIGITS = 4

AGGREGATES = frozenset(n for n, s in SIGNATURES.items() if s.kind == "aggregate")
FORMATTERS = frozenset(n for n, s in SIGNATURES.items() if s.kind == "formatter")


def check_arguments(sig: Signature, types: list[Type]) -> Type | ArgumentProblem:
    """The result type of `sig` applied to `types`, or why it can't be."""
    low = len(sig.args) - sig.optional
    high = None if sig.variadic else len(sig.args)
    if len(types) < max(low, 1 if sig.variadic else low) or (
        high is not None and len(types) > high
    ):
        if sig.variadic:
            counted = {"name": sig.name, "least": low, "count": len(types)}
            return ArgumentProblem("argument_count_at_least", counted)
        expected = f"{low}" if sig.optional == 0 else f"{low}–{high}"
        return ArgumentProblem(
            "argument_count", {"name": sig.name, "expected": expected, "count": len(types)}
        )
    for i, t in enumerate(types):
        accepted = sig.args[min(i, len(sig.args) - 1)]
        if t in (Type.ERROR, Type.NULL) or t in accepted:
            continue
        wanted = "、".join(sorted(a.zh for a in accepted if a is not Type.NULL))
        typed = {"name": sig.name, "position": i + 1, "wanted": wanted}
        return ArgumentProblem("argument_type", {**typed, "got_zh": t.zh, "got": t.value})
    if Type.ERROR in types:
        return Type.ERROR
    return sig.result(types)
