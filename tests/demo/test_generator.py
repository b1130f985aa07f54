"""The demo county: determinism, size, schemas, ids, keys and realism of the generated tables."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from engine.demo.catalog import load_catalog
from engine.demo.generator import DemoCounty, generate, generate_to_parquet
from engine.demo.ids import valid_resident_id_mask, valid_uscc_mask

CATALOG = load_catalog()

PERSON_ID_COLUMNS = [
    ("ps_household", "person_id"),
    ("sup_official", "person_id"),
    ("sup_kinship", "official_id"),
    ("sup_kinship", "relative_id"),
    ("nr_housing_approval", "applicant_id"),
    ("nr_homestead", "owner_id"),
    ("ca_death", "person_id"),
    ("ca_assistance", "person_id"),
    ("mkt_enterprise", "legal_rep_id"),
    ("mkt_shareholder", "person_id"),
    ("fin_subsidy", "recipient_id"),
    ("town_reimbursement", "claimant_id"),
]
CREDIT_CODE_COLUMNS = [
    ("mkt_enterprise", "enterprise_code"),
    ("mkt_shareholder", "enterprise_code"),
    ("tax_annual", "enterprise_code"),
    ("trade_bid", "bidder_code"),
    ("trade_contract", "contractor_code"),
    ("com_agreement", "enterprise_code"),
    ("com_incentive", "enterprise_code"),
]
EITHER_COLUMNS = [
    ("fin_payment", "payee_code"),
    ("ag_lease", "lessee_id"),
    ("bank_account", "holder_id"),
    ("ps_vehicle", "owner_id"),
]


def test_same_seed_same_tables(small_county: DemoCounty) -> None:
    again = generate(size=0.05, seed=2021)
    assert again.tables.keys() == small_county.tables.keys()
    for name, table in small_county.tables.items():
        assert again.tables[name].equals(table), name
    assert again.truth.equals(small_county.truth)
    assert again.near_misses.equals(small_county.near_misses)


def test_other_seed_other_background(small_county: DemoCounty) -> None:
    other = generate(size=0.05, seed=2022)
    differing = [n for n, t in small_county.tables.items() if not other.tables[n].equals(t)]
    assert {"ps_household", "fin_subsidy", "bank_txn", "fin_payment"} <= set(differing)
    # The planted cases, and so the truth, are the same whatever the seed.
    assert other.truth.equals(small_county.truth)


def test_every_source_has_the_catalog_schema(small_county: DemoCounty) -> None:
    assert list(small_county.tables) == list(CATALOG.sources)
    for name, source in CATALOG.sources.items():
        assert small_county.tables[name].schema == source.schema, name


def test_required_columns_are_never_null(small_county: DemoCounty) -> None:
    for name, source in CATALOG.sources.items():
        table = small_county.tables[name]
        for col in source.columns:
            if col.required:
                assert table[col.name].null_count == 0, (name, col.name)


def test_keys_are_unique(small_county: DemoCounty) -> None:
    for name, source in CATALOG.sources.items():
        table = small_county.tables[name]
        if not source.key or table.num_rows == 0:
            continue
        grouped = table.group_by(list(source.key)).aggregate([])
        assert grouped.num_rows == table.num_rows, name


def test_every_source_has_rows(small_county: DemoCounty) -> None:
    for name, table in small_county.tables.items():
        assert table.num_rows > 0, name


def test_total_rows_at_size_one(full_county: DemoCounty) -> None:
    assert abs(full_county.total_rows - 607_000) <= 0.03 * 607_000
    rows = {n: t.num_rows for n, t in full_county.tables.items()}
    # Shaped like a county's data: many flows and people, few projects and agreements.
    for bulk in ("bank_txn", "fin_subsidy", "fin_payment", "ps_household"):
        assert rows[bulk] > 50_000, bulk
    for few in ("dr_project", "trade_tender", "com_agreement"):
        assert rows[few] < 2_000, few


def test_size_scales_the_bulk() -> None:
    tiny = generate(size=0.01, seed=3)
    small = generate(size=0.1, seed=3)
    assert tiny.tables["bank_txn"].num_rows < small.tables["bank_txn"].num_rows
    assert small.tables["ref_calendar"].num_rows == tiny.tables["ref_calendar"].num_rows == 1096
    assert small.tables["ref_township"].num_rows == 14


def _column(county: DemoCounty, table: str, column: str) -> pa.Array:
    arr = county.tables[table][column].combine_chunks()
    return pc.drop_null(arr)


@pytest.mark.parametrize(("table", "column"), PERSON_ID_COLUMNS)
def test_person_ids_have_valid_check_digits(
    full_county: DemoCounty, table: str, column: str
) -> None:
    arr = _column(full_county, table, column)
    assert len(arr) > 0
    ok = valid_resident_id_mask(arr)
    assert ok.all(), arr.filter(pa.array(~ok))[:5]


@pytest.mark.parametrize(("table", "column"), CREDIT_CODE_COLUMNS)
def test_credit_codes_have_valid_check_digits(
    full_county: DemoCounty, table: str, column: str
) -> None:
    arr = _column(full_county, table, column)
    assert len(arr) > 0
    ok = valid_uscc_mask(arr)
    assert ok.all(), arr.filter(pa.array(~ok))[:5]


@pytest.mark.parametrize(("table", "column"), EITHER_COLUMNS)
def test_mixed_id_columns_hold_valid_ids(full_county: DemoCounty, table: str, column: str) -> None:
    arr = _column(full_county, table, column)
    ok = valid_resident_id_mask(arr) | valid_uscc_mask(arr)
    assert ok.all(), arr.filter(pa.array(~ok))[:5]


def test_birth_dates_in_person_ids_are_real(small_county: DemoCounty) -> None:
    ids = small_county.tables["ps_household"]["person_id"].to_pylist()
    for value in ids[:: max(1, len(ids) // 2000)]:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def test_townships_are_the_catalogs(small_county: DemoCounty) -> None:
    codes = {t.code for t in CATALOG.townships}
    assert set(small_county.tables["ref_township"]["township"].to_pylist()) == codes
    for name, source in CATALOG.sources.items():
        if any(c.name == "township" for c in source.columns):
            used = set(pc.drop_null(small_county.tables[name]["township"]).to_pylist())
            assert used <= codes, name


def test_staffing_is_plausible(small_county: DemoCounty) -> None:
    staffing = small_county.tables["town_staffing"].to_pylist()
    assert len(staffing) == 28
    assert {r["year"] for r in staffing} == {2020, 2021}
    assert all(40 <= r["staff_count"] <= 150 for r in staffing)


def test_event_dates_stay_in_the_data_period(small_county: DemoCounty) -> None:
    """The background is extracted at the end of 2021; only planted near misses peek into 2022."""
    for name, source in CATALOG.sources.items():
        if source.event_date is None:
            continue
        col = pc.drop_null(small_county.tables[name][source.event_date])
        if len(col) == 0:
            continue
        last = pc.max(col).as_py()
        last = last.date() if isinstance(last, dt.datetime) else last
        assert last <= dt.date(2022, 2, 28), (name, last)


def test_chinese_names_and_titles(small_county: DemoCounty) -> None:
    names = small_county.tables["ps_household"]["name"].to_pylist()
    assert all(2 <= len(n) <= 4 for n in names)
    assert all("\u4e00" <= n[0] <= "\u9fff" for n in names)
    titles = small_county.tables["dr_project"]["name"].to_pylist()
    assert any("农村自来水工程" in t for t in titles)
    assert any("村道提升改造工程" in t for t in titles)
    firms = small_county.tables["mkt_enterprise"]["name"].to_pylist()
    assert any(f.startswith("桐庐县") and f.endswith("建设工程有限公司") for f in firms)


def test_dirty_data_is_there(full_county: DemoCounty) -> None:
    tables = full_county.tables
    # Nulls in optional columns.
    assert tables["dr_project"]["status"].null_count > 0
    assert tables["fin_subsidy"]["account_no"].null_count > 0
    # Stray spaces in free text.
    purposes = pc.drop_null(tables["fin_payment"]["purpose"])
    assert pc.any(pc.not_equal(pc.utf8_trim_whitespace(purposes), purposes)).as_py()
    # One person, two spellings: the register and the subsidy roll disagree on some names.
    reg = tables["ps_household"].select(["person_id", "name"])
    sub = tables["fin_subsidy"].select(["recipient_id", "recipient_name"])
    joined = sub.join(reg, keys="recipient_id", right_keys="person_id")
    differs = pc.not_equal(joined["recipient_name"], joined["name"])
    assert pc.sum(differs.cast(pa.int64())).as_py() > 0


def test_parquet_output(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    counts = generate_to_parquet(tmp_path, size=0.01, seed=9)
    assert set(counts) == set(CATALOG.sources)
    for name, n in counts.items():
        table = pq.read_table(tmp_path / f"{name}.parquet")
        assert table.num_rows == n
        assert table.schema.equals(CATALOG.sources[name].schema, check_metadata=False)
    assert pq.read_table(tmp_path / "_truth.parquet").num_rows > 0


def test_money_is_exact(small_county: DemoCounty) -> None:
    amounts = small_county.tables["fin_payment"]["amount"]
    assert amounts.type == pa.decimal128(18, 2)
    assert pc.min(amounts).as_py() > 0
    assert str(pc.max(small_county.tables["ag_lease"]["annual_rent"]).as_py()).endswith(
        tuple(f".{d:02d}" for d in range(100))
    )


def test_catalog_path_can_point_at_the_contract() -> None:
    """The contract's sources.yaml has the same shape as the pack: either can drive the demo."""
    from pathlib import Path

    contract = Path(__file__).resolve().parents[3] / "shared" / "contract" / "sources.yaml"
    if not contract.exists():
        pytest.skip("shared/contract is not beside the repository")
    county = generate(size=0.01, seed=1, catalog_path=contract)
    assert set(county.tables) == set(CATALOG.sources)
