"""The working-day calendar: State Council holidays and make-up workdays of 2020-2022."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.demo.calendar import (
    CALENDAR_END,
    CALENDAR_START,
    MAKEUP_WORKDAYS,
    Workdays,
    all_days,
    calendar_table,
    is_workday,
)
from engine.demo.catalog import load_catalog

D = dt.date


@pytest.mark.parametrize(
    ("day", "works"),
    [
        (D(2021, 1, 1), False),  # 元旦
        (D(2021, 1, 4), True),
        (D(2021, 2, 7), True),  # Sunday, worked before 春节
        (D(2021, 2, 11), False),
        (D(2021, 2, 17), False),
        (D(2021, 2, 20), True),  # Saturday, worked after 春节
        (D(2021, 4, 5), False),  # 清明
        (D(2021, 4, 25), True),  # Sunday before 劳动节
        (D(2021, 5, 5), False),
        (D(2021, 5, 8), True),  # Saturday after 劳动节
        (D(2021, 6, 14), False),  # 端午
        (D(2021, 9, 18), True),  # Saturday before 中秋
        (D(2021, 9, 21), False),
        (D(2021, 9, 26), True),  # Sunday before 国庆
        (D(2021, 10, 4), False),
        (D(2021, 10, 7), False),
        (D(2021, 10, 9), True),  # Saturday after 国庆
        (D(2021, 10, 10), False),
        (D(2020, 1, 19), True),
        (D(2020, 1, 31), False),  # the Spring Festival extension of 2020
        (D(2020, 2, 1), False),  # announced as a make-up day, absorbed by the extension
        (D(2020, 2, 3), True),
        (D(2020, 6, 28), True),
        (D(2020, 10, 8), False),
        (D(2020, 10, 10), True),
        (D(2022, 1, 29), True),
        (D(2022, 1, 30), True),
        (D(2022, 2, 1), False),
        (D(2022, 4, 2), True),
        (D(2022, 5, 7), True),
        (D(2022, 10, 8), True),
        (D(2022, 10, 9), True),
        (D(2022, 9, 12), False),
    ],
)
def test_known_days(day: dt.date, works: bool) -> None:
    assert is_workday(day) is works


@pytest.mark.parametrize(("year", "count"), [(2020, 249), (2021, 250), (2022, 249)])
def test_workdays_per_year(year: int, count: int) -> None:
    assert sum(is_workday(d) for d in all_days() if d.year == year) == count


def test_make_up_days_are_weekends() -> None:
    assert all(d.weekday() >= 5 for d in MAKEUP_WORKDAYS)


def test_calendar_table_covers_three_years() -> None:
    schema = load_catalog().sources["ref_calendar"].schema
    table = calendar_table(schema)
    assert table.num_rows == 1096
    assert table.schema == schema
    assert table["day"][0].as_py() == CALENDAR_START
    assert table["day"][-1].as_py() == CALENDAR_END


def test_workday_arithmetic_follows_the_contract() -> None:
    w = Workdays.build()
    # workdays(a, b) counts a < d <= b.
    assert w.count(D(2021, 9, 24), D(2021, 9, 24)) == 0
    assert w.count(D(2021, 9, 24), D(2021, 9, 26)) == 1  # Sunday Sep 26 is worked
    assert w.count(D(2021, 9, 30), D(2021, 10, 8)) == 1
    assert w.count(D(2021, 10, 8), D(2021, 10, 11)) == 2  # Sat Oct 9 and Mon Oct 11
    for a, k in [(D(2021, 9, 24), 20), (D(2021, 2, 1), 21), (D(2021, 12, 1), 3)]:
        b = w.nth_after(a, k)
        assert is_workday(b)
        assert w.count(a, b) == k
        assert w.count(a, b - dt.timedelta(days=1)) == k - 1
