"""On the demo county as of 2021-12-31 every source is ok with the pack's expectations.

So the expectations in policies/pack.yaml fit the demo's real feeds; the rows and newest
dates `oversight sources` reports are counted again here from the generated Arrow tables.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from adapters import connect
from engine import api
from engine.demo import demo_run
from engine.demo.generator import generate
from engine.sources import check_sources

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2021, 12, 31)


@pytest.fixture(scope="module")
def demo_url(small_county, tmp_path_factory) -> str:
    url = f"duckdb:///{tmp_path_factory.mktemp('sources') / 'demo.duckdb'}"
    demo_run.build_warehouse(url, small_county)
    return url


def visible(values: list, as_of: date) -> tuple[int, date | None]:
    """Rows a run as of the day sees (undated ones too) and the newest of their dates."""
    days = [v.date() if isinstance(v, datetime) else v for v in values]
    seen = [d for d in days if d is None or d <= as_of]
    dated = [d for d in seen if d is not None]
    return len(seen), max(dated, default=None)


def test_every_demo_source_is_ok_at_year_end(demo_url, small_county):
    pack = api.load_pack(ROOT / "policies").pack
    warehouse = connect(demo_url, read_only=True)
    try:
        report = check_sources(warehouse, pack, {}, AS_OF)
    finally:
        warehouse.close()
    not_ok = {h.name: (h.status, h.reasons) for h in report if h.status != "ok"}
    assert not_ok == {}
    assert [h.name for h in report] == list(pack.sources)
    for health in report:
        table = small_county.tables[health.name]
        source = pack.sources[health.name]
        if source.event_date is None:
            assert (health.rows, health.latest) == (table.num_rows, None)
            continue
        rows, latest = visible(table.column(source.event_date).to_pylist(), AS_OF)
        assert (health.rows, health.latest) == (rows, latest), health.name
        assert health.lag_days == (AS_OF - latest).days
    by_name = {h.name: h for h in report}
    # the slowest feeds still within their thresholds: the pack's values are not arbitrary
    assert by_name["com_agreement"].lag_days == 183  # warn_after 9 months (270 days)
    assert by_name["mkt_enterprise"].lag_days == 148  # 市场监管局: 6 months (180 days)
    assert by_name["ca_assistance"].lag_days == 30  # paid on the 1st: 35 days


def test_a_daily_feed_judged_weeks_after_its_last_delivery_is_stale(demo_url, small_county):
    """The demo's data ends at the turn of the year: judged on 2022-01-20 the bank is stale."""
    pack = api.load_pack(ROOT / "policies").pack
    warehouse = connect(demo_url, read_only=True)
    try:
        later = {h.name: h for h in check_sources(warehouse, pack, {}, date(2022, 1, 20))}
    finally:
        warehouse.close()
    rows, latest = visible(
        small_county.tables["bank_txn"].column("txn_at").to_pylist(), date(2022, 1, 20)
    )
    assert later["bank_txn"].status == "stale"
    assert (later["bank_txn"].rows, later["bank_txn"].latest) == (rows, latest)
    assert later["bank_txn"].lag_days == (date(2022, 1, 20) - latest).days > 10
    assert later["ref_calendar"].status == "ok"  # freshness: none


@pytest.mark.parametrize("stopped", ["fin_payment", "trade_tender", "bank_txn"])
def test_an_interface_stopped_in_october_is_the_one_not_ok_at_year_end(stopped, tmp_path):
    """`oversight demo --stale-interface` (issue 18): the silent interface, and it alone, is named.

    Its newest row is from before 2021-10-01, so on 2021-12-31 it lags 92 days or more:
    past error_after for each of these (30 days, 3 months, 10 days).
    """
    county = generate(size=0.05, seed=2021, stopped=stopped)
    url = f"duckdb:///{tmp_path / 'demo.duckdb'}"
    demo_run.build_warehouse(url, county)
    pack = api.load_pack(ROOT / "policies").pack
    warehouse = connect(url, read_only=True)
    try:
        report = check_sources(warehouse, pack, {}, AS_OF)
    finally:
        warehouse.close()
    not_ok = {h.name: h for h in report if h.status != "ok"}
    assert list(not_ok) == [stopped]
    health = not_ok[stopped]
    rows, latest = visible(
        county.tables[stopped].column(pack.sources[stopped].event_date).to_pylist(), AS_OF
    )
    assert (health.status, health.rows, health.latest) == ("stale", rows, latest)
    assert latest < date(2021, 10, 1) and health.lag_days == (AS_OF - latest).days >= 92
