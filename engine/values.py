"""Values as people write them (a spreadsheet, a CSV file, a JSON record) read as catalog types.

Case handlers' disposal files and the records a township's system sends for a
pre-check are typed by people: dates as 2021-11-20, 2021/11/20 or 2021年11月20日,
amounts with thousands separators, a yuan sign or 元, full-width digits. One
reading serves them all, so the same text means the same value wherever it is
given, and the same hint explains it when it does not.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from dsl.types import CENTS, Type, storage_problem
from engine.schema import decimal_of, fen

_DATE = re.compile(
    r"(?P<y>\d{4})\s*(?P<s1>[-/.年])\s*(?P<m>\d{1,2})\s*(?P<s2>[-/.月])\s*(?P<d>\d{1,2})\s*(?P<s3>日?)"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
)
_SEPARATORS = {"-": "-", "/": "/", ".": ".", "年": "月"}
_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+")
DATE_HINT = "日期写作 2021-11-20、2021/11/20 或 2021年11月20日 / write dates as 2021-11-20"


def parse_date(value: Any) -> date:
    """A day as offices write it: 2021-11-20, 2021/11/20, 2021.11.20, 2021年11月20日.

    A time after the day (Excel's "2021/11/20 0:00") is dropped. Raises ValueError.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(value)
    text = unicodedata.normalize("NFKC", value).strip()
    match = _DATE.fullmatch(text)
    if (
        not match
        or _SEPARATORS[match["s1"]] != match["s2"]
        or (match["s3"] and match["s1"] != "年")
    ):
        raise ValueError(value)
    return date(int(match["y"]), int(match["m"]), int(match["d"]))


def number(value: Any) -> Decimal:
    """A number as typed in a spreadsheet: 1,234,567.50, ¥1,234.5, 1234元; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float | Decimal):
        return decimal_of(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    text = text.removeprefix("¥").removesuffix("元").strip()
    if not _NUMBER.fullmatch(text):
        raise ValueError(value)
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ValueError(value) from None


def convert(value: Any, type_: Type) -> Any:
    """A value as a person wrote it, as the catalog type says; ValueError if it is not one."""
    if type_ is Type.STRING:
        return value if isinstance(value, str) else str(value)
    if type_ is Type.DATE:
        return parse_date(value)
    if type_ is Type.TIMESTAMP:
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        return datetime.fromisoformat(unicodedata.normalize("NFKC", str(value)).strip())
    if type_ is Type.BOOL:
        if isinstance(value, bool):
            return value
        text = unicodedata.normalize("NFKC", str(value)).strip().lower()
        if text in ("true", "是", "1", "y", "yes"):
            return True
        if text in ("false", "否", "0", "n", "no"):
            return False
        raise ValueError(value)
    amount = number(value)
    if not amount.is_finite():
        raise ValueError(value)
    if type_ is Type.DECIMAL and isinstance(value, float):
        # A binary float (SQLite REAL, double precision, a Parquet double) cannot hold
        # the fen exactly, so it reads as the amount it stands for: 8716.380000000001 is
        # 8716.38. Exact values (text, DECIMAL/NUMERIC columns) must be to the fen
        # already: rounding the 1.005 someone recorded would change the record in silence.
        amount = fen(amount)
    if storage_problem(amount, type_) is not None:
        raise ValueError(value)
    if type_ is Type.INT:
        return int(amount)
    if type_ is Type.DECIMAL:
        return amount.quantize(CENTS)
    return float(amount)


def value_hints(value: Any, type_: Type) -> tuple[str, ...]:
    """What to write instead of `value`, which `convert` refused for `type_` (Chinese / English)."""
    if type_ is Type.DATE:
        serial = isinstance(value, int | float) and not isinstance(value, bool)
        if serial or re.fullmatch(r"\d{5}(\.0+)?", str(value).strip()):
            return (
                DATE_HINT,
                "这像是 Excel 的日期序号：请把该列设为日期格式后重新导出 / "
                "this looks like an Excel date serial: format the column as a date",
            )
        return (DATE_HINT,)
    if type_ is Type.TIMESTAMP:
        return ("时间写作 2021-11-20 14:30:00 / write times as 2021-11-20 14:30:00",)
    if type_ is Type.INT:
        return ("应为整数，如 2 或 1,200 / a whole number such as 2 or 1,200",)
    if type_ is Type.DECIMAL:
        return ("应为金额，最多两位小数，如 12,345.60 / an amount, at most 2 decimals",)
    if type_ is Type.BOOL:
        return ("写 是/否 或 true/false / write 是 or 否, true or false",)
    return ()
