"""Planted cases of the rural-housing models HOU01-HOU06, with their near misses.

Applicants are villagers registered (农业) in the village they apply in, with no
earlier homestead, decided within 20 workdays, unless the case says otherwise.
``applied_on`` is the event date; the status and ``approved_on`` are taken as
recorded, so an application approved next month is seen as 批准 from the month
it was filed.
"""

from __future__ import annotations

import datetime as dt

from engine.demo.plants.base import D, Person, Planter, Row, first_month_end, month_end_of
from engine.demo.plants.rows import death

PENDING = None


def application(
    pl: Planter,
    town: str,
    applicant: Person,
    applied: dt.date,
    *,
    approved: dt.date | int | None = 12,
    status: str = "批准",
    area: float | None = 90.0,
    village: str | None = None,
    household_id: str | None = None,
    size: int = 4,
    allow_slow: bool = False,
) -> str:
    """An nr_housing_approval row; ``approved`` as a date, k workdays after, or None."""
    if isinstance(approved, int):
        approved = pl.workdays.nth_after(applied, approved)
    if not allow_slow:
        end = approved if approved is not None else D(2021, 12, 31)
        assert pl.workdays.count(applied, min(end, D(2021, 12, 31))) <= 20, (applied, approved)
    aid = pl.id("application")
    pl.add(
        "nr_housing_approval",
        application_id=aid,
        township=town,
        village=village or applicant.village,
        applicant_name=applicant.name,
        applicant_id=applicant.id,
        household_id=household_id or applicant.household_id,
        household_size=size,
        applied_on=applied,
        approved_on=approved,
        status=status,
        approved_area=area,
    )
    return aid


def filed(pl: Planter, application_id: str) -> Row:
    """An application's row: the matter a township approves, and so a pre-check's record."""
    return pl.row("nr_housing_approval", application_id=application_id)


def parcel(
    pl: Planter,
    household_id: str,
    owner: str | None,
    town: str,
    village: str | None,
    registered: dt.date,
    area: float = 110.0,
) -> None:
    """An nr_homestead row."""
    pl.add(
        "nr_homestead",
        parcel_id=pl.id("parcel"),
        household_id=household_id,
        owner_id=owner,
        township=town,
        village=village,
        area=area,
        registered_on=registered,
    )


def plant(pl: Planter) -> None:
    """Plant HOU01-HOU06."""
    hou01(pl)
    hou02(pl)
    hou03(pl)
    hou04(pl)
    hou05(pl)
    hou06(pl)


def hou01(pl: Planter) -> None:
    """一户多宅: the household already had a parcel before applying."""
    cases = [
        ("330122001", D(2021, 3, 8), D(2015, 6, 1), 10, "head"),
        ("330122003", D(2021, 4, 12), D(2021, 2, 1), 8, "head"),
        ("330122100", D(2021, 6, 15), D(2021, 6, 14), 6, "head"),
        ("330122101", D(2021, 5, 25), D(2008, 9, 9), 10, "head"),
        ("330122102", D(2021, 7, 6), D(2010, 1, 1), 9, "spouse"),
        ("330122104", D(2020, 12, 10), D(2005, 4, 4), 12, "head"),
        ("330122105", D(2021, 9, 13), D(2019, 11, 11), 7, "head"),
        ("330122201", D(2021, 10, 19), D(2016, 5, 5), 11, "none"),
        ("330122203", D(2021, 12, 1), D(2012, 12, 12), 10, "head"),
        ("330122002", D(2021, 2, 22), D(2018, 8, 8), 9, "head"),
    ]
    for town, applied, registered, k, owner in cases:
        p = pl.person(town)
        owner_id = p.id
        if owner == "spouse":
            owner_id = pl.person(town, p.village, household_id=p.household_id, male=not p.male).id
        elif owner == "none":
            owner_id = None
        parcel(pl, p.household_id, owner_id, town, p.village, registered)
        aid = application(pl, town, p, applied, approved=k)
        pl.warn("HOU01", aid, town, month_end_of(applied), trigger=filed(pl, aid))
    # Near misses.
    p = pl.person("330122002")
    parcel(pl, p.household_id, p.id, "330122002", p.village, D(2021, 5, 17))
    aid = application(pl, "330122002", p, D(2021, 5, 17))
    pl.near(
        "HOU01",
        "parcel registered on the day of the application (not before)",
        "330122002",
        trigger=filed(pl, aid),
    )
    p = pl.person("330122004")
    parcel(pl, p.household_id, p.id, "330122004", p.village, D(2011, 3, 3))
    aid = application(pl, "330122004", p, D(2021, 8, 2), status="不予批准", area=None)
    pl.near(
        "HOU01",
        "household with a parcel whose application was refused",
        "330122004",
        trigger=filed(pl, aid),
    )


def hou02(pl: Planter) -> None:
    """超面积审批: approved above 125 m2."""
    cases = [
        ("330122002", D(2021, 2, 2), 125.01),
        ("330122004", D(2021, 3, 22), 130.0),
        ("330122100", D(2021, 5, 6), 150.0),
        ("330122101", D(2021, 6, 21), 180.5),
        ("330122103", D(2020, 11, 9), 126.0),
        ("330122104", D(2021, 8, 16), 140.25),
        ("330122105", D(2021, 9, 27), 200.0),
        ("330122200", D(2021, 11, 1), 135.0),
        ("330122202", D(2021, 12, 6), 128.0),
        ("330122001", D(2021, 10, 18), 160.0),
    ]
    for town, applied, area in cases:
        p = pl.person(town)
        aid = application(pl, town, p, applied, area=area, size=6)
        pl.warn("HOU02", aid, town, month_end_of(applied), trigger=filed(pl, aid))
    p = pl.person("330122001")
    aid = application(pl, "330122001", p, D(2021, 4, 6), area=125.0, size=6)
    pl.near("HOU02", "approved area exactly 125", "330122001", trigger=filed(pl, aid))
    p = pl.person("330122003")
    aid = application(pl, "330122003", p, D(2021, 5, 10), status="不予批准", area=140.0)
    pl.near("HOU02", "140 m2 on a refused application", "330122003", trigger=filed(pl, aid))
    p = pl.person("330122201")
    aid = application(pl, "330122201", p, D(2021, 7, 12), area=None)
    pl.near("HOU02", "approved with no area recorded", "330122201", trigger=filed(pl, aid))


def hou03(pl: Planter) -> None:
    """非本村村民审批: the applicant is no registered villager there."""
    specs = [
        ("330122001", D(2021, 3, 15), "absent"),
        ("330122003", D(2021, 4, 19), "other-village"),
        ("330122100", D(2021, 5, 24), "other-township"),
        ("330122101", D(2021, 6, 7), "非农业"),
        ("330122102", D(2021, 7, 12), "moved-out-that-day"),
        ("330122103", D(2020, 12, 14), "moved-out-2019"),
        ("330122104", D(2021, 9, 6), "no-type"),
        ("330122105", D(2021, 10, 11), "居民"),
        ("330122203", D(2021, 8, 5), "moved-out-2021"),
        ("330122202", D(2021, 11, 15), "absent"),
    ]
    for town, applied, how in specs:
        village = pl.village(town, 1)
        if how == "absent":
            p = pl.person(town, village, register=False)
        elif how == "other-village":
            p = pl.person(town, village, register_village=pl.village(town, 2))
        elif how == "other-township":
            p = pl.person(
                town,
                village,
                register_township="330122101",
                register_village=pl.village("330122101", 3),
            )
        elif how in ("非农业", "居民"):
            p = pl.person(town, village, registration=how)
        elif how == "moved-out-that-day":
            p = pl.person(town, village, moved_out_on=applied)
        elif how == "moved-out-2019":
            p = pl.person(town, village, moved_out_on=D(2019, 3, 1))
        elif how == "no-type":
            p = pl.person(town, village, registration=None)
        else:
            p = pl.person(town, village, moved_out_on=D(2021, 2, 10))
        aid = application(pl, town, p, applied)
        pl.warn("HOU03", aid, town, month_end_of(applied), trigger=filed(pl, aid))
    # Near misses.
    applied = D(2021, 6, 14)
    p = pl.person("330122002", moved_out_on=applied + dt.timedelta(days=1))
    aid = application(pl, "330122002", p, applied)
    pl.near("HOU03", "moved out the day after applying", "330122002", trigger=filed(pl, aid))
    p = pl.person("330122004", name="张晓明", register_name="张小明", male=True)
    aid = application(pl, "330122004", p, D(2021, 7, 5))
    pl.near(
        "HOU03",
        "register spells the name 张小明, application 张晓明; same id",
        "330122004",
        trigger=filed(pl, aid),
    )
    applied = D(2021, 9, 1)
    p = pl.person("330122201", moved_in_on=applied + dt.timedelta(days=10))
    aid = application(pl, "330122201", p, applied)
    pl.near(
        "HOU03",
        "moved in after applying (moved_in_on is not part of the rule)",
        "330122201",
        trigger=filed(pl, aid),
    )


def _hou04_first(pl: Planter, applied: dt.date, approved: dt.date | None) -> dt.date | None:
    def holds(d: dt.date) -> bool:
        if applied > d:
            return False
        end = d if approved is None else min(approved, d)
        return pl.workdays.count(applied, end) > 20

    return first_month_end(holds)


def hou04(pl: Planter) -> None:
    """审批超时: more than 20 workdays from application to decision (or to the run)."""
    w = pl.workdays
    specs = [
        ("330122001", D(2021, 9, 24), w.nth_after(D(2021, 9, 24), 21), "批准"),  # over 国庆
        ("330122002", D(2021, 6, 1), None, "受理"),
        ("330122003", D(2021, 3, 15), None, "不予批准"),  # decision date missing
        ("330122100", D(2021, 7, 20), D(2021, 9, 10), "批准"),
        ("330122101", D(2021, 3, 1), D(2021, 3, 31), "批准"),
        ("330122102", D(2020, 11, 2), D(2021, 1, 15), "批准"),
        ("330122104", D(2021, 12, 1), None, "受理"),
        ("330122105", D(2021, 2, 1), w.nth_after(D(2021, 2, 1), 21), "批准"),  # over 春节
        ("330122201", D(2021, 4, 20), w.nth_after(D(2021, 4, 20), 21), "批准"),  # over 劳动节
        # Counting the 调休 Saturday Oct 9 makes it 21; Monday-Friday alone would give 20.
        ("330122203", D(2021, 10, 8), w.nth_after(D(2021, 10, 8), 21), "批准"),
    ]
    for town, applied, approved, status in specs:
        p = pl.person(town)
        aid = application(
            pl,
            town,
            p,
            applied,
            approved=approved,
            status=status,
            area=90.0 if status == "批准" else None,
            allow_slow=True,
        )
        pl.warn("HOU04", aid, town, _hou04_first(pl, applied, approved))
    # Near misses.
    applied = D(2021, 9, 24)
    p = pl.person("330122004")
    application(pl, "330122004", p, applied, approved=w.nth_after(applied, 20))
    pl.near("HOU04", "exactly 20 workdays across the National Day holiday", "330122004")
    p = pl.person("330122103")
    application(pl, "330122103", p, applied, approved=D(2021, 10, 26))
    pl.near("HOU04", "19 workdays by the official calendar, 22 counting Monday-Friday", "330122103")
    p = pl.person("330122202")
    application(pl, "330122202", p, D(2021, 12, 6), approved=None, status="受理", area=None)
    pl.near("HOU04", "pending since 2021-12-06: 19 workdays at 2021-12-31", "330122202")
    p = pl.person("330122200")
    application(pl, "330122200", p, D(2021, 12, 10), approved=D(2022, 1, 10))
    pl.near("HOU04", "approved 2022-01-10 after 20 workdays; 15 at 2021-12-31", "330122200")


def hou05(pl: Planter) -> None:
    """公职人员及亲属建房: the applicant is in the township's official circle."""
    specs = [
        ("330122001", D(2021, 3, 3), "配偶"),
        ("330122002", D(2021, 4, 14), "self"),
        ("330122004", D(2021, 5, 17), "父母"),
        ("330122100", D(2021, 6, 8), "transfer"),
        ("330122101", D(2020, 12, 15), "配偶"),
        ("330122103", D(2021, 7, 19), "子女"),
        ("330122105", D(2021, 8, 27), "兄弟姐妹"),
        ("330122200", D(2021, 10, 12), "配偶父母"),
        ("330122202", D(2021, 11, 22), "兄弟姐妹"),
        ("330122203", D(2021, 9, 8), "父母"),
    ]
    for town, applied, how in specs:
        p = pl.circle_member(
            town,
            how,
            serving_in="330122003",
            lives_in=town,
            registration="农业",
            unit="农业农村办公室",
        )
        aid = application(pl, town, p, applied, approved=8)
        pl.warn("HOU05", aid, town, month_end_of(applied), trigger=filed(pl, aid))
    # Near misses.
    official = pl.official("330122003")
    p = pl.relative(official, "配偶", township="330122004")
    aid = application(pl, "330122004", p, D(2021, 5, 6))
    pl.near(
        "HOU05",
        "relative of an official of 330122003 applying in 330122004",
        "330122004",
        trigger=filed(pl, aid),
    )
    official = pl.official("330122102")
    p = pl.relative(official, "子女")
    aid = application(pl, "330122102", p, D(2021, 6, 21), status="不予批准", area=None)
    pl.near("HOU05", "official's child, application refused", "330122102", trigger=filed(pl, aid))
    official = pl.official("330122104")
    relative = pl.relative(official, "兄弟姐妹")
    namesake = pl.person("330122104", name=relative.name)
    aid = application(pl, "330122104", namesake, D(2021, 9, 13))
    pl.near(
        "HOU05",
        "applicant shares a name with an official's brother, not his id",
        "330122104",
        trigger=filed(pl, aid),
    )


def hou06(pl: Planter) -> None:
    """死亡人员获批: the applicant died before the approval."""
    specs = [
        ("330122003", D(2021, 3, 2), D(2021, 3, 10), D(2021, 3, 25)),
        ("330122004", D(2021, 4, 12), D(2021, 4, 28), D(2021, 5, 8)),
        ("330122100", D(2021, 6, 7), D(2021, 5, 30), D(2021, 6, 20)),
        ("330122101", D(2020, 12, 10), D(2020, 12, 15), D(2021, 1, 6)),
        ("330122102", D(2021, 7, 5), D(2021, 7, 19), D(2021, 7, 28)),
        ("330122104", D(2021, 9, 1), D(2021, 9, 3), D(2021, 9, 22)),
        ("330122201", D(2021, 10, 11), D(2021, 10, 30), D(2021, 11, 8)),
        ("330122203", D(2021, 11, 15), D(2021, 11, 20), D(2021, 12, 1)),
        ("330122002", D(2021, 8, 2), D(2021, 8, 9), D(2021, 8, 24)),
    ]
    for town, applied, died, approved in specs:
        p = pl.person(town, birth=D(1944, 2, 2))
        death_row = death(pl, p, died)
        aid = application(pl, town, p, applied, approved=approved)
        # Whichever comes last: the death registered after the application, or the reverse.
        trigger = death_row if died >= applied else filed(pl, aid)
        pl.warn("HOU06", aid, town, month_end_of(max(applied, died)), trigger=trigger)
    # Near misses.
    p = pl.person("330122001", birth=D(1944, 2, 2))
    death_row = death(pl, p, D(2021, 6, 18))
    application(pl, "330122001", p, D(2021, 6, 1), approved=D(2021, 6, 18))
    pl.near("HOU06", "died on the day of approval (not before)", "330122001", trigger=death_row)
    p = pl.person("330122002", birth=D(1944, 2, 2))
    death_row = death(pl, p, D(2021, 9, 30))
    application(pl, "330122002", p, D(2021, 8, 2), approved=D(2021, 8, 20))
    pl.near("HOU06", "died after the approval", "330122002", trigger=death_row)
    p = pl.person("330122105")
    namesake = pl.person("330122105", name=p.name, birth=D(1940, 1, 9))
    death(pl, namesake, D(2021, 4, 1))
    aid = application(pl, "330122105", p, D(2021, 4, 12))
    pl.near(
        "HOU06",
        "a namesake of the applicant died before the approval",
        "330122105",
        trigger=filed(pl, aid),
    )
