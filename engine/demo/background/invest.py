"""Background investment attraction: agreements, incentives paid, enterprises' annual tax.

Clean by construction for INV01-INV05:
- every incentive names its agreement, paid at least 60 days after signing;
- an enterprise's incentives for a year stay below 77% of its tax for that year;
- enterprises with agreements are 存续 and have only one agreement (one township);
- their persons are outside every official circle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from engine.demo.arrowkit import dates, day, ints, money, pick, ymd_parts
from engine.demo.background.core import YEAR_END, Core
from engine.demo.background.frames import Frame
from engine.demo.background.population import Enterprises
from engine.demo.idformats import background_ids


@dataclass
class Invest:
    """com_agreement, com_incentive and tax_annual."""

    com_agreement: Frame
    com_incentive: Frame
    tax_annual: Frame


def make_invest(core: Core, ent: Enterprises) -> Invest:
    """Build the investment-attraction background (see the module docstring)."""
    rng = core.rng("invest")
    pool = np.flatnonzero(
        ~ent.construction & (ent.status == 0) & (ent.registered < day("2020-12-31"))
    )
    na = min(core.n("agreements"), pool.size)
    a_ent = np.sort(rng.choice(pool, size=na, replace=False))
    a_town = core.townships(rng, na)
    a_signed = np.maximum(
        rng.integers(day("2018-01-01"), day("2021-09-30"), na), ent.registered[a_ent] + 30
    )
    a_ids = background_ids("agreement", na)
    aep = pa.array(a_ent)
    promised_inv = rng.integers(5_000_000, 200_000_000, na) // 10_000 * 10_000 * 100
    com_agreement = {
        "agreement_id": a_ids,
        "township": pick(core.township_codes, a_town),
        "enterprise_code": ent.codes.take(aep),
        "enterprise_name": ent.names.take(aep),
        "signed_on": dates(a_signed),
        "promised_investment": money(promised_inv, rng.random(na) < 0.05),
        "promised_annual_tax": money(promised_inv // 40 // 100 * 100, rng.random(na) < 0.1),
    }
    # ---- incentives.
    k = rng.choice([0, 1, 2, 3], size=na, p=[0.2, 0.4, 0.3, 0.1])
    i_a = np.repeat(np.arange(na), k)
    ni = i_a.size
    paid = a_signed[i_a] + rng.integers(60, 900, ni)
    keep = (paid <= YEAR_END) & (paid >= day("2020-01-01"))
    i_a, paid = i_a[keep], paid[keep]
    ni = i_a.size
    order = np.argsort(paid, kind="stable")
    i_a, paid = i_a[order], paid[order]
    pyear, _, _ = ymd_parts(paid)
    u = rng.random(ni)
    year = np.where(u < 0.8, pyear - 1, pyear)
    year_null = u >= 0.95
    amount = rng.integers(50_000, 800_000, ni) // 100 * 100 * 100
    com_incentive = {
        "incentive_id": background_ids("incentive", ni),
        "agreement_id": a_ids.take(pa.array(i_a)),
        "township": pick(core.township_codes, a_town[i_a]),
        "enterprise_code": ent.codes.take(pa.array(a_ent[i_a])),
        "amount": money(amount),
        "paid_on": dates(paid),
        "year": ints(year, year_null),
    }
    # ---- annual tax: agreement enterprises for 2019-2021 (above 1.3x their incentives),
    # plus other taxpayers.
    years = np.array([2019, 2020, 2021])
    t_ent_a = np.repeat(a_ent, 3)
    t_year_a = np.tile(years, na)
    owed = np.zeros(t_ent_a.size, dtype=np.int64)
    slot = np.searchsorted(a_ent, a_ent[i_a]) * 3 + (year - 2019)
    valid = ~year_null & (year >= 2019) & (year <= 2021)
    np.add.at(owed, slot[valid], amount[valid])
    base_a = rng.integers(100_000, 3_000_000, t_ent_a.size) * 100
    tax_a = np.maximum(base_a, owed * 13 // 10 + rng.integers(0, 50_000_000, t_ent_a.size))
    others = np.setdiff1d(np.flatnonzero(ent.status == 0), a_ent)
    no = min(others.size, round(2_000 * core.size))
    o_ent = np.sort(rng.choice(others, size=no, replace=False))
    t_ent_o = np.repeat(o_ent, 3)
    t_year_o = np.tile(years, no)
    tax_o = rng.integers(1_000, 2_000_000, t_ent_o.size) * 100
    t_ent = np.r_[t_ent_a, t_ent_o]
    tax_annual = {
        "enterprise_code": ent.codes.take(pa.array(t_ent)),
        "year": ints(np.r_[t_year_a, t_year_o]),
        "tax_paid": money(np.r_[tax_a, tax_o]),
    }
    return Invest(com_agreement=com_agreement, com_incentive=com_incentive, tax_annual=tax_annual)
