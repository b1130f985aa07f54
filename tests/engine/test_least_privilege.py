"""A least-privilege role on PostgreSQL, made exactly from `oversight grants`' script.

The DBA of the county's warehouse runs the script (the engine's schema and tables made
ahead, then the GRANTs) after taking every default privilege away from PUBLIC, so that
whatever the role can do comes from the script. As that role, every command works;
with any one privilege of the script revoked, the command that needs it stops with exit
8, one message naming that privilege, and nothing written.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import adbc_driver_postgresql.dbapi as postgres
import pytest

from engine.cli import main
from engine.demo import demo_run
from engine.demo.generator import generate
from engine.exit_codes import ExitCode

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2021-12-31"
ENGINE_TABLES = ("oversight_ledger", "oversight_runs", "oversight_prechecks")


class Warehouse:
    """The county's database, the DBA's connection to it, and the engine's role."""

    def __init__(self, admin_url: str, role: str, folder: Path) -> None:
        self.admin_url = admin_url
        self.role = role
        self.folder = folder
        host, database = admin_url.rsplit("@", 1)[1].rsplit("/", 1)
        self.database = database
        self.deployment = folder / "deployment.yaml"
        self.deployment.write_text(
            f"warehouse: postgresql://{role}@{host}/{database}\nledger_schema: oversight\n",
            encoding="utf-8",
        )

    def dba(self, *statements: str) -> list[list[tuple]]:
        connection = postgres.connect(self.admin_url, autocommit=True)
        answers = []
        try:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)
                    answers.append(cursor.fetchall() if cursor.description else [])
        finally:
            connection.close()
        return answers

    def engine_tables(self) -> dict[str, list[tuple]]:
        """Every row of the engine's tables, as the DBA sees them: what "nothing written" means."""
        return {
            table: rows
            for table, rows in zip(
                ENGINE_TABLES,
                self.dba(*(f"SELECT * FROM oversight.{t} ORDER BY 1, 2" for t in ENGINE_TABLES)),
                strict=True,
            )
        }


def script_statements(script: str) -> list[str]:
    """The statements of the printed script, comments left out."""
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    return [part.strip() for part in code.split(";") if part.strip()]


@pytest.fixture(scope="module")
def county(postgres_module_database: str, tmp_path_factory) -> Iterator[Warehouse]:
    folder = tmp_path_factory.mktemp("least-privilege")
    tables = generate(size=0.05, seed=11).tables
    demo_run.build_warehouse(postgres_module_database, type("County", (), {"tables": tables})())
    role = f"ov_{uuid.uuid4().hex[:8]}"
    warehouse = Warehouse(postgres_module_database, role, folder)
    warehouse.dba(
        # What a careful DBA does first: nobody gets anything by default.
        f'REVOKE ALL ON DATABASE "{warehouse.database}" FROM PUBLIC',
        "REVOKE ALL ON SCHEMA public FROM PUBLIC",
        f'CREATE ROLE "{role}" LOGIN',
    )
    yield warehouse
    warehouse.dba(f'DROP OWNED BY "{role}" CASCADE')
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def granted(county: Warehouse) -> dict[str, Any]:
    """The script of `oversight grants`, run by the DBA; its JSON form, for the test."""
    policies = ["--policies", str(ROOT / "policies"), "--deployment", str(county.deployment)]
    outputs = {}
    for form in ("sql", "json"):
        completed = subprocess.run(
            ["python3", "-m", "engine", "grants", *policies, "--format", form],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        outputs[form] = completed.stdout
    statements = script_statements(outputs["sql"])
    assert not any(" CREATE" in s and s.startswith("GRANT") for s in statements), statements
    county.dba(*statements)
    return json.loads(outputs["json"])


@pytest.fixture(scope="module")
def policy_repo(tmp_path_factory) -> Path:
    """The pack committed in a git repository of its own, for `diff --against HEAD`."""
    folder = tmp_path_factory.mktemp("repo")
    shutil.copytree(ROOT / "policies", folder / "policies")
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
    for args in (["init", "-q", "-b", "main"], ["add", "policies"], ["commit", "-qm", "pack"]):
        subprocess.run(["git", *identity, *args], cwd=folder, check=True, capture_output=True)
    return folder / "policies"


def command_line(name: str, county: Warehouse, policy_repo: Path, as_of: str = AS_OF) -> list[str]:
    """How each command is called as the engine's role."""
    common = ["--deployment", str(county.deployment), "--policies", str(ROOT / "policies")]
    disposal = county.folder / "disposal.csv"
    disposal.write_text(
        "model_id,warning_key,verified_on,outcome,rectified_on,persons_disposed,funds_recovered\n",
        encoding="utf-8",
    )
    record = county.folder / "payment.json"
    record.write_text(
        json.dumps(
            {
                "payment_id": "ZF-LP-1",
                "township": "330122102",
                "payee_name": "桐庐县百江建设有限公司",
                "amount": 1000,
                "paid_on": "2021-08-20",
                "purpose": "村道硬化工程进度款",
                "contract_id": "HT2021-031",
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return {
        "run": ["run", "--as-of", as_of, *common],
        "sources": ["sources", "--as-of", AS_OF, *common],
        "score": ["score", "--period", "2021Q4", *common],
        # --disposal FILE: the file's records go in a temporary table (TEMPORARY ON DATABASE)
        "score --disposal": ["score", "--period", "2021Q4", "--disposal", str(disposal), *common],
        "report": [
            "report",
            "--period",
            "2021",
            "--output",
            str(county.folder / "r.html"),
            *common,
        ],
        "advise": ["advise", "--period", "2021", *common],
        "warnings": ["warnings", "--format", "json", *common],
        "diff": [
            "diff",
            "--against",
            "HEAD",
            "--as-of",
            AS_OF,
            "--deployment",
            str(county.deployment),
            "--policies",
            str(policy_repo),
        ],
        "precheck": ["precheck", "--source", "fin_payment", "--record", str(record), *common],
    }[name]


WORKS = {ExitCode.OK, ExitCode.WOULD_WARN, ExitCode.SOURCES_UNHEALTHY}
"""What a command that was let do its work may end with (precheck's 5, sources' 6)."""


def test_every_command_works_as_the_role_the_script_made(
    county: Warehouse, granted: dict[str, Any], policy_repo: Path, capsys
):
    for name in ("run", "sources", "score", "report", "advise", "warnings", "diff", "precheck"):
        code = main(command_line(name, county, policy_repo))
        _, err = capsys.readouterr()
        assert code in WORKS, (name, err)
    rows = county.engine_tables()
    assert rows["oversight_ledger"] and rows["oversight_runs"] and rows["oversight_prechecks"]
    # The role holds no CREATE anywhere: the engine's tables were made by the DBA.
    (held,) = county.dba(
        f"SELECT has_database_privilege('{county.role}', '{county.database}', 'CREATE'), "
        f"has_schema_privilege('{county.role}', 'oversight', 'CREATE'), "
        f"has_schema_privilege('{county.role}', 'public', 'CREATE')"
    )
    assert held == [(False, False, False)]


def test_the_service_works_as_the_role(county: Warehouse, granted: dict[str, Any]):
    import asyncio

    import httpx

    from engine.api import deployment_for, load_pack
    from engine.service.server import Service, create_app

    deployment = deployment_for(load_pack(ROOT / "policies"), county.deployment)
    service = Service(
        ROOT / "policies",
        str(deployment.warehouse),
        deployment=deployment,
        tokens={"t0ken": "百江镇财务系统"},
    )

    async def ask() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://oversight") as http:
            auth = {"authorization": "Bearer t0ken"}
            record = {
                "payment_id": "ZF-LP-2",
                "township": "330122102",
                "amount": 1000,
                "paid_on": "2021-08-20",
                "payee_name": "x",
                "purpose": "y",
                "contract_id": "z",
            }
            return [
                await http.get("/v1/health"),
                await http.get("/v1/models", headers=auth),
                await http.post(
                    "/v1/precheck",
                    json={"source": "fin_payment", "records": [record]},
                    headers=auth,
                ),
            ]

    health, models, answer = asyncio.run(ask())
    assert health.status_code == 200, health.text
    assert models.status_code == 200
    assert answer.status_code == 200, answer.text


def revoked(need: dict[str, Any], role: str) -> tuple[str, str]:
    """The REVOKE of one privilege of the script, and the GRANT that gives it back."""
    privilege = need["privilege"]
    kind, name = privilege["kind"].upper(), privilege["name"]
    target = f'"{name}"' if kind == "DATABASE" else name
    on = f"{privilege['action']} ON {kind} {target}"
    return f'REVOKE {on} FROM "{role}"', f'GRANT {on} TO "{role}"'


def test_without_any_one_privilege_the_command_names_it_and_writes_nothing(
    county: Warehouse, granted: dict[str, Any], policy_repo: Path, capsys
):
    assert main(command_line("run", county, policy_repo)) == ExitCode.OK  # a ledger to keep
    capsys.readouterr()
    tried = 0
    for need in granted["needs"]:
        commands = [c for c in need["commands"] if c != "serve"]
        if not commands:
            continue
        revoke, grant = revoked(need, county.role)
        command = commands[0]
        if need["privilege"]["action"] == "TEMPORARY":
            command = "score --disposal"
        # A later day each time: a run raises its warnings again, and moves their last_seen_on.
        as_of = (date(2022, 1, 1) + timedelta(days=2 * tried)).isoformat()
        if need["privilege"]["text"] == "INSERT ON TABLE oversight.oversight_ledger":
            county.dba("DELETE FROM oversight.oversight_ledger")  # so that a run has rows to add
        if need["privilege"]["text"] == "UPDATE ON TABLE oversight.oversight_ledger":
            day_before = (date.fromisoformat(as_of) - timedelta(days=1)).isoformat()
            assert main(command_line("run", county, policy_repo, day_before)) == ExitCode.OK
        capsys.readouterr()
        before = county.engine_tables()
        county.dba(revoke)
        try:
            code = main(command_line(command, county, policy_repo, as_of))
            _, err = capsys.readouterr()
        finally:
            county.dba(grant)
        text = need["privilege"]["text"]
        assert code == ExitCode.PERMISSION_DENIED, (text, command, code, err)
        assert text in err, (text, err)
        assert len(err.strip().splitlines()) == 1, err  # said once,
        assert "oversight grants" in err, err  # pointing at what a DBA runs
        assert "连接中断" not in err and "lost" not in err, err
        assert county.engine_tables() == before, text
        tried += 1
    assert tried >= 10


def test_a_schema_the_role_may_not_use_is_named_not_taken_for_missing_tables(
    county: Warehouse, granted: dict[str, Any], policy_repo: Path, capsys
):
    """Without USAGE on public its tables read as "no such table" to an unqualified name:
    every command that reads them must say that a privilege is missing, not skip or
    score without them."""
    before = county.engine_tables()
    revoke, grant = revoked(
        {"privilege": {"action": "USAGE", "kind": "schema", "name": "public"}}, county.role
    )
    county.dba(revoke)
    try:
        for name in ("run", "sources", "score", "report", "advise", "warnings", "precheck"):
            code = main(command_line(name, county, policy_repo, "2023-01-01"))
            _, err = capsys.readouterr()
            assert code == ExitCode.PERMISSION_DENIED, (name, code, err)
            assert "USAGE ON SCHEMA public" in err, (name, err)
    finally:
        county.dba(grant)
    assert county.engine_tables() == before


def test_a_run_without_temporary_reads_shared_relations_inline(
    county: Warehouse, granted: dict[str, Any], policy_repo: Path, capsys
):
    """The script grants TEMPORARY to run (its shared relations, engine/runs/shared.py); a
    role without it still runs, each model computing the relation itself, and says so."""
    temporary = [n for n in granted["needs"] if n["privilege"]["action"] == "TEMPORARY"]
    assert temporary and "run" in temporary[0]["commands"]
    manifests = {}
    for held in (True, False):
        manifest = county.folder / f"manifest-{held}.json"
        revoke, grant = revoked(temporary[0], county.role)
        if not held:
            county.dba(revoke)
        try:
            code = main(
                [
                    *command_line("run", county, policy_repo, "2023-02-01"),
                    "--no-ledger",
                    "--manifest",
                    str(manifest),
                ]
            )
            _, err = capsys.readouterr()
        finally:
            if not held:
                county.dba(grant)
        assert code == ExitCode.OK, err
        manifests[held] = json.loads(manifest.read_text(encoding="utf-8"))
        assert ("official_circle" in err) == (not held), err  # said once, when refused
    steps = {held: manifests[held]["shared_steps"] for held in manifests}
    assert [s["status"] for s in steps[True]] == ["made", "made"]
    assert [s["status"] for s in steps[False]] == ["refused", "refused"]
    assert manifests[True]["warnings"] == manifests[False]["warnings"]
    assert [m["warnings"] for m in manifests[True]["models"]] == [
        m["warnings"] for m in manifests[False]["models"]
    ]
