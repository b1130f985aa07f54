"""Planted cases of the finance models FIN01-FIN05, with their near misses.

Decisions planted here without a contract are placed where they cannot cover
another planted payment (other townships, or before/after the 180-day window).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from engine.demo.ids import uscc
from engine.demo.plants.base import (
    TOWNSHIP_NAMES,
    D,
    Planter,
    Row,
    at,
    month_end_of,
    needed_row,
    yuan,
)
from engine.demo.plants.rows import contract, decision, payment, project


def plant(pl: Planter) -> None:
    """Plant FIN01-FIN05."""
    fin01(pl)
    fin02(pl)
    fin03(pl)
    fin04(pl)
    fin05(pl)


def _account(pl: Planter, town: str | None, holder: str, kind: str = "对公") -> str:
    k = pl.count("account")
    acct = f"33010401609{90_000_000 + k:08d}"
    pl.add(
        "bank_account",
        account_no=acct,
        holder_name=holder,
        holder_id=uscc("11", "330122", f"09{k:06d}") if kind == "对公" else None,
        kind=kind,
        township=town,
        opened_on=D(2012, 4, 1),
    )
    return acct


def _txn(
    pl: Planter,
    account: str,
    when: dt.datetime,
    amount: str | int,
    channel: str = "柜面现金",
    direction: str = "付",
) -> str:
    tid = pl.id("txn")
    pl.add(
        "bank_txn",
        txn_id=tid,
        account_no=account,
        txn_at=when,
        direction=direction,
        amount=yuan(amount),
        channel=channel,
        counterparty_account=None,
        counterparty_name=None,
        summary="取现" if direction == "付" else "存现",
    )
    return tid


def _txn_row(pl: Planter, txn_id: str) -> Row:
    return pl.row("bank_txn", txn_id=txn_id)


def fin01(pl: Planter) -> None:
    """大额提取现金: 50,000 or more in cash out of a township's own account."""
    cases = [
        ("330122001", at(D(2021, 3, 31), 23, 50), "50000.00", "柜面现金"),
        ("330122002", at(D(2021, 4, 1), 0, 10), "80000", "柜面现金"),
        ("330122004", at(D(2021, 5, 18), 14), "50000", "ATM"),
        ("330122100", at(D(2021, 1, 5), 9, 30), "120000", "柜面现金"),
        ("330122102", at(D(2021, 6, 30), 16), "65000", "柜面现金"),
        ("330122103", at(D(2021, 8, 12), 10), "200000", "柜面现金"),
        ("330122105", at(D(2021, 9, 30), 11), "51000", "柜面现金"),
        ("330122201", at(D(2021, 11, 2), 15), "99999.99", "柜面现金"),
        ("330122203", at(D(2021, 12, 31), 23, 59, 59), "55000", "柜面现金"),
    ]
    for town, when, amount, channel in cases:
        acct = _account(pl, town, f"{TOWNSHIP_NAMES[town]}人民政府(专户)")
        tid = _txn(pl, acct, when, amount, channel)
        pl.warn("FIN01", tid, town, month_end_of(when.date()), trigger=_txn_row(pl, tid))
    acct = _account(pl, "330122003", "城南街道办事处(专户)")
    tid = _txn(pl, acct, at(D(2021, 4, 9)), "49999.99")
    pl.near("FIN01", "cash withdrawal of 49,999.99", "330122003", trigger=_txn_row(pl, tid))
    acct = _account(pl, "330122101", "横村镇人民政府(专户)")
    tid = _txn(pl, acct, at(D(2021, 5, 10)), "200000", channel="转账")
    pl.near("FIN01", "200,000 out by transfer, not cash", "330122101", trigger=_txn_row(pl, tid))
    acct = _account(pl, "330122104", "百江镇人民政府(专户)")
    tid = _txn(pl, acct, at(D(2021, 6, 10)), "60000", direction="收")
    pl.near("FIN01", "60,000 cash paid in, not out", "330122104", trigger=_txn_row(pl, tid))
    acct = _account(pl, None, pl.name(True), kind="个人")
    tid = _txn(pl, acct, at(D(2021, 7, 7)), "100000")
    pl.near(
        "FIN01",
        "100,000 cash from a personal account (no township)",
        "330122200",
        trigger=_txn_row(pl, tid),
    )
    acct = _account(pl, None, "新合乡引坑村股份经济合作社")
    tid = _txn(pl, acct, at(D(2021, 8, 8)), "60000")
    pl.near(
        "FIN01",
        "60,000 cash from a village collective's account (no township)",
        "330122202",
        trigger=_txn_row(pl, tid),
    )
    acct = _account(pl, "330122001", "桐君街道办事处(零余额)")
    tid = _txn(pl, acct, at(D(2022, 1, 1), 0, 0, 1), "80000")
    pl.near(
        "FIN01",
        "80,000 cash withdrawn 2022-01-01 00:00:01 (invisible)",
        "330122001",
        trigger=_txn_row(pl, tid),
    )


def _reception(
    pl: Planter,
    town: str,
    held: dt.date,
    guests: int,
    staff: int,
    cost: str | None,
    letter: bool | None = True,
) -> str:
    rid = pl.id("reception")
    pl.add(
        "town_reception",
        reception_id=rid,
        township=town,
        guest_count=guests,
        staff_count=staff,
        meal_cost=yuan(cost) if cost is not None else None,
        held_on=held,
        has_letter=letter,
    )
    return rid


def _reception_row(pl: Planter, reception_id: str) -> Row:
    return pl.row("town_reception", reception_id=reception_id)


def fin02(pl: Planter) -> None:
    """公务接待超标: too many escorts, no letter, or above 150 a head."""
    cases = [
        ("330122001", D(2021, 3, 12), 10, 4, "1400", True),
        ("330122002", D(2021, 4, 8), 11, 4, "1500", True),
        ("330122003", D(2021, 5, 20), 30, 11, "4100", True),
        ("330122100", D(2021, 6, 3), 5, 2, "700", False),
        ("330122101", D(2021, 7, 15), 5, 3, "1200.08", True),
        ("330122102", D(2021, 8, 26), 8, 2, "2000", True),
        ("330122104", D(2020, 12, 22), 6, 5, "1100", True),
        ("330122105", D(2021, 10, 19), 4, 2, "1200", False),
        ("330122201", D(2021, 11, 25), 20, 7, "2700", True),
        ("330122203", D(2021, 12, 30), 3, 3, "600", False),
    ]
    for town, held, guests, staff, cost, letter in cases:
        rid = _reception(pl, town, held, guests, staff, cost, letter)
        pl.warn("FIN02", rid, town, month_end_of(held), trigger=_reception_row(pl, rid))
    for town, held, guests, staff, cost, letter, text in (
        ("330122004", D(2021, 3, 3), 10, 3, "1300", True, "10 guests, 3 escorts"),
        (
            "330122103",
            D(2021, 4, 4),
            12,
            4,
            "1600",
            True,
            "12 guests, 4 escorts (a third of the guests)",
        ),
        ("330122200", D(2021, 5, 5), 6, 3, "1350.00", True, "exactly 150 a head"),
        ("330122202", D(2021, 6, 6), 5, 2, "700", None, "no record of a letter (null)"),
        ("330122002", D(2021, 7, 7), 4, 1, None, True, "meal cost not recorded (null)"),
    ):
        rid = _reception(pl, town, held, guests, staff, cost, letter)
        pl.near("FIN02", text, town, trigger=_reception_row(pl, rid))


def _voucher(
    pl: Planter, town: str, claimant: str, vendor: str | None, amount: str, day: dt.date
) -> Row:
    return "town_reimbursement", pl.add(
        "town_reimbursement",
        voucher_id=pl.id("voucher"),
        township=town,
        claimant_id=claimant,
        category="接待",
        vendor_name=vendor,
        amount=yuan(amount),
        expense_on=day,
        approved_on=day + dt.timedelta(days=5),
        invoice_no=f"{pl.count('invoice') + 33_000_000:08d}",
    )


def _fin03_holds(vouchers: list[tuple[str, dt.date]], d: dt.date) -> bool:
    """Three vouchers or more of one month, each below 5,000, adding up to 5,000 or more."""
    seen = [yuan(amount) for amount, day in vouchers if day <= d]
    limit = Decimal("5000")
    return len(seen) >= 3 and max(seen) < limit and sum(seen) >= limit


def fin03(pl: Planter) -> None:
    """化整为零报销: several small vouchers of one vendor in one month adding up."""
    cases = [
        (
            "330122001",
            "桐庐县桐君春江饭店",
            [
                (D(2021, 3, 3), "1800", "330122001"),
                (D(2021, 3, 12), "1800", "330122001"),
                (D(2021, 3, 25), "1800", "330122001"),
            ],
        ),
        (
            "330122002",
            "桐庐县旧县富春农家乐",
            [(D(2021, 4, 6), "1250.00", "330122002")] * 1
            + [
                (D(2021, 4, 13), "1250.00", "330122002"),
                (D(2021, 4, 20), "1250.00", "330122002"),
                (D(2021, 4, 27), "1250.00", "330122002"),
            ],
        ),
        (
            "330122003",
            "桐庐县城南阳山土菜馆",
            [
                (D(2021, 5, 6), "1900", "330122003"),
                (D(2021, 5, 12), "1900", "330122003"),
                (D(2021, 5, 26), "1900", "330122102"),
            ],
        ),
        (
            "330122101",
            "桐庐县横村东溪大酒店",
            [
                (D(2021, 6, 8), "2100", "330122101"),
                (D(2021, 6, 21), "2100", "330122101"),
                (D(2021, 6, 21), "2100", "330122100"),
            ],
        ),
        (
            "330122103",
            "桐庐县瑶琳仁里宾馆",
            [
                (D(2021, 12, 1), "2000", "330122103"),
                (D(2021, 12, 9), "2000", "330122103"),
                (D(2021, 12, 28), "2000", "330122103"),
            ],
        ),
        (
            "330122104",
            "桐庐县百江文具店",
            [(D(2021, 7, d), "1100", "330122104") for d in (1, 6, 13, 20, 27)],
        ),
        (
            "330122105",
            "桐庐县江南深澳茶楼",
            [
                (D(2020, 12, 2), "2500", "330122105"),
                (D(2020, 12, 15), "2500", "330122105"),
                (D(2020, 12, 29), "600", "330122105"),
            ],
        ),
        (
            "330122201",
            "桐庐县钟山歌舞饭店",
            [
                (D(2021, 8, 4), "4999.99", "330122201"),
                (D(2021, 8, 11), "4999.99", "330122201"),
                (D(2021, 8, 18), "4999.99", "330122201"),
            ],
        ),
        (
            "330122203",
            "桐庐县合村后溪农家乐",
            [
                (D(2021, 10, 8), "1700", "330122203"),
                (D(2021, 10, 15), "1700", "330122203"),
                (D(2021, 10, 22), "1700", "330122203"),
            ],
        ),
    ]
    for home, vendor, vouchers in cases:
        claimant = pl.official(home)
        rows = [
            _voucher(pl, town, claimant.id, vendor, amount, day) for day, amount, town in vouchers
        ]
        latest = max(day for day, _, _ in vouchers)
        town_of = min(t for day, _, t in vouchers if day == latest)
        month = f"{vouchers[0][0]:%Y-%m}"
        first = month_end_of(latest)
        parts = [(amount, day) for day, amount, _ in vouchers]
        trigger = needed_row(first, parts, _fin03_holds, rows)
        pl.warn("FIN03", f"{claimant.id}|{vendor}|{month}", town_of, first, trigger=trigger)
    claimant = pl.official("330122004")
    for day in (D(2021, 3, 22), D(2021, 3, 29), D(2021, 4, 1)):
        row = _voucher(pl, "330122004", claimant.id, "桐庐县凤川翙岗饭店", "2000", day)
    pl.near("FIN03", "two vouchers in March and the third on April 1", "330122004", trigger=row)
    claimant = pl.official("330122200")
    for day, amount in (
        (D(2021, 5, 6), "5000.00"),
        (D(2021, 5, 13), "600"),
        (D(2021, 5, 20), "600"),
    ):
        row = _voucher(pl, "330122200", claimant.id, "桐庐县莪山新丰农家乐", amount, day)
    pl.near("FIN03", "one of the vouchers is exactly 5,000", "330122200", trigger=row)
    claimant = pl.official("330122202")
    for day, amount in (
        (D(2021, 6, 3), "1666.66"),
        (D(2021, 6, 10), "1666.66"),
        (D(2021, 6, 17), "1666.67"),
    ):
        row = _voucher(pl, "330122202", claimant.id, "桐庐县新合引坑土菜馆", amount, day)
    pl.near("FIN03", "three vouchers adding up to 4,999.99", "330122202", trigger=row)
    claimant = pl.official("330122101")
    for day, vendor in (
        (D(2021, 9, 2), "桐庐县横村孝门饭店"),
        (D(2021, 9, 9), "桐庐县横村孝门饭店"),
        (D(2021, 9, 16), None),
    ):
        row = _voucher(pl, "330122101", claimant.id, vendor, "2000", day)
    pl.near("FIN03", "the third voucher has no vendor", "330122101", trigger=row)


def _payment_row(pl: Planter, payment_id: str) -> Row:
    """A payment's row: the matter a township's finance office approves."""
    return pl.row("fin_payment", payment_id=payment_id)


def fin04(pl: Planter) -> None:
    """大额支出未经集体决策: 300,000 or more without a covering collective decision."""
    cases: list[tuple[str, str, dt.date, str | None]] = []

    def pay(
        town: str,
        amount: str,
        day: dt.date,
        *,
        eclass: str | None = "资本性支出",
        contract_id: str | None = None,
    ) -> None:
        ent = pl.enterprise(township=town)
        pid = payment(
            pl,
            town,
            ent,
            amount,
            day,
            contract_id=contract_id,
            economic_class=eclass,
            purpose="村级道路建设补助",
        )
        pl.warn("FIN04", pid, town, month_end_of(day), trigger=_payment_row(pl, pid))
        cases.append((town, amount, day, contract_id))

    pay("330122001", "500000", D(2021, 3, 16))
    decision(pl, "330122002", "关于拨付村级公路建设资金的决定", "450000", D(2021, 1, 1))
    pay("330122002", "400000", D(2021, 7, 1))  # decision 181 days before
    decision(pl, "330122003", "关于拨付安置房配套资金的决定", "450000", D(2021, 5, 10))
    pay("330122003", "480000", D(2021, 5, 20))  # decision below the amount
    decision(pl, "330122101", "关于拨付防汛抢险资金的决定", "400000", D(2021, 6, 1))
    pay("330122100", "350000", D(2021, 6, 9))  # the decision is another township's
    # A contract paid without any decision naming it.
    ent = pl.enterprise(township="330122101")
    p = project(
        pl, "330122101", "横村镇便民服务中心改造工程", "1000000", D(2021, 4, 1), category="房建"
    )
    cid = contract(pl, "330122101", ent, "1000000", D(2021, 6, 1), project_id=p, kind="服务")
    pid = payment(
        pl, "330122101", ent, "600000", D(2021, 8, 18), contract_id=cid, economic_class="商品服务"
    )
    pl.warn("FIN04", pid, "330122101", D(2021, 8, 31), trigger=_payment_row(pl, pid))
    # The contract's decision came a day after the payment.
    ent = pl.enterprise(township="330122102")
    p = project(pl, "330122102", "分水镇集镇停车场建设工程", "2000000", D(2021, 6, 1))
    cid = contract(pl, "330122102", ent, "2000000", D(2021, 8, 2), project_id=p, kind="货物")
    pid = payment(
        pl, "330122102", ent, "700000", D(2021, 9, 9), contract_id=cid, economic_class="资本性支出"
    )
    decision(
        pl, "330122102", "关于停车场建设合同的决定", "2000000", D(2021, 9, 10), contract_id=cid
    )
    pl.warn("FIN04", pid, "330122102", D(2021, 9, 30), trigger=_payment_row(pl, pid))
    pay("330122103", "350000", D(2021, 10, 12), eclass=None)
    pay("330122104", "300000.00", D(2021, 11, 4))
    pay("330122105", "320000", D(2020, 12, 8))
    # A decision without a contract does not cover a payment under a contract.
    decision(pl, "330122200", "关于拨付民族村建设资金的决定", "1000000", D(2021, 4, 1))
    ent = pl.enterprise(township="330122200")
    p = project(
        pl, "330122200", "新丰民族村文化礼堂建设工程", "900000", D(2021, 2, 1), category="房建"
    )
    cid = contract(pl, "330122200", ent, "900000", D(2021, 3, 15), project_id=p, kind="服务")
    pid = payment(
        pl, "330122200", ent, "500000", D(2021, 4, 21), contract_id=cid, economic_class="商品服务"
    )
    pl.warn("FIN04", pid, "330122200", D(2021, 4, 30), trigger=_payment_row(pl, pid))
    # Near misses.
    ent = pl.enterprise(township="330122201")
    pid = payment(pl, "330122201", ent, "299999.99", D(2021, 5, 5))
    pl.near(
        "FIN04",
        "payment of 299,999.99 without a decision",
        "330122201",
        trigger=_payment_row(pl, pid),
    )
    decision(pl, "330122202", "关于拨付高山蔬菜基地建设资金的决定", "500000", D(2020, 12, 31))
    pid = payment(pl, "330122202", pl.enterprise(township="330122202"), "500000", D(2021, 6, 29))
    pl.near(
        "FIN04",
        "decision exactly 180 days before, amount equal",
        "330122202",
        trigger=_payment_row(pl, pid),
    )
    decision(pl, "330122203", "关于拨付合村乡防洪堤修复资金的决定", "800000", D(2021, 9, 6))
    pid = payment(pl, "330122203", pl.enterprise(township="330122203"), "780000", D(2021, 9, 6))
    pl.near(
        "FIN04",
        "decision taken the day of the payment",
        "330122203",
        trigger=_payment_row(pl, pid),
    )
    official = pl.official("330122004")
    pid = payment(
        pl,
        "330122004",
        official,
        "800000",
        D(2021, 8, 13),
        economic_class="工资福利",
        purpose="年终绩效奖",
    )
    pl.near(
        "FIN04",
        "800,000 of 工资福利 without a decision",
        "330122004",
        trigger=_payment_row(pl, pid),
    )


def fin05(pl: Planter) -> None:
    """向公职人员及亲属付款: payments (not salaries) to the township's official circle."""
    specs = [
        ("330122001", "配偶", "8000", D(2021, 3, 5), "商品服务", "劳务费"),
        ("330122002", "父母", "2000", D(2021, 4, 9), "对个人和家庭的补助", "困难群众慰问金"),
        ("330122003", "兄弟姐妹", "5600", D(2021, 5, 13), None, "劳务费"),
        ("330122004", "self", "1200", D(2021, 6, 17), "商品服务", "讲课费"),
        ("330122100", "transfer", "15000", D(2021, 7, 21), "商品服务", "委托业务费"),
        ("330122101", "子女", "3800", D(2020, 12, 28), "对个人和家庭的补助", "助学金"),
        ("330122103", "子女", "48000", D(2021, 9, 8), "资本性支出", "绿化养护"),
        ("330122104", "配偶父母", "3000", D(2021, 10, 14), "对个人和家庭的补助", "困难群众慰问金"),
        ("330122202", "兄弟姐妹", "20000", D(2021, 12, 16), "商品服务", "劳务费"),
    ]
    for town, how, amount, day, eclass, purpose in specs:
        payee = pl.circle_member(town, how, serving_in="330122105", lives_in="330122105")
        pid = payment(pl, town, payee, amount, day, economic_class=eclass, purpose=purpose)
        pl.warn("FIN05", pid, town, month_end_of(day), trigger=_payment_row(pl, pid))
    official = pl.official("330122105")
    pid = payment(
        pl,
        "330122105",
        official,
        "9800",
        D(2021, 3, 15),
        economic_class="工资福利",
        purpose="3月工资",
    )
    pl.near("FIN05", "salary (工资福利) to an official", "330122105", trigger=_payment_row(pl, pid))
    rel = pl.relative(pl.official("330122001"), "配偶", township="330122102")
    pid = payment(
        pl, "330122102", rel, "6000", D(2021, 5, 25), economic_class="商品服务", purpose="劳务费"
    )
    pl.near(
        "FIN05",
        "payee is the spouse of an official of 330122001, paid by 330122102",
        "330122102",
        trigger=_payment_row(pl, pid),
    )
    official = pl.official("330122201")
    ent = pl.enterprise(legal_rep=pl.relative(official, "兄弟姐妹"), township="330122201")
    pid = payment(
        pl, "330122201", ent, "12000", D(2021, 6, 23), economic_class="商品服务", purpose="印刷费"
    )
    pl.near(
        "FIN05",
        "payee is an enterprise whose legal rep is an official's brother",
        "330122201",
        trigger=_payment_row(pl, pid),
    )
