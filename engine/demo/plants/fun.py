"""Planted cases of the special-fund and subsidy models FUN01-FUN06, with their near misses.

Recipients here are new villagers, each with a card of their own and paid once
per program and period, unless the case says otherwise; fund payments stay
below 300,000 and go to new unrelated enterprises.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial

from engine.demo.plants.base import (
    D,
    Person,
    Planter,
    Row,
    first_month_end,
    month_end_of,
    needed_row,
    yuan,
)
from engine.demo.plants.rows import death, payment


def subsidy(
    pl: Planter,
    town: str,
    who: Person,
    program: str,
    paid: dt.date,
    *,
    period: str | None = "paid",
    account: str | None = None,
    amount: str | int = 300,
) -> Row:
    """A fin_subsidy row (period defaults to the month paid)."""
    return "fin_subsidy", pl.add(
        "fin_subsidy",
        subsidy_id=pl.id("subsidy"),
        program=program,
        township=town,
        village=who.village,
        recipient_name=who.name,
        recipient_id=who.id,
        account_no=account,
        amount=yuan(amount),
        period=f"{paid:%Y-%m}" if period == "paid" else period,
        paid_on=paid,
    )


def plant(pl: Planter) -> None:
    """Plant FUN01-FUN06."""
    fun01(pl)
    fun02(pl)
    fun03(pl)
    fun04(pl)
    fun05(pl)
    fun06(pl)


def _fun01_holds(parts: list[tuple[str, dt.date]], d: dt.date) -> bool:
    """The death is known and a subsidy paid more than 60 days after it (parts: [(what, day)])."""
    deaths = [w for k, w in parts if k == "death" and w <= d]
    if not deaths:
        return False
    late = deaths[0] + dt.timedelta(days=60)
    return any(k == "subsidy" and late < w <= d for k, w in parts)


def _paid_at_least(parts: list[tuple[str, dt.date]], d: dt.date, *, times: int) -> bool:
    """`times` or more of the payments ([(township, day)]) are made as of d."""
    return sum(1 for _, w in parts if w <= d) >= times


def fun01(pl: Planter) -> None:
    """死亡人员冒领: subsidies paid more than 60 days after death."""
    monthly = [
        # township, died, program, payments [(day, township, period)]
        (
            "330122001",
            D(2021, 2, 10),
            "高龄津贴",
            [(D(2021, m, 15), "330122001", f"2021-{m:02d}") for m in range(1, 7)],
        ),
        (
            "330122003",
            D(2020, 11, 20),
            "城乡居民基本养老金",
            [(D(2020, 12, 18), "330122003", "2020-12"), (D(2021, 1, 20), "330122003", "2021-01")],
        ),
        (
            "330122100",
            D(2021, 3, 1),
            "城乡居民基本养老金",
            [(D(2021, 4, 30), "330122100", "2021-04"), (D(2021, 5, 1), "330122100", "2021-05")],
        ),
        # Moved house: the latest such payment of May comes from another township.
        (
            "330122102",
            D(2021, 3, 5),
            "重度残疾人护理补贴",
            [(D(2021, 5, 10), "330122102", "2021-04"), (D(2021, 5, 20), "330122103", "2021-05")],
        ),
        # Two townships paid on the same day: the smaller code.
        (
            "330122104",
            D(2021, 6, 2),
            "困难残疾人生活补贴",
            [(D(2021, 8, 16), "330122104", "2021-07"), (D(2021, 8, 16), "330122101", "2021-08")],
        ),
        ("330122105", D(2020, 8, 8), "耕地地力保护补贴", [(D(2021, 6, 9), "330122105", "2021-06")]),
        (
            "330122201",
            D(2021, 9, 9),
            "高龄津贴",
            [(D(2021, m, 12), "330122201", f"2021-{m:02d}") for m in range(9, 13)],
        ),
        (
            "330122203",
            D(2021, 1, 25),
            "城乡居民基本养老金",
            [(D(2021, m, 10), "330122203", f"2021-{m:02d}") for m in range(1, 13)],
        ),
    ]
    for town, died, program, pays in monthly:
        p = pl.person(town, birth=D(1936, 6, 6))
        rows = [death(pl, p, died)]
        card = pl.card()
        for day, t, period in pays:
            rows.append(subsidy(pl, t, p, program, day, account=card, period=period))
        late = [(day, t) for day, t, _ in pays if day > died + dt.timedelta(days=60)]
        first = month_end_of(min(day for day, _ in late))
        assert first is not None
        seen = [(day, t) for day, t in late if day <= first]
        latest = max(day for day, _ in seen)
        town_of = min(t for day, t in seen if day == latest)
        # The late payment that reveals it; when two come in the same month, neither alone
        # is needed, and the death's registration is.
        parts = [("death", died)] + [("subsidy", day) for day, _, _ in pays]
        trigger = needed_row(first, parts, _fun01_holds, rows)
        pl.warn("FUN01", f"{p.id}|{program}", town_of, first, trigger=trigger)
    # Two programs of one dead recipient: two keys.
    p = pl.person("330122002", birth=D(1938, 8, 8))
    death(pl, p, D(2021, 4, 4))
    card = pl.card()
    for program in ("城乡居民基本养老金", "高龄津贴"):
        rows = [
            subsidy(pl, "330122002", p, program, D(2021, m, 20), account=card) for m in range(4, 9)
        ]
        # June's payment is the first more than 60 days after the death.
        pl.warn("FUN01", f"{p.id}|{program}", "330122002", D(2021, 6, 30), trigger=rows[2])
    # Near misses.
    p = pl.person("330122004", birth=D(1935, 5, 5))
    death(pl, p, D(2021, 3, 1))
    row = subsidy(pl, "330122004", p, "高龄津贴", D(2021, 4, 30), account=pl.card())
    pl.near("FUN01", "paid exactly 60 days after death", "330122004", trigger=row)
    p = pl.person("330122101", birth=D(1935, 5, 5))
    death(pl, p, D(2021, 11, 15))
    row = subsidy(pl, "330122101", p, "高龄津贴", D(2022, 1, 20), account=pl.card())
    pl.near(
        "FUN01", "paid 66 days after death, on 2022-01-20 (invisible)", "330122101", trigger=row
    )
    p = pl.person("330122202", birth=D(1937, 7, 7))
    namesake = pl.person("330122202", name=p.name, birth=D(1933, 3, 3))
    death(pl, namesake, D(2021, 2, 2))
    row = subsidy(pl, "330122202", p, "高龄津贴", D(2021, 7, 15), account=pl.card())
    pl.near("FUN01", "a namesake of the recipient died", "330122202", trigger=row)


def fun02(pl: Planter) -> None:
    """重复领取: paid twice for one program and period."""
    cases = [
        # program, period, payments [(day, township)]
        (
            "城乡居民基本养老金",
            "2021-03",
            [(D(2021, 3, 12), "330122001"), (D(2021, 4, 2), "330122001")],
        ),
        ("高龄津贴", "2021-05", [(D(2021, 5, 14), "330122102"), (D(2021, 5, 18), "330122004")]),
        (
            "困难残疾人生活补贴",
            "2021-06",
            [
                (D(2021, 6, 10), "330122100"),
                (D(2021, 6, 11), "330122100"),
                (D(2021, 7, 9), "330122100"),
            ],
        ),
        (
            "城乡居民基本养老金",
            "2020-12",
            [(D(2020, 12, 15), "330122101"), (D(2021, 1, 8), "330122101")],
        ),
        (
            "耕地地力保护补贴",
            "2021-04",
            [(D(2021, 4, 20), "330122103"), (D(2021, 9, 6), "330122103")],
        ),
        (
            "生态公益林补偿",
            "2021-08",
            [(D(2021, 8, 16), "330122105"), (D(2021, 8, 16), "330122105")],
        ),
        (
            "重度残疾人护理补贴",
            "2021-10",
            [(D(2021, 10, 11), "330122201"), (D(2021, 11, 10), "330122200")],
        ),
        ("高龄津贴", "2021-12", [(D(2021, 12, 10), "330122203"), (D(2021, 12, 31), "330122203")]),
        (
            "计划生育家庭奖励扶助金",
            "2021-02",
            [(D(2021, 2, 5), "330122002"), (D(2021, 2, 25), "330122002")],
        ),
        (
            "城乡居民基本养老金",
            "2021-07",
            [(D(2021, 7, 9), "330122004"), (D(2021, 7, 9), "330122004")],
        ),
    ]
    for program, period, pays in cases:
        p = pl.person(pays[0][1])
        card = pl.card()
        rows = [
            subsidy(pl, town, p, program, day, period=period, account=card) for day, town in pays
        ]
        paid = [(town, day) for day, town in pays]
        twice = partial(_paid_at_least, times=2)
        first = first_month_end(partial(twice, paid))
        assert first is not None
        town_of = min(t for day, t in pays if day <= first)
        # The second payment.
        trigger = needed_row(first, paid, twice, rows)
        pl.warn("FUN02", f"{p.id}|{program}|{period}", town_of, first, trigger=trigger)
    # Near misses.
    p = pl.person("330122003")
    card = pl.card()
    subsidy(pl, "330122003", p, "高龄津贴", D(2021, 3, 10), account=card)
    row = subsidy(pl, "330122003", p, "城乡居民基本养老金", D(2021, 3, 10), account=card)
    pl.near("FUN02", "same period, two different programs", "330122003", trigger=row)
    p = pl.person("330122104")
    card = pl.card()
    subsidy(pl, "330122104", p, "高龄津贴", D(2021, 6, 10), period="2021-06", account=card)
    row = subsidy(pl, "330122104", p, "高龄津贴", D(2021, 6, 28), period=None, account=card)
    pl.near("FUN02", "a second payment with no period", "330122104", trigger=row)
    p = pl.person("330122202")
    card = pl.card()
    subsidy(pl, "330122202", p, "高龄津贴", D(2021, 12, 10), period="2021-12", account=card)
    row = subsidy(pl, "330122202", p, "高龄津贴", D(2022, 1, 5), period="2021-12", account=card)
    pl.near(
        "FUN02", "the duplicate payment is dated 2022-01-05 (invisible)", "330122202", trigger=row
    )


def _case(
    pl: Planter, town: str, p: Person, kind: str, start: dt.date, end: dt.date | None = None
) -> str:
    cid = pl.id("case")
    pl.add(
        "ca_assistance",
        case_id=cid,
        person_id=p.id,
        name=p.name,
        township=town,
        village=p.village,
        kind=kind,
        start_on=start,
        end_on=end,
        monthly_amount=yuan(1060) if kind == "低保" else yuan(1600) if kind == "特困" else None,
    )
    return cid


def _case_row(pl: Planter, case_id: str) -> Row:
    """An assistance case's row: the matter a township approves, and so a pre-check's record."""
    return pl.row("ca_assistance", case_id=case_id)


def fun03(pl: Planter) -> None:
    """公职人员及亲属领取救助: assistance to the township's official circle."""
    specs = [
        ("330122001", "父母", "低保", D(2021, 3, 1)),
        ("330122002", "配偶", "临时救助", D(2021, 5, 12)),
        ("330122004", "self", "低保", D(2021, 6, 1)),
        ("330122100", "兄弟姐妹", "特困", D(2019, 4, 1)),
        ("330122101", "transfer", "低保", D(2021, 7, 1)),
        ("330122103", "配偶父母", "临时救助", D(2021, 8, 19)),
        ("330122104", "子女", "临时救助", D(2021, 10, 8)),
        ("330122200", "父母", "特困", D(2021, 11, 1)),
        ("330122202", "兄弟姐妹", "低保", D(2021, 12, 1)),
        ("330122203", "配偶", "特困", D(2021, 9, 1)),
    ]
    for town, how, kind, start in specs:
        p = pl.circle_member(
            town,
            how,
            serving_in="330122002",
            lives_in=town,
            transfer_relation="父母",
            registration="农业",
            unit="村镇建设办公室",
        )
        end = start + dt.timedelta(days=30) if kind == "临时救助" else None
        cid = _case(pl, town, p, kind, start, end)
        pl.warn("FUN03", cid, town, month_end_of(start), trigger=_case_row(pl, cid))
    official = pl.official("330122003")
    p = pl.relative(official, "父母", township="330122105")
    cid = _case(pl, "330122105", p, "低保", D(2021, 4, 1))
    pl.near(
        "FUN03",
        "parent of an official of 330122003 on 低保 in 330122105",
        "330122105",
        trigger=_case_row(pl, cid),
    )


def _vehicle(
    pl: Planter,
    owner: str,
    kind: str | None,
    registered: dt.date,
    deregistered: dt.date | None = None,
) -> Row:
    k = pl.count("plate")
    return "ps_vehicle", pl.add(
        "ps_vehicle",
        plate_no=f"浙AZ{k:04d}",
        owner_id=owner,
        vehicle_type=kind,
        registered_on=registered,
        deregistered_on=deregistered,
    )


def _fun04_first(start: dt.date, end: dt.date | None, since: dt.date) -> dt.date | None:
    """First run at which the case is active and the car/enterprise is already visible."""
    return first_month_end(lambda d: start <= d and (end is None or end >= d) and since <= d)


Holding = tuple[str | dt.date | None, ...]
"""What a FUN04 person holds: ("car", vehicle_type, registered, deregistered), ("rep",
registered) for the legal rep of an enterprise, or ("shareholder",) and ("shareholder",
status, status changed on) for a shareholder of one."""


def _holding(pl: Planter, p: Person, town: str, how: Holding) -> tuple[Row, dt.date]:
    """Plant what ``p`` holds; its row, and the day from which it counts for FUN04."""
    if how[0] == "car":
        _, vehicle_type, registered, deregistered = how
        return _vehicle(pl, p.id, vehicle_type, registered, deregistered), registered
    if how[0] == "rep":
        registered = how[1]
        ent = pl.enterprise(
            legal_rep=p,
            registered_on=registered,
            rep_is_shareholder=False,
            construction=False,
            township=town,
        )
        return pl.row("mkt_enterprise", enterprise_code=ent.code), registered
    status, changed = how[1:] if len(how) > 1 else ("存续", None)
    ent = pl.enterprise(
        shareholders=((p, "股东"),),
        status=status,
        status_changed_on=changed,
        construction=False,
        township=town,
    )
    return pl.row("mkt_shareholder", enterprise_code=ent.code, person_id=p.id), D(2000, 1, 1)


def fun04(pl: Planter) -> None:
    """有车有企享受低保: 低保/特困 with a car or a live enterprise."""
    cases = [
        # township, kind, start, end, what the person holds (see Holding)
        ("330122001", "低保", D(2020, 5, 1), None, ("car", "小型汽车", D(2021, 6, 12), None)),
        ("330122002", "特困", D(2019, 3, 1), None, ("shareholder",)),
        ("330122003", "低保", D(2020, 9, 1), None, ("rep", D(2021, 8, 5))),
        (
            "330122100",
            "低保",
            D(2021, 4, 1),
            None,
            ("car", "小型汽车", D(2016, 4, 4), D(2021, 4, 1)),
        ),
        ("330122101", "低保", D(2019, 6, 1), D(2021, 3, 15), ("car", "货车", D(2018, 8, 8), None)),
        ("330122102", "特困", D(2020, 1, 6), None, ("car", "农用车", D(2017, 2, 2), None)),
        ("330122104", "低保", D(2021, 10, 20), None, ("car", "小型汽车", D(2015, 5, 5), None)),
        ("330122105", "低保", D(2021, 3, 1), None, ("car", "货车", D(2021, 12, 31), None)),
        (
            "330122203",
            "低保",
            D(2021, 2, 1),
            D(2021, 4, 30),
            ("car", "小型汽车", D(2021, 4, 10), None),
        ),
    ]
    for town, kind, start, end, how in cases:
        p = pl.person(town)
        holding, since = _holding(pl, p, town, how)
        cid = _case(pl, town, p, kind, start, end)
        # The case approved for someone holding a car or an enterprise, or the car or the
        # enterprise registered while the case runs.
        trigger = holding if since > start else _case_row(pl, cid)
        pl.warn("FUN04", cid, town, _fun04_first(start, end, since), trigger=trigger)
    # Near misses.
    specs = [
        (
            "330122004",
            "临时救助",
            D(2021, 5, 1),
            D(2021, 6, 1),
            ("car", "小型汽车", D(2018, 1, 1), None),
            "临时救助 with a car",
        ),
        (
            "330122103",
            "低保",
            D(2020, 5, 1),
            None,
            ("car", "摩托车", D(2019, 1, 1), None),
            "低保 with only a 摩托车",
        ),
        (
            "330122200",
            "低保",
            D(2020, 3, 1),
            None,
            ("car", "小型汽车", D(2016, 1, 1), D(2019, 5, 1)),
            "car deregistered before the case started",
        ),
        (
            "330122201",
            "低保",
            D(2020, 3, 1),
            D(2021, 1, 30),
            ("car", "小型汽车", D(2016, 1, 1), None),
            "case ended 2021-01-30, before any run",
        ),
        (
            "330122202",
            "特困",
            D(2020, 3, 1),
            None,
            ("shareholder", "注销", D(2019, 9, 9)),
            "shareholder of a 注销 enterprise",
        ),
        (
            "330122001",
            "低保",
            D(2020, 3, 1),
            None,
            ("rep", D(2022, 1, 6)),
            "legal rep of an enterprise registered 2022-01-06",
        ),
        (
            "330122102",
            "低保",
            D(2021, 2, 1),
            D(2021, 4, 29),
            ("car", "小型汽车", D(2021, 4, 10), None),
            "car bought 04-10, case ended 04-29",
        ),
    ]
    for town, kind, start, end, how, text in specs:
        p = pl.person(town)
        holding, since = _holding(pl, p, town, how)
        cid = _case(pl, town, p, kind, start, end)
        # The car when it comes while the case runs, else the case (an enterprise of 2022
        # is no 2021 arrival).
        bought_later = how[0] == "car" and since > start
        trigger = holding if bought_later else _case_row(pl, cid)
        pl.near("FUN04", text, town, trigger=trigger)


def fun05(pl: Planter) -> None:
    """专项资金滞留: less than half of a fund spent by its deadline."""
    cases = [
        # township, amount, allocated, deadline, payments [(amount, day)]
        (
            "330122001",
            "1000000",
            D(2020, 12, 1),
            D(2021, 6, 30),
            [("150000", D(2021, 2, 1)), ("150000", D(2021, 5, 6))],
        ),
        (
            "330122002",
            "800000",
            D(2020, 10, 9),
            D(2021, 3, 31),
            [("160000", D(2021, 1, 12)), ("280000", D(2021, 5, 10)), ("40000", D(2021, 5, 12))],
        ),
        ("330122004", "1200000", D(2020, 6, 1), D(2020, 12, 31), [("120000", D(2020, 9, 9))]),
        ("330122100", "500000", D(2021, 1, 5), D(2021, 7, 5), [("249999.99", D(2021, 6, 30))]),
        ("330122102", "600000", D(2021, 3, 15), D(2021, 9, 15), []),
        (
            "330122103",
            "900000",
            D(2020, 8, 17),
            D(2021, 2, 15),
            [("180000", D(2020, 11, 3)), ("180000", D(2021, 2, 5)), ("200000", D(2021, 3, 20))],
        ),
        ("330122105", "700000", D(2021, 5, 31), D(2021, 11, 30), [("200000", D(2021, 8, 8))]),
        (
            "330122201",
            "2000000",
            D(2021, 1, 10),
            D(2021, 7, 10),
            [("280000", D(2021, 3, 1)), ("280000", D(2021, 4, 1)), ("280000", D(2021, 5, 1))],
        ),
        ("330122203", "400000", D(2021, 2, 22), D(2021, 8, 22), [("100000", D(2021, 8, 23))]),
    ]
    for town, amount, allocated, deadline, pays in cases:
        fid = _fund(pl, town, amount, allocated, deadline, pays)

        def holds(
            d: dt.date,
            pays: list = pays,
            deadline: dt.date = deadline,
            amount: str = amount,
            allocated: dt.date = allocated,
        ) -> bool:
            spent = sum((yuan(a) for a, w in pays if w <= d), Decimal(0))
            return allocated <= d and deadline < d and spent < Decimal("0.5") * yuan(amount)

        pl.warn("FUN05", fid, town, first_month_end(holds))
    _fund(
        pl,
        "330122003",
        "600000",
        D(2021, 1, 4),
        D(2021, 7, 4),
        [("150000", D(2021, 3, 3)), ("150000", D(2021, 6, 2))],
    )
    pl.near("FUN05", "exactly half spent by the deadline", "330122003")
    _fund(pl, "330122101", "800000", D(2021, 1, 4), None, [("50000", D(2021, 3, 3))])
    pl.near("FUN05", "no spending deadline recorded", "330122101")
    _fund(pl, "330122104", "300000", D(2021, 6, 1), D(2021, 12, 31), [])
    pl.near("FUN05", "deadline 2021-12-31 is not before any 2021 run", "330122104")
    _fund(pl, "330122202", "500000", D(2021, 10, 8), D(2022, 3, 31), [("260000", D(2022, 1, 15))])
    pl.near("FUN05", "deadline 2022-03-31; spending only in 2022", "330122202")


def _fund(
    pl: Planter,
    town: str,
    amount: str,
    allocated: dt.date,
    deadline: dt.date | None,
    pays: list[tuple[str, dt.date]],
) -> str:
    fid = pl.id("fund")
    pl.add(
        "fin_fund",
        fund_id=fid,
        township=town,
        program="美丽乡村建设专项资金",
        amount=yuan(amount),
        allocated_on=allocated,
        spend_deadline_on=deadline,
    )
    ent = pl.enterprise(township=town)
    for amt, day in pays:
        assert yuan(amt) < Decimal("300000")
        payment(
            pl,
            town,
            ent,
            amt,
            day,
            fund_id=fid,
            purpose="专项资金支出",
            economic_class="资本性支出",
        )
    return fid


def fun06(pl: Planter) -> None:
    """多人补贴汇入同一账户: three or more recipients paid into one account."""
    cases = [
        # recipients [(township, day)]
        [
            ("330122001", D(2021, 3, 10)),
            ("330122001", D(2021, 3, 10)),
            ("330122001", D(2021, 3, 11)),
        ],
        [
            ("330122003", D(2021, 5, 10)),
            ("330122003", D(2021, 6, 10)),
            ("330122003", D(2021, 6, 10)),
            ("330122003", D(2021, 7, 12)),
        ],
        [
            ("330122101", D(2021, 4, 15)),
            ("330122100", D(2021, 4, 15)),
            ("330122101", D(2021, 4, 16)),
        ],
        [
            ("330122102", D(2020, 11, 9)),
            ("330122102", D(2020, 12, 9)),
            ("330122102", D(2020, 12, 10)),
        ],
        [
            ("330122104", D(2021, 8, 9)),
            ("330122104", D(2021, 9, 9)),
            ("330122104", D(2021, 10, 11)),
        ],
        [
            ("330122105", D(2021, 9, 14)),
            ("330122105", D(2021, 9, 14)),
            ("330122105", D(2021, 9, 14)),
            ("330122105", D(2021, 9, 14)),
            ("330122105", D(2021, 9, 14)),
        ],
        [
            ("330122201", D(2021, 11, 2)),
            ("330122202", D(2021, 11, 3)),
            ("330122200", D(2021, 12, 1)),
        ],
        [
            ("330122203", D(2021, 12, 28)),
            ("330122203", D(2021, 12, 29)),
            ("330122203", D(2021, 12, 31)),
        ],
        [
            ("330122002", D(2021, 1, 12)),
            ("330122002", D(2021, 1, 12)),
            ("330122004", D(2021, 2, 8)),
        ],
    ]
    thrice = partial(_paid_at_least, times=3)
    for recipients in cases:
        card = pl.card()
        rows = []
        for town, day in recipients:
            p = pl.person(town, birth=D(1949, 1, 1) + dt.timedelta(days=pl.count("fun06")))
            rows.append(subsidy(pl, town, p, "耕地地力保护补贴", day, account=card))
        first = first_month_end(partial(thrice, recipients))
        assert first is not None
        town_of = min(t for t, w in recipients if w <= first)
        # The third recipient; five paid the same day spare any one of them.
        trigger = needed_row(first, recipients, thrice, rows)
        pl.warn("FUN06", card, town_of, first, trigger=trigger)
    card = pl.card()
    for i in range(2):
        p = pl.person("330122004")
        row = subsidy(pl, "330122004", p, "耕地地力保护补贴", D(2021, 4, 6 + i), account=card)
    pl.near("FUN06", "a couple's shared account: two recipients", "330122004", trigger=row)
    for _ in range(4):
        p = pl.person("330122103")
        row = subsidy(pl, "330122103", p, "生态公益林补偿", D(2021, 6, 8), account=" ")
    pl.near("FUN06", "four recipients with a blank account number (' ')", "330122103", trigger=row)
    card = pl.card()
    p = pl.person("330122200")
    for m in (3, 4, 5):
        row = subsidy(pl, "330122200", p, "高龄津贴", D(2021, m, 10), account=card)
    pl.near("FUN06", "one recipient paid three times into one account", "330122200", trigger=row)
