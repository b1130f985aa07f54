"""Planted cases of the collective-asset models AST01-AST05, with their near misses.

Unless the case says otherwise a lease here is 公开竞价 at the appraised rent,
for 5 years, to a new unrelated lessee, with every receipt paid on its due day.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from engine.demo.arrowkit import add_months_date
from engine.demo.plants.base import D, Planter, Row, first_month_end, month_end_of, yuan


def lease(
    pl: Planter,
    town: str,
    *,
    signed: dt.date,
    rent: str | int,
    appraised: str | int | None = "default",
    method: str = "公开竞价",
    start: dt.date | None = None,
    end: dt.date | None = None,
    lessee_name: str | None = None,
    lessee_id: str | None = "new",
    kind: str = "店面",
    receipts: list[tuple[dt.date, str | int, dt.date | None, str | int | None]] | None = None,
) -> str:
    """An asset, its lease and receipts [(due, amount due, paid on, amount paid)]."""
    village = pl.village(town, pl.count("asset-village"))
    asset_id = pl.id("asset")
    pl.add(
        "ag_asset",
        asset_id=asset_id,
        township=town,
        village=village,
        kind=kind,
        area=320.0,
        appraised_annual_rent=yuan(rent if appraised == "default" else appraised)
        if appraised is not None
        else None,
    )
    start = start or signed + dt.timedelta(days=10)
    end = end or add_months_date(start, 60) - dt.timedelta(days=1)
    if lessee_id == "new":
        who = pl.person(town, register=False)
        lessee_id, lessee_name = who.id, who.name
    lease_id = pl.id("lease")
    pl.add(
        "ag_lease",
        lease_id=lease_id,
        asset_id=asset_id,
        township=town,
        village=village,
        lessee_name=lessee_name,
        lessee_id=lessee_id,
        method=method,
        annual_rent=yuan(rent),
        start_on=start,
        end_on=end,
        signed_on=signed,
    )
    if receipts is None:
        receipts = [(start, rent, start, rent)]
    for due, amount_due, paid_on, amount_paid in receipts:
        pl.add(
            "ag_rent_receipt",
            receipt_id=pl.id("receipt"),
            lease_id=lease_id,
            due_on=due,
            amount_due=yuan(amount_due),
            paid_on=paid_on,
            amount_paid=yuan(amount_paid) if amount_paid is not None else None,
        )
    return lease_id


def lease_row(pl: Planter, lease_id: str) -> Row:
    """A lease's row: the matter a village lets, and so a pre-check's record."""
    return pl.row("ag_lease", lease_id=lease_id)


def plant(pl: Planter) -> None:
    """Plant AST01-AST05."""
    ast01(pl)
    ast02(pl)
    ast03(pl)
    ast04(pl)
    ast05(pl)


def ast01(pl: Planter) -> None:
    """低价出租: rent below 70% of the appraised rent."""
    cases = [
        ("330122001", D(2021, 3, 9), "69999.99", "100000"),
        ("330122002", D(2021, 4, 20), "20000", "50000", "协议出租"),
        ("330122004", D(2021, 5, 11), "120000", "300000"),
        ("330122100", D(2020, 9, 1), "8000", "30000", "公开竞价", "山林"),
        ("330122102", D(2021, 6, 28), "45000", "88000"),
        ("330122103", D(2021, 8, 2), "150000", "260000", "公开竞价", "厂房"),
        ("330122104", D(2021, 9, 14), "3500", "6000", "公开竞价", "水面"),
        ("330122201", D(2021, 11, 3), "42000", "61000"),
        ("330122203", D(2021, 12, 20), "15000", "30000", "公开竞价", "土地"),
        ("330122202", D(2021, 7, 19), "33000", "50000"),
    ]
    for town, signed, rent, appraised, *rest in cases:
        method = rest[0] if rest else "公开竞价"
        kind = rest[1] if len(rest) > 1 else "店面"
        lid = lease(
            pl, town, signed=signed, rent=rent, appraised=appraised, method=method, kind=kind
        )
        pl.warn("AST01", lid, town, month_end_of(signed), trigger=lease_row(pl, lid))
    lid = lease(pl, "330122003", signed=D(2021, 4, 6), rent="70000.00", appraised="100000")
    pl.near(
        "AST01", "rent exactly 70% of the appraised rent", "330122003", trigger=lease_row(pl, lid)
    )
    lid = lease(pl, "330122105", signed=D(2021, 5, 6), rent="10000", appraised=None)
    pl.near(
        "AST01",
        "low rent on an asset never appraised (null)",
        "330122105",
        trigger=lease_row(pl, lid),
    )


def ast02(pl: Planter) -> None:
    """应公开未公开: an agreed lease of 50,000 or more, or longer than 60 months."""
    cases = [
        ("330122001", D(2021, 2, 22), "50000.00", None),
        ("330122003", D(2021, 3, 30), "80000", None),
        ("330122100", D(2020, 2, 20), "20000", (D(2020, 2, 29), D(2025, 3, 1))),
        ("330122101", D(2021, 5, 17), "30000", (D(2021, 6, 1), D(2031, 5, 31))),
        ("330122102", D(2021, 7, 8), "120000", None),
        ("330122104", D(2021, 8, 24), "18000", (D(2021, 9, 1), D(2026, 9, 2))),
        ("330122105", D(2021, 10, 13), "66000", None),
        ("330122200", D(2021, 11, 29), "9000", (D(2021, 12, 1), D(2036, 11, 30))),
        ("330122202", D(2021, 12, 30), "51000", None),
        ("330122203", D(2021, 4, 12), "75000", None),
    ]
    for town, signed, rent, term in cases:
        start, end = term if term else (None, None)
        lid = lease(pl, town, signed=signed, rent=rent, method="协议出租", start=start, end=end)
        pl.warn("AST02", lid, town, month_end_of(signed), trigger=lease_row(pl, lid))
    lid = lease(pl, "330122002", signed=D(2021, 3, 3), rent="49999.99", method="协议出租")
    pl.near("AST02", "agreed rent 49,999.99", "330122002", trigger=lease_row(pl, lid))
    lid = lease(
        pl,
        "330122004",
        signed=D(2020, 2, 20),
        rent="20000",
        method="协议出租",
        start=D(2020, 2, 29),
        end=D(2025, 2, 28),
    )
    pl.near(
        "AST02",
        "agreed lease ending exactly 60 months (clamped to Feb 28) after a Feb 29 start",
        "330122004",
        trigger=lease_row(pl, lid),
    )
    lid = lease(pl, "330122203", signed=D(2021, 6, 7), rent="200000", method="公开竞价")
    pl.near(
        "AST02", "200,000 a year, but let by open bidding", "330122203", trigger=lease_row(pl, lid)
    )


def ast03(pl: Planter) -> None:
    """超期租赁: longer than 240 months."""
    cases = [
        ("330122002", D(2021, 2, 25), D(2021, 3, 1), D(2051, 2, 28), "山林"),
        ("330122004", D(2021, 4, 20), D(2021, 5, 1), D(2041, 5, 2), "土地"),
        ("330122101", D(2019, 12, 2), D(2020, 1, 1), D(2049, 12, 31), "山林"),
        ("330122102", D(2021, 6, 15), D(2021, 7, 1), D(2046, 6, 30), "厂房"),
        ("330122103", D(2021, 8, 9), D(2021, 9, 1), D(2051, 8, 31), "水面"),
        ("330122105", D(2021, 9, 27), D(2021, 10, 1), D(2041, 10, 31), "土地"),
        ("330122201", D(2021, 11, 16), D(2021, 12, 1), D(2071, 11, 30), "山林"),
        ("330122202", D(2021, 1, 6), D(2021, 1, 31), D(2041, 2, 1), "土地"),
        ("330122003", D(2021, 5, 24), D(2021, 6, 1), D(2045, 5, 31), "土地"),
    ]
    for town, signed, start, end, kind in cases:
        assert end > add_months_date(start, 240)
        lid = lease(pl, town, signed=signed, rent="12000", start=start, end=end, kind=kind)
        pl.warn("AST03", lid, town, month_end_of(signed), trigger=lease_row(pl, lid))
    lid = lease(
        pl, "330122001", signed=D(2021, 4, 1), rent="12000", start=D(2021, 5, 1), end=D(2041, 5, 1)
    )
    pl.near(
        "AST03", "ends exactly 240 months after the start", "330122001", trigger=lease_row(pl, lid)
    )
    lid = lease(
        pl,
        "330122104",
        signed=D(2021, 4, 1),
        rent="12000",
        start=D(2021, 1, 31),
        end=D(2041, 1, 31),
    )
    pl.near(
        "AST03",
        "start Jan 31, end exactly 240 months later",
        "330122104",
        trigger=lease_row(pl, lid),
    )


Receipt = tuple[dt.date, str, dt.date | None, str | None]
"""A rent receipt of a case: (due, amount due, paid on, amount paid)."""


def _ast04_first(receipts: list[Receipt]) -> dt.date | None:
    def holds(d: dt.date) -> bool:
        for due, amount_due, paid_on, amount_paid in receipts:
            if due > d or not due + dt.timedelta(days=90) < d:
                continue
            paid = Decimal(0)
            if paid_on is not None and amount_paid is not None and paid_on <= d:
                paid = yuan(amount_paid)
            if paid < yuan(amount_due):
                return True
        return False

    return first_month_end(holds)


def ast04(pl: Planter) -> None:
    """租金拖欠: rent still unpaid 90 days after it fell due."""
    cases = [
        ("330122001", D(2021, 2, 20), [(D(2021, 3, 1), "30000", None, None)]),
        ("330122003", D(2021, 3, 20), [(D(2021, 4, 1), "24000", None, None)]),
        ("330122004", D(2021, 2, 1), [(D(2021, 2, 15), "30000", D(2021, 3, 1), "20000")]),
        ("330122100", D(2020, 12, 28), [(D(2021, 1, 15), "18000", D(2021, 6, 20), "18000")]),
        ("330122102", D(2021, 5, 25), [(D(2021, 6, 10), "12000", D(2021, 6, 12), None)]),
        ("330122103", D(2021, 6, 21), [(D(2021, 7, 5), "16000", None, "16000")]),
        ("330122104", D(2020, 8, 10), [(D(2020, 9, 1), "9000", None, None)]),
        ("330122105", D(2021, 8, 16), [(D(2021, 9, 1), "21000", None, None)]),
        ("330122200", D(2021, 8, 2), [(D(2021, 8, 15), "15000", D(2022, 1, 10), "15000")]),
        (
            "330122202",
            D(2021, 1, 25),
            [
                (D(2021, 2, 1), "14000", D(2021, 2, 3), "14000"),
                (D(2021, 8, 1), "14000", None, None),
            ],
        ),
    ]
    for town, signed, receipts in cases:
        lid = _lease_with_receipts(pl, town, signed, receipts)
        pl.warn("AST04", lid, town, _ast04_first(receipts))
    # Near misses.
    for town, signed, receipts, text in (
        (
            "330122002",
            D(2021, 9, 20),
            [(D(2021, 10, 5), "20000", None, None)],
            "unpaid rent due 2021-10-05: 90 days run out only in 2022",
        ),
        (
            "330122101",
            D(2021, 2, 20),
            [(D(2021, 3, 1), "26000", D(2021, 5, 30), "26000")],
            "paid in full exactly 90 days after it fell due",
        ),
        (
            "330122203",
            D(2021, 1, 20),
            [(D(2021, 2, 1), "8000", D(2021, 2, 3), "8500")],
            "paid more than due",
        ),
    ):
        _lease_with_receipts(pl, town, signed, receipts)
        pl.near("AST04", text, town)


def _lease_with_receipts(
    pl: Planter,
    town: str,
    signed: dt.date,
    receipts: list[Receipt],
) -> str:
    """A lease starting on its first receipt's due day, at that receipt's amount a year."""
    first_due, rent = receipts[0][0], receipts[0][1]
    return lease(pl, town, signed=signed, rent=rent, start=first_due, receipts=receipts)


def ast05(pl: Planter) -> None:
    """出租给关联方: the lessee is related to the lease's township."""
    specs = [
        ("330122001", D(2021, 3, 16), "brother"),
        ("330122002", D(2021, 4, 26), "official"),
        ("330122004", D(2021, 6, 1), "spouse-enterprise"),
        ("330122100", D(2021, 7, 12), "parent-rep-enterprise"),
        ("330122101", D(2021, 8, 3), "transfer"),
        ("330122103", D(2020, 10, 20), "child"),
        ("330122105", D(2021, 9, 28), "spouse"),
        ("330122201", D(2021, 10, 19), "sibling-enterprise"),
        ("330122203", D(2021, 12, 7), "spouse-parent"),
        ("330122202", D(2021, 5, 10), "official"),
    ]
    lessees = {
        # how: the official's relative (None: the official), and the role they hold in the
        # enterprise that leases (None: they lease themselves); "transfer": an official now
        # of 330122102
        "brother": ("兄弟姐妹", None),
        "official": (None, None),
        "spouse-enterprise": ("配偶", "股东"),
        "parent-rep-enterprise": ("父母", "rep"),
        "transfer": ("子女", None),
        "child": ("子女", None),
        "spouse": ("配偶", None),
        "sibling-enterprise": ("兄弟姐妹", "监事"),
        "spouse-parent": ("配偶父母", None),
    }
    for town, signed, how in specs:
        if how == "transfer":
            official = pl.official("330122102", also=(town,))
        else:
            official = pl.official(town)
        relation, role = lessees[how]
        person = official if relation is None else pl.relative(official, relation)
        if role is None:
            code, name = person.id, person.name
        else:
            ent = pl.enterprise_of(person, role, township=town, construction=False)
            code, name = ent.code, ent.name
        lid = lease(pl, town, signed=signed, rent="36000", lessee_id=code, lessee_name=name)
        pl.warn("AST05", lid, town, month_end_of(signed), trigger=lease_row(pl, lid))
    official = pl.official("330122003")
    lid = lease(
        pl,
        "330122003",
        signed=D(2021, 5, 18),
        rent="36000",
        lessee_id=None,
        lessee_name=official.name,
    )
    pl.near(
        "AST05",
        "lessee named like an official, no id recorded",
        "330122003",
        trigger=lease_row(pl, lid),
    )
    official = pl.official("330122104")
    rel = pl.relative(official, "兄弟姐妹")
    lid = lease(
        pl, "330122202", signed=D(2021, 6, 22), rent="36000", lessee_id=rel.id, lessee_name=rel.name
    )
    pl.near(
        "AST05",
        "lessee is a relative of an official of 330122104, lease of 330122202",
        "330122202",
        trigger=lease_row(pl, lid),
    )
