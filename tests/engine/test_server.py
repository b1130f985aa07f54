"""`oversight serve`: a township's system posts pending records and hears what approval would raise.

The service is driven in-process through httpx's ASGI transport: the same
application uvicorn serves, without a port.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from county_fixture import fill_county
from sqlglot import exp

from adapters import connect
from adapters.names import statement
from dsl import ir
from engine import api
from engine.policy.deployment import Deployment
from engine.runs import ledger
from engine.service.precheck import models_reading
from engine.service.server import ServeError, Service, create_app, read_tokens, serve

ROOT = Path(__file__).resolve().parents[2]
BAIJIANG = "330122104"
TOKEN = "0123456789abcdef-baijiang"
FIN04_MESSAGE = (
    "百江镇于2021-08-20向桐庐县百江建设有限公司支付50万元（支付编号ZF2021088，合同HT2021-031，"
    "用途：村道硬化工程进度款），未见相应的“三重一大”集体决策，是否存在大额资金支出未经集体决策？请核查。"
)


def payment(payment_id: str, amount: Any) -> dict[str, Any]:
    return {
        "payment_id": payment_id,
        "township": BAIJIANG,
        "payee_name": "桐庐县百江建设有限公司",
        "amount": amount,
        "paid_on": "2021-08-20",
        "purpose": "村道硬化工程进度款",
        "contract_id": "HT2021-031",
    }


@pytest.fixture
def county(tmp_path: Path, pack: ir.CheckedPack, townships: list[dict]) -> str:
    """A DuckDB county with every source, the townships and nothing else."""
    return fill_county(f"duckdb:///{tmp_path / 'county.duckdb'}", pack, townships)


def client(service: Service) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(service), client=("10.0.0.7", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://oversight")


def post(service: Service, body: Any, **headers: str) -> httpx.Response:
    async def go() -> httpx.Response:
        async with client(service) as http:
            return await http.post("/v1/precheck", json=body, headers=headers)

    return asyncio.run(go())


def get(service: Service, path: str, **headers: str) -> httpx.Response:
    async def go() -> httpx.Response:
        async with client(service) as http:
            return await http.get(path, headers=headers)

    return asyncio.run(go())


AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def service(county: str) -> Service:
    return Service(ROOT / "policies", county, tokens={TOKEN: "百江镇财务系统"})


def test_a_planted_payment_comes_back_as_FIN04(service: Service, county: str):
    answer = post(
        service, {"source": "fin_payment", "records": [payment("ZF2021088", 500000)]}, **AUTH
    )
    assert answer.status_code == 200
    body = answer.json()
    assert [(w["model_id"], w["warning_key"], w["change"]) for w in body["warnings"]] == [
        ("FIN04", "ZF2021088", "new")
    ]
    assert body["warnings"][0]["message"] == FIN04_MESSAGE
    assert body["as_of"] == "2021-08-20"

    warehouse = connect(county)
    try:
        audit = warehouse.query(
            statement(exp.select("caller", "warnings").from_(ledger.PRECHECKS), "duckdb")
        ).to_pylist()
    finally:
        warehouse.close()
    assert audit == [{"caller": "百江镇财务系统", "warnings": 1}]


def test_a_near_miss_comes_back_empty(service: Service):
    answer = post(service, {"source": "fin_payment", "records": [payment("ZF1", 1000)]}, **AUTH)
    assert (answer.status_code, answer.json()["warnings"]) == (200, [])


@pytest.mark.parametrize(
    "headers", [{}, {"authorization": "Bearer wrong-token-wrong-token"}, {"authorization": TOKEN}]
)
def test_without_a_valid_token_the_answer_is_401(service: Service, headers: dict[str, str]):
    answer = post(service, {"source": "fin_payment", "records": [payment("ZF1", 1)]}, **headers)
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["code"] == "E680"
    assert get(service, "/v1/models", **headers).status_code == 401


def test_bad_records_are_422_with_the_codes_and_paths_of_the_command(service: Service):
    bad = {**payment("ZF1", "五十万"), "amout": 1}
    answer = post(service, {"source": "fin_payment", "records": [bad]}, **AUTH)
    assert answer.status_code == 422
    assert sorted((e["code"], e["path"]) for e in answer.json()["errors"]) == [
        ("E672", "records[0].amout"),
        ("E674", "records[0].amount"),
    ]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"records": []}, 422, "E670"),
        ({"source": "fin_paymnet", "records": [{}]}, 422, "E670"),
        ({"source": "fin_payment", "records": [], "as_of": "2021-13-01"}, 422, "E674"),
        ([1, 2], 400, "E671"),
    ],
)
def test_a_malformed_request_is_4xx_json(service: Service, body: Any, status: int, code: str):
    answer = post(service, body, **AUTH)
    assert (answer.status_code, answer.json()["errors"][0]["code"]) == (status, code)


def test_a_body_that_is_not_json_is_400(service: Service):
    async def go() -> httpx.Response:
        async with client(service) as http:
            return await http.post("/v1/precheck", content=b"{not json", headers=AUTH)

    answer = asyncio.run(go())
    assert (answer.status_code, answer.json()["errors"][0]["code"]) == (400, "E671")


def test_a_body_over_the_limit_is_413(county: str):
    small = Service(ROOT / "policies", county, tokens={TOKEN: "x"}, max_body_bytes=1000)
    records = [payment(f"ZF{i}", 1) for i in range(20)]
    answer = post(small, {"source": "fin_payment", "records": records}, **AUTH)
    assert (answer.status_code, answer.json()["errors"][0]["code"]) == (413, "E681")


def test_an_unreachable_warehouse_is_503(tmp_path: Path):
    gone = Service(ROOT / "policies", f"duckdb:///{tmp_path / 'gone.duckdb'}", tokens={TOKEN: "x"})
    answer = post(gone, {"source": "fin_payment", "records": [payment("ZF1", 1)]}, **AUTH)
    assert (answer.status_code, answer.json()["errors"][0]["code"]) == (503, "E683")
    assert get(gone, "/v1/health").status_code == 503


def test_models_health_and_the_api_document(service: Service, pack: ir.CheckedPack):
    models = get(service, "/v1/models", **AUTH).json()
    assert len(models["models"]) == 35
    fin04 = next(m for m in models["models"] if m["id"] == "FIN04")
    assert {"fin_payment", "town_decision"} <= set(fin04["sources"])
    assert fin04["precheck"] is True

    health = get(service, "/v1/health")
    assert (health.status_code, health.json()["status"]) == (200, "ok")
    assert health.json()["pack_version"] == pack.pack.version

    document = get(service, "/openapi.json").json()
    record = document["components"]["schemas"]["record_fin_payment"]
    assert {"payment_id", "township", "amount", "paid_on"} <= set(record["required"])
    assert record["properties"]["amount"]["type"] == ["number", "string"]
    assert "http://" not in str(document) and "https://" not in str(document)


def test_without_tokens_on_loopback_the_caller_is_the_clients_address(county: str):
    local = Service(ROOT / "policies", county)
    answer = post(local, {"source": "fin_payment", "records": [payment("ZF1", 500000)]})
    assert answer.status_code == 200
    warehouse = connect(county)
    try:
        callers = warehouse.query(
            statement(exp.select("caller").from_(ledger.PRECHECKS), "duckdb")
        ).column("caller")
    finally:
        warehouse.close()
    assert callers.to_pylist() == ["local:10.0.0.7"]


def test_listening_beyond_loopback_needs_tokens(county: str):
    with pytest.raises(ServeError, match="--tokens"):
        serve(Service(ROOT / "policies", county), "0.0.0.0", 8765)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no tokens"),
        ("clerk short\n", "name: token"),
        ("a: 0123456789abcdef\nb: 0123456789abcdef\n", "twice"),
    ],
)
def test_a_tokens_file_is_checked(tmp_path: Path, text: str, problem: str):
    path = tmp_path / "tokens"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ServeError, match=problem):
        read_tokens(path)


def test_a_tokens_file_names_each_caller(tmp_path: Path):
    path = tmp_path / "tokens"
    path.write_text(
        "# 乡镇系统\n百江镇财务系统: 0123456789abcdef-1\n分水镇财务系统: 0123456789abcdef-2\n"
    )
    assert read_tokens(path) == {
        "0123456789abcdef-1": "百江镇财务系统",
        "0123456789abcdef-2": "分水镇财务系统",
    }


# ---- many at once, and a new pack while they run ------------------------------------------------


def _everything(url: str, pack: ir.CheckedPack) -> dict[str, list]:
    warehouse = connect(url)
    try:
        return {
            name: sorted(
                warehouse.query(
                    statement(exp.select("*").from_(name), warehouse.dialect)
                ).to_pylist(),
                key=repr,
            )
            for name in [*pack.pack.sources, ledger.LEDGER, ledger.RUNS]
            if warehouse.has_table(name)
        }
    finally:
        warehouse.close()


@pytest.fixture
def any_county(empty_warehouse: str, pack: ir.CheckedPack, townships: list[dict]) -> str:
    """The county of `county` on each warehouse we claim, with a ledger holding one run."""
    url = fill_county(empty_warehouse, pack, townships)
    api.run(pack, date(2021, 12, 31), warehouse=url)
    return url


def test_concurrent_prechecks_each_see_only_their_own_records(
    any_county: str, pack: ir.CheckedPack
):
    service = Service(ROOT / "policies", any_county, tokens={TOKEN: "x"})
    before = _everything(any_county, pack)

    async def go() -> list[httpx.Response]:
        async with client(service) as http:
            return await asyncio.gather(
                *(
                    http.post(
                        "/v1/precheck",
                        json={"source": "fin_payment", "records": [payment(f"ZF{i}", 500000)]},
                        headers=AUTH,
                    )
                    for i in range(24)
                )
            )

    answers = asyncio.run(go())
    assert [a.status_code for a in answers] == [200] * 24, answers[0].text
    for i, answer in enumerate(answers):
        assert [w["warning_key"] for w in answer.json()["warnings"]] == [f"ZF{i}"]
    assert _everything(any_county, pack) == before
    service.pool.close()


def test_a_new_pack_version_is_taken_whole_while_requests_run(tmp_path: Path, county: str):
    """Raising the decision threshold to 60万 in a new version: every answer is one version's."""
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    live = Service(policies, county, tokens={TOKEN: "x"}, reload_seconds=0)
    old_version = live.current().pack.pack.version

    body = {"source": "fin_payment", "records": [payment("ZF2021088", 500000)]}
    first = post(live, body, **AUTH).json()
    assert (first["pack_version"], len(first["warnings"])) == (old_version, 1)

    pack_yaml = policies / "pack.yaml"
    text = pack_yaml.read_text(encoding="utf-8")
    assert text.count("default: 300000") == 1  # decision_threshold
    new_text = text.replace("default: 300000", "default: 600000").replace(
        f"version: {old_version}", "version: 99.0.0"
    )
    assert "version: 99.0.0" in new_text
    pack_yaml.write_text(new_text, encoding="utf-8")

    async def go() -> list[dict]:
        async with client(live) as http:
            answers = await asyncio.gather(
                *(http.post("/v1/precheck", json=body, headers=AUTH) for _ in range(8))
            )
            return [a.json() for a in answers]

    for answer in asyncio.run(go()):
        # The old pack with its warning, or the new pack without: never a mix.
        assert (answer["pack_version"], len(answer["warnings"])) in [
            (old_version, 1),
            ("99.0.0", 0),
        ]
    latest = post(live, body, **AUTH).json()
    assert (latest["pack_version"], latest["warnings"]) == ("99.0.0", [])


def test_a_new_pack_that_does_not_check_is_not_taken(tmp_path: Path, county: str):
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    live = Service(policies, county, tokens={TOKEN: "x"}, reload_seconds=0)
    version = live.current().pack.pack.version
    rule = policies / "models" / "finance" / "FIN04.rule"
    rule.write_text(rule.read_text(encoding="utf-8").replace("where p.amount", "wher p.amount"))

    answer = post(live, {"source": "fin_payment", "records": [payment("ZF1", 500000)]}, **AUTH)
    assert (answer.status_code, answer.json()["pack_version"]) == (200, version)
    health = get(live, "/v1/health").json()
    assert health["pack_reload_problem"].startswith("E1")


def test_the_deployments_ledger_schema_holds_the_audit(county: str):
    setup = Deployment(ledger_schema="oversight")
    service = Service(ROOT / "policies", county, setup, tokens={TOKEN: "x"})
    assert post(
        service, {"source": "fin_payment", "records": [payment("ZF1", 1)]}, **AUTH
    ).is_success
    warehouse = connect(county)
    try:
        assert warehouse.has_table(f"oversight.{ledger.PRECHECKS}")
    finally:
        warehouse.close()


def test_the_integration_guide_lists_every_source_that_takes_part(pack: ir.CheckedPack):
    guide = (ROOT / "docs" / "接入说明.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(" `"): line for line in guide.splitlines() if "| `" in line}
    for name, source in pack.pack.sources.items():
        if models_reading(pack, name) and name != "ref_calendar":
            assert name in rows, f"docs/接入说明.md does not list {name}"
            assert ", ".join(source.key) in rows[name]
