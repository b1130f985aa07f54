"""China's official working-day calendar for 2020-2022, as the State Council published it.

HOU04 counts approval time in working days over ``ref_calendar``; a calendar
that treats every Monday-Friday as a workday gets the 调休 weekends and the
Golden Weeks wrong, so the holidays and make-up workdays are listed here from
the State Council notices:

- 2020: 国办发明电〔2019〕16号, and 国办发明电〔2020〕1号, which extended the
  Spring Festival to Sunday Feb 2 (so Fri Jan 31 and Sat Feb 1, first a
  make-up workday, became rest days for government offices);
- 2021: 国办发明电〔2020〕27号;
- 2022: 国办发明电〔2021〕11号.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

CALENDAR_START = dt.date(2020, 1, 1)
CALENDAR_END = dt.date(2022, 12, 31)
MONTH_ENDS: tuple[dt.date, ...] = tuple(
    (dt.date(2021, m + 1, 1) if m < 12 else dt.date(2022, 1, 1)) - dt.timedelta(days=1)
    for m in range(1, 13)
)
"""The demo's runs: every month end of 2021 (the planted truth is dated by them)."""


def _span(first: str, last: str) -> list[dt.date]:
    a, b = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [a + dt.timedelta(days=i) for i in range((b - a).days + 1)]


# Rest days (放假) by festival, and the weekend days worked to make up for them (调休上班).
HOLIDAYS: dict[str, list[dt.date]] = {
    "2020 元旦": _span("2020-01-01", "2020-01-01"),
    "2020 春节(延长至2月2日)": _span("2020-01-24", "2020-02-02"),
    "2020 清明节": _span("2020-04-04", "2020-04-06"),
    "2020 劳动节": _span("2020-05-01", "2020-05-05"),
    "2020 端午节": _span("2020-06-25", "2020-06-27"),
    "2020 国庆节、中秋节": _span("2020-10-01", "2020-10-08"),
    "2021 元旦": _span("2021-01-01", "2021-01-03"),
    "2021 春节": _span("2021-02-11", "2021-02-17"),
    "2021 清明节": _span("2021-04-03", "2021-04-05"),
    "2021 劳动节": _span("2021-05-01", "2021-05-05"),
    "2021 端午节": _span("2021-06-12", "2021-06-14"),
    "2021 中秋节": _span("2021-09-19", "2021-09-21"),
    "2021 国庆节": _span("2021-10-01", "2021-10-07"),
    "2022 元旦": _span("2022-01-01", "2022-01-03"),
    "2022 春节": _span("2022-01-31", "2022-02-06"),
    "2022 清明节": _span("2022-04-03", "2022-04-05"),
    "2022 劳动节": _span("2022-04-30", "2022-05-04"),
    "2022 端午节": _span("2022-06-03", "2022-06-05"),
    "2022 中秋节": _span("2022-09-10", "2022-09-12"),
    "2022 国庆节": _span("2022-10-01", "2022-10-07"),
}

MAKEUP_WORKDAYS: tuple[dt.date, ...] = tuple(
    dt.date.fromisoformat(d)
    for d in (
        # 2020 (Sat Feb 1 was announced as a make-up day, then absorbed by the extension)
        "2020-01-19",
        "2020-04-26",
        "2020-05-09",
        "2020-06-28",
        "2020-09-27",
        "2020-10-10",
        # 2021
        "2021-02-07",
        "2021-02-20",
        "2021-04-25",
        "2021-05-08",
        "2021-09-18",
        "2021-09-26",
        "2021-10-09",
        # 2022
        "2022-01-29",
        "2022-01-30",
        "2022-04-02",
        "2022-04-24",
        "2022-05-07",
        "2022-10-08",
        "2022-10-09",
    )
)

_REST = frozenset(d for days in HOLIDAYS.values() for d in days)
_MAKEUP = frozenset(MAKEUP_WORKDAYS)


def is_workday(day: dt.date) -> bool:
    """Tell whether government offices work on a day (weekday, not a holiday, or 调休)."""
    if not CALENDAR_START <= day <= CALENDAR_END:
        raise ValueError(f"{day} is outside the demo calendar {CALENDAR_START}..{CALENDAR_END}")
    if day in _MAKEUP:
        return True
    if day in _REST:
        return False
    return day.weekday() < 5


def all_days() -> list[dt.date]:
    """Every day of the calendar, in order."""
    return _span(CALENDAR_START.isoformat(), CALENDAR_END.isoformat())


def calendar_table(schema: pa.Schema) -> pa.Table:
    """The ``ref_calendar`` source: one row per day with ``is_workday``."""
    days = all_days()
    return pa.table(
        {"day": pa.array(days, pa.date32()), "is_workday": [is_workday(d) for d in days]},
        schema=schema,
    )


_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Workdays:
    """Working-day arithmetic over the calendar, the way HOU04 counts it.

    ``count(a, b)`` is the number of workdays d with a < d <= b, matching the
    contract's ``workdays(a, b)``; ``nth_after(a, k)`` is the day b with
    ``count(a, b) == k`` that is itself a workday. Arrays hold days since 1970.
    """

    first: int
    cumulative: np.ndarray  # cumulative[i] = workdays on or before first + i
    workday_numbers: np.ndarray  # day numbers of the workdays, ascending

    @classmethod
    def build(cls) -> Workdays:
        """Index the calendar once."""
        days = all_days()
        flags = np.array([is_workday(d) for d in days], dtype=np.int64)
        first = (CALENDAR_START - _EPOCH).days
        numbers = np.arange(first, first + len(days), dtype=np.int64)
        return cls(first=first, cumulative=np.cumsum(flags), workday_numbers=numbers[flags == 1])

    def count(self, a: dt.date, b: dt.date) -> int:
        """workdays(a, b) of the contract: workdays d with a < d <= b."""
        ia, ib = (a - _EPOCH).days - self.first, (b - _EPOCH).days - self.first
        return int(self.cumulative[ib] - self.cumulative[ia])

    def nth_after(self, a: dt.date, k: int) -> dt.date:
        """The k-th workday after a (k >= 1)."""
        n = int(self.nth_after_array(np.array([(a - _EPOCH).days]), np.array([k]))[0])
        return _EPOCH + dt.timedelta(days=n)

    def count_array(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Vectorised ``count`` over day numbers."""
        return self.cumulative[b - self.first] - self.cumulative[a - self.first]

    def nth_after_array(self, a: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Vectorised ``nth_after`` over day numbers."""
        return self.workday_numbers[self.cumulative[a - self.first] + k - 1]
