"""A model's `amount` (涉及金额) lands in each warning's evidence as "@amount", in 元, as text.

The figures are the policy models' own examples run on DuckDB: the article's
ENG01 project is 88,320,000 yuan; a model that says by how much a bound is
passed (超出…元, 多…元) has that figure as its amount; a null amount (a tender
without a budget) and a model without one leave the key out. A let and a column
called `amount` compile for every warehouse and give the same evidence on DuckDB
and SQLite.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from adapters import connect
from adapters.duckdb import DuckDBWarehouse
from dsl import ir
from dsl.check import check_pack
from dsl.types import Type
from engine.compiler.compile import DIALECTS, Target, compile_model, parses_back
from engine.runs.run import run_models
from engine.runs.warnings import AMOUNT_KEY, amount_evidence, to_warnings
from engine.schema import source_schema

ROOT = Path(__file__).resolve().parents[2]

# The models whose examples are run here: amounts of a row, of a group, of an excess, of a
# shortfall, of an optional column, and a model without an amount.
MODELS = ("ENG01", "ENG02", "ENG03", "ENG06", "ENG07", "INV02", "FUN05", "FIN02", "HOU01")


def _evidence(warning: dict) -> dict:
    return json.loads(warning["evidence"])


@pytest.fixture(scope="module")
def example_warnings(pack: ir.CheckedPack) -> dict[tuple[str, str], dict]:
    """Every warning the examples of MODELS raise, by (model, key), from one DuckDB."""
    warehouse = DuckDBWarehouse("duckdb:///:memory:")
    found: dict[tuple[str, str], dict] = {}
    try:
        for name, source in pack.pack.sources.items():
            warehouse.load(name, source_schema(source).empty_table(), replace=True)
        for model_id in MODELS:
            model = pack.models[model_id]
            for example in model.examples:
                rows: dict[str, list[dict]] = {}
                for source, values in example.rows:
                    rows.setdefault(source, []).append(dict(values))
                for source, listed in rows.items():
                    schema = source_schema(pack.pack.sources[source])
                    warehouse.load(source, pa.Table.from_pylist(listed, schema=schema), True)
                result = run_models(
                    pack, warehouse, example.as_of, [model], dict(example.params), reviewed=False
                )
                assert not result.failed, model_id
                for warning in result.warnings.to_pylist():
                    found[(model_id, warning["warning_key"])] = warning
                for source in rows:
                    empty = source_schema(pack.pack.sources[source]).empty_table()
                    warehouse.load(source, empty, replace=True)
    finally:
        warehouse.close()
    return found


def test_the_articles_project_involves_its_investment(example_warnings):
    warning = example_warnings[("ENG01", "P1")]
    assert warning["message"].startswith("投资额为8832万元的分水镇农村自来水工程")
    assert _evidence(warning)[AMOUNT_KEY] == "88320000"
    # The message's hole keeps its own value beside it.
    assert _evidence(warning)["wan(p.investment)"] == "88320000"


@pytest.mark.parametrize(
    ("model_id", "key", "amount"),
    [
        ("ENG02", "R1", "4000000"),  # the contracts of a root project together: sum(c.amount)
        ("FUN05", "ZX2021013", "300000.01"),  # the fund's money not spent: f.amount - spent
        ("FIN02", "JD2021031", "1500"),  # the reception's meal cost
    ],
)
def test_amounts_of_rows_groups_and_shortfalls(example_warnings, model_id, key, amount):
    assert _evidence(example_warnings[(model_id, key)])[AMOUNT_KEY] == amount


@pytest.mark.parametrize(
    ("model_id", "said"),
    [("ENG06", "超出{}元"), ("ENG07", "多{}元"), ("INV02", "多{}元")],
)
def test_an_excess_is_the_figure_its_message_gives(example_warnings, model_id, said):
    raised = [w for (m, _), w in example_warnings.items() if m == model_id]
    assert len(raised) >= 3
    for warning in raised:
        amount = _evidence(warning)[AMOUNT_KEY]
        assert Decimal(amount) > 0
        assert said.format(amount) in warning["message"], warning["message"]


def test_no_amount_no_key(example_warnings):
    # ENG03 reads t.budget, which its examples leave empty; HOU01 has no amount at all.
    tenders = [w for (m, _), w in example_warnings.items() if m == "ENG03"]
    homesteads = [w for (m, _), w in example_warnings.items() if m == "HOU01"]
    meals_unknown = example_warnings[("FIN02", "JD7")]  # no meal cost written
    assert len(tenders) == 2 and len(homesteads) == 2
    for warning in [*tenders, *homesteads, meals_unknown]:
        assert AMOUNT_KEY not in _evidence(warning)


def test_every_amount_is_text_of_yuan_to_the_fen(example_warnings):
    amounts = [_evidence(w).get(AMOUNT_KEY) for w in example_warnings.values()]
    written = [a for a in amounts if a is not None]
    assert len(written) >= 20
    for amount in written:
        assert isinstance(amount, str)
        assert Decimal(amount) == Decimal(amount).quantize(Decimal("0.01"))


def test_to_warnings_writes_an_int_amount_as_text_and_leaves_a_null_out(pack):
    model = pack.models["ENG01"]
    assert amount_evidence(88320000, Type.INT) == "88320000"
    assert amount_evidence(Decimal("8716.380000000001"), Type.DECIMAL) == "8716.38"
    assert amount_evidence(None, Type.DECIMAL) is None
    columns = ["key_1", "township", "amount", "hole_1", "hole_2", "hole_3", "hole_4"]
    holes = [Decimal(5000000), "分水镇", "村道工程", 6]
    rows = pa.Table.from_pylist(
        [
            dict(zip(columns, ["P1", "330122102", Decimal(5000000), *holes], strict=True)),
            dict(zip(columns, ["P2", "330122102", None, *holes], strict=True)),
        ]
    )
    warnings, _ = to_warnings(model, rows, pack.pack, date(2021, 12, 31))
    evidence = [json.loads(e) for e in warnings.column("evidence").to_pylist()]
    assert [e.get(AMOUNT_KEY) for e in evidence] == ["5000000", None]
    assert AMOUNT_KEY not in evidence[1]


# A let and a column called `amount`, in a model whose `amount` reads the let.
NAMED_AMOUNT = """model FIN09 "名为amount的列与let" {
  domain   财务收支
  severity blue
  status   草稿

  from fin_payment p
  let amount = p.amount
  where amount >= 1000

  key      p.payment_id
  township p.township
  amount   amount
  message  "支付{amount}元（{p.amount}）。"
}
"""
PAYMENTS = [
    {"payment_id": "ZF1", "township": "330122101", "amount": Decimal("1234.5"),
     "paid_on": date(2021, 5, 1), "economic_class": "商品和服务支出"},
    {"payment_id": "ZF2", "township": "330122101", "amount": Decimal("999.99"),
     "paid_on": date(2021, 5, 1), "economic_class": "商品和服务支出"},
]  # fmt: skip


@pytest.fixture(scope="module")
def named_pack(tmp_path_factory: pytest.TempPathFactory) -> ir.CheckedPack:
    root = tmp_path_factory.mktemp("named") / "pack"
    (root / "models").mkdir(parents=True)
    shutil.copy(ROOT / "policies" / "pack.yaml", root / "pack.yaml")
    shutil.copytree(ROOT / "policies" / "shared", root / "shared")
    (root / "models" / "FIN09.rule").write_text(NAMED_AMOUNT, encoding="utf-8")
    result = check_pack(root)
    assert result.pack is not None and result.diagnostics == []
    return result.pack


def test_a_let_called_amount_compiles_for_every_warehouse(named_pack: ir.CheckedPack):
    model = named_pack.models["FIN09"]
    for dialect in DIALECTS:
        compiled = compile_model(model, named_pack, Target(dialect, date(2021, 12, 31)))
        assert parses_back(compiled.sql(), dialect), dialect


@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])
def test_a_let_called_amount_runs(named_pack: ir.CheckedPack, engine: str, tmp_path: Path):
    warehouse = connect(f"{engine}:///{tmp_path / f'county.{engine}'}")
    try:
        schema = source_schema(named_pack.pack.sources["fin_payment"])
        warehouse.load("fin_payment", pa.Table.from_pylist(PAYMENTS, schema=schema), True)
        model = named_pack.models["FIN09"]
        result = run_models(named_pack, warehouse, date(2021, 12, 31), [model], reviewed=False)
    finally:
        warehouse.close()
    [warning] = result.warnings.to_pylist()
    assert (warning["warning_key"], warning["message"]) == ("ZF1", "支付1234.5元（1234.5）。")
    assert _evidence(warning) == {AMOUNT_KEY: "1234.5", "amount": "1234.5", "p.amount": "1234.5"}
