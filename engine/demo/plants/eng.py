"""Planted cases of the engineering models ENG01-ENG08, with their near misses.

Every case brings its own projects, enterprises and persons. Contracts of
300,000 or more get a decision naming them (so FIN04 stays quiet), contracts of
kind 工程 are not paid beyond 80% before acceptance unless that is the case,
and bidders of one tender share nothing unless that is the case.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial

from engine.demo.arrowkit import add_months_date
from engine.demo.plants.base import (
    D,
    Enterprise,
    Person,
    Planter,
    Row,
    at,
    first_month_end,
    month_end_of,
    yuan,
)
from engine.demo.plants.rows import (
    acceptance,
    bid,
    change,
    contract,
    decision,
    payment,
    project,
    tender,
)

THRESHOLD = Decimal("4000000")
DECISION_FLOOR = Decimal("300000")
"""Contracts of this amount or more get a collective decision naming them (FIN04 wants one)."""


def plant(pl: Planter) -> None:
    """Plant ENG01-ENG08."""
    eng01(pl)
    eng02(pl)
    eng03(pl)
    eng04(pl)
    eng05(pl)
    eng06(pl)
    eng07(pl)
    eng08(pl)


def _eng01_first(approved: dt.date, tender_on: dt.date | None) -> dt.date | None:
    due = add_months_date(approved, 6)
    return first_month_end(
        lambda d: approved <= d and due < d and not (tender_on is not None and tender_on <= d)
    )


def eng01(pl: Planter) -> None:
    """应招未招: big projects with no tender six months after approval."""
    # The seed case of the article: the main project was split into 3 sub-projects that
    # were tendered one by one, and the main project itself never was.
    seed = project(pl, "330122102", "农村自来水工程", "88320000", D(2021, 4, 20), category="水利")
    for i, (share, label) in enumerate(
        ((Decimal("0.4"), "一"), (Decimal("0.35"), "二"), (Decimal("0.25"), "三"))
    ):
        sub = project(
            pl,
            "330122102",
            f"农村自来水工程({label}标段)",
            Decimal("88320000") * share * Decimal("0.95"),
            D(2021, 4, 28),
            parent=seed,
            category="水利",
        )
        tender(pl, sub, "330122102", D(2021, 6, 7 + i), title=f"农村自来水工程({label}标段)施工")
    pl.warn("ENG01", seed, "330122102", _eng01_first(D(2021, 4, 20), None))
    cases = [
        # township, name, investment, approved, status, tender published
        ("330122001", "白云社区集镇停车场建设工程", "5600000", D(2020, 8, 31), "在建", None),
        ("330122004", "翙岗村村道提升改造工程", "12000000", D(2020, 3, 15), None, None),
        ("330122100", "芦茨村游步道及景观提升工程", "4000000.00", D(2021, 1, 15), "在建", None),
        (
            "330122101",
            "横村镇农民安置房建设工程",
            "9500000",
            D(2021, 1, 20),
            "在建",
            D(2021, 8, 20),
        ),
        ("330122105", "深澳村防洪堤加固工程", "6200000", D(2021, 6, 30), "立项", None),
        ("330122103", "皇甫村文化礼堂建设工程", "4350000", D(2021, 2, 28), "在建", None),
        ("330122201", "钟山乡小流域综合治理工程", "7800000", D(2021, 3, 31), "完工", None),
        ("330122002", "旧县街道污水管网延伸工程", "15000000", D(2020, 12, 1), "在建", None),
        ("330122203", "合村乡道路白改黑工程", "4800000", D(2021, 5, 10), "在建", D(2022, 1, 5)),
    ]
    for town, name, inv, approved, status, tender_on in cases:
        pid = project(pl, town, name, inv, approved, status=status)
        if tender_on is not None:
            tender(pl, pid, town, tender_on, title=f"{name}施工")
        pl.warn("ENG01", pid, town, _eng01_first(approved, tender_on))
    # Near misses.
    project(pl, "330122003", "金东村农村饮用水达标提标工程", "3999999.99", D(2021, 1, 10))
    pl.near("ENG01", "investment 3,999,999.99, no tender", "330122003")
    project(
        pl, "330122104", "百江镇中心小学校舍维修工程", "18000000", D(2020, 11, 1), status="终止"
    )
    pl.near("ENG01", "status 终止, 18,000,000, no tender", "330122104")
    project(pl, "330122200", "新丰民族村农村自来水工程", "5000000", D(2021, 7, 1))
    pl.near(
        "ENG01",
        "approved 2021-07-01: six months end 2022-01-01, not before 2021-12-31",
        "330122200",
    )
    p = project(pl, "330122202", "引坑村山塘水库除险加固工程", "4200000", D(2021, 3, 10))
    tender(pl, p, "330122202", D(2021, 9, 10), title="引坑村山塘水库除险加固工程施工")
    pl.near("ENG01", "tender published exactly six months after approval", "330122202")
    p = project(
        pl, "330122102", "儒桥村高标准农田建设项目", "6600000", D(2021, 4, 30), category="农业农村"
    )
    tender(pl, p, "330122102", D(2021, 10, 31), title="儒桥村高标准农田建设项目施工")
    pl.near("ENG01", "tender published on the month-end day the six months ran out", "330122102")


def _untendered(
    pl: Planter, town: str, project_id: str, amount: str, signed: dt.date, kind: str = "工程"
) -> str:
    """An untendered contract with a fresh, unrelated contractor (and its decision if large)."""
    ent = pl.enterprise(township=town)
    cid = contract(pl, town, ent, amount, signed, project_id=project_id, kind=kind)
    _decided(pl, town, cid, amount, "关于工程直接发包的决定", signed - dt.timedelta(days=3))
    return cid


def _decided(
    pl: Planter, town: str, contract_id: str, amount: str, subject: str, decided_on: dt.date
) -> None:
    """The collective decision naming a contract, when its amount calls for one."""
    if yuan(amount) >= DECISION_FLOOR:
        decision(pl, town, subject, amount, decided_on, contract_id=contract_id)


def _eng02_holds(contracts: list[tuple[str, dt.date]], d: dt.date) -> bool:
    seen = [yuan(a) for a, s in contracts if s <= d]
    return len(seen) >= 2 and all(a < THRESHOLD for a in seen) and sum(seen) >= THRESHOLD


def _eng02_warn(
    pl: Planter, root: str, town: str, contracts: list[tuple[str, dt.date]], ids: list[str]
) -> None:
    """Record an ENG02 case; its trigger is the untendered contract that reaches the threshold."""
    rows = [pl.row("trade_contract", contract_id=cid) for cid in ids]
    pl.warn_held("ENG02", root, town, contracts, _eng02_holds, rows)


def _untendered_parts(
    pl: Planter,
    town: str,
    root: str,
    parts: list[tuple[str, dt.date]],
    subprojects: tuple[str, dt.date] | None = None,
) -> list[str]:
    """One untendered contract per part (amount, signed) of a root; their ids.

    Each is let on the root itself, or with ``subprojects`` (a name with ``{n}``, the
    approval day) on a sub-project of its own, numbered from 1.
    """
    ids = []
    for n, (amount, signed) in enumerate(parts, 1):
        project_id = root
        if subprojects is not None:
            name, approved = subprojects
            project_id = project(pl, town, name.format(n=n), amount, approved, parent=root)
        ids.append(_untendered(pl, town, project_id, amount, signed))
    return ids


def eng02(pl: Planter) -> None:
    """拆分规避招标: untendered contracts of one root adding up to the tender threshold."""
    # Root with three sub-projects, one untendered contract each.
    town = "330122101"
    root = project(
        pl, town, "东溪村美丽乡村精品村建设项目", "3800000", D(2021, 2, 1), category="农业农村"
    )
    parts = [("1450000", D(2021, 3, 5)), ("1380000", D(2021, 3, 20)), ("1260000", D(2021, 4, 12))]
    subs = ("东溪村美丽乡村精品村建设项目(子项目{n})", D(2021, 2, 10))
    _eng02_warn(pl, root, town, parts, _untendered_parts(pl, town, root, parts, subs))
    # Two contracts on the root itself, together exactly 4,000,000.
    town = "330122003"
    root = project(pl, town, "阳山村公厕改造提升工程", "3500000", D(2021, 3, 1))
    parts = [("2000000.00", D(2021, 4, 10)), ("2000000.00", D(2021, 5, 15))]
    _eng02_warn(pl, root, town, parts, _untendered_parts(pl, town, root, parts))
    # Root never registered: routed to the smallest township code among its contracts.
    root = project(pl, "330122101", "", 0, D(2021, 6, 1), add=False)
    parts3 = [
        ("330122101", "1600000", D(2021, 6, 2)),
        ("330122100", "1500000", D(2021, 6, 15)),
        ("330122101", "1200000", D(2021, 7, 8)),
    ]
    ids = [_untendered(pl, t, root, amount, signed) for t, amount, signed in parts3]
    _eng02_warn(pl, root, "330122100", [(a, s) for _, a, s in parts3], ids)
    # Two sub-projects crossing the line in February.
    town = "330122201"
    root = project(pl, town, "陇西村农村生活污水治理提标改造工程", "3600000", D(2021, 1, 6))
    parts = [("1900000", D(2021, 2, 8)), ("2150000", D(2021, 2, 25))]
    subs = ("陇西村农村生活污水治理提标改造工程(第{n}段)", D(2021, 1, 20))
    _eng02_warn(pl, root, town, parts, _untendered_parts(pl, town, root, parts, subs))
    # Four small contracts, the fourth makes it.
    town = "330122103"
    root = project(
        pl, town, "仁里村游步道及景观提升工程", "3900000", D(2021, 7, 12), category="其他"
    )
    parts = [
        ("1050000", D(2021, 8, 3)),
        ("1050000", D(2021, 9, 6)),
        ("1050000", D(2021, 10, 11)),
        ("1050000", D(2021, 11, 8)),
    ]
    _eng02_warn(pl, root, town, parts, _untendered_parts(pl, town, root, parts))
    # Two contracts each a cent under the threshold.
    town = "330122002"
    root = project(pl, town, "母岭村村道提升改造工程", "3950000", D(2021, 9, 1), category="交通")
    parts = [("3999999.99", D(2021, 10, 8)), ("3999999.99", D(2021, 10, 20))]
    _eng02_warn(pl, root, town, parts, _untendered_parts(pl, town, root, parts))
    # Contracts of 2020.
    town = "330122104"
    root = project(pl, town, "松村村文化礼堂建设工程", "3700000", D(2020, 10, 12), category="房建")
    parts = [("2500000", D(2020, 11, 16)), ("2500000", D(2020, 12, 14))]
    _eng02_warn(pl, root, town, parts, _untendered_parts(pl, town, root, parts))
    # A tendered contract beside two untendered ones: only the untendered count.
    town = "330122105"
    root = project(pl, town, "环溪村防洪堤加固工程", "3900000", D(2021, 3, 22), category="水利")
    tid = tender(
        pl, root, town, D(2021, 4, 6), title="环溪村防洪堤加固工程(主体)施工", method="邀请招标"
    )
    ent = pl.enterprise(township=town)
    cid = contract(pl, town, ent, "1800000", D(2021, 5, 4), project_id=root, tender_id=tid)
    decision(
        pl, town, "关于防洪堤加固工程合同签订的决定", "1800000", D(2021, 4, 28), contract_id=cid
    )
    parts = [("2100000", D(2021, 5, 6)), ("2000000", D(2021, 5, 27))]
    _eng02_warn(pl, root, town, parts, _untendered_parts(pl, town, root, parts))
    # Two sub-projects a month apart.
    town = "330122100"
    root = project(pl, town, "俞赵村农村自来水工程", "3980000", D(2021, 7, 5), category="水利")
    parts = [("2200000", D(2021, 8, 9)), ("1900000", D(2021, 9, 13))]
    subs = ("俞赵村农村自来水工程(管网{n})", D(2021, 7, 20))
    _eng02_warn(pl, root, town, parts, _untendered_parts(pl, town, root, parts, subs))
    # Near misses: township, root project (name, investment, approved, category), parts.
    near_misses = [
        (
            "330122004",
            ("三鑫村农村饮用水达标提标工程", "3800000", D(2021, 4, 1), "水利"),
            [("2000000.00", D(2021, 5, 6)), ("1999999.99", D(2021, 6, 3))],
            "two untendered contracts summing to 3,999,999.99",
        ),
        (
            "330122202",
            ("松山村山塘水库除险加固工程", "4500000", D(2021, 9, 15), "水利"),
            [("4000000.00", D(2021, 11, 2)), ("500000", D(2021, 11, 9))],
            "one of the untendered contracts is exactly 4,000,000 (not below)",
        ),
        (
            "330122200",
            ("戴家山村村道提升改造工程", "3900000", D(2021, 5, 1), "交通"),
            [("3900000", D(2021, 6, 1))],
            "a single untendered contract of 3,900,000",
        ),
        (
            "330122203",
            ("后溪村公厕改造提升工程", "3900000", D(2021, 9, 1), "市政"),
            [("2100000", D(2021, 10, 12)), ("2100000", D(2022, 1, 10))],
            "the second untendered contract is signed 2022-01-10 (invisible)",
        ),
    ]
    for town, (name, investment, approved, category), parts, text in near_misses:
        root = project(pl, town, name, investment, approved, category=category)
        last = _untendered_parts(pl, town, root, parts)[-1]
        pl.near("ENG02", text, town, trigger=pl.row("trade_contract", contract_id=last))


def _bidders(pl: Planter, town: str, k: int) -> list:
    return [pl.enterprise(township=town) for _ in range(k)]


def eng03(pl: Planter) -> None:
    """串标迹象: two bidders of one tender share a phone or an IP address."""
    cases = [
        # township, published, bid days/times, shared field, which bids share
        (
            "330122001",
            D(2021, 3, 5),
            [at(D(2021, 3, 15)), at(D(2021, 3, 16)), at(D(2021, 3, 18))],
            "phone",
            (0, 1),
        ),
        (
            "330122102",
            D(2021, 5, 10),
            [at(D(2021, 5, 20)), at(D(2021, 5, 20), 14), at(D(2021, 5, 21))],
            "ip",
            (1, 2),
        ),
        (
            "330122100",
            D(2021, 6, 15),
            [at(D(2021, 6, 30), 18, 30), at(D(2021, 7, 1), 0, 0, 1), at(D(2021, 6, 29))],
            "ip",
            (0, 1),
        ),
        (
            "330122103",
            D(2021, 8, 10),
            [at(D(2021, 8, 31), 9), at(D(2021, 8, 31), 23, 59, 59), at(D(2021, 8, 20))],
            "phone",
            (0, 1),
        ),
        (
            "330122004",
            D(2021, 4, 8),
            [at(D(2021, 4, 19)), at(D(2021, 4, 20)), at(D(2021, 4, 21)), at(D(2021, 4, 22))],
            "phone",
            (1, 3),
        ),
        (
            "330122105",
            D(2021, 9, 6),
            [at(D(2021, 9, 16)), at(D(2021, 9, 17)), at(D(2021, 9, 17), 15)],
            "ip",
            (0, 2),
        ),
        (
            "330122002",
            D(2020, 11, 20),
            [at(D(2020, 12, 1)), at(D(2020, 12, 2)), at(D(2020, 12, 3))],
            "phone",
            (0, 2),
        ),
        (
            "330122201",
            D(2021, 10, 12),
            [
                at(D(2021, 10, 25)),
                at(D(2021, 10, 26)),
                at(D(2021, 10, 27)),
                at(D(2021, 10, 28)),
                at(D(2021, 10, 29)),
            ],
            "phone",
            (2, 4),
        ),
        (
            "330122202",
            D(2021, 11, 3),
            [at(D(2021, 11, 15)), at(D(2021, 11, 16)), at(D(2021, 11, 16), 16)],
            "ip",
            (0, 1),
        ),
        (
            "330122104",
            D(2021, 12, 1),
            [at(D(2021, 12, 13)), at(D(2021, 12, 14)), at(D(2021, 12, 15))],
            "both",
            (1, 2),
        ),
    ]
    for n, (town, published, times, field, (a, b)) in enumerate(cases):
        pid = project(
            pl,
            town,
            f"{pl.village(town, n)}村道提升改造工程",
            "5200000",
            published - dt.timedelta(days=40),
            category="交通",
        )
        tid = tender(pl, pid, town, published, title="村道提升改造工程施工", budget="4900000")
        ents = _bidders(pl, town, len(times))
        shared_phone = f"1390571{n:04d}"
        shared_ip = f"10.22.{n}.18"
        bids = []
        for i, (ent, when) in enumerate(zip(ents, times, strict=True)):
            phone = ent.phone
            ip = ent.ip
            if i in (a, b) and field in ("phone", "both"):
                phone = shared_phone
            if i in (a, b) and field in ("ip", "both"):
                ip = shared_ip
            if n == 4 and i != 1 and i != 3:
                ip = None
            if n == 5 and i == 2:
                phone = None
            bids.append(bid(pl, tid, ent, when, 4_800_000 - 10_000 * i, phone=phone, ip=ip))
        # The second of the two bids sharing a phone or an IP makes the pair.
        second = max((a, b), key=lambda i: times[i])
        pl.warn(
            "ENG03",
            tid,
            town,
            month_end_of(times[second].date()),
            trigger=pl.row("trade_bid", bid_id=bids[second]),
        )
    # Near misses.
    town = "330122003"
    pid = project(pl, town, "巧溪村防洪堤加固工程", "4600000", D(2021, 2, 1), category="水利")
    tid = tender(pl, pid, town, D(2021, 3, 2), title="巧溪村防洪堤加固工程施工")
    ent1, ent2 = _bidders(pl, town, 2)
    bid(pl, tid, ent1, at(D(2021, 3, 10)), "4400000")
    again = bid(pl, tid, ent1, at(D(2021, 3, 11)), "4390000")
    bid(pl, tid, ent2, at(D(2021, 3, 12)), "4410000")
    pl.near(
        "ENG03",
        "one bidder bidding twice with its own phone and IP",
        town,
        trigger=pl.row("trade_bid", bid_id=again),
    )
    tid = tender(pl, pid, town, D(2021, 4, 6), title="巧溪村防洪堤加固工程(二期)施工")
    ents = _bidders(pl, town, 3)
    for i, ent in enumerate(ents):
        last = bid(
            pl, tid, ent, at(D(2021, 4, 15 + i)), 4_300_000 + i, phone=" ", ip=None if i else ""
        )
    pl.near(
        "ENG03",
        "bidders share only a blank phone (' ') and empty/null IPs",
        town,
        trigger=pl.row("trade_bid", bid_id=last),
    )
    town = "330122200"
    pid = project(pl, town, "莪山村农村自来水工程", "4700000", D(2021, 10, 20), category="水利")
    tid = tender(pl, pid, town, D(2021, 12, 20), title="莪山村农村自来水工程施工")
    ents = _bidders(pl, town, 2)
    bid(pl, tid, ents[0], at(D(2021, 12, 28)), "4500000", ip="10.99.0.7")
    late = bid(pl, tid, ents[1], at(D(2022, 1, 3)), "4510000", ip="10.99.0.7")
    pl.near(
        "ENG03",
        "the second bid sharing the IP comes 2022-01-03 (invisible)",
        town,
        trigger=pl.row("trade_bid", bid_id=late),
    )


def _holding(pl: Planter, shared: Person, how: str, registered: dt.date, town: str) -> Enterprise:
    """An enterprise in which ``shared`` is the legal rep only ("rep") or holds a role."""
    if how in ("rep", "rep-late"):
        return pl.enterprise(
            legal_rep=shared, registered_on=registered, township=town, rep_is_shareholder=False
        )
    return pl.enterprise(shareholders=((shared, how),), township=town)


def eng04(pl: Planter) -> None:
    """关联投标: two bidders of one tender share a person."""
    specs = [
        # township, published, bid days, how the shared person appears (A side, B side)
        (
            "330122001",
            D(2021, 4, 6),
            [D(2021, 4, 15), D(2021, 4, 16), D(2021, 4, 17)],
            ("股东", "监事"),
        ),
        (
            "330122002",
            D(2021, 2, 1),
            [D(2021, 2, 9), D(2021, 2, 10), D(2021, 2, 22)],
            ("rep", "股东"),
        ),
        (
            "330122100",
            D(2021, 6, 2),
            [D(2021, 6, 10), D(2021, 6, 11), D(2021, 6, 15)],
            ("rep", "rep"),
        ),
        (
            "330122101",
            D(2021, 4, 1),
            [D(2021, 4, 10), D(2021, 4, 12), D(2021, 4, 13)],
            ("rep", "rep-late"),
        ),
        (
            "330122102",
            D(2021, 7, 5),
            [D(2021, 7, 14), D(2021, 7, 15), D(2021, 7, 16), D(2021, 7, 20)],
            ("董事", "经理"),
        ),
        (
            "330122103",
            D(2020, 12, 1),
            [D(2020, 12, 10), D(2020, 12, 11), D(2020, 12, 12)],
            ("股东", "股东"),
        ),
        (
            "330122105",
            D(2021, 9, 20),
            [D(2021, 9, 30), D(2021, 10, 2), D(2021, 9, 29)],
            ("股东", "董事"),
        ),
        (
            "330122201",
            D(2021, 11, 1),
            [D(2021, 11, 10), D(2021, 11, 11), D(2021, 11, 12)],
            ("经理", "股东"),
        ),
        (
            "330122203",
            D(2021, 8, 2),
            [D(2021, 8, 11), D(2021, 8, 12), D(2021, 8, 13)],
            ("监事", "rep"),
        ),
        (
            "330122004",
            D(2021, 3, 8),
            [D(2021, 3, 16), D(2021, 3, 17), D(2021, 3, 18)],
            ("股东", "股东"),
        ),
    ]
    for n, (town, published, days, (how_a, how_b)) in enumerate(specs):
        pid = project(
            pl,
            town,
            f"{pl.village(town, n + 3)}农村生活污水治理提标改造工程",
            "6100000",
            published - dt.timedelta(days=30),
        )
        tid = tender(
            pl, pid, town, published, title="农村生活污水治理提标改造工程施工", budget="5800000"
        )
        shared = pl.person(town, register=False)
        b_registered = D(2021, 5, 20) if how_b == "rep-late" else D(2013, 6, 1)

        ent_a = _holding(pl, shared, how_a, D(2011, 3, 1), town)
        ent_b = _holding(pl, shared, how_b, b_registered, town)
        ent_c = pl.enterprise(township=town)
        extra = [pl.enterprise(township=town) for _ in range(len(days) - 3)]
        bids = [
            bid(pl, tid, ent, at(when, 9 + i), 5_600_000 - 5_000 * i)
            for i, (ent, when) in enumerate(zip([ent_a, ent_b, ent_c, *extra], days, strict=True))
        ]
        # The second of A's and B's bids makes the pair, unless B's registration comes later
        # still: its legal representative counts only once it is registered.
        second = 0 if days[0] > days[1] else 1
        seen = days[second]
        trigger = pl.row("trade_bid", bid_id=bids[second])
        if how_b == "rep-late" and b_registered > seen:
            seen = b_registered
            trigger = pl.row("mkt_enterprise", enterprise_code=ent_b.code)
        pl.warn("ENG04", tid, town, month_end_of(seen), trigger=trigger)
    # Near misses.
    town = "330122004"
    pid = project(pl, town, "柳岩村农村自来水工程", "4500000", D(2021, 3, 1), category="水利")
    tid = tender(pl, pid, town, D(2021, 4, 12), title="柳岩村农村自来水工程施工")
    p1 = pl.person(town, register=False, name="王建国")
    p2 = pl.person(town, register=False, name="王建国")
    a = pl.enterprise(shareholders=((p1, "股东"),), township=town)
    b = pl.enterprise(shareholders=((p2, "股东"),), township=town)
    bid(pl, tid, a, at(D(2021, 4, 20)), "4300000")
    second = bid(pl, tid, b, at(D(2021, 4, 21)), "4310000")
    pl.near(
        "ENG04",
        "two bidders' shareholders share a name (王建国) but not an id",
        town,
        trigger=pl.row("trade_bid", bid_id=second),
    )
    town = "330122104"
    pid = project(pl, town, "罗山村村道提升改造工程", "4800000", D(2021, 5, 1), category="交通")
    shared = pl.person(town, register=False)
    a = pl.enterprise(legal_rep=shared, township=town)
    b = pl.enterprise(
        legal_rep=shared, registered_on=D(2022, 1, 15), rep_is_shareholder=False, township=town
    )
    tid = tender(pl, pid, town, D(2021, 6, 7), title="罗山村村道提升改造工程施工")
    bid(pl, tid, a, at(D(2021, 6, 15)), "4600000")
    second = bid(pl, tid, b, at(D(2021, 6, 16)), "4610000")
    pl.near(
        "ENG04",
        "shared legal representative of an enterprise registered 2022-01-15",
        town,
        trigger=pl.row("trade_bid", bid_id=second),
    )
    tid2 = tender(pl, pid, town, D(2021, 7, 5), title="罗山村村道提升改造工程(二期)施工")
    c = pl.enterprise(shareholders=((shared, "监事"),), township=town)
    elsewhere = bid(pl, tid2, c, at(D(2021, 7, 12)), "1200000")
    bid(pl, tid2, pl.enterprise(township=town), at(D(2021, 7, 13)), "1210000")
    pl.near(
        "ENG04",
        "the person shared with another tender's bidder bids in a different tender",
        town,
        trigger=pl.row("trade_bid", bid_id=elsewhere),
    )


def _contract_with_tender(
    pl: Planter,
    town: str,
    amount: str,
    signed: dt.date,
    kind: str | None = "工程",
    name: str = "村道提升改造工程",
    contractor: Enterprise | None = None,
) -> str:
    """A tendered contract of its own project, with its decision; no bids."""
    pid = project(
        pl,
        town,
        f"{pl.village(town, pl.count('cw'))}{name}",
        amount,
        signed - dt.timedelta(days=90),
    )
    tid = tender(
        pl, pid, town, signed - dt.timedelta(days=45), title=f"{name}施工", method="邀请招标"
    )
    ent = contractor or pl.enterprise(township=town)
    cid = contract(pl, town, ent, amount, signed, project_id=pid, tender_id=tid, kind=kind)
    _decided(pl, town, cid, amount, f"关于{name}合同签订的决定", signed - dt.timedelta(days=5))
    return cid


def _eng05_holds(changes: list[tuple[str, dt.date]], d: dt.date, *, amount: str) -> bool:
    net = sum((yuan(x) for x, w in changes if w <= d), Decimal(0))
    return net > Decimal("0.10") * yuan(amount)


def eng05(pl: Planter) -> None:
    """变更超比例: net changes above 10% of the contract amount."""
    cases = [
        ("330122001", "2345600", D(2021, 2, 20), [("281472", D(2021, 4, 15))]),
        (
            "330122003",
            "1880000",
            D(2021, 1, 18),
            [("112800", D(2021, 3, 10)), ("94000", D(2021, 6, 20))],
        ),
        (
            "330122100",
            "3200000",
            D(2021, 3, 2),
            [("480000", D(2021, 5, 12)), ("-256000", D(2021, 7, 3))],
        ),
        ("330122102", "1000000.00", D(2021, 6, 1), [("100000.01", D(2021, 8, 9))]),
        (
            "330122104",
            "2600000",
            D(2020, 6, 15),
            [("180000", D(2020, 9, 1)), ("158000", D(2020, 12, 2))],
        ),
        (
            "330122105",
            "3050000",
            D(2021, 5, 10),
            [("150000", D(2021, 8, 2)), ("170250", D(2021, 12, 31))],
        ),
        (
            "330122201",
            "1500000",
            D(2021, 4, 6),
            [("60000", D(2021, 6, 1)), ("60000", D(2021, 7, 1)), ("45000", D(2021, 8, 2))],
        ),
        (
            "330122002",
            "2000000",
            D(2021, 1, 11),
            [("400000", D(2021, 2, 5)), ("-100000", D(2021, 2, 20))],
        ),
        ("330122203", "980000", D(2021, 7, 19), [("245000", D(2021, 9, 14))]),
        ("330122101", "2750000", D(2021, 8, 2), [("290000", D(2021, 10, 25))]),
    ]
    for town, amount, signed, changes in cases:
        cid = _contract_with_tender(pl, town, amount, signed, name="美丽乡村精品村建设项目")
        rows = [
            pl.row("build_change", change_id=change(pl, cid, delta, when))
            for delta, when in changes
        ]
        # The change that takes the net above 10% (not a later cut, when it comes first).
        pl.warn_held("ENG05", cid, town, changes, partial(_eng05_holds, amount=amount), rows)
    # Near misses.
    cid = _contract_with_tender(pl, "330122004", "1234500.00", D(2021, 3, 1))
    change(pl, cid, "61725.00", D(2021, 4, 1))
    second = change(pl, cid, "61725.00", D(2021, 5, 6))
    pl.near(
        "ENG05",
        "net changes exactly 10.00% of the amount",
        "330122004",
        trigger=pl.row("build_change", change_id=second),
    )
    cid = _contract_with_tender(pl, "330122101", "2000000", D(2021, 2, 1))
    rise = change(pl, cid, "220000", D(2021, 3, 4))
    change(pl, cid, "-60000", D(2021, 3, 25))
    pl.near(
        "ENG05",
        "+11% and -3% inside March: 8% at every month end",
        "330122101",
        trigger=pl.row("build_change", change_id=rise),
    )
    cid = _contract_with_tender(pl, "330122202", "1500000", D(2021, 9, 1))
    late = change(pl, cid, "180000", D(2022, 1, 5))
    pl.near(
        "ENG05",
        "a +12% change dated 2022-01-05 (invisible)",
        "330122202",
        trigger=pl.row("build_change", change_id=late),
    )


ContractPart = tuple[str, str, dt.date]
"""A part of a contract's case: ("change", delta, day), ("payment", amount, day) or
("acceptance", result, day)."""


def _sum(parts: list[ContractPart], what: str, d: dt.date) -> Decimal:
    """The changes' or payments' total as of d."""
    return sum((yuan(v) for k, v, w in parts if k == what and w <= d), Decimal(0))


def _eng06_holds(parts: list[ContractPart], d: dt.date, *, amount: str) -> bool:
    return _sum(parts, "payment", d) > yuan(amount) + _sum(parts, "change", d)


def eng06(pl: Planter) -> None:
    """超合同付款: payments above the amount plus net changes."""
    cases = [
        # township, kind, amount, changes, acceptance (day), payments
        (
            "330122001",
            "服务",
            "500000",
            [],
            None,
            [("300000", D(2021, 3, 10)), ("250000", D(2021, 5, 20))],
        ),
        (
            "330122002",
            "货物",
            "1200000",
            [("50000", D(2021, 5, 1))],
            None,
            [("1000000", D(2021, 6, 1)), ("260000", D(2021, 7, 15))],
        ),
        (
            "330122004",
            "服务",
            "800000",
            [],
            None,
            [("400000", D(2021, 4, 2)), ("400000.01", D(2021, 4, 28))],
        ),
        (
            "330122101",
            "工程",
            "2000000",
            [],
            D(2021, 5, 10),
            [("1500000", D(2021, 4, 1)), ("600000", D(2021, 6, 15))],
        ),
        (
            "330122103",
            "货物",
            "300000",
            [],
            None,
            [("300000", D(2021, 8, 3)), ("300000", D(2021, 8, 5))],
        ),
        (
            "330122105",
            "服务",
            "1000000",
            [("-100000", D(2021, 9, 10))],
            None,
            [("950000", D(2021, 4, 1))],
        ),
        (
            "330122200",
            "货物",
            "450000",
            [],
            None,
            [("250000", D(2020, 10, 9)), ("250000", D(2020, 12, 21))],
        ),
        (
            "330122202",
            "服务",
            "360000",
            [],
            None,
            [("200000", D(2021, 11, 2)), ("160000.50", D(2021, 12, 31))],
        ),
        (
            "330122102",
            "货物",
            "680000",
            [],
            None,
            [("340000", D(2021, 9, 1)), ("340000", D(2021, 10, 8)), ("50000", D(2021, 10, 20))],
        ),
        (
            "330122203",
            "服务",
            "250000",
            [],
            None,
            [("125000", D(2021, 2, 3)), ("125000", D(2021, 2, 24)), ("20000", D(2021, 3, 2))],
        ),
    ]
    for town, kind, amount, changes, accepted, pays in cases:
        signed = min(w for _, w in pays) - dt.timedelta(days=40)
        cid = _contract_with_tender(pl, town, amount, signed, kind=kind, name="设备采购及安装")
        rows = [
            pl.row("build_change", change_id=change(pl, cid, delta, when))
            for delta, when in changes
        ]
        if accepted is not None:
            acceptance(pl, cid, accepted)
        eclass = "资本性支出" if kind == "工程" else "商品服务"
        rows += [
            _paid(pl, town, cid, amt, when, purpose="合同款", economic_class=eclass)
            for amt, when in pays
        ]
        parts = [("change", x, w) for x, w in changes] + [("payment", a, w) for a, w in pays]
        # The payment that goes over, or the cut that brings the limit below what was paid.
        pl.warn_held("ENG06", cid, town, parts, partial(_eng06_holds, amount=amount), rows)
    # Near misses.
    cid = _contract_with_tender(
        pl, "330122003", "600000", D(2021, 3, 1), kind="服务", name="物业服务"
    )
    change(pl, cid, "20000", D(2021, 5, 1))
    paid = _paid(pl, "330122003", cid, "620000", D(2021, 6, 1), economic_class="商品服务")
    pl.near("ENG06", "paid exactly the amount plus net changes", "330122003", trigger=paid)
    cid = _contract_with_tender(
        pl, "330122104", "500000", D(2021, 8, 2), kind="货物", name="办公设备采购"
    )
    _paid(pl, "330122104", cid, "450000", D(2021, 9, 1), economic_class="商品服务")
    paid = _paid(pl, "330122104", cid, "100000", D(2022, 1, 6), economic_class="商品服务")
    pl.near(
        "ENG06", "the overpaying payment is dated 2022-01-06 (invisible)", "330122104", trigger=paid
    )


def _paid(pl: Planter, town: str, contract_id: str, amount: str, day: dt.date, **kw: str) -> Row:
    """A payment to a planted contract's contractor; its row, the trigger a case may need.

    ``kw``: payment's purpose and economic_class, where they are not its defaults.
    """
    contractor = pl.contractors[contract_id]
    pid = payment(pl, town, contractor, amount, day, contract_id=contract_id, **kw)
    return pl.row("fin_payment", payment_id=pid)


def _eng07_holds(parts: list[ContractPart], d: dt.date, *, amount: str) -> bool:
    passed = [w for k, r, w in parts if k == "acceptance" and r == "合格" and w <= d]
    cut = min(passed, default=None)
    before = sum(
        (yuan(a) for k, a, w in parts if k == "payment" and w <= d and (cut is None or w < cut)),
        Decimal(0),
    )
    return before > Decimal("0.80") * (yuan(amount) + _sum(parts, "change", d))


def eng07(pl: Planter) -> None:
    """未验收超比例付款: works paid beyond 80% before the first 合格 acceptance."""
    cases = [
        # township, amount, changes, acceptances [(day, result)], payments
        (
            "330122002",
            "2500000",
            [],
            [],
            [("1000000", D(2021, 3, 15)), ("1100000", D(2021, 5, 20))],
        ),
        (
            "330122004",
            "1000000",
            [],
            [(D(2021, 7, 15), "合格")],
            [("700000", D(2021, 6, 1)), ("150000", D(2021, 7, 14))],
        ),
        (
            "330122100",
            "1000000",
            [],
            [(D(2021, 4, 10), "不合格"), (D(2021, 6, 1), "合格")],
            [("600000", D(2021, 3, 1)), ("250000", D(2021, 4, 20))],
        ),
        (
            "330122102",
            "3000000",
            [("300000", D(2021, 1, 20))],
            [],
            [("1500000", D(2021, 2, 10)), ("1150000", D(2021, 3, 10))],
        ),
        ("330122104", "1600000", [], [], [("800000", D(2020, 9, 10)), ("640000", D(2020, 12, 8))]),
        ("330122105", "1500000", [], [], [("1200000.01", D(2021, 10, 12))]),
        (
            "330122200",
            "2200000",
            [],
            [(D(2022, 2, 10), "合格")],
            [("1000000", D(2021, 9, 6)), ("980000", D(2021, 11, 3))],
        ),
        ("330122201", "1800000", [], [], [("1530000", D(2021, 8, 9))]),
        (
            "330122003",
            "900000",
            [],
            [(D(2021, 12, 20), "合格")],
            [("450000", D(2021, 10, 8)), ("300000", D(2021, 12, 3))],
        ),
        ("330122103", "1250000", [], [(D(2021, 7, 30), "不合格")], [("1100000", D(2021, 6, 25))]),
    ]
    for town, amount, changes, accs, pays in cases:
        signed = min(w for _, w in pays) - dt.timedelta(days=30)
        cid = _contract_with_tender(pl, town, amount, signed, kind="工程", name="农房改造项目")
        rows = [
            pl.row("build_change", change_id=change(pl, cid, delta, when))
            for delta, when in changes
        ]
        rows += [
            pl.row("build_acceptance", acceptance_id=acceptance(pl, cid, when, result))
            for when, result in accs
        ]
        rows += [_paid(pl, town, cid, amt, when) for amt, when in pays]
        parts = (
            [("change", x, w) for x, w in changes]
            + [("acceptance", r, w) for w, r in accs]
            + [("payment", a, w) for a, w in pays]
        )
        # The payment that goes over 80% (an acceptance after it does not undo it).
        pl.warn_held("ENG07", cid, town, parts, partial(_eng07_holds, amount=amount), rows)
    # Near misses.
    cid = _contract_with_tender(pl, "330122001", "1000000", D(2021, 2, 1))
    paid = _paid(pl, "330122001", cid, "800000", D(2021, 4, 6))
    pl.near("ENG07", "paid exactly 80% before acceptance", "330122001", trigger=paid)
    cid = _contract_with_tender(pl, "330122101", "1000000", D(2021, 3, 1))
    acceptance(pl, cid, D(2021, 6, 15))
    _paid(pl, "330122101", cid, "750000", D(2021, 5, 6))
    paid = _paid(pl, "330122101", cid, "200000", D(2021, 6, 15))
    pl.near(
        "ENG07",
        "75% before acceptance and 20% paid on the acceptance day itself",
        "330122101",
        trigger=paid,
    )
    cid = _contract_with_tender(
        pl, "330122103", "700000", D(2021, 4, 1), kind="服务", name="设计服务"
    )
    paid = _paid(pl, "330122103", cid, "665000", D(2021, 6, 1), economic_class="商品服务")
    pl.near("ENG07", "a 服务 contract paid 95% with no acceptance", "330122103", trigger=paid)
    cid = _contract_with_tender(
        pl, "330122203", "640000", D(2021, 5, 1), kind=None, name="维修工程"
    )
    paid = _paid(pl, "330122203", cid, "608000", D(2021, 7, 1))
    pl.near(
        "ENG07", "a contract with no kind paid 95% with no acceptance", "330122203", trigger=paid
    )


def eng08(pl: Planter) -> None:
    """利益冲突中标: the contractor is related to the contract's township."""
    specs = [
        # township, signed, how, amount
        ("330122001", D(2021, 3, 18), "spouse-shareholder", "1280000"),
        ("330122002", D(2021, 6, 9), "brother-rep", "2360000"),
        ("330122003", D(2021, 4, 26), "official-shareholder", "880000"),
        ("330122100", D(2021, 3, 1), "sibling-rep-late", "1560000"),
        ("330122101", D(2020, 11, 5), "child-supervisor", "3100000"),
        ("330122102", D(2021, 8, 17), "transfer", "990000"),
        ("330122203", D(2021, 9, 22), "child-supervisor", "740000"),
        ("330122105", D(2021, 10, 12), "spouse-parent-shareholder", "180000"),
        ("330122104", D(2021, 11, 30), "spouse-shareholder", "2050000"),
        ("330122200", D(2021, 7, 20), "brother-rep", "2400000"),
    ]
    related = {
        # how: the official's relative in the contractor (None: the official), and the role
        # held there ("rep": legal representative)
        "spouse-shareholder": ("配偶", "股东"),
        "brother-rep": ("兄弟姐妹", "rep"),
        "official-shareholder": (None, "股东"),
        "sibling-rep-late": ("兄弟姐妹", "rep"),
        "child-supervisor": ("子女", "监事"),
        "transfer": ("配偶", "股东"),
        "spouse-parent-shareholder": ("配偶父母", "董事"),
    }
    for town, signed, how, amount in specs:
        first = month_end_of(signed)
        # The contract makes the case, unless the enterprise registers after it is signed:
        # its legal representative counts only from then on.
        registers_late = False
        if how == "transfer":
            # The official now serves in 330122001 but once served in this township.
            official = pl.official("330122001", also=(town,))
        else:
            official = pl.official(town, leader=how == "official-shareholder")
        relation, role = related[how]
        holder = official if relation is None else pl.relative(official, relation)
        if how == "sibling-rep-late":
            registered = D(2021, 5, 10)
            ent = pl.enterprise(
                legal_rep=holder, registered_on=registered, rep_is_shareholder=False, township=town
            )
            first = month_end_of(max(signed, registered))
            registers_late = registered > signed
        else:
            ent = pl.enterprise_of(holder, role, township=town)
        if yuan(amount) >= THRESHOLD / 2:
            cid = _contract_with_tender(pl, town, amount, signed, contractor=ent)
        else:
            pid = project(
                pl,
                town,
                f"{pl.village(town, 2)}绿化养护项目",
                amount,
                signed - dt.timedelta(days=30),
                category="其他",
            )
            cid = contract(pl, town, ent, amount, signed, project_id=pid, kind="服务")
        trigger = (
            pl.row("mkt_enterprise", enterprise_code=ent.code)
            if registers_late
            else pl.row("trade_contract", contract_id=cid)
        )
        pl.warn("ENG08", cid, town, first, trigger=trigger)
    # Near misses.
    official = pl.official("330122004")
    rel = pl.relative(official, "配偶")
    ent = pl.enterprise(shareholders=((rel, "股东"),), township="330122201")
    cid = _contract_with_tender(pl, "330122201", "1100000", D(2021, 5, 11), contractor=ent)
    pl.near(
        "ENG08",
        "contractor related to 330122004, contract of 330122201",
        "330122201",
        trigger=pl.row("trade_contract", contract_id=cid),
    )
    official = pl.official("330122202")
    namesake = pl.person("330122202", name=official.name, register=False)
    ent = pl.enterprise(shareholders=((namesake, "股东"),), township="330122202")
    cid = _contract_with_tender(pl, "330122202", "960000", D(2021, 7, 7), contractor=ent)
    pl.near(
        "ENG08",
        "contractor's shareholder has an official's name but another id",
        "330122202",
        trigger=pl.row("trade_contract", contract_id=cid),
    )
