"""Planted cases of the investment-attraction models INV01-INV05, with their near misses.

Each enterprise here is new, 存续 unless the case says otherwise, pays enough tax
for every year it is rewarded for (unless that is the case), deals with one
township (unless that is the case) and has persons outside every circle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

from engine.demo.plants.base import (
    D,
    Enterprise,
    Planter,
    Row,
    first_month_end,
    month_end_of,
    yuan,
)


def agreement(pl: Planter, town: str, ent: Enterprise, signed_on: dt.date) -> str:
    """A com_agreement row."""
    aid = pl.id("agreement")
    pl.add(
        "com_agreement",
        agreement_id=aid,
        township=town,
        enterprise_code=ent.code,
        enterprise_name=ent.name,
        signed_on=signed_on,
        promised_investment=yuan(50_000_000),
        promised_annual_tax=yuan(2_000_000),
    )
    return aid


def incentive(
    pl: Planter,
    town: str,
    ent: Enterprise,
    amount: str | int,
    paid_on: dt.date,
    year: int | None,
    agreement_id: str | None,
) -> str:
    """A com_incentive row."""
    iid = pl.id("incentive")
    pl.add(
        "com_incentive",
        incentive_id=iid,
        agreement_id=agreement_id,
        township=town,
        enterprise_code=ent.code,
        amount=yuan(amount),
        paid_on=paid_on,
        year=year,
    )
    return iid


def _incentive_row(pl: Planter, incentive_id: str) -> Row:
    """An incentive's row: the matter a township pays out, and so a pre-check's record."""
    return pl.row("com_incentive", incentive_id=incentive_id)


def tax(pl: Planter, ent: Enterprise, year: int, paid: str | int) -> None:
    """A tax_annual row."""
    pl.add("tax_annual", enterprise_code=ent.code, year=year, tax_paid=yuan(paid))


def _firm(pl: Planter, town: str, **kw: Any) -> Enterprise:
    return pl.enterprise(construction=False, township=town, **kw)


def _rich(pl: Planter, ent: Enterprise) -> None:
    """Enough tax for 2019-2021 that no incentive of these cases exceeds it."""
    for year in (2019, 2020, 2021):
        tax(pl, ent, year, 20_000_000)


def plant(pl: Planter) -> None:
    """Plant INV01-INV05."""
    inv01(pl)
    inv02(pl)
    inv03(pl)
    inv04(pl)
    inv05(pl)


def inv01(pl: Planter) -> None:
    """无协议或先兑现后签约: incentives without an agreement, or paid before signing."""
    cases = [
        # township, paid, agreement: None (null id) / "ghost" (no such row) / signing day
        ("330122001", D(2021, 3, 12), None),
        ("330122002", D(2021, 5, 8), "ghost"),
        ("330122003", D(2021, 4, 10), D(2021, 5, 20)),
        ("330122100", D(2021, 6, 15), D(2021, 6, 16)),
        ("330122101", D(2020, 12, 20), None),
        ("330122102", D(2021, 11, 5), D(2022, 1, 10)),
        ("330122105", D(2021, 12, 31), None),
        ("330122201", D(2021, 8, 19), "ghost"),
        ("330122004", D(2021, 2, 8), None),
    ]
    for town, paid, how in cases:
        ent = _firm(pl, town)
        _rich(pl, ent)
        if how is None:
            aid = None
        elif how == "ghost":
            aid = f"ZSXY8{pl.count('ghost'):08d}"
        else:
            assert isinstance(how, dt.date)
            aid = agreement(pl, town, ent, how)
        iid = incentive(pl, town, ent, 300_000, paid, paid.year - 1, aid)
        pl.warn(
            "INV01",
            iid,
            town,
            month_end_of(paid),
            trigger=_incentive_row(pl, iid),
        )
    # Near misses.
    ent = _firm(pl, "330122104")
    _rich(pl, ent)
    aid = agreement(pl, "330122104", ent, D(2021, 7, 1))
    iid = incentive(pl, "330122104", ent, 200_000, D(2021, 7, 1), 2020, aid)
    pl.near(
        "INV01",
        "agreement signed the same day the incentive was paid",
        "330122104",
        trigger=_incentive_row(pl, iid),
    )
    ent = _firm(pl, "330122203")
    _rich(pl, ent)
    iid = incentive(pl, "330122203", ent, 150_000, D(2022, 1, 5), 2021, None)
    pl.near(
        "INV01",
        "incentive without agreement paid 2022-01-05 (invisible)",
        "330122203",
        trigger=_incentive_row(pl, iid),
    )


def _inv02_holds(pays: list[tuple[str, dt.date]], d: dt.date, *, taxed: Decimal) -> bool:
    return sum((yuan(a) for a, w in pays if w <= d), Decimal(0)) > taxed


def _inv05_holds(pays: list[tuple[str, dt.date]], d: dt.date) -> bool:
    """Two townships or more have paid (pays: [(township, day)])."""
    return len({t for t, w in pays if w <= d}) >= 2


def _warn_needed(
    pl: Planter,
    model: str,
    key: str,
    town: str,
    pays: list[tuple[str, dt.date]],
    holds: Callable[[list[tuple[str, dt.date]], dt.date], bool],
    ids: list[str],
    first: dt.date | None = None,
) -> None:
    """Record a case of incentives (pays[i] paid as ids[i]); the trigger is the one it needs."""
    pl.warn_held(model, key, town, pays, holds, [_incentive_row(pl, iid) for iid in ids], first)


def inv02(pl: Planter) -> None:
    """奖励超过纳税: incentives for a year above the tax paid for it."""
    cases = [
        # township, year, tax (None: no row), incentives [(amount, paid)]
        ("330122001", 2020, "1000000", [("1200000", D(2021, 3, 15))]),
        ("330122002", 2020, None, [("300000", D(2021, 5, 10))]),
        ("330122004", 2021, "1000000", [("600000", D(2021, 4, 1)), ("500000", D(2021, 8, 10))]),
        ("330122100", 2020, "750000", [("400000", D(2021, 2, 3)), ("350000.01", D(2021, 2, 26))]),
        ("330122103", 2019, "200000", [("500000", D(2020, 9, 8))]),
        (
            "330122104",
            2021,
            "1100000",
            [("400000", D(2021, 6, 7)), ("350000", D(2021, 9, 13)), ("380000", D(2021, 10, 20))],
        ),
        ("330122200", 2020, "0", [("50000", D(2021, 7, 22))]),
        ("330122202", 2020, "880000", [("900000", D(2021, 12, 6))]),
        ("330122101", 2021, "300000", [("150000", D(2021, 3, 3)), ("150000.01", D(2021, 11, 29))]),
    ]
    for town, year, taxed, pays in cases:
        ent = _firm(pl, town)
        aid = agreement(pl, town, ent, D(2019, 6, 1))
        for y in (2019, 2020, 2021):
            if y == year:
                if taxed is not None:
                    tax(pl, ent, y, taxed)
            else:
                tax(pl, ent, y, 20_000_000)
        ids = [incentive(pl, town, ent, amount, paid, year, aid) for amount, paid in pays]
        holds = partial(_inv02_holds, taxed=yuan(taxed or 0))
        _warn_needed(pl, "INV02", f"{ent.code}|{year}", town, pays, holds, ids)
    # Largest incentive tied between two townships, a third township smaller: INV02 goes to
    # the smaller code of the tie, INV05 (same key) to the smallest code of all three.
    ent = _firm(pl, "330122103")
    for y in (2019, 2021):
        tax(pl, ent, y, 20_000_000)
    tax(pl, ent, 2020, 1_500_000)
    pays = [
        ("330122103", "800000", D(2021, 6, 8)),
        ("330122101", "800000", D(2021, 6, 17)),
        ("330122100", "300000", D(2021, 6, 24)),
    ]
    ids = []
    for town, amount, paid in pays:
        aid = agreement(pl, town, ent, D(2020, 3, 2))
        ids.append(incentive(pl, town, ent, amount, paid, 2020, aid))
    key, june = f"{ent.code}|2020", D(2021, 6, 30)
    amounts = [(amount, paid) for _, amount, paid in pays]
    holds = partial(_inv02_holds, taxed=yuan(1_500_000))
    _warn_needed(pl, "INV02", key, "330122101", amounts, holds, ids, june)
    # Three townships: without any one of them two remain, so no single incentive triggers it.
    towns = [(town, paid) for town, _, paid in pays]
    _warn_needed(pl, "INV05", key, "330122100", towns, _inv05_holds, ids, june)
    # Near misses.
    ent = _firm(pl, "330122105")
    aid = agreement(pl, "330122105", ent, D(2019, 6, 1))
    for y in (2019, 2021):
        tax(pl, ent, y, 20_000_000)
    tax(pl, ent, 2020, 640_000)
    incentive(pl, "330122105", ent, 400_000, D(2021, 4, 2), 2020, aid)
    iid = incentive(pl, "330122105", ent, 240_000, D(2021, 9, 2), 2020, aid)
    pl.near(
        "INV02",
        "incentives for 2020 exactly equal to the 2020 tax",
        "330122105",
        trigger=_incentive_row(pl, iid),
    )
    ent = _firm(pl, "330122201")
    aid = agreement(pl, "330122201", ent, D(2019, 6, 1))
    iid = incentive(pl, "330122201", ent, 900_000, D(2021, 5, 18), None, aid)
    pl.near(
        "INV02",
        "a large incentive with no year and no tax rows",
        "330122201",
        trigger=_incentive_row(pl, iid),
    )
    ent = _firm(pl, "330122203")
    aid = agreement(pl, "330122203", ent, D(2019, 6, 1))
    tax(pl, ent, 2021, 100_000)
    iid = incentive(pl, "330122203", ent, 500_000, D(2022, 1, 12), 2021, aid)
    pl.near(
        "INV02",
        "the incentive above the tax is paid 2022-01-12 (invisible)",
        "330122203",
        trigger=_incentive_row(pl, iid),
    )


def inv03(pl: Planter) -> None:
    """拿奖即走: deregistered within a year of the first incentive.

    ``status_changed_on`` is not an event date: it is taken as recorded, so a run
    sees the 注销 status from the day the incentive is visible.
    """
    cases = [
        # township, first paid, status, changed on, more incentives
        ("330122001", D(2021, 2, 10), "注销", D(2021, 9, 15), []),
        ("330122002", D(2021, 3, 5), "吊销", D(2022, 3, 5), []),  # paid + 365 days, inclusive
        ("330122003", D(2020, 6, 10), "注销", D(2021, 3, 1), []),
        ("330122004", D(2021, 1, 20), "注销", D(2021, 12, 1), [D(2021, 5, 10)]),
        ("330122102", D(2021, 7, 1), "注销", D(2021, 7, 31), []),
        ("330122105", D(2021, 10, 15), "吊销", D(2021, 11, 11), []),
        ("330122200", D(2021, 4, 1), "注销", D(2021, 4, 1), []),
        ("330122201", D(2021, 5, 19), "吊销", D(2021, 12, 24), []),
    ]
    for town, first, status, changed, more in cases:
        ent = _firm(pl, town, status=status, status_changed_on=changed)
        _rich(pl, ent)
        aid = agreement(pl, town, ent, D(2019, 9, 1))
        iid = incentive(pl, town, ent, 260_000, first, first.year - 1, aid)
        for paid in more:
            incentive(pl, town, ent, 120_000, paid, paid.year - 1, aid)
        assert first <= changed <= first + dt.timedelta(days=365)
        pl.warn(
            "INV03",
            ent.code,
            town,
            month_end_of(first),
            trigger=_incentive_row(pl, iid),
        )
    # First incentives paid the same day by two townships (different years, so not INV05).
    ent = _firm(pl, "330122104", status="注销", status_changed_on=D(2021, 10, 8))
    _rich(pl, ent)
    for town, year in (("330122104", 2020), ("330122102", 2021)):
        aid = agreement(pl, town, ent, D(2020, 1, 6))
        incentive(pl, town, ent, 180_000, D(2021, 8, 16), year, aid)
    # Neither first incentive is needed (the other is as early); the enterprise's record,
    # with its status 注销, is.
    pl.warn(
        "INV03",
        ent.code,
        "330122102",
        D(2021, 8, 31),
        trigger=pl.row("mkt_enterprise", enterprise_code=ent.code),
    )
    # Near misses.
    for town, status, changed, text in (
        ("330122101", "注销", D(2022, 3, 6), "deregistered 366 days after the first incentive"),
        ("330122103", "经营异常", D(2021, 6, 1), "status 经营异常 within the window"),
        ("330122201", "注销", None, "status 注销 with no status_changed_on"),
        ("330122202", "注销", D(2020, 12, 1), "deregistered before the first incentive"),
    ):
        ent = _firm(pl, town, status=status, status_changed_on=changed)
        _rich(pl, ent)
        aid = agreement(pl, town, ent, D(2019, 9, 1))
        iid = incentive(pl, town, ent, 210_000, D(2021, 3, 5), 2020, aid)
        pl.near("INV03", text, town, trigger=_incentive_row(pl, iid))


def inv04(pl: Planter) -> None:
    """关联企业获奖励: an agreement with a related enterprise, rewarded."""
    cases = [
        ("330122001", "child-shareholder", D(2021, 1, 10), [D(2021, 4, 20)]),
        ("330122003", "spouse-rep", D(2020, 8, 3), [D(2021, 7, 7)]),
        ("330122100", "child-shareholder", D(2020, 2, 14), [D(2020, 11, 9)]),
        ("330122101", "official-shareholder", D(2021, 5, 6), [D(2021, 9, 3), D(2021, 11, 15)]),
        ("330122102", "transfer", D(2021, 3, 1), [D(2021, 6, 18)]),
        ("330122105", "spouse-rep", D(2021, 6, 1), [D(2021, 12, 30)]),
        ("330122201", "sibling-shareholder", D(2020, 11, 20), [D(2021, 2, 22)]),
        ("330122203", "parent-supervisor", D(2021, 2, 2), [D(2021, 5, 28)]),
        ("330122002", "child-shareholder", D(2021, 3, 3), [D(2021, 10, 11)]),
    ]
    related = {
        # how: the official's relative in the enterprise (None: the official), and the role
        # held there ("rep": legal representative); "transfer": an official now of 330122004
        "child-shareholder": ("子女", "股东"),
        "spouse-rep": ("配偶", "rep"),
        "official-shareholder": (None, "股东"),
        "transfer": ("配偶", "股东"),
        "sibling-shareholder": ("兄弟姐妹", "股东"),
        "parent-supervisor": ("父母", "监事"),
    }
    for town, how, signed, paid in cases:
        if how == "transfer":
            official = pl.official("330122004", also=(town,))
        else:
            official = pl.official(town)
        relation, role = related[how]
        holder = official if relation is None else pl.relative(official, relation)
        ent = pl.enterprise_of(holder, role, township=town, construction=False)
        _rich(pl, ent)
        aid = agreement(pl, town, ent, signed)
        ids = [incentive(pl, town, ent, 320_000, day, day.year - 1, aid) for day in paid]
        # The first incentive paid under the agreement makes it a rewarded one.
        pl.warn(
            "INV04",
            aid,
            town,
            month_end_of(min(paid)),
            trigger=_incentive_row(pl, ids[paid.index(min(paid))]),
        )
    # Near misses.
    official = pl.official("330122002")
    ent = _firm(pl, "330122002", shareholders=((pl.relative(official, "配偶"), "股东"),))
    _rich(pl, ent)
    aid = agreement(pl, "330122002", ent, D(2021, 6, 1))
    iid = incentive(pl, "330122002", ent, 300_000, D(2022, 1, 18), 2021, aid)
    pl.near(
        "INV04",
        "related enterprise's only incentive is paid 2022-01-18 (invisible)",
        "330122002",
        trigger=_incentive_row(pl, iid),
    )
    official = pl.official("330122104")
    ent = _firm(pl, "330122202", shareholders=((pl.relative(official, "子女"), "股东"),))
    _rich(pl, ent)
    aid = agreement(pl, "330122202", ent, D(2021, 2, 1))
    iid = incentive(pl, "330122202", ent, 300_000, D(2021, 6, 1), 2020, aid)
    pl.near(
        "INV04",
        "enterprise related to 330122104 rewarded under an agreement of 330122202",
        "330122202",
        trigger=_incentive_row(pl, iid),
    )


def inv05(pl: Planter) -> None:
    """多头兑现: one enterprise rewarded for one year by two or more townships."""
    cases = [
        (2020, [("330122003", D(2021, 3, 10)), ("330122001", D(2021, 5, 12))]),
        (
            2020,
            [
                ("330122105", D(2021, 4, 6)),
                ("330122104", D(2021, 4, 20)),
                ("330122102", D(2021, 7, 1)),
            ],
        ),
        (2021, [("330122201", D(2021, 6, 1)), ("330122200", D(2021, 6, 25))]),
        (2019, [("330122002", D(2020, 8, 14)), ("330122004", D(2020, 10, 9))]),
        (2020, [("330122203", D(2021, 2, 10)), ("330122101", D(2021, 11, 15))]),
        (2020, [("330122100", D(2021, 9, 9)), ("330122202", D(2021, 9, 9))]),
        (2021, [("330122103", D(2021, 8, 2)), ("330122003", D(2021, 10, 26))]),
        (2021, [("330122105", D(2021, 12, 6)), ("330122203", D(2021, 12, 20))]),
    ]
    for year, pays in cases:
        ent = _firm(pl, pays[0][0])
        _rich(pl, ent)
        ids = []
        for town, paid in pays:
            aid = agreement(pl, town, ent, D(2019, 5, 6))
            ids.append(incentive(pl, town, ent, 150_000, paid, year, aid))
        first = first_month_end(partial(_inv05_holds, pays))
        seen = sorted(t for t, w in pays if first is not None and w <= first)
        _warn_needed(pl, "INV05", f"{ent.code}|{year}", seen[0], pays, _inv05_holds, ids, first)
    # Near misses: the day paid, and the townships paying with the year each pays for.
    for paid, by, text in (
        (
            D(2021, 5, 6),
            (("330122001", 2020), ("330122002", 2021)),
            "two townships, but for different years",
        ),
        (
            D(2021, 6, 6),
            (("330122104", 2020), ("330122105", None)),
            "the second township's incentive has no year",
        ),
    ):
        ent = _firm(pl, by[0][0])
        _rich(pl, ent)
        for town, year in by:
            aid = agreement(pl, town, ent, D(2019, 5, 6))
            iid = incentive(pl, town, ent, 150_000, paid, year, aid)
        pl.near("INV05", text, by[0][0], trigger=_incentive_row(pl, iid))
