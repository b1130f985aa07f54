"""Background engineering: projects, tenders, bids, contracts, changes, acceptance, payments.

Clean by construction for ENG01-ENG08 and FIN04:
- every project with investment >= 4,000,000 that is not 终止 has a tender published
  at most 180 days after approval (add_months(d, 6) is always >= d + 181 days);
- contracts without a tender come only from projects under 4,000,000 (together at
  most 90% of the investment) or are a single small service contract, and
  sub-projects get tendered contracts only, so no root collects untendered
  contracts worth 4,000,000;
- the bidders of a tender are distinct enterprises; phones, IPs and persons are
  never shared between enterprises;
- contractors are enterprises whose persons are outside every official circle;
- net changes only add up to 9% at most (a negative change never exceeds the
  earlier positive ones), payments never exceed the contract amount, and a
  工程 contract is paid at most 70% before its first 合格 acceptance;
- every contract of 300,000 or more has a collective decision naming it, taken
  before signing, in the contract's township (payments go out from that township).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from engine.demo import names
from engine.demo.arrowkit import (
    dates,
    day,
    join,
    money,
    numbered,
    pick,
    stray_spaces,
    timestamps,
    ymd_parts,
)
from engine.demo.background.core import YEAR_END, Core
from engine.demo.background.frames import Frame, where
from engine.demo.background.population import Enterprises
from engine.demo.idformats import background_ids

THRESHOLD = 400_000_000  # cents: tender_threshold 4,000,000 yuan
DECISION_LINE = 30_000_000  # cents: decision_threshold 300,000 yuan

INDUSTRY = {"房建": "47", "市政": "48", "水利": "76", "交通": "54", "农业农村": "05", "其他": "78"}
STATUS = ("立项", "在建", "完工", "终止")


def project_ids(approved: np.ndarray, category: np.ndarray, numbers: np.ndarray) -> pa.Array:
    """National investment project codes: year-region-industry-01-number."""
    year, _, _ = ymd_parts(approved)
    cats = list(INDUSTRY)
    return join(
        pick([str(y) for y in range(2015, 2023)], year - 2015),
        "-330122-",
        pick([INDUSTRY[c] for c in cats], category),
        "-01-",
        numbered("", numbers, 6),
    )


@dataclass
class Engineering:
    """The engineering tables plus the payments and decisions they imply."""

    dr_project: Frame
    trade_tender: Frame
    trade_bid: Frame
    trade_contract: Frame
    build_change: Frame
    build_acceptance: Frame
    build_settlement: Frame
    payments: Frame  # fin_payment columns without payment_id
    decisions: Frame  # town_decision columns without decision_id


def _split_cents(rng: np.random.Generator, total: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """Split each total into ``parts`` positive cent amounts (row-major, parts summed per row)."""
    rows = np.repeat(np.arange(total.shape[0]), parts)
    w = rng.random(rows.shape[0]) + 0.3
    wsum = np.bincount(rows, weights=w, minlength=total.shape[0])
    share = w / wsum[rows]
    out = np.floor(total[rows] * share).astype(np.int64)
    # Put rounding remainders on the first part so each row sums exactly to its total.
    first = np.cumsum(parts) - parts
    rem = total - np.bincount(rows, weights=out, minlength=total.shape[0]).astype(np.int64)
    out[first[parts > 0]] += rem[parts > 0]
    return out


def make_engineering(core: Core, ent: Enterprises) -> Engineering:
    """Build the engineering background (see the module docstring for what keeps it clean)."""
    rng = core.rng("engineering")
    n0 = core.n("projects")
    town = core.townships(rng, n0)
    village = core.villages_in(rng, town)
    tpl = rng.integers(0, len(names.PROJECT_TITLES), size=n0)
    cats = list(INDUSTRY)
    category = np.array([cats.index(names.PROJECT_TITLES[i][1]) for i in tpl])
    in_2020 = rng.random(n0) < 0.25
    approved = np.where(
        in_2020,
        rng.integers(day("2020-01-02"), day("2020-12-31") + 1, size=n0),
        rng.integers(day("2021-01-04"), day("2021-12-20") + 1, size=n0),
    )
    inv = np.exp(rng.normal(np.log(1_500_000), 1.0, size=n0))
    inv = np.clip(inv, 120_000, 60_000_000)
    inv_cents = (np.round(inv / 1000) * 1000 * 100).astype(np.int64)
    # Parents of sub-projects: big projects split into 标段.
    parent = rng.random(n0) < 0.05
    inv_cents = np.where(parent, np.maximum(inv_cents, 600_000_000), inv_cents)
    u = rng.random(n0)
    status = np.where(
        in_2020,
        np.where(u < 0.5, 2, np.where(u < 0.9, 1, np.where(u < 0.95, 3, -1))),
        np.where(
            u < 0.3, 0, np.where(u < 0.85, 1, np.where(u < 0.9, 2, np.where(u < 0.95, 3, -1)))
        ),
    )
    status = np.where(parent & (status == 3), 1, status)
    # Sub-projects.
    n_child = np.where(parent, rng.integers(2, 4, size=n0), 0)
    c_parent = np.repeat(np.arange(n0), n_child)
    c_rank = np.arange(c_parent.size) - np.repeat(np.cumsum(n_child) - n_child, n_child)
    c_share = rng.random(c_parent.size) + 0.5
    c_share = c_share / np.bincount(c_parent, weights=c_share, minlength=n0)[c_parent]
    c_inv = (np.round(inv_cents[c_parent] * 0.9 * c_share / 100_000) * 100_000).astype(np.int64)
    n = n0 + c_parent.size
    p_parent = np.r_[np.full(n0, -1), c_parent]
    p_town = np.r_[town, town[c_parent]]
    p_village = np.r_[village, village[c_parent]]
    p_tpl = np.r_[tpl, tpl[c_parent]]
    p_cat = np.r_[category, category[c_parent]]
    p_approved = np.r_[approved, approved[c_parent] + rng.integers(0, 30, size=c_parent.size)]
    p_inv = np.r_[inv_cents, c_inv]
    p_status = np.r_[status, status[c_parent]]
    is_child = p_parent >= 0
    is_parent = np.r_[parent, np.zeros(c_parent.size, dtype=bool)]
    pids = project_ids(p_approved, p_cat, np.arange(1, n + 1))
    title_base = []
    for i in range(n):
        pattern = names.PROJECT_TITLES[p_tpl[i]][0]
        title_base.append(
            pattern.format(v=core.village_names[p_village[i]], t=core.township_names[p_town[i]])
        )
    suffix = [""] * n0 + [names.SUB_PROJECT_SUFFIXES[r] for r in c_rank]
    p_names = pa.array([a + b for a, b in zip(title_base, suffix, strict=True)], pa.string())
    dr_project = {
        "project_id": pids,
        "parent_project_id": pids.take(pa.array(np.where(is_child, p_parent, 0), mask=~is_child)),
        "township": pick(core.township_codes, p_town),
        "name": stray_spaces(p_names, rng, 0.02),
        "category": pick(cats, p_cat, rng.random(n) < 0.03),
        "investment": money(p_inv),
        "approved_on": dates(p_approved),
        "funding_source": pick(
            names.FUNDING_SOURCES,
            rng.integers(0, len(names.FUNDING_SOURCES), n),
            rng.random(n) < 0.1,
        ),
        "status": pick(STATUS, np.maximum(p_status, 0), p_status < 0),
    }

    # ---- tenders: every big live project, every sub-project and parent, some mid-size ones.
    big = (p_inv >= THRESHOLD) & (p_status != 3)
    mid = (~big) & (~is_child) & (p_inv >= 100_000_000) & (p_status != 3) & (rng.random(n) < 0.3)
    tendered = big | is_child | is_parent | mid
    t_proj = np.flatnonzero(tendered)
    nt = t_proj.size
    t_pub = p_approved[t_proj] + rng.integers(15, 181, size=nt)
    t_deadline = t_pub + rng.integers(20, 36, size=nt)
    t_service = is_parent[t_proj]  # a parent's own tender is its supervision service
    t_budget = np.where(
        t_service,
        (p_inv[t_proj] * rng.uniform(0.02, 0.035, nt)).astype(np.int64) // 100 * 100,
        (p_inv[t_proj] * rng.uniform(0.8, 0.97, nt)).astype(np.int64) // 100 * 100,
    )
    t_method = np.where(
        p_inv[t_proj] >= THRESHOLD,
        0,
        rng.integers(0, len(names.TENDER_METHODS_SMALL), nt),
    )
    methods = list(names.TENDER_METHODS_BIG) + list(names.TENDER_METHODS_SMALL)
    t_method = np.where(p_inv[t_proj] >= THRESHOLD, 0, 1 + t_method)
    t_title = join(
        p_names.take(pa.array(t_proj)),
        pick(["施工", "监理服务"], t_service.astype(np.int64)),
    )
    tender_ids = background_ids("tender", nt)

    # ---- bids: 3-9 distinct contractors per tender.
    pool = np.flatnonzero(
        ent.construction & (ent.status == 0) & (ent.registered < day("2020-01-01"))
    )
    if pool.size < 12:  # tiny sizes: fall back to any live enterprise, or any at all
        pool = np.flatnonzero(ent.status == 0)
    if pool.size == 0:
        pool = np.arange(len(ent.codes))
    k = np.minimum(rng.integers(3, 10, size=nt), pool.size)
    b_tender = np.repeat(np.arange(nt), k)
    b_rank = np.arange(b_tender.size) - np.repeat(np.cumsum(k) - k, k)
    coprimes = np.array([s for s in range(1, pool.size) if np.gcd(s, pool.size) == 1] or [1])
    offset = rng.integers(0, pool.size, size=nt)
    stride = coprimes[rng.integers(0, coprimes.size, size=nt)]
    b_ent = pool[(offset[b_tender] + b_rank * stride[b_tender]) % pool.size]
    nb = b_tender.size
    b_day = t_pub[b_tender] + 1 + (rng.random(nb) * (t_deadline - t_pub)[b_tender]).astype(np.int64)
    b_sec = rng.integers(8 * 3600, 17 * 3600 + 1800, size=nb)
    b_amount = (t_budget[b_tender] * rng.uniform(0.85, 0.99, nb)).astype(np.int64) // 100 * 100
    ent_ix = pa.array(b_ent)
    trade_bid = {
        "bid_id": background_ids("bid", nb),
        "tender_id": tender_ids.take(pa.array(b_tender)),
        "bidder_code": ent.codes.take(ent_ix),
        "bidder_name": ent.names.take(ent_ix),
        "amount": money(b_amount),
        "submitted_at": timestamps((b_day * 86400 + b_sec) * 1_000_000),
        "contact_phone": pick(ent.phones, b_ent, rng.random(nb) < 0.05),
        "ip_address": pick(ent.ips, b_ent, rng.random(nb) < 0.08),
    }
    trade_tender = {
        "tender_id": tender_ids,
        "project_id": pids.take(pa.array(t_proj)),
        "township": pick(core.township_codes, p_town[t_proj]),
        "title": t_title,
        "method": pick(methods, t_method),
        "budget": money(t_budget, rng.random(nt) < 0.03),
        "published_on": dates(t_pub),
        "bid_deadline_on": dates(t_deadline),
    }
    # Winner: the lowest bid.
    order = np.lexsort((b_amount, b_tender))
    first_of = np.flatnonzero(np.diff(b_tender[order], prepend=-1) != 0)
    win = order[first_of]

    # ---- contracts: one per tender (the winner) ...
    c1_proj = t_proj
    c1_tender = np.arange(nt)
    c1_ent = b_ent[win]
    c1_amount = b_amount[win]
    c1_signed = t_deadline + rng.integers(7, 31, size=nt)
    kind_u = rng.random(nt)
    c1_kind = np.where(t_service, 2, np.where(kind_u < 0.9, 0, np.where(kind_u < 0.95, 1, 2)))
    # ... untendered contracts of small projects (together <= 90% of the investment) ...
    small = (~tendered) & (~is_child) & (~is_parent) & (p_status != 3) & (p_inv < THRESHOLD)
    s_proj = np.flatnonzero(small)
    s_k = rng.choice([1, 2, 3], size=s_proj.size, p=[0.55, 0.3, 0.15])
    s_total = (p_inv[s_proj] * rng.uniform(0.5, 0.9, s_proj.size)).astype(np.int64) // 100 * 100
    c2_amount = _split_cents(rng, s_total, s_k)
    c2_proj = np.repeat(s_proj, s_k)
    c2_rank = np.arange(c2_proj.size) - np.repeat(np.cumsum(s_k) - s_k, s_k)
    c2_kind = np.where(c2_rank == 0, 0, rng.integers(1, 3, size=c2_proj.size))
    # ... and one small untendered service contract for some big projects (alone in its root).
    b_proj = np.flatnonzero(big & ~is_child & ~is_parent & (rng.random(n) < 0.3))
    c3_amount = rng.integers(2_000_000, 19_000_000, size=b_proj.size) // 100 * 100
    c_proj = np.r_[c1_proj, c2_proj, b_proj]
    c_tender = np.r_[c1_tender, np.full(c2_proj.size + b_proj.size, -1)]
    nc = c_proj.size
    c_ent = np.r_[c1_ent, pool[rng.integers(0, pool.size, size=c2_proj.size + b_proj.size)]]
    c_amount = np.r_[c1_amount, c2_amount, c3_amount]
    c_signed = np.r_[
        c1_signed,
        p_approved[c2_proj] + rng.integers(10, 121, size=c2_proj.size),
        p_approved[b_proj] + rng.integers(10, 121, size=b_proj.size),
    ]
    c_kind = np.r_[c1_kind, c2_kind, np.full(b_proj.size, 2)]
    c_town = p_town[c_proj]
    contract_ids = background_ids("contract", nc)
    c_ent_ix = pa.array(c_ent)
    proj_null = (c_tender >= 0) & (rng.random(nc) < 0.01)
    trade_contract = {
        "contract_id": contract_ids,
        "project_id": pids.take(pa.array(c_proj, mask=proj_null)),
        "tender_id": tender_ids.take(pa.array(np.maximum(c_tender, 0), mask=c_tender < 0)),
        "township": pick(core.township_codes, c_town),
        "contractor_code": ent.codes.take(c_ent_ix),
        "contractor_name": stray_spaces(ent.names.take(c_ent_ix), rng, 0.02),
        "amount": money(c_amount),
        "signed_on": dates(c_signed),
        "kind": pick(("工程", "货物", "服务"), c_kind, rng.random(nc) < 0.02),
    }
    works = c_kind == 0

    # ---- changes: up to 3 on 40% of works contracts, net at most +9%.
    has_change = works & (rng.random(nc) < 0.4)
    ch_k = np.where(has_change, rng.integers(1, 4, size=nc), 0)
    ch_c = np.repeat(np.arange(nc), ch_k)
    ch_first = np.repeat(np.cumsum(ch_k) - ch_k, ch_k)
    ch_rank = np.arange(ch_c.size) - ch_first
    ch_pos = (c_amount[ch_c] * rng.uniform(0.005, 0.03, ch_c.size)).astype(np.int64) // 100 * 100
    is_last = ch_rank == ch_k[ch_c] - 1
    negative = is_last & (ch_rank > 0) & (rng.random(ch_c.size) < 0.25)
    per_contract = np.bincount(ch_c, weights=ch_pos, minlength=nc).astype(np.int64)
    contract_before = np.repeat(np.cumsum(per_contract) - per_contract, ch_k)
    earlier = np.cumsum(ch_pos) - ch_pos - contract_before  # positives before this change
    cut = (earlier * rng.uniform(0.1, 1.0, ch_c.size)).astype(np.int64) // 100 * 100
    ch_delta = np.where(negative, -cut, ch_pos)
    ch_day = c_signed[ch_c] + 30 + ch_rank * 70 + rng.integers(0, 60, size=ch_c.size)

    # ---- acceptance of works contracts: some first fail, then pass.
    done = c_signed + rng.integers(60, 331, size=nc)
    accepted = works & (done <= YEAR_END)
    failed_first = accepted & (rng.random(nc) < 0.15)
    pass_day = np.where(failed_first, done + rng.integers(20, 61, size=nc), done)
    accepted_pass = accepted & (pass_day <= YEAR_END)
    acc_c = np.r_[np.flatnonzero(failed_first), np.flatnonzero(accepted_pass)]
    acc_day = np.r_[done[failed_first], pass_day[accepted_pass]]
    acc_result = np.r_[
        np.ones(int(failed_first.sum()), dtype=np.int64),
        np.zeros(int(accepted_pass.sum()), dtype=np.int64),
    ]
    acc_order = np.argsort(acc_day, kind="stable")
    acc_c, acc_day, acc_result = acc_c[acc_order], acc_day[acc_order], acc_result[acc_order]
    na = acc_c.size
    build_acceptance = {
        "acceptance_id": background_ids("acceptance", na),
        "project_id": pids.take(pa.array(c_proj[acc_c], mask=rng.random(na) < 0.03)),
        "contract_id": contract_ids.take(pa.array(acc_c)),
        "accepted_on": dates(acc_day),
        "result": pick(("合格", "不合格"), acc_result),
    }
    build_change = {
        "change_id": background_ids("change", ch_c.size),
        "contract_id": contract_ids.take(pa.array(ch_c)),
        "amount_delta": money(ch_delta),
        "changed_on": dates(ch_day),
        "reason": pick(names.CHANGE_REASONS, rng.integers(0, len(names.CHANGE_REASONS), ch_c.size)),
    }
    change_visible = ch_day <= YEAR_END
    build_change = where(build_change, change_visible)
    net_visible = np.bincount(ch_c[change_visible], weights=ch_delta[change_visible], minlength=nc)
    # Settlement audits of accepted contracts.
    st_c = np.flatnonzero(accepted_pass & (rng.random(nc) < 0.7))
    st_day = pass_day[st_c] + rng.integers(30, 151, size=st_c.size)
    st_sub = ((c_amount[st_c] + net_visible[st_c]) * rng.uniform(1.0, 1.08, st_c.size)).astype(
        np.int64
    )
    st_aud = (st_sub * rng.uniform(0.9, 0.99, st_c.size)).astype(np.int64)
    build_settlement = {
        "settlement_id": background_ids("settlement", st_c.size),
        "contract_id": contract_ids.take(pa.array(st_c)),
        "submitted_amount": money(st_sub),
        "audited_amount": money(st_aud, rng.random(st_c.size) < 0.05),
        "settled_on": dates(st_day),
    }
    build_settlement = where(build_settlement, st_day <= YEAR_END)

    # ---- payments on contracts.
    # works: 1-3 progress payments before completion, together <= 70%; after the pass,
    # up to 95% in total. goods/services: 1-3 payments, together <= 100%.
    pre_k = rng.integers(1, 4, size=nc)
    pre_total = (
        np.where(
            works,
            (c_amount * rng.uniform(0.3, 0.7, nc)).astype(np.int64),
            (c_amount * rng.uniform(0.5, 1.0, nc)).astype(np.int64),
        )
        // 100
        * 100
    )
    pre_amt = _split_cents(rng, pre_total, pre_k)
    pre_c = np.repeat(np.arange(nc), pre_k)
    pre_rank = np.arange(pre_c.size) - np.repeat(np.cumsum(pre_k) - pre_k, pre_k)
    span = np.maximum(done - c_signed - 20, 10)
    pre_day = (
        c_signed[pre_c]
        + 15
        + ((pre_rank + rng.random(pre_c.size)) / pre_k[pre_c] * span[pre_c]).astype(np.int64)
    )
    pre_day = np.minimum(pre_day, done[pre_c] - 1)
    post_c = np.flatnonzero(accepted_pass)
    post_amt = ((c_amount[post_c] * 0.95).astype(np.int64) - pre_total[post_c]) // 100 * 100
    post_day = pass_day[post_c] + rng.integers(5, 61, size=post_c.size)
    pay_c = np.r_[pre_c, post_c]
    pay_amt = np.r_[pre_amt, post_amt]
    pay_day = np.r_[pre_day, post_day]
    keep = (pay_day <= YEAR_END) & (c_signed[pay_c] <= YEAR_END) & (pay_amt > 0)
    pay_c, pay_amt, pay_day = pay_c[keep], pay_amt[keep], pay_day[keep]
    np_ = pay_c.size
    pay_ent = pa.array(c_ent[pay_c])
    kind_of = c_kind[pay_c]
    purpose = join(
        p_names.take(pa.array(c_proj[pay_c])),
        pick(("工程款", "货款", "服务费"), kind_of),
    )
    payments = {
        "township": pick(core.township_codes, c_town[pay_c]),
        "payer_unit": join(
            pick(core.township_names, c_town[pay_c]),
            pick(("村镇建设办", "财政所"), rng.integers(0, 2, np_)),
        ),
        "payee_name": ent.names.take(pay_ent),
        "payee_code": ent.codes.take(pay_ent),
        "payee_account": ent.accounts.take(pay_ent),
        "amount": money(pay_amt),
        "paid_on": dates(pay_day),
        "purpose": stray_spaces(purpose, rng, 0.02),
        "economic_class": pick(("资本性支出", "商品服务", "商品服务"), kind_of),
        "contract_id": contract_ids.take(pa.array(pay_c)),
        "fund_id": pa.nulls(np_, pa.string()),
    }

    # ---- decisions naming each contract of 300,000 or more, before signing.
    d_c = np.flatnonzero(c_amount >= DECISION_LINE)
    d_day = c_signed[d_c] - rng.integers(1, 21, size=d_c.size)
    decisions = {
        "township": pick(core.township_codes, c_town[d_c]),
        "subject": join("关于", p_names.take(pa.array(c_proj[d_c])), "合同签订的决定"),
        "amount": money(c_amount[d_c]),
        "decided_on": dates(d_day),
        "contract_id": contract_ids.take(pa.array(d_c)),
    }
    decisions = where(decisions, d_day <= YEAR_END)

    # Everything is as extracted at the end of 2021: later rows are not in the data.
    dr_project = where(dr_project, p_approved <= YEAR_END)
    trade_tender = where(trade_tender, t_pub <= YEAR_END)
    trade_bid = where(trade_bid, b_day <= YEAR_END)
    trade_contract = where(trade_contract, c_signed <= YEAR_END)
    build_acceptance = where(build_acceptance, acc_day <= YEAR_END)
    return Engineering(
        dr_project=dr_project,
        trade_tender=trade_tender,
        trade_bid=trade_bid,
        trade_contract=trade_contract,
        build_change=build_change,
        build_acceptance=build_acceptance,
        build_settlement=build_settlement,
        payments=payments,
        decisions=decisions,
    )
