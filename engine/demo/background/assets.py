"""Background collective assets, their leases and rent receipts.

Clean by construction for AST01-AST05:
- rent is at least 80% of the appraised rent (AST01 looks below 70%);
- 协议出租 only for rents below 50,000 and terms of at most 5 years (60 months);
- terms are whole years of at most 20 (end = start + n years - 1 day);
- rent falling due before 2021-10-02 is paid in full within 60 days; only later
  receipts may still be open at the end of 2021 (AST04 waits 90 days);
- lessees are the general population or enterprises, never the official circle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from engine.demo import names
from engine.demo.arrowkit import add_months, dates, day, floats, money, pick
from engine.demo.background.core import YEAR_END, Core
from engine.demo.background.frames import Frame, where
from engine.demo.background.population import Enterprises, Residents
from engine.demo.idformats import background_ids

RENT_RANGES = {  # yuan per year by kind
    "店面": (20_000, 150_000),
    "厂房": (50_000, 500_000),
    "土地": (5_000, 100_000),
    "山林": (2_000, 50_000),
    "水面": (3_000, 40_000),
}
OPEN_LINE = 5_000_000  # cents: open_rent_threshold 50,000 yuan


@dataclass
class Assets:
    """ag_asset, ag_lease and ag_rent_receipt."""

    ag_asset: Frame
    ag_lease: Frame
    ag_rent_receipt: Frame


def make_assets(core: Core, res: Residents, ent: Enterprises) -> Assets:
    """Build the collective-asset background (see the module docstring)."""
    rng = core.rng("assets")
    n = core.n("assets")
    town = core.townships(rng, n)
    village = core.villages_in(rng, town)
    kinds = list(names.LEASE_KINDS)
    kind = rng.choice(len(kinds), size=n, p=[0.3, 0.15, 0.3, 0.15, 0.1])
    lo = np.array([RENT_RANGES[k][0] for k in kinds])[kind]
    hi = np.array([RENT_RANGES[k][1] for k in kinds])[kind]
    appraised = (lo + rng.random(n) * (hi - lo)).astype(np.int64) // 100 * 100 * 100
    appraised_null = rng.random(n) < 0.05
    area = np.round(
        np.where(kind >= 2, rng.uniform(2_000, 200_000, n), rng.uniform(30, 3_000, n)), 1
    )
    asset_ids = background_ids("asset", n)
    ag_asset = {
        "asset_id": asset_ids,
        "township": pick(core.township_codes, town),
        "village": pick(core.village_names, village, rng.random(n) < 0.02),
        "kind": pick(kinds, kind),
        "area": floats(area, rng.random(n) < 0.03),
        "appraised_annual_rent": money(appraised, appraised_null),
    }
    # ---- one lease for 80% of assets.
    la = np.flatnonzero(rng.random(n) < 0.8)
    nl = la.size
    a_rent = appraised[la]
    a_null = appraised_null[la]
    can_agree = a_null | (a_rent * 12 // 10 < OPEN_LINE)
    agreed = can_agree & (rng.random(nl) < 0.5)
    rent = (
        np.where(
            agreed,
            np.where(
                a_null,
                rng.integers(500_000, 4_500_000, nl),
                (a_rent * rng.uniform(0.8, 1.1, nl)).astype(np.int64),
            ),
            np.where(
                a_null,
                rng.integers(500_000, 30_000_000, nl),
                (a_rent * rng.uniform(0.85, 1.4, nl)).astype(np.int64),
            ),
        )
        // 100
        * 100
    )
    rent = np.where(agreed, np.minimum(rent, OPEN_LINE - 100_000), rent)
    years = np.where(
        agreed,
        rng.choice([1, 2, 3, 5], size=nl),
        rng.choice([1, 2, 3, 5, 10, 15, 20], size=nl, p=[0.1, 0.15, 0.25, 0.25, 0.15, 0.05, 0.05]),
    )
    signed = rng.integers(day("2016-01-01"), day("2021-12-31") + 1, nl)
    start = signed + rng.integers(0, 31, nl)
    end = add_months(start, 12 * years) - 1
    person = rng.random(nl) < 0.58
    lp = rng.integers(0, len(res.people), nl)
    le = rng.integers(0, len(ent.codes), nl)
    lessee_name = pa.compute.if_else(
        pa.array(person), res.people.names.take(pa.array(lp)), ent.names.take(pa.array(le))
    )
    lessee_id = pa.compute.if_else(
        pa.array(person), res.people.ids.take(pa.array(lp)), ent.codes.take(pa.array(le))
    )
    lessee_id = pa.compute.if_else(
        pa.array(rng.random(nl) < 0.04), pa.scalar(None, pa.string()), lessee_id
    )
    lease_ids = background_ids("lease", nl)
    ag_lease = {
        "lease_id": lease_ids,
        "asset_id": asset_ids.take(pa.array(la)),
        "township": pick(core.township_codes, town[la]),
        "village": pick(core.village_names, village[la], rng.random(nl) < 0.03),
        "lessee_name": lessee_name,
        "lessee_id": lessee_id,
        "method": pick(("公开竞价", "协议出租"), agreed.astype(np.int64)),
        "annual_rent": money(rent),
        "start_on": dates(start),
        "end_on": dates(end),
        "signed_on": dates(signed),
    }
    # ---- receipts due from mid-2020 to the end of 2021.
    freq = rng.choice([12, 6, 3], size=nl, p=[0.6, 0.25, 0.15])
    window_start = day("2020-07-01")
    months_before = np.maximum(0, (window_start - start) // 31)
    k0 = months_before // freq
    cand = 10
    r_l = np.repeat(np.arange(nl), cand)
    r_k = np.repeat(k0, cand) + np.tile(np.arange(cand), nl)
    due = add_months(start[r_l], r_k * freq[r_l])
    ok = (due >= window_start) & (due <= YEAR_END) & (due <= end[r_l])
    r_l, due = r_l[ok], due[ok]
    order = np.argsort(due, kind="stable")
    r_l, due = r_l[order], due[order]
    nr = r_l.size
    amount_due = rent[r_l] * freq[r_l] // 12 // 100 * 100
    late_ok = due >= day("2021-10-02")
    unpaid = late_ok & (rng.random(nr) < 0.3)
    paid_on = np.maximum(due + rng.integers(-20, 61, nr), signed[r_l])
    ag_rent_receipt = {
        "receipt_id": background_ids("receipt", nr),
        "lease_id": lease_ids.take(pa.array(r_l)),
        "due_on": dates(due),
        "amount_due": money(amount_due),
        "paid_on": dates(paid_on, unpaid),
        "amount_paid": money(amount_due, unpaid),
    }
    return Assets(
        ag_asset=ag_asset,
        ag_lease=where(ag_lease, signed <= YEAR_END),
        ag_rent_receipt=ag_rent_receipt,
    )
