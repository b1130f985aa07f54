"""The planted ground truth: well formed, matching the data, and exactly what the models raise."""

from __future__ import annotations

import collections
import datetime as dt
import re

from demo_reference import MODELS, MONTH_ENDS, reference_truth

from engine.demo.generator import DemoCounty

MODEL_IDS = [
    f"{d}{i:02d}"
    for d, n in (("ENG", 8), ("INV", 5), ("HOU", 6), ("AST", 5), ("FUN", 6), ("FIN", 5))
    for i in range(1, n + 1)
]
PERSON = r"\d{17}[\dX]"
CODE = r"[0-9A-HJ-NPQRTUWXY]{18}"
COMPOSITE_KEYS = {
    "INV02": rf"^{CODE}\|\d{{4}}$",
    "INV05": rf"^{CODE}\|\d{{4}}$",
    "FUN01": rf"^{PERSON}\|[^|]+$",
    "FUN02": rf"^{PERSON}\|[^|]+\|\d{{4}}-\d{{2}}$",
    "FIN03": rf"^{PERSON}\|[^|]+\|\d{{4}}-\d{{2}}$",
}
# Models keyed by a row of one source: the key must be there.
KEY_SOURCES = {
    "ENG01": ("dr_project", "project_id"),
    "ENG03": ("trade_tender", "tender_id"),
    "ENG04": ("trade_tender", "tender_id"),
    "ENG05": ("trade_contract", "contract_id"),
    "ENG06": ("trade_contract", "contract_id"),
    "ENG07": ("trade_contract", "contract_id"),
    "ENG08": ("trade_contract", "contract_id"),
    "INV01": ("com_incentive", "incentive_id"),
    "INV03": ("mkt_enterprise", "enterprise_code"),
    "INV04": ("com_agreement", "agreement_id"),
    "HOU01": ("nr_housing_approval", "application_id"),
    "HOU02": ("nr_housing_approval", "application_id"),
    "HOU03": ("nr_housing_approval", "application_id"),
    "HOU04": ("nr_housing_approval", "application_id"),
    "HOU05": ("nr_housing_approval", "application_id"),
    "HOU06": ("nr_housing_approval", "application_id"),
    "AST01": ("ag_lease", "lease_id"),
    "AST02": ("ag_lease", "lease_id"),
    "AST03": ("ag_lease", "lease_id"),
    "AST04": ("ag_lease", "lease_id"),
    "AST05": ("ag_lease", "lease_id"),
    "FUN03": ("ca_assistance", "case_id"),
    "FUN04": ("ca_assistance", "case_id"),
    "FUN05": ("fin_fund", "fund_id"),
    "FUN06": ("fin_subsidy", "account_no"),
    "FIN01": ("bank_txn", "txn_id"),
    "FIN02": ("town_reception", "reception_id"),
    "FIN04": ("fin_payment", "payment_id"),
    "FIN05": ("fin_payment", "payment_id"),
}


def _truth(county: DemoCounty) -> list[dict]:
    return county.truth.to_pylist()


def test_all_35_models_are_planted(small_county: DemoCounty) -> None:
    assert sorted(MODELS) == sorted(MODEL_IDS)
    rows = _truth(small_county)
    by_model = collections.defaultdict(list)
    for r in rows:
        by_model[r["model_id"]].append(r)
    assert sorted(by_model) == sorted(MODEL_IDS)
    for model, found in by_model.items():
        assert 3 <= len(found) <= 15, model
        assert len({r["township"] for r in found}) >= 2, model
    assert len(rows) == 337  # as many warnings as the article reports


def test_keys_unique_and_well_formed(small_county: DemoCounty) -> None:
    rows = _truth(small_county)
    assert len({(r["model_id"], r["warning_key"]) for r in rows}) == len(rows)
    for r in rows:
        key = r["warning_key"]
        pattern = COMPOSITE_KEYS.get(r["model_id"])
        if pattern:
            assert re.match(pattern, key), (r["model_id"], key)
        else:
            assert "|" not in key and key.strip() == key and key, (r["model_id"], key)


def test_first_runs_are_2021_month_ends(small_county: DemoCounty) -> None:
    for r in _truth(small_county):
        assert r["first_as_of"] in MONTH_ENDS
        assert isinstance(r["first_as_of"], dt.date)


def test_keys_exist_in_their_sources(small_county: DemoCounty) -> None:
    values = {
        (src, col): set(small_county.tables[src][col].to_pylist())
        for src, col in KEY_SOURCES.values()
    }
    for r in _truth(small_county):
        where = KEY_SOURCES.get(r["model_id"])
        if where:
            assert r["warning_key"] in values[where], (r["model_id"], r["warning_key"])


def test_disposal_references_only_truth_keys(small_county: DemoCounty) -> None:
    truth = {(r["model_id"], r["warning_key"]): r for r in _truth(small_county)}
    disposal = small_county.tables["sup_disposal"].to_pylist()
    assert 0.7 * len(truth) <= len(disposal) <= len(truth)
    for d in disposal:
        t = truth[(d["model_id"], d["warning_key"])]
        assert d["verified_on"] > t["first_as_of"]
        assert d["outcome"] in ("属实", "部分属实", "不属实")
        if d["rectified_on"] is not None:
            assert d["outcome"] != "不属实" and d["rectified_on"] > d["verified_on"]
    assert sum(d["persons_disposed"] or 0 for d in disposal) == 6
    assert sum(d["funds_recovered"] or 0 for d in disposal) == 104_800


def test_near_misses_are_recorded(small_county: DemoCounty) -> None:
    near = small_county.near_misses.to_pylist()
    assert sorted({r["model_id"] for r in near}) == sorted(MODEL_IDS)
    assert all(r["description"] for r in near)


def _compare(county: DemoCounty) -> None:
    expected = {
        (r["model_id"], r["warning_key"]): (r["township"], r["first_as_of"]) for r in _truth(county)
    }
    got = reference_truth(county.tables)
    extra = sorted(set(got) - set(expected))
    missing = sorted(set(expected) - set(got))
    wrong = sorted(k for k in set(got) & set(expected) if got[k] != expected[k])
    assert not extra, f"background or planted rows raise unplanted warnings: {extra[:10]}"
    assert not missing, f"planted warnings the reference does not raise: {missing[:10]}"
    assert not wrong, (
        f"township / first run differ: {[(k, got[k], expected[k]) for k in wrong[:10]]}"
    )


def test_reference_models_raise_exactly_the_truth_small(small_county: DemoCounty) -> None:
    _compare(small_county)


def test_reference_models_raise_exactly_the_truth_full(full_county: DemoCounty) -> None:
    _compare(full_county)
