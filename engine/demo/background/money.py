"""Background money flows: special funds, treasury payments, subsidies, bank accounts and flows.

Clean by construction for FUN01/FUN02/FUN05/FUN06, FIN01, FIN04 and FIN05:
- a fund with a spending deadline inside 2021 has at least 55% of it paid on or
  before the deadline;
- no payment of 300,000 or more goes out without a contract (those are
  covered by contract decisions) unless it is 工资福利, so the background needs
  no decision without a contract above 300,000 — and has none that could hide a
  planted case;
- salaries (工资福利) are the only payments to officials; other payees are the
  general population or enterprises;
- each recipient is paid at most once per program and period, into an account
  of their own, and payments stop when the recipient dies;
- cash leaving a township's own account is always below 20,000.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from engine.demo import names
from engine.demo.arrowkit import (
    add_months,
    dates,
    day,
    join,
    money,
    numbered,
    pick,
    stray_spaces,
    timestamps,
    year_month,
)
from engine.demo.background.core import YEAR_END, YEAR_START, Core
from engine.demo.background.frames import Frame, concat, where
from engine.demo.background.population import Enterprises, Officials, Residents
from engine.demo.idformats import background_ids
from engine.demo.ids import digits_matrix, uscc_array

PAYMENT_CAP = 29_000_000  # cents: background payments without a contract stay below 290,000


def personal_card(index: np.ndarray, bank_prefix: str = "6230910") -> pa.Array:
    """A 19-digit debit card number per person index, distinct for distinct indexes."""
    return numbered(
        bank_prefix, (np.asarray(index, dtype=np.int64) * 1_000_003 + 12_345) % 10**12, 12
    )


def even_split(rng: np.random.Generator, total: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """Split totals into parts of nearly equal size (+-20%), summing exactly per row."""
    rows = np.repeat(np.arange(total.shape[0]), parts)
    w = rng.uniform(0.8, 1.2, rows.shape[0])
    wsum = np.bincount(rows, weights=w, minlength=total.shape[0])
    out = np.floor(total[rows] * w / wsum[rows]).astype(np.int64)
    first = np.cumsum(parts) - parts
    rem = total - np.bincount(rows, weights=out, minlength=total.shape[0]).astype(np.int64)
    has = parts > 0
    out[first[has]] += rem[has]
    return out


@dataclass
class Money:
    """Funds and the non-engineering treasury payments."""

    fin_fund: Frame
    payments: Frame  # fin_payment columns without payment_id


def _payment_frame(
    core: Core,
    rng: np.random.Generator,
    town: np.ndarray,
    payee_name: pa.Array,
    payee_code: pa.Array,
    payee_account: pa.Array,
    amount: np.ndarray,
    paid: np.ndarray,
    purpose: pa.Array,
    eclass: pa.Array,
    fund_id: pa.Array | None = None,
) -> Frame:
    n = town.shape[0]
    units = pick(names.PAYER_UNITS, rng.integers(0, len(names.PAYER_UNITS), n))
    return {
        "township": pick(core.township_codes, town),
        "payer_unit": join(pick(core.township_names, town), units),
        "payee_name": payee_name,
        "payee_code": payee_code,
        "payee_account": payee_account,
        "amount": money(amount),
        "paid_on": dates(paid),
        "purpose": purpose,
        "economic_class": eclass,
        "contract_id": pa.nulls(n, pa.string()),
        "fund_id": fund_id if fund_id is not None else pa.nulls(n, pa.string()),
    }


def make_money(core: Core, res: Residents, off: Officials, ent: Enterprises) -> Money:
    """Build funds and treasury payments (see the module docstring)."""
    rng = core.rng("money")
    people = res.people
    live_ent = np.flatnonzero(ent.status == 0)

    # ---- special funds and what was paid from them.
    nf = core.n("funds")
    f_town = core.townships(rng, nf)
    f_amount = rng.integers(100_000, 3_000_001, size=nf) // 1000 * 1000 * 100
    f_alloc = rng.integers(day("2020-06-01"), day("2021-11-30") + 1, size=nf)
    f_months = rng.choice([6, 9, 12], size=nf)
    f_deadline = add_months(f_alloc, f_months)
    no_deadline = rng.random(nf) < 0.1
    f_ids = background_ids("fund", nf)
    program = rng.integers(0, len(names.FUND_PROGRAMS), nf)
    fin_fund = {
        "fund_id": f_ids,
        "township": pick(core.township_codes, f_town),
        "program": pick(names.FUND_PROGRAMS, program),
        "amount": money(f_amount),
        "allocated_on": dates(f_alloc),
        "spend_deadline_on": dates(f_deadline, no_deadline),
    }
    share = np.where(no_deadline, rng.uniform(0.1, 0.9, nf), rng.uniform(0.55, 0.98, nf))
    spent = (f_amount * share).astype(np.int64) // 100 * 100
    parts = np.ceil(spent / 15_000_000).astype(np.int64) + rng.integers(0, 3, nf)
    fp_amt = even_split(rng, spent, parts)
    fp_f = np.repeat(np.arange(nf), parts)
    last = np.where(no_deadline, np.minimum(f_alloc + 400, YEAR_END), f_deadline)
    fp_day = (
        f_alloc[fp_f] + 10 + (rng.random(fp_f.size) * (last - f_alloc - 10)[fp_f]).astype(np.int64)
    )
    fp_day = np.minimum(fp_day, last[fp_f])
    fp_ent = live_ent[rng.integers(0, live_ent.size, fp_f.size)]
    fpe = pa.array(fp_ent)
    fund_pay = _payment_frame(
        core,
        rng,
        f_town[fp_f],
        ent.names.take(fpe),
        ent.codes.take(fpe),
        ent.accounts.take(fpe),
        fp_amt,
        fp_day,
        join(pick(names.FUND_PROGRAMS, program[fp_f]), "支出"),
        pick(("资本性支出", "商品服务"), rng.integers(0, 2, fp_f.size)),
        f_ids.take(pa.array(fp_f)),
    )
    fund_pay = where(fund_pay, (fp_day <= YEAR_END) & (fp_amt > 0))

    # ---- salaries of officials, monthly on the 15th (or the next workday).
    no = len(off.people)
    months = np.arange(12)
    sal_p = np.repeat(np.arange(no), 12)
    sal_m = np.tile(months, no)
    mstart = np.array([day(f"2021-{m + 1:02d}-15") for m in months])
    sal_day = core.workday_on_or_after(mstart[sal_m])
    base = rng.integers(650_000, 1_500_000, size=no)
    sal_amt = base[sal_p] + rng.integers(-20_000, 20_000, sal_p.size)
    spp = pa.array(sal_p)
    salary = _payment_frame(
        core,
        rng,
        off.home_township[sal_p],
        off.people.names.take(spp),
        off.people.ids.take(spp),
        personal_card(sal_p, "6230911"),
        sal_amt,
        sal_day,
        join(pick([f"{m + 1}月工资" for m in months], sal_m)),
        pa.array(["工资福利"] * sal_p.size, pa.string()),
    )

    # ---- goods, services, capital items and help to households, all below 290,000.
    ng = core.n("goods_payments")
    g_town = core.townships(rng, ng)
    to_person = rng.random(ng) < 0.3
    g_person = rng.integers(0, len(people), ng)
    g_ent = live_ent[rng.integers(0, live_ent.size, ng)]
    g_amt = np.exp(rng.normal(np.log(3_000), 1.2, ng))
    g_amt = (np.clip(g_amt, 50, PAYMENT_CAP / 100) * 100).astype(np.int64)
    g_amt = np.where(to_person, np.minimum(g_amt, 2_000_000), g_amt)
    g_day = rng.integers(YEAR_START, YEAR_END + 1, ng)
    g_day = core.workday_on_or_after(g_day)
    g_day = np.where(g_day > YEAR_END, YEAR_END - 1, g_day)
    u = rng.random(ng)
    cls_idx = np.where(
        to_person,
        np.where(u < 0.6, 3, 1),
        np.where(u < 0.75, 1, 2),
    )
    class_vocab = ("工资福利", "商品服务", "资本性支出", "对个人和家庭的补助")
    eclass = pick(class_vocab, cls_idx, rng.random(ng) < 0.02)
    purpose_vocab = (
        list(names.PAYMENT_PURPOSES_GOODS)
        + list(names.PAYMENT_PURPOSES_CAPITAL)
        + list(names.PAYMENT_PURPOSES_PERSONAL)
    )
    ng_goods = len(names.PAYMENT_PURPOSES_GOODS)
    ng_cap = len(names.PAYMENT_PURPOSES_CAPITAL)
    pur = np.where(
        cls_idx == 3,
        ng_goods + ng_cap + rng.integers(0, len(names.PAYMENT_PURPOSES_PERSONAL), ng),
        np.where(
            cls_idx == 2, ng_goods + rng.integers(0, ng_cap, ng), rng.integers(0, ng_goods, ng)
        ),
    )
    gp = pa.array(g_person)
    ge = pa.array(g_ent)
    tp = pa.array(to_person)
    goods = _payment_frame(
        core,
        rng,
        g_town,
        pa.compute.if_else(tp, people.names.take(gp), ent.names.take(ge)),
        pa.compute.if_else(tp, people.ids.take(gp), ent.codes.take(ge)),
        pa.compute.if_else(tp, personal_card(g_person), ent.accounts.take(ge)),
        g_amt,
        g_day,
        stray_spaces(pick(purpose_vocab, pur, rng.random(ng) < 0.02), rng, 0.02),
        eclass,
    )
    code_null = rng.random(ng) < 0.02
    goods["payee_code"] = pa.compute.if_else(
        pa.array(code_null), pa.scalar(None, pa.string()), goods["payee_code"]
    )
    payments = concat([fund_pay, salary, goods])

    return Money(fin_fund=fin_fund, payments=payments)


def make_subsidies(core: Core, res: Residents, dead: np.ndarray, died_on: np.ndarray) -> Frame:
    """fin_subsidy: monthly and annual programs, stopping when the recipient dies."""
    rng = core.rng("subsidies")
    people = res.people
    n = len(people)
    death_day = np.full(n, 10**9, dtype=np.int64)
    death_day[dead] = died_on
    # Monthly programs: one program per recipient, paid each month from its start.
    nm = min(core.n("subsidy_monthly_recipients"), n // 3)
    rec = np.sort(rng.choice(n, size=nm, replace=False))
    older = people.birth[rec] <= day("1961-12-31")
    oldest = people.birth[rec] <= day("1941-12-31")
    prog = np.where(
        oldest & (rng.random(nm) < 0.5),
        1,
        np.where(older & (rng.random(nm) < 0.85), 0, 2 + rng.integers(0, 2, nm)),
    )
    first_month = np.where(rng.random(nm) < 0.85, 1, rng.integers(2, 13, nm))
    count = 13 - first_month
    r = np.repeat(np.arange(nm), count)
    month = np.repeat(first_month, count) + (
        np.arange(r.size) - np.repeat(np.cumsum(count) - count, count)
    )
    pay_dom = rng.integers(8, 21, size=nm)
    m_day = np.array([day(f"2021-{m:02d}-01") for m in range(1, 13)])[month - 1] + pay_dom[r] - 1
    m_person = rec[r]
    m_prog = prog[r]
    # Annual programs: distinct recipients per program.
    na = core.n("subsidy_annual_rows")
    rural = np.flatnonzero((res.registration == 0) & (people.birth <= day("2000-12-31")))
    per_prog = np.full(len(names.SUBSIDY_ANNUAL), na // len(names.SUBSIDY_ANNUAL))
    a_person_parts, a_prog_parts = [], []
    for j, k in enumerate(per_prog):
        k = min(int(k), rural.size)
        a_person_parts.append(rng.choice(rural, size=k, replace=False))
        a_prog_parts.append(np.full(k, len(names.SUBSIDY_MONTHLY) + j))
    a_person = np.concatenate(a_person_parts)
    a_prog = np.concatenate(a_prog_parts)
    a_month = rng.choice([3, 4, 5, 6, 9, 11], size=a_person.size)
    a_day = np.array([day(f"2021-{m:02d}-01") for m in range(1, 13)])[a_month - 1] + rng.integers(
        0, 25, a_person.size
    )
    person = np.r_[m_person, a_person]
    program = np.r_[m_prog, a_prog]
    paid = np.r_[m_day, a_day]
    paid = core.workday_on_or_after(paid)
    # Payments stop when the recipient dies.
    alive = paid <= death_day[person]
    person, program, paid = person[alive], program[alive], paid[alive]
    order = np.argsort(paid, kind="stable")
    person, program, paid = person[order], program[order], paid[order]
    ns = person.size
    pp = pa.array(person)
    programs = list(names.SUBSIDY_MONTHLY) + list(names.SUBSIDY_ANNUAL)
    # Amounts in cents as the programs pay them: a pension fixed per person, flat
    # allowances, and per-mu payments for farmland and forest.
    pension = (240 + (person * 7_919) % 410) * 100
    elderly = np.where(people.birth[person] < day("1931-01-01"), 20_000, 10_000)
    mu = 1 + (person * 104_729) % 25
    amount = np.select(
        [
            program == 0,
            program == 1,
            program == 2,
            program == 3,
            program == 4,
            program == 5,
            program == 6,
        ],
        [
            pension,
            elderly,
            np.full(ns, 31_800),
            np.full(ns, 15_900),
            mu * 10_527,
            mu * 3_100,
            np.full(ns, 96_000),
        ],
        default=rng.integers(10, 300, ns) * 10_000,
    )
    return {
        "subsidy_id": background_ids("subsidy", ns),
        "program": pick(programs, program),
        "township": pick(core.township_codes, res.township[person]),
        "village": pick(core.village_names, res.village[person], rng.random(ns) < 0.02),
        "recipient_name": pa.compute.if_else(
            pa.array(rng.random(ns) < 0.02), people.variant_names.take(pp), people.names.take(pp)
        ),
        "recipient_id": people.ids.take(pp),
        "account_no": pa.compute.if_else(
            pa.array(rng.random(ns) < 0.015), pa.scalar(None, pa.string()), personal_card(person)
        ),
        "amount": money(amount),
        "period": year_month(paid, rng.random(ns) < 0.01),
        "paid_on": dates(paid),
    }


def make_bank(core: Core, res: Residents, ent: Enterprises, txns: bool) -> Frame:
    """bank_account, or (``txns``) bank_txn; both from one stream, so they agree."""
    rng = core.rng("bank")
    people = res.people
    nt = len(core.township_codes)
    # Township organs' own accounts (fixed, not scaled): 3-5 per township.
    per = 3 + (np.arange(nt) % 3)
    t_town = np.repeat(np.arange(nt), per)
    t_rank = np.arange(t_town.size) - np.repeat(np.cumsum(per) - per, per)
    holders = ("人民政府", "财政所", "党委", "农业农村办公室", "便民服务中心")
    t_name = join(pick(core.township_names, t_town), pick(holders, t_rank))
    gov_prefix = np.empty((t_town.size, 8), dtype=np.uint8)
    gov_prefix[:, :2] = np.frombuffer(b"11", dtype=np.uint8)
    gov_prefix[:, 2:] = digits_matrix(np.full(t_town.size, 330122), 6)
    gov_body = digits_matrix(2_000_000 + np.arange(t_town.size) * 37, 8)
    t_holder = uscc_array(gov_prefix, gov_body)
    t_acct = numbered("33010401601", 10_000_000 + np.arange(t_town.size) * 9_973, 8)
    nb = core.n("bank_accounts")
    n_ent = min(int(nb * 0.15), len(ent.codes))
    n_per = min(nb - n_ent, len(people))
    e_idx = np.sort(rng.choice(len(ent.codes), size=n_ent, replace=False))
    p_idx = np.sort(rng.choice(len(people), size=n_per, replace=False))
    ep, pp = pa.array(e_idx), pa.array(p_idx)
    nacc = t_town.size + n_ent + n_per
    opened = np.r_[
        rng.integers(day("2005-01-01"), day("2018-12-31"), t_town.size),
        np.maximum(
            ent.registered[e_idx], rng.integers(day("2000-01-01"), day("2021-12-31"), n_ent)
        ),
        rng.integers(day("2000-01-01"), day("2021-12-31"), n_per),
    ]
    opened_null = np.r_[np.zeros(t_town.size + n_ent, dtype=bool), rng.random(n_per) < 0.03]
    acct_no = pa.concat_arrays([t_acct, ent.accounts.take(ep), personal_card(p_idx)])
    holder_name = pa.concat_arrays([t_name, ent.names.take(ep), people.names.take(pp)])
    bank_account = {
        "account_no": acct_no,
        "holder_name": holder_name,
        "holder_id": pa.concat_arrays([t_holder, ent.codes.take(ep), people.ids.take(pp)]),
        "kind": pick(
            ("对公", "个人"),
            np.r_[np.zeros(t_town.size + n_ent, dtype=np.int64), np.ones(n_per, dtype=np.int64)],
        ),
        "township": pick(
            core.township_codes,
            np.r_[t_town, np.zeros(n_ent + n_per, dtype=np.int64)],
            np.r_[np.zeros(t_town.size, dtype=bool), np.ones(n_ent + n_per, dtype=bool)],
        ),
        "opened_on": dates(opened, opened_null),
    }
    if not txns:
        return bank_account
    # Transactions.
    ntx = core.n("bank_txns")
    u = rng.random(ntx)
    owner = np.where(
        u < 0.12,
        rng.integers(0, t_town.size, ntx),
        np.where(
            u < 0.37,
            t_town.size + rng.integers(0, max(n_ent, 1), ntx),
            t_town.size + n_ent + rng.integers(0, max(n_per, 1), ntx),
        ),
    )
    owner = np.minimum(owner, nacc - 1)
    is_town = owner < t_town.size
    is_person = owner >= t_town.size + n_ent
    ch = np.where(
        is_town,
        rng.choice(4, size=ntx, p=[0.07, 0.03, 0.55, 0.35]),
        np.where(
            is_person,
            rng.choice(4, size=ntx, p=[0.1, 0.25, 0.35, 0.3]),
            rng.choice(4, size=ntx, p=[0.05, 0.02, 0.5, 0.43]),
        ),
    )  # 柜面现金 ATM 转账 网银
    out = rng.random(ntx) < 0.55
    amt = np.exp(rng.normal(np.log(2_000), 1.6, ntx))
    amt = np.where(is_town & (ch >= 2), amt * 20, amt)
    amt = np.where(ch == 1, np.minimum(amt, 20_000), amt)
    # Cash out of a township's own account: always below 20,000 (FIN01 looks from 50,000).
    amt = np.where(is_town & (ch <= 1), np.minimum(amt, 19_999), amt)
    amt = np.clip(amt, 1, 5_000_000)
    cents = (amt * 100).astype(np.int64)
    cents = np.where(ch <= 1, cents // 10_000 * 10_000 + 10_000 * (cents < 10_000), cents)
    cents = np.where(is_town & (ch <= 1), np.minimum(cents, 1_999_900), cents)
    t_day = rng.integers(YEAR_START, YEAR_END + 1, ntx)
    t_sec = np.where(
        ch == 0, rng.integers(8 * 3600 + 1800, 17 * 3600, ntx), rng.integers(0, 86_400, ntx)
    )
    t_us = (t_day * 86_400 + t_sec) * 1_000_000
    order = np.argsort(t_us, kind="stable")
    owner, ch, out, cents, t_us = owner[order], ch[order], out[order], cents[order], t_us[order]
    cp = rng.integers(0, len(people), ntx)
    has_cp = ch >= 2
    summ = rng.integers(0, len(names.BANK_SUMMARIES), ntx)
    summ = np.where(ch <= 1, np.where(out, 10, 11), summ)
    bank_txn = {
        "txn_id": background_ids("txn", ntx),
        "account_no": acct_no.take(pa.array(owner)),
        "txn_at": timestamps(t_us),
        "direction": pick(("收", "付"), out.astype(np.int64)),
        "amount": money(cents),
        "channel": pick(("柜面现金", "ATM", "转账", "网银"), ch),
        "counterparty_account": pick(personal_card(cp), np.arange(ntx), ~has_cp),
        "counterparty_name": stray_spaces(pick(people.names, cp, ~has_cp), rng, 0.01),
        "summary": stray_spaces(pick(names.BANK_SUMMARIES, summ), rng, 0.01),
    }
    return bank_txn
