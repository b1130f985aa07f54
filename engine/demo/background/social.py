"""Background rural housing, household register, deaths, assistance and vehicles.

Clean by construction for HOU01-HOU06 and FUN03/FUN04:
- applicants are heads of 农业 households that hold no homestead parcel, registered
  in the village they apply in and never moved out; one application per household,
  and the new parcel is registered only after the application;
- every decision comes within 3-20 workdays of the application; an application
  still undecided at the end of 2021 is at most 20 workdays old;
- approved areas stay within the household-size limits (75/100/125 m2);
- applicants never appear among the dead;
- assistance goes to the general population (never the official circle, never
  persons of an enterprise), and whatever a 低保/特困 person owns is a 摩托车.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from engine.demo.arrowkit import dates, day, floats, ints, join, money, numbered, pick
from engine.demo.background.core import YEAR_END, Core
from engine.demo.background.frames import Frame, concat
from engine.demo.background.population import (
    REGISTRATION_TYPES,
    Enterprises,
    Officials,
    Residents,
)
from engine.demo.idformats import background_ids
from engine.demo.ids import ascii_matrix_to_strings

PLATE_CHARS = np.frombuffer(b"0123456789ABCDEFGHJKLMNPQRSTUVWXY", dtype=np.uint8)  # no I, O, Z


@dataclass
class Social:
    """Tables of the register, housing and civil affairs, with the indexes others need."""

    nr_housing_approval: Frame
    nr_homestead: Frame
    ca_death: Frame
    ca_assistance: Frame
    ps_vehicle: Frame
    applicant: np.ndarray  # resident indexes of applicants
    dead: np.ndarray  # resident indexes
    died_on: np.ndarray  # per dead


def make_social(core: Core, res: Residents, ent: Enterprises) -> Social:
    """Build the social background (see the module docstring)."""
    rng = core.rng("social")
    w = core.workdays
    people = res.people
    nh = res.household_ids.__len__()
    head = res.household_head
    h_size = np.bincount(res.household, minlength=nh)
    rural = res.registration[head] == 0
    has_parcel = rural & (rng.random(nh) < 0.7)
    # ---- applications: heads of rural households without a parcel.
    eligible = np.flatnonzero(
        rural
        & ~has_parcel
        & (res.moved_out[head] < 0)
        & ~res.village_null[head]
        & (people.birth[head] <= day("1998-12-31"))
    )
    n_app = min(core.n("applications"), eligible.size)
    app_h = np.sort(rng.choice(eligible, size=n_app, replace=False))
    app_p = head[app_h]
    applied = core.workday_on_or_after(
        rng.integers(day("2020-09-01"), day("2021-12-31") + 1, size=n_app)
    )
    k = rng.integers(3, 21, size=n_app)
    decided = w.nth_after_array(applied, k)
    pending = decided > YEAR_END
    refused = ~pending & (rng.random(n_app) < 0.08)
    status = np.where(pending, 0, np.where(refused, 2, 1))  # 受理 / 批准 / 不予批准
    size = h_size[app_h]
    limit = np.where(size <= 3, 75.0, np.where(size <= 5, 100.0, 125.0))
    area = np.round(limit * rng.uniform(0.7, 1.0, n_app), 2)
    app_ids = background_ids("application", n_app)
    app_pp = pa.array(app_p)
    nr_housing_approval = {
        "application_id": app_ids,
        "township": pick(core.township_codes, res.township[app_p]),
        "village": pick(core.village_names, res.village[app_p]),
        "applicant_name": pa.compute.if_else(
            pa.array(rng.random(n_app) < 0.03),
            people.variant_names.take(app_pp),
            people.names.take(app_pp),
        ),
        "applicant_id": people.ids.take(app_pp),
        "household_id": res.household_ids.take(pa.array(app_h)),
        "household_size": ints(size, rng.random(n_app) < 0.02),
        "applied_on": dates(applied),
        "approved_on": dates(decided, pending),
        "status": pick(("受理", "批准", "不予批准"), status),
        "approved_area": floats(area, status != 1),
    }
    # ---- homestead parcels: older ones, some households with two, and the new ones.
    old_h = np.flatnonzero(has_parcel)
    twice = old_h[rng.random(old_h.size) < 0.15]
    par_h = np.r_[old_h, twice]
    par_day = rng.integers(day("1988-01-01"), day("2020-12-31"), size=par_h.size)
    par_area = np.round(rng.uniform(60, 160, par_h.size), 2)
    approved = np.flatnonzero(status == 1)
    new_day = decided[approved] + rng.integers(30, 201, size=approved.size)
    keep_new = new_day <= YEAR_END
    par_h = np.r_[par_h, app_h[approved][keep_new]]
    par_day = np.r_[par_day, new_day[keep_new]]
    par_area = np.r_[par_area, area[approved][keep_new]]
    order = np.argsort(par_day, kind="stable")
    par_h, par_day, par_area = par_h[order], par_day[order], par_area[order]
    npar = par_h.size
    nr_homestead = {
        "parcel_id": background_ids("parcel", npar),
        "household_id": res.household_ids.take(pa.array(par_h)),
        "owner_id": people.ids.take(pa.array(head[par_h], mask=rng.random(npar) < 0.05)),
        "township": pick(
            core.township_codes, res.household_township[par_h], rng.random(npar) < 0.02
        ),
        "village": pick(core.village_names, res.household_village[par_h], rng.random(npar) < 0.03),
        "area": floats(par_area, rng.random(npar) < 0.02),
        "registered_on": dates(par_day),
    }
    # ---- deaths: elderly residents who never applied.
    old = np.flatnonzero(people.birth < day("1956-01-01"))
    old = old[~np.isin(old, app_p)]
    n_dead = min(core.n("deaths"), old.size)
    dead = np.sort(rng.choice(old, size=n_dead, replace=False))
    died_on = np.where(
        rng.random(n_dead) < 0.1,
        rng.integers(day("2020-07-01"), day("2020-12-31") + 1, size=n_dead),
        rng.integers(day("2021-01-01"), day("2021-12-31") + 1, size=n_dead),
    )
    dpp = pa.array(dead)
    ca_death = {
        "person_id": people.ids.take(dpp),
        "name": pa.compute.if_else(
            pa.array(rng.random(n_dead) < 0.03),
            people.variant_names.take(dpp),
            people.names.take(dpp),
        ),
        "died_on": dates(died_on),
    }
    # ---- assistance cases.
    n_as = min(core.n("assistance"), len(people) // 4)
    case_p = np.sort(rng.choice(len(people), size=n_as, replace=False))
    u = rng.random(n_as)
    kind = np.where(u < 0.5, 0, np.where(u < 0.7, 1, 2))  # 低保 特困 临时救助
    start = rng.integers(day("2016-01-01"), day("2021-11-30"), size=n_as)
    end = np.where(
        kind == 2,
        start + rng.integers(0, 91, size=n_as),
        np.where(rng.random(n_as) < 0.25, start + rng.integers(90, 1500, size=n_as), -1),
    )
    monthly = np.where(
        kind == 0,
        rng.integers(98_000, 112_000, size=n_as),
        np.where(kind == 1, rng.integers(140_000, 200_000, size=n_as), 0),
    )
    cpp = pa.array(case_p)
    ca_assistance = {
        "case_id": background_ids("case", n_as),
        "person_id": people.ids.take(cpp),
        "name": people.names.take(cpp),
        "township": pick(core.township_codes, res.township[case_p]),
        "village": pick(core.village_names, res.village[case_p], res.village_null[case_p]),
        "kind": pick(("低保", "特困", "临时救助"), kind),
        "start_on": dates(start),
        "end_on": dates(end, end < 0),
        "monthly_amount": money(monthly, kind == 2),
    }
    # ---- vehicles: residents (and a few enterprises' trucks).
    nv = core.n("vehicles")
    adults = np.flatnonzero(people.birth <= day("2003-12-31"))
    owner = adults[rng.integers(0, adults.size, size=nv)]
    vtype = rng.choice(4, size=nv, p=[0.7, 0.12, 0.08, 0.1])  # 小型汽车 摩托车 货车 农用车
    poor = np.isin(owner, case_p[kind <= 1])
    vtype = np.where(poor, 1, vtype)
    type_null = ~poor & (rng.random(nv) < 0.01)
    by_ent = rng.random(nv) < 0.05
    ent_owner = rng.integers(0, len(ent.codes), size=nv)
    owner_ids = pa.compute.if_else(
        pa.array(by_ent), ent.codes.take(pa.array(ent_owner)), people.ids.take(pa.array(owner))
    )
    vtype = np.where(by_ent, 2, vtype)
    type_null &= ~by_ent
    reg = rng.integers(day("2005-01-01"), day("2021-12-31") + 1, size=nv)
    dereg = np.where(rng.random(nv) < 0.05, reg + rng.integers(200, 4000, size=nv), -1)
    dereg = np.where(dereg > YEAR_END, -1, dereg)
    idx = np.arange(nv, dtype=np.int64)
    v = (idx * 1_000_003 + 424_242) % (33**5)
    plate = np.empty((nv, 5), dtype=np.uint8)
    for j in range(4, -1, -1):
        plate[:, j] = PLATE_CHARS[v % 33]
        v //= 33
    ps_vehicle = {
        "plate_no": join("浙A", ascii_matrix_to_strings(plate)),
        "owner_id": owner_ids,
        "vehicle_type": pick(("小型汽车", "摩托车", "货车", "农用车"), vtype, type_null),
        "registered_on": dates(reg),
        "deregistered_on": dates(dereg, dereg < 0),
    }
    return Social(
        nr_housing_approval=nr_housing_approval,
        nr_homestead=nr_homestead,
        ca_death=ca_death,
        ca_assistance=ca_assistance,
        ps_vehicle=ps_vehicle,
        applicant=app_p,
        dead=dead,
        died_on=died_on,
    )


def make_register(core: Core, res: Residents, off: Officials, ent: Enterprises) -> Frame:
    """ps_household: residents, plus the officials, most relatives and some enterprise persons.

    Officials and relatives live in the county too; their rows let a planted case
    (or a reader) find them in the register, and their names are sometimes
    spelled differently here than in sup_official.
    """
    rng = core.rng("register")
    p = res.people
    frames = [
        {
            "person_id": p.ids,
            "name": p.names,
            "household_id": res.household_ids.take(pa.array(res.household)),
            "township": pick(core.township_codes, res.township),
            "village": pick(core.village_names, res.village, res.village_null),
            "registration_type": pick(REGISTRATION_TYPES, res.registration),
            "moved_in_on": dates(res.moved_in, res.moved_in < 0),
            "moved_out_on": dates(res.moved_out, res.moved_out < 0),
        }
    ]
    extra_town = []
    extra_ids = []
    extra_names = []
    for pool, share, town in (
        (off.people, 1.0, off.home_township),
        (off.relatives, 0.7, None),
        (ent.persons, 0.4, None),
    ):
        m = np.flatnonzero(rng.random(len(pool)) < share)
        t = town[m] if town is not None else core.townships(rng, m.size)
        extra_town.append(t)
        extra_ids.append(pool.ids.take(pa.array(m)))
        spelled = pa.compute.if_else(
            pa.array(rng.random(m.size) < 0.05),
            pool.variant_names.take(pa.array(m)),
            pool.names.take(pa.array(m)),
        )
        extra_names.append(spelled)
    et = np.concatenate(extra_town)
    ne = et.size
    ev = core.villages_in(rng, et)
    frames.append(
        {
            "person_id": pa.concat_arrays(extra_ids),
            "name": pa.concat_arrays(extra_names),
            "household_id": join(
                pick(core.township_codes, et),
                numbered("", len(res.household_ids) + 1 + np.arange(ne), 7),
            ),
            "township": pick(core.township_codes, et),
            "village": pick(core.village_names, ev),
            "registration_type": pick(
                REGISTRATION_TYPES, rng.choice(3, size=ne, p=[0.3, 0.3, 0.4])
            ),
            "moved_in_on": dates(np.zeros(ne, dtype=np.int64), np.ones(ne, dtype=bool)),
            "moved_out_on": dates(np.zeros(ne, dtype=np.int64), np.ones(ne, dtype=bool)),
        }
    )
    return concat(frames)
