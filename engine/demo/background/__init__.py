"""The random but clean background of the demo county, built table by table and vectorised."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pyarrow as pa

from engine.demo import names
from engine.demo.arrowkit import bools, dates, floats, pick, stray_spaces
from engine.demo.arrowkit import money as decimal_yuan
from engine.demo.background.assets import Assets, make_assets
from engine.demo.background.core import Core
from engine.demo.background.engineering import Engineering, make_engineering
from engine.demo.background.frames import Frame, concat, take
from engine.demo.background.invest import Invest, make_invest
from engine.demo.background.money import Money, make_bank, make_money, make_subsidies
from engine.demo.background.population import (
    ROLES,
    STATUSES,
    Enterprises,
    Officials,
    Residents,
    make_enterprises,
    make_officials,
    make_residents,
)
from engine.demo.background.social import Social, make_register, make_social
from engine.demo.background.town import Town, make_town, staffing
from engine.demo.idformats import background_ids

# Which sources each cached part feeds; a part is dropped once all of them are built.
USES: dict[str, frozenset[str]] = {
    "engineering": frozenset(
        {
            "dr_project",
            "trade_tender",
            "trade_bid",
            "trade_contract",
            "build_change",
            "build_acceptance",
            "build_settlement",
            "fin_payment",
            "town_decision",
        }
    ),
    "money": frozenset({"fin_payment", "fin_fund"}),
    "social": frozenset(
        {
            "nr_housing_approval",
            "nr_homestead",
            "ca_death",
            "ca_assistance",
            "ps_vehicle",
            "fin_subsidy",
        }
    ),
    "assets": frozenset({"ag_asset", "ag_lease", "ag_rent_receipt"}),
    "invest": frozenset({"com_agreement", "com_incentive", "tax_annual"}),
    "town": frozenset({"town_staffing", "town_reimbursement", "town_reception", "town_decision"}),
}


class Background:
    """Lazily builds each part once; ``frame(source)`` returns one source's background rows."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._built: set[str] = set()

    def done(self, source: str) -> None:
        """Note that a source has been built; drop the parts nothing else needs (saves memory)."""
        self._built.add(source)
        for part, uses in USES.items():
            if uses <= self._built:
                self.__dict__.pop(part, None)

    @cached_property
    def residents(self) -> Residents:
        """The household register's general population."""
        return make_residents(self.core)

    @cached_property
    def officials(self) -> Officials:
        """Officials and relatives, sized by the townships' staffing."""
        _, s2021 = staffing(self.core)
        return make_officials(self.core, s2021.astype(float))

    @cached_property
    def enterprises(self) -> Enterprises:
        """Enterprises and their persons."""
        return make_enterprises(self.core)

    @cached_property
    def engineering(self) -> Engineering:
        """Projects through payments."""
        return make_engineering(self.core, self.enterprises)

    @cached_property
    def social(self) -> Social:
        """Housing, deaths, assistance, vehicles."""
        return make_social(self.core, self.residents, self.enterprises)

    @cached_property
    def money(self) -> Money:
        """Funds and treasury payments."""
        return make_money(self.core, self.residents, self.officials, self.enterprises)

    @cached_property
    def assets(self) -> Assets:
        """Collective assets and leases."""
        return make_assets(self.core, self.residents, self.enterprises)

    @cached_property
    def invest(self) -> Invest:
        """Agreements and incentives."""
        return make_invest(self.core, self.enterprises)

    @cached_property
    def town(self) -> Town:
        """The townships' own systems."""
        return make_town(self.core, self.officials)

    # ---- per source ---------------------------------------------------------------------------

    def frame(self, source: str) -> Frame | None:
        """The background rows of one source (None for sources it leaves empty)."""
        method = getattr(self, f"_src_{source}", None)
        return method() if method is not None else None

    def _src_dr_project(self) -> Frame:
        return self.engineering.dr_project

    def _src_trade_tender(self) -> Frame:
        return self.engineering.trade_tender

    def _src_trade_bid(self) -> Frame:
        return self.engineering.trade_bid

    def _src_trade_contract(self) -> Frame:
        return self.engineering.trade_contract

    def _src_build_change(self) -> Frame:
        return self.engineering.build_change

    def _src_build_acceptance(self) -> Frame:
        return self.engineering.build_acceptance

    def _src_build_settlement(self) -> Frame:
        return self.engineering.build_settlement

    def _src_fin_payment(self) -> Frame:
        return _merged_by_day(
            [self.engineering.payments, self.money.payments], "paid_on", "payment_id", "payment"
        )

    def _src_fin_subsidy(self) -> Frame:
        return make_subsidies(self.core, self.residents, self.social.dead, self.social.died_on)

    def _src_fin_fund(self) -> Frame:
        return self.money.fin_fund

    def _src_com_agreement(self) -> Frame:
        return self.invest.com_agreement

    def _src_com_incentive(self) -> Frame:
        return self.invest.com_incentive

    def _src_mkt_enterprise(self) -> Frame:
        e = self.enterprises
        core = self.core
        rng = core.rng("mkt_enterprise")
        n = len(e.codes)
        rep = e.persons.ids.take(pa.array(e.legal_rep, mask=rng.random(n) < 0.01))
        rep_name = pa.compute.if_else(
            pa.array(rng.random(n) < 0.04),
            e.persons.variant_names.take(pa.array(e.legal_rep)),
            e.persons.names.take(pa.array(e.legal_rep)),
        )
        street = pick(names.STREETS, rng.integers(0, len(names.STREETS), n))
        number = pa.array([f"{x}号" for x in rng.integers(1, 300, n)], pa.string())
        address = pa.compute.binary_join_element_wise(
            "浙江省杭州市桐庐县", pick(core.township_names, e.home_township), street, number, ""
        )
        capital = rng.choice([10, 50, 100, 200, 500, 1000, 2000, 5000], size=n) * 10_000 * 100
        return {
            "enterprise_code": e.codes,
            "name": e.names,
            "legal_rep_name": rep_name,
            "legal_rep_id": rep,
            "registered_on": dates(e.registered),
            "registered_capital": decimal_yuan(capital, rng.random(n) < 0.03),
            "status": pick(STATUSES, e.status),
            "status_changed_on": dates(e.status_changed, e.status_changed < 0),
            "address": stray_spaces(address, rng, 0.02),
            "phone": pa.compute.if_else(
                pa.array(rng.random(n) < 0.05), pa.scalar(None, pa.string()), e.phones
            ),
        }

    def _src_mkt_shareholder(self) -> Frame:
        e = self.enterprises
        rng = self.core.rng("mkt_shareholder")
        ns = e.sh_person.size
        pp = pa.array(e.sh_person)
        return {
            "enterprise_code": e.codes.take(pa.array(e.sh_enterprise)),
            "person_name": pa.compute.if_else(
                pa.array(rng.random(ns) < 0.04),
                e.persons.variant_names.take(pp),
                e.persons.names.take(pp),
            ),
            "person_id": e.persons.ids.take(pp),
            "role": pick(ROLES, e.sh_role),
            "share_ratio": floats(np.nan_to_num(e.sh_ratio), np.isnan(e.sh_ratio)),
        }

    def _src_tax_annual(self) -> Frame:
        return self.invest.tax_annual

    def _src_nr_housing_approval(self) -> Frame:
        return self.social.nr_housing_approval

    def _src_nr_homestead(self) -> Frame:
        return self.social.nr_homestead

    def _src_ps_household(self) -> Frame:
        return make_register(self.core, self.residents, self.officials, self.enterprises)

    def _src_ps_vehicle(self) -> Frame:
        return self.social.ps_vehicle

    def _src_ca_death(self) -> Frame:
        return self.social.ca_death

    def _src_ca_assistance(self) -> Frame:
        return self.social.ca_assistance

    def _src_ag_asset(self) -> Frame:
        return self.assets.ag_asset

    def _src_ag_lease(self) -> Frame:
        return self.assets.ag_lease

    def _src_ag_rent_receipt(self) -> Frame:
        return self.assets.ag_rent_receipt

    def _src_bank_account(self) -> Frame:
        return make_bank(self.core, self.residents, self.enterprises, txns=False)

    def _src_bank_txn(self) -> Frame:
        return make_bank(self.core, self.residents, self.enterprises, txns=True)

    def _src_town_reimbursement(self) -> Frame:
        return self.town.town_reimbursement

    def _src_town_reception(self) -> Frame:
        return self.town.town_reception

    def _src_town_decision(self) -> Frame:
        return _merged_by_day(
            [self.engineering.decisions, self.town.decisions],
            "decided_on",
            "decision_id",
            "decision",
        )

    def _src_town_staffing(self) -> Frame:
        return self.town.town_staffing

    def _src_sup_official(self) -> Frame:
        o = self.officials
        rng = self.core.rng("sup_official")
        nr = o.rows_person.size
        pp = pa.array(o.rows_person)
        return {
            "person_id": o.people.ids.take(pp),
            "name": o.people.names.take(pp),
            "township": pick(self.core.township_codes, o.rows_township),
            "unit": pick(names.UNITS, o.rows_unit),
            "position": o.rows_position,
            "is_leader": bools(o.rows_leader, rng.random(nr) < 0.02),
            "start_on": dates(o.rows_start, rng.random(nr) < 0.03),
            "end_on": dates(o.rows_end, o.rows_end < 0),
        }

    def _src_sup_kinship(self) -> Frame:
        o = self.officials
        return {
            "official_id": o.people.ids.take(pa.array(o.kin_official)),
            "relative_id": o.kin_relative_ids,
            "relation": pick(names.RELATIONS, o.kin_relation),
        }


__all__ = ["Background", "Core"]


def _merged_by_day(parts: list[Frame], day: str, id_column: str, id_kind: str) -> Frame:
    """One source fed by several background parts: their rows in order of `day`, then numbered.

    The sort is stable, so rows of one day keep the parts' order, and ids follow the
    merged order: the same ids at every run for a seed.
    """
    f = concat(parts)
    order = np.argsort(f[day].cast(pa.int32()).to_numpy(), kind="stable")
    f = take(f, order)
    f[id_column] = background_ids(id_kind, len(order))
    return f
