"""Background of the townships' own systems: staffing, reimbursements, receptions, decisions.

Clean by construction for FIN02/FIN03 (and FIN04's decisions):
- receptions keep the escort limit (3, or a third of the guests above 10), have a
  letter or no record of one, and cost at most 140 per head;
- a claimant uses one vendor at most twice in a calendar month;
- decisions without a contract carry no amount or one below 300,000, so they can
  never cover (or hide) a large payment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from engine.demo import names
from engine.demo.arrowkit import bools, dates, day, ints, join, money, numbered, pick, ymd_parts
from engine.demo.background.core import YEAR_END, YEAR_START, Core
from engine.demo.background.frames import Frame
from engine.demo.background.population import Officials


def staffing(core: Core) -> tuple[np.ndarray, np.ndarray]:
    """Staff counts per township for 2020 and 2021 (fixed: 40-150, streets largest)."""
    rng = core.rng("staffing")
    kind = np.array([{"街道": 0, "镇": 1, "乡": 2}.get(k, 1) for k in core.township_kinds])
    lo = np.array([110, 70, 40])[kind]
    hi = np.array([150, 120, 62])[kind]
    s2021 = rng.integers(lo, hi + 1)
    s2020 = np.clip(s2021 + rng.integers(-6, 5, size=s2021.size), 40, 150)
    return s2020, s2021


def vendor_names(core: Core) -> list[list[str]]:
    """The shops and restaurants each township's staff buy from (24 each)."""
    out = []
    stems = names.VENDOR_STEMS
    for ti, tname in enumerate(core.township_names):
        local = tname[:2]
        vendors = []
        for j in range(24):
            stem = stems[(ti * 5 + j * 7) % len(stems)] + stems[(ti * 3 + j * 11 + 1) % len(stems)]
            kind = names.VENDOR_KINDS[j % len(names.VENDOR_KINDS)]
            vendors.append(f"桐庐县{local}{stem}{kind}")
        out.append(list(dict.fromkeys(vendors)))
    return out


@dataclass
class Town:
    """town_staffing, town_reimbursement, town_reception and the non-contract decisions."""

    town_staffing: Frame
    town_reimbursement: Frame
    town_reception: Frame
    decisions: Frame  # town_decision columns without decision_id


def make_town(core: Core, off: Officials) -> Town:
    """Build the township-side background (see the module docstring)."""
    rng = core.rng("town")
    s2020, s2021 = staffing(core)
    nt = len(core.township_codes)
    town_staffing = {
        "township": pick(core.township_codes, np.r_[np.arange(nt), np.arange(nt)]),
        "year": ints(np.r_[np.full(nt, 2020), np.full(nt, 2021)]),
        "staff_count": ints(np.r_[s2020, s2021]),
    }
    # ---- reimbursements by officials of their home township.
    nv = core.n("vouchers")
    claimant = rng.integers(0, len(off.people), nv)
    c_town = off.home_township[claimant]
    exp = rng.integers(YEAR_START, YEAR_END + 1, nv)
    exp = np.minimum(core.workday_on_or_after(exp), YEAR_END)
    _, month, _ = ymd_parts(exp)
    key = claimant * 16 + month
    order = np.argsort(key, kind="stable")
    ks = key[order]
    starts = np.r_[0, np.flatnonzero(np.diff(ks)) + 1]
    rank = np.empty(nv, dtype=np.int64)
    rank[order] = np.arange(nv) - np.repeat(starts, np.diff(np.r_[starts, nv]))
    vendors = vendor_names(core)
    flat = [v for vs in vendors for v in vs]
    v_start = np.r_[0, np.cumsum([len(vs) for vs in vendors])[:-1]]
    v_count = np.array([len(vs) for vs in vendors])
    # A vendor at most twice per claimant and month: slot = rank // 2.
    offset = (claimant * 7) % v_count[c_town]
    vendor = v_start[c_town] + (offset + rank // 2) % v_count[c_town]
    cat = rng.choice(
        len(names.REIMBURSE_CATEGORIES), size=nv, p=[0.25, 0.3, 0.08, 0.07, 0.22, 0.08]
    )
    amt = np.exp(rng.normal(np.log(600), 1.0, nv))
    amt = np.where((cat == 2) | (cat == 3), amt * 8, amt)
    cents = (np.clip(amt, 20, 30_000) * 100).astype(np.int64)
    approved = exp + rng.integers(1, 21, nv)
    invoice = numbered("", rng.integers(10_000_000, 99_999_999, nv), 8)
    town_reimbursement = {
        "voucher_id": numbered("BX", np.arange(1, nv + 1), 11),
        "township": pick(core.township_codes, c_town),
        "claimant_id": off.people.ids.take(pa.array(claimant)),
        "category": pick(names.REIMBURSE_CATEGORIES, cat),
        "vendor_name": pick(flat, vendor, rng.random(nv) < 0.03),
        "amount": money(cents),
        "expense_on": dates(exp),
        "approved_on": dates(approved, rng.random(nv) < 0.03),
        "invoice_no": pa.compute.if_else(
            pa.array(rng.random(nv) < 0.05), pa.scalar(None, pa.string()), invoice
        ),
    }
    # ---- receptions within the rules.
    nr = core.n("receptions")
    guests = rng.choice(np.arange(1, 26), size=nr, p=_guest_p())
    allowed = np.where(guests <= 10, 3, guests // 3)
    staff = 1 + (rng.random(nr) * allowed).astype(np.int64)
    per_head = rng.integers(4_000, 14_001, nr)
    town_reception = {
        "reception_id": numbered("JD", np.arange(1, nr + 1), 10),
        "township": pick(core.township_codes, core.townships(rng, nr)),
        "guest_count": ints(guests),
        "staff_count": ints(staff),
        "meal_cost": money(per_head * (guests + staff), rng.random(nr) < 0.04),
        "held_on": dates(
            np.minimum(
                core.workday_on_or_after(rng.integers(YEAR_START, YEAR_END + 1, nr)), YEAR_END
            )
        ),
        "has_letter": bools(np.ones(nr, dtype=bool), rng.random(nr) < 0.08),
    }
    # ---- decisions without a contract: no amount, or below 300,000.
    nd = core.n("other_decisions")
    d_amt = rng.integers(10_000, 290_000, nd) * 100
    decisions = {
        "township": pick(core.township_codes, core.townships(rng, nd)),
        "subject": join(
            "关于",
            pick(names.DECISION_SUBJECTS, rng.integers(0, len(names.DECISION_SUBJECTS), nd)),
            "的决定",
        ),
        "amount": money(d_amt, rng.random(nd) < 0.6),
        "decided_on": dates(rng.integers(day("2020-10-01"), YEAR_END + 1, nd)),
        "contract_id": pa.nulls(nd, pa.string()),
    }
    return Town(
        town_staffing=town_staffing,
        town_reimbursement=town_reimbursement,
        town_reception=town_reception,
        decisions=decisions,
    )


def _guest_p() -> np.ndarray:
    g = np.arange(1, 26, dtype=float)
    p = np.exp(-g / 5)
    return p / p.sum()
