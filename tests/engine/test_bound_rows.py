"""`let m = first(from … order by …)`: one row of a query per row of the model, on every warehouse.

The six models of tests/engine/bound_rows.rule are rules a policy author
would write with a bound row — the latest payment of a contract (the
columns of its `from`), the first payment or none (a missing row is
nulls), the lowest bid of a tender with a contract joined (`select … as`),
a grouped model reading the row inside aggregates, a row read inside an
`exists` of the model's where, and one row for the whole county (no link).
Their examples hold near misses, missing rows, rows after as_of, ties
broken by the written order and ties broken by the values read; a
pre-check example adds a payment that becomes the latest.

Each example runs on DuckDB, SQLite, PostgreSQL and Spark; a county of
random contracts, payments and bids (many ties, nulls and late rows) gives
the same warnings on all four, and the ones a Python reading of the rules
computes; the SQL reads the bound query once (a derived table joined on
its links, no correlated subquery) and compiles for all twelve dialects.
"""

from __future__ import annotations

import random
import shutil
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conformance_checks import example_failures
from county_fixture import fill_county
from sqlglot import exp

from adapters import connect
from dsl import ir
from dsl.check import check_pack
from dsl.diagnostics import DiagnosticError
from dsl.format import format_text
from engine import api
from engine.compiler.compile import DIALECTS, Target, compile_model, parses_back
from engine.runs.run import run_models

ROOT = Path(__file__).resolve().parents[2]
RULES = Path(__file__).with_name("bound_rows.rule")
ENGINES = ("duckdb", "sqlite", "postgres", "spark")
AS_OF = date(2021, 6, 30)
TOWNSHIP = "330122100"


@pytest.fixture(scope="module")
def bound_pack(tmp_path_factory: pytest.TempPathFactory) -> ir.CheckedPack:
    """The repository's pack.yaml and shared definitions with the models of bound_rows.rule."""
    root = tmp_path_factory.mktemp("bound") / "pack"
    (root / "models").mkdir(parents=True)
    shutil.copy(ROOT / "policies" / "pack.yaml", root / "pack.yaml")
    shutil.copytree(ROOT / "policies" / "shared", root / "shared")
    shutil.copy(RULES, root / "models" / RULES.name)
    result = check_pack(root)
    assert result.pack is not None and result.diagnostics == [], [
        f"{d.code} {d.message_en}" for d in result.diagnostics
    ]
    return result.pack


def test_the_rules_are_written_in_the_canonical_layout():
    text = RULES.read_text(encoding="utf-8")
    assert format_text(text, str(RULES)) == text


def test_the_examples_pass_on_every_warehouse(bound_pack: ir.CheckedPack, warehouse_url: str):
    count, failures = example_failures(warehouse_url, bound_pack)
    assert failures == {}
    assert count == 13


# ---- a county of random rows ---------------------------------------------------------------


def _day(rng: random.Random) -> date:
    """A day in the first half of 2021, or a little after as_of (invisible on that day)."""
    return date(2021, 1, 1) + timedelta(days=rng.randrange(200))


def county_rows(seed: int = 15) -> dict[str, list[dict[str, Any]]]:
    """Contracts, payments, tenders, bids and acceptances with many ties and gaps."""
    rng = random.Random(seed)
    contracts, payments, acceptances = [], [], []
    for c in range(60):
        contract_id = f"C{c:03d}"
        contracts.append(
            {
                "contract_id": contract_id,
                "township": TOWNSHIP,
                "contractor_code": f"X{c % 7}",
                "amount": Decimal(rng.choice([1000, 1500, 2000])),
                "signed_on": _day(rng),
                "kind": rng.choice(["工程", "工程", "货物", None]),
                "tender_id": f"T{c % 25:03d}" if c % 3 else None,
            }
        )
        for p in range(rng.choice([0, 1, 2, 3, 5])):
            payments.append(
                {
                    "payment_id": f"P{c:03d}{p}",
                    "township": TOWNSHIP,
                    "contract_id": contract_id if rng.random() > 0.1 else None,
                    "amount": Decimal(rng.choice([0, 100, 500, 800, 1000, 1500])),
                    # Few distinct days: many payments of one contract share their day.
                    "paid_on": date(2021, 1, 1) + timedelta(days=30 * rng.randrange(7)),
                }
            )
        if rng.random() < 0.5:
            acceptances.append(
                {"acceptance_id": f"A{c:03d}", "contract_id": contract_id, "accepted_on": _day(rng)}
            )
    tenders, bids = [], []
    for t in range(25):
        tender_id = f"T{t:03d}"
        tenders.append(
            {
                "tender_id": tender_id,
                "project_id": f"J{t:03d}",
                "township": TOWNSHIP,
                "method": "公开招标",
                "budget": Decimal(rng.choice([800, 1000, 1250])),
                "published_on": _day(rng),
            }
        )
        for b in range(rng.randrange(5)):
            code = f"B{rng.randrange(6)}"
            bids.append(
                {
                    "bid_id": f"{tender_id}-{b}",
                    "tender_id": tender_id,
                    "bidder_code": code,
                    "bidder_name": rng.choice([f"N{code}", f"M{code}", None]),
                    "amount": rng.choice([Decimal(600), Decimal(700), Decimal(900), None]),
                    "submitted_at": datetime.combine(_day(rng), datetime.min.time()),
                }
            )
    return {
        "trade_contract": contracts,
        "fin_payment": payments,
        "build_acceptance": acceptances,
        "trade_tender": tenders,
        "trade_bid": bids,
    }


def warnings_on(url: str, pack: ir.CheckedPack, townships: list[dict]) -> list[tuple[str, ...]]:
    """Every warning the bound-row models raise on the county, as sorted text."""
    fill_county(url, pack, townships, county_rows())
    warehouse = connect(url)
    try:
        result = run_models(
            pack, warehouse, AS_OF, sorted(pack.models.values(), key=lambda m: m.id)
        )
    finally:
        warehouse.close()
    assert all(o.status == "ran" for o in result.outcomes), result.outcomes
    table = result.warnings
    return sorted(
        zip(
            *(table.column(c).to_pylist() for c in ("model_id", "warning_key", "message")),
            strict=True,
        )
    )


@pytest.fixture(scope="module")
def duckdb_warnings(bound_pack, tmp_path_factory) -> list[tuple[str, ...]]:
    townships = [{"township": TOWNSHIP, "name": "城南街道", "kind": "街道"}]
    url = f"duckdb:///{tmp_path_factory.mktemp('reference') / 'county.duckdb'}"
    return warnings_on(url, bound_pack, townships)


def test_a_county_gives_the_same_warnings_on_every_warehouse(
    bound_pack: ir.CheckedPack, warehouse_url: str, duckdb_warnings: list[tuple[str, ...]]
):
    townships = [{"township": TOWNSHIP, "name": "城南街道", "kind": "街道"}]
    assert warnings_on(warehouse_url, bound_pack, townships) == duckdb_warnings
    raised = {model for model, _, _ in duckdb_warnings}
    assert raised == {"BRW01", "BRW02", "BRW03", "BRW04", "BRW05", "BRW06"}


def _visible(rows: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    def day(value: Any) -> date:
        return value.date() if isinstance(value, datetime) else value

    return [r for r in rows if r[column] is None or day(r[column]) <= AS_OF]


def test_the_latest_payment_is_the_one_a_reading_of_the_rule_picks(duckdb_warnings):
    """BRW01: the latest payment (the greatest payment id among those of the latest day)."""
    rows = county_rows()
    payments = _visible(rows["fin_payment"], "paid_on")
    expected = {}
    for contract in _visible(rows["trade_contract"], "signed_on"):
        own = [p for p in payments if p["contract_id"] == contract["contract_id"]]
        if not own:
            continue
        last = max(own, key=lambda p: (p["paid_on"], p["payment_id"]))
        if last["amount"] / contract["amount"] > Decimal("0.5"):
            expected[contract["contract_id"]] = (
                f"最近一笔付款{last['payment_id']}（{last['paid_on']}）"
            )
    found = {key: message for model, key, message in duckdb_warnings if model == "BRW01"}
    assert sorted(found) == sorted(expected) and len(expected) > 5
    assert all(expected[key] in message for key, message in found.items())


def test_the_lowest_bid_ties_are_broken_by_the_values_read(duckdb_warnings):
    """BRW03: among equal lowest bids (with a contract of the tender), the smallest code, name."""
    rows = county_rows()
    bids = [b for b in _visible(rows["trade_bid"], "submitted_at") if b["amount"] is not None]
    contracts = _visible(rows["trade_contract"], "signed_on")
    expected = {}
    for tender in _visible(rows["trade_tender"], "published_on"):
        pairs = [
            (b["amount"], b["bidder_code"], b["bidder_name"] or b["bidder_code"], c["contract_id"])
            for b in bids
            for c in contracts
            if b["tender_id"] == tender["tender_id"] and c["tender_id"] == tender["tender_id"]
        ]
        if not pairs:
            continue
        amount, code, name, contract = min(pairs)
        if amount < tender["budget"] * Decimal("0.8"):
            expected[tender["tender_id"]] = (
                f"（合同{contract}）最低报价{amount}元（{name}，{code}）"
            )
    found = {key: message for model, key, message in duckdb_warnings if model == "BRW03"}
    assert sorted(found) == sorted(expected) and len(expected) > 2
    assert all(expected[key] in message for key, message in found.items())


# ---- ENG04, rewritten with a bound row -------------------------------------------------------

# ENG04 as it was written before bound rows: the match in `exists`, again in `let person`,
# then four subqueries to name two bidders. The rewrite must raise the same warnings.
FORMER_ENG04 = """model ENG04 "关联投标" {
  domain   工程管理
  severity yellow

  from trade_tender t
  where exists(trade_bid a
               join trade_bid b on b.tender_id = a.tender_id and b.bidder_code != a.bidder_code
               join enterprise_person pa on pa.enterprise_code = a.bidder_code
               join enterprise_person pb on pb.enterprise_code = b.bidder_code
                                        and pb.person_id = pa.person_id
               where a.tender_id = t.tender_id and not blank(pa.person_id))
  let person = (from trade_bid a
                join trade_bid b on b.tender_id = a.tender_id and b.bidder_code != a.bidder_code
                join enterprise_person pa on pa.enterprise_code = a.bidder_code
                join enterprise_person pb on pb.enterprise_code = b.bidder_code
                                         and pb.person_id = pa.person_id
                where a.tender_id = t.tender_id and not blank(pa.person_id)
                select min(pa.person_id))
  let bidder1 = (from trade_bid a
                 join enterprise_person pa on pa.enterprise_code = a.bidder_code
                 where a.tender_id = t.tender_id and pa.person_id = person
                 select min(a.bidder_code))
  let bidder2 = (from trade_bid b
                 join enterprise_person pb on pb.enterprise_code = b.bidder_code
                 where b.tender_id = t.tender_id
                   and pb.person_id = person
                   and b.bidder_code != bidder1
                 select min(b.bidder_code))
  let name1 = (from trade_bid a
               where a.tender_id = t.tender_id and a.bidder_code = bidder1
               select coalesce(min(a.bidder_name), min(a.bidder_code)))
  let name2 = (from trade_bid b
               where b.tender_id = t.tender_id and b.bidder_code = bidder2
               select coalesce(min(b.bidder_name), min(b.bidder_code)))

  key      t.tender_id
  township t.township
  message  MESSAGE
}
""".replace(
    "MESSAGE",
    "\"招标项目“{coalesce(t.title, t.tender_id)}”（{t.tender_id}）中，投标人{name1 ?? '不详'}与"
    "{name2 ?? '不详'}的法定代表人或股东、主要人员中有同一人（{person ?? '不详'}），"
    '是否存在关联企业围标、串标？请核查。"',
)


def bidding_rows(seed: int) -> dict[str, list[dict[str, Any]]]:
    """Tenders whose few bidders share few people: many matches, ties, blanks and late rows."""
    rng = random.Random(seed)
    people = [f"3301221980010100{i:02d}" for i in range(4)] + [" ", None]
    codes = [f"9133012200000000{i:02d}" for i in range(8)]
    tenders, bids, enterprises, shareholders = [], [], [], []
    for t in range(30):
        tender_id = f"T{t:02d}"
        tenders.append(
            {
                "tender_id": tender_id,
                "project_id": f"J{t:02d}",
                "township": TOWNSHIP,
                "title": rng.choice([f"工程{t}", None]),
                "method": "公开招标",
                "published_on": _day(rng),
            }
        )
        for b in range(rng.randrange(2, 7)):
            code = rng.choice(codes)
            bids.append(
                {
                    "bid_id": f"{tender_id}-{b}",
                    "tender_id": tender_id,
                    "bidder_code": code,
                    "bidder_name": rng.choice([f"公司{code[-2:]}", f"企业{code[-2:]}", None]),
                    "submitted_at": datetime.combine(_day(rng), datetime.min.time()),
                }
            )
    for code in codes:
        enterprises.append(
            {
                "enterprise_code": code,
                "legal_rep_id": rng.choice(people),
                "registered_on": _day(rng),
            }
        )
        for _ in range(rng.randrange(1, 4)):
            shareholders.append(
                {"enterprise_code": code, "person_id": rng.choice(people), "role": "股东"}
            )
    return {
        "trade_tender": tenders,
        "trade_bid": bids,
        "mkt_enterprise": enterprises,
        "mkt_shareholder": shareholders,
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_eng04_raises_what_its_former_five_queries_raised(
    pack: ir.CheckedPack, tmp_path: Path, seed: int
):
    """Same keys, townships and messages as the former ENG04, on random bidding."""
    root = tmp_path / "former"
    (root / "models").mkdir(parents=True)
    shutil.copy(ROOT / "policies" / "pack.yaml", root / "pack.yaml")
    shutil.copytree(ROOT / "policies" / "shared", root / "shared")
    (root / "models" / "ENG04.rule").write_text(FORMER_ENG04, encoding="utf-8")
    former = check_pack(root, examples=False).pack
    assert former is not None
    townships = [{"township": TOWNSHIP, "name": "城南街道", "kind": "街道"}]
    url = fill_county(
        f"duckdb:///{tmp_path / 'county.duckdb'}", pack, townships, bidding_rows(seed)
    )
    warehouse = connect(url)
    try:
        found = {}
        for name, checked in (("former", former), ("rewritten", pack)):
            result = run_models(checked, warehouse, AS_OF, [checked.models["ENG04"]])
            table = result.warnings
            columns = ("warning_key", "township", "message")
            found[name] = sorted(zip(*(table.column(c).to_pylist() for c in columns), strict=True))
    finally:
        warehouse.close()
    assert found["rewritten"] == found["former"]
    assert len(found["former"]) >= 5


def test_eng04_reads_its_match_once(pack: ir.CheckedPack):
    """One four-way join of bids and people (two bids, two people), numbered, joined once."""
    tree = compile_model(pack.models["ENG04"], pack, Target("duckdb")).tree
    tables = [t.name for t in tree.find_all(exp.Table)]
    assert tables.count("trade_bid") == 2 and tables.count("enterprise_person__relation") == 2
    assert tables.count("trade_tender") == 1
    assert len(list(tree.find_all(exp.Window))) == 1
    assert not list(tree.find_all(exp.Exists))


# ---- the SQL ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_dialect_compiles_the_models_or_says_which_cannot(
    bound_pack: ir.CheckedPack, dialect: str
):
    for model in bound_pack.models.values():
        try:
            sql = compile_model(model, bound_pack, Target(dialect)).sql(pretty=True)
        except DiagnosticError as err:
            assert [d.code for d in err.diagnostics] == ["E700"], model.id
            continue
        assert parses_back(sql, dialect), (model.id, dialect)


def test_explain_lists_a_bound_row_among_the_lets_in_the_order_written(
    bound_pack: ir.CheckedPack,
):
    assert api.explain(bound_pack, "BRW01")["lets"] == ["last", "share"]


def test_the_bound_query_is_read_once_not_once_per_row(bound_pack: ir.CheckedPack):
    """A derived table of numbered rows joined on the links: no subquery reads the model's row."""
    tree = compile_model(bound_pack.models["BRW01"], bound_pack, Target("duckdb")).tree
    assert [t.name for t in tree.find_all(exp.Table)].count("fin_payment") == 1
    [window] = tree.find_all(exp.Window)
    assert [p.sql() for p in window.args["partition_by"]] == ['"f"."contract_id"']
    [join] = [j for j in tree.find_all(exp.Join) if j.side == "LEFT"]
    assert join.args["on"].sql() == '"last"."link_1" = "c"."contract_id"'
    assert not list(tree.find_all(exp.Exists)) and "c" not in {
        c.table for c in join.this.find_all(exp.Column)
    }
