"""`oversight grants`: the script a DBA runs really makes a role that can do what it needs.

On PostgreSQL a role is made with CREATE ROLE … LOGIN and nothing else, the printed
script is run as the superuser (twice: it can be run again), and `grants --check`
connecting as that role finds everything held; one SELECT revoked, the check names the
table and the models reading it and exits 8. DuckDB and SQLite get what their files
need, said plainly.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlglot
from county_fixture import fill_county

from adapters import connect
from adapters.privileges import Privilege, files_missing, missing
from dsl import ir
from engine import access
from engine.cli import main
from engine.exit_codes import ExitCode
from engine.policy.deployment import Deployment, load_deployment
from engine.runs import ledger
from engine.runs.run import select_models
from engine.schema import source_schema


def _psql() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))
    return found[-1] if found else None


def _admin(url: str, *statements: str) -> None:
    import adbc_driver_postgresql.dbapi as postgres

    with postgres.connect(url, autocommit=True) as connection, connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def readers(pack: ir.CheckedPack, source: str) -> list[str]:
    return sorted(m.id for m in select_models(pack) if source in m.sources)


@pytest.fixture
def county(postgres_database: str, pack: ir.CheckedPack, townships: list[dict]) -> Iterator[dict]:
    """Every source in public, dr_project in a schema of its own (ods.fgw_project), a bare role."""
    fill_county(postgres_database, pack, townships)
    _admin(postgres_database, "CREATE SCHEMA ods", "DROP TABLE dr_project")
    warehouse = connect(postgres_database)
    try:
        schema = source_schema(pack.pack.sources["dr_project"])
        warehouse.load("ods.fgw_project", schema.empty_table())
    finally:
        warehouse.close()
    role = f"ov_{uuid.uuid4().hex[:8]}"
    _admin(postgres_database, f'CREATE ROLE "{role}" LOGIN')
    try:
        yield {
            "admin": postgres_database,
            "role": role,
            "url": postgres_database.replace("postgres@", f"{role}@", 1),
        }
    finally:
        _admin(postgres_database, f'DROP OWNED BY "{role}"')
        _admin(postgres_database, f'DROP ROLE "{role}"')


def _deployment(tmp_path: Path, url: str, ledger_schema: str | None = "oversight") -> Path:
    path = tmp_path / "deployment.yaml"
    lines = [f"warehouse: {url}", "tables:", "  dr_project: ods.fgw_project"]
    if ledger_schema:
        lines.append(f"ledger_schema: {ledger_schema}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _printed(capsys, *args: str) -> tuple[int, str]:
    code = main(["grants", *args])
    return code, capsys.readouterr().out


def _run_script(admin: str, script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """The script as a DBA runs it: psql, stopping at the first error."""
    psql = _psql()
    if psql is None:
        pytest.skip("no psql")
    path = tmp_path / "grants.sql"
    path.write_text(script, encoding="utf-8")
    return subprocess.run(
        [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", admin, "-f", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def granted(county: dict, tmp_path: Path, capsys) -> dict:
    """The county with the printed script run, as a DBA would, and the deployment's path."""
    deployment = _deployment(tmp_path, county["url"])
    code, script = _printed(capsys, "--deployment", str(deployment))
    assert code == ExitCode.OK
    done = _run_script(county["admin"], script, tmp_path)
    assert done.returncode == 0, done.stderr
    return {**county, "deployment": deployment, "script": script}


def test_the_script_runs_on_postgres_and_again(granted: dict, tmp_path: Path):
    again = _run_script(granted["admin"], granted["script"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert "CREATE ROLE" not in [
        line for line in granted["script"].splitlines() if line[:2] != "--"
    ]


def test_a_role_made_from_the_script_holds_everything(granted: dict, pack, capsys):
    code, out = _printed(capsys, "--deployment", str(granted["deployment"]), "--check",
                         "--format", "json")  # fmt: skip
    found = json.loads(out)
    assert code == ExitCode.OK, found["missing"]
    assert found["ok"] and found["missing"] == [] and found["role"] == granted["role"]
    assert all(m["can_run"] for m in found["models"])
    assert len(found["models"]) == len(select_models(pack))
    ledger_row = next(t for t in found["engine_tables"] if t["table"] == "ledger")
    assert ledger_row == {
        "table": "ledger",
        "name": "oversight.oversight_ledger",
        "exists": True,
        "read": True,
        "insert": True,
        "update": True,
    }
    fgw = next(s for s in found["source_tables"] if s["table"] == "ods.fgw_project")
    assert fgw["sources"] == ["dr_project"] and fgw["read"] is True
    assert fgw["models"] == readers(pack, "dr_project")


def test_the_role_can_run_and_record(granted: dict, tmp_path: Path):
    """What the script grants is what a run needs: the ledger written by the role itself."""
    deployment = str(granted["deployment"])
    assert main(["run", "--as-of", "2021-12-31", "--deployment", deployment]) == ExitCode.OK
    assert main(["sources", "--as-of", "2021-12-31", "--deployment", deployment]) in (
        ExitCode.OK,
        ExitCode.SOURCES_UNHEALTHY,  # the tables are empty: stale, but read
    )
    warehouse = connect(granted["admin"])
    try:
        runs = warehouse.query('SELECT count(*) AS n FROM "oversight"."oversight_runs"')
    finally:
        warehouse.close()
    assert runs.column("n")[0].as_py() == 1


def test_the_role_can_precheck_and_leave_its_audit_row(granted: dict, tmp_path: Path):
    record = {"bid_id": "B1", "tender_id": "T1", "bidder_code": "C1", "bidder_name": "甲公司",
              "amount": 100000, "submitted_at": "2021-12-01T09:00:00"}  # fmt: skip
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    args = ["precheck", "--source", "trade_bid", "--record", str(path), "--as-of", "2021-12-31"]
    code = main([*args, "--deployment", str(granted["deployment"]), "--format", "json"])
    assert code in (ExitCode.OK, ExitCode.WOULD_WARN)
    warehouse = connect(granted["admin"])
    try:
        audit = warehouse.query('SELECT caller FROM "oversight"."oversight_prechecks"')
    finally:
        warehouse.close()
    assert audit.num_rows == 1


def test_a_revoked_select_names_its_table_and_models(granted: dict, pack, capsys):
    _admin(granted["admin"], f'REVOKE SELECT ON public.trade_bid FROM "{granted["role"]}"')
    args = ["--deployment", str(granted["deployment"]), "--check"]
    code, out = _printed(capsys, *args, "--format", "json")
    assert code == ExitCode.PERMISSION_DENIED
    found = json.loads(out)
    assert [p["text"] for p in found["missing"]] == ["SELECT ON TABLE public.trade_bid"]
    blocked = sorted(m["model"] for m in found["models"] if not m["can_run"])
    assert blocked == readers(pack, "trade_bid") and blocked
    row = next(s for s in found["source_tables"] if s["table"] == "public.trade_bid")
    assert row["read"] is False and row["exists"] is True
    run = next(c for c in found["commands"] if c["command"] == "run")
    assert [p["text"] for p in run["missing"]] == ["SELECT ON TABLE public.trade_bid"]
    setup = load_deployment(granted["deployment"], pack.pack)
    warehouse = connect(granted["url"])
    try:
        for_run = access.lacking(warehouse, pack, setup, granted["url"], "run")
        for_warnings = access.lacking(warehouse, pack, setup, granted["url"], "warnings")
    finally:
        warehouse.close()
    assert [n.privilege.text() for n in for_run or []] == ["SELECT ON TABLE public.trade_bid"]
    assert for_run[0].models == tuple(blocked) and for_warnings == []
    code, text = _printed(capsys, *args)
    assert code == ExitCode.PERMISSION_DENIED
    assert "SELECT ON TABLE public.trade_bid" in text
    for model in blocked:
        assert model in text
    assert "oversight grants" in text


def test_a_schema_without_usage_is_answered_not_raised(granted: dict, pack, capsys):
    """has_table_privilege by OID: a table behind a schema the role may not use is still told."""
    _admin(granted["admin"], f'REVOKE USAGE ON SCHEMA ods FROM "{granted["role"]}"')
    code, out = _printed(capsys, "--deployment", str(granted["deployment"]), "--check",
                         "--format", "json")  # fmt: skip
    assert code == ExitCode.PERMISSION_DENIED
    found = json.loads(out)
    assert [p["text"] for p in found["missing"]] == ["USAGE ON SCHEMA ods"]
    blocked = sorted(m["model"] for m in found["models"] if not m["can_run"])
    assert blocked == readers(pack, "dr_project")


def test_a_missing_source_table_is_not_a_missing_privilege(granted: dict, pack, capsys):
    _admin(granted["admin"], "DROP TABLE public.trade_bid")
    code, out = _printed(capsys, "--deployment", str(granted["deployment"]), "--check",
                         "--format", "json")  # fmt: skip
    found = json.loads(out)
    assert code == ExitCode.OK and found["missing"] == []
    row = next(s for s in found["source_tables"] if s["table"] == "public.trade_bid")
    assert row["exists"] is False and row["read"] is None
    bid = [m for m in found["models"] if m["model"] in readers(pack, "trade_bid")]
    assert bid and all(m["absent_tables"] == ["public.trade_bid"] for m in bid)


def test_an_engine_table_not_made_needs_create(county: dict, tmp_path: Path, pack, capsys):
    """Without the DBA's script the role would have to make the schema: CREATE is missing."""
    grants = [f'GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO "{county["role"]}"'
              for s in ("public", "ods")]  # fmt: skip
    _admin(county["admin"], *grants, f'GRANT USAGE ON SCHEMA ods TO "{county["role"]}"')
    deployment = _deployment(tmp_path, county["url"])
    code, out = _printed(capsys, "--deployment", str(deployment), "--check", "--format", "json")
    found = json.loads(out)
    assert code == ExitCode.PERMISSION_DENIED
    database = county["admin"].rsplit("/", 1)[1]
    assert [p["text"] for p in found["missing"]] == [f"CREATE ON DATABASE {database}"]
    assert all(not t["exists"] for t in found["engine_tables"])
    assert all(m["can_run"] for m in found["models"])


def test_a_role_refused_connect_is_told_which_privilege_it_lacks(county: dict, tmp_path, capsys):
    """libpq's refusal at login reaches the ADBC driver without a SQLSTATE; the same role,
    on the server's postgres database, asks the catalog: exit 8, CONNECT named."""
    database = county["admin"].rsplit("/", 1)[1]
    _admin(county["admin"], f'REVOKE CONNECT ON DATABASE "{database}" FROM PUBLIC')
    deployment = _deployment(tmp_path, county["url"])
    code = main(["grants", "--deployment", str(deployment), "--check"])
    assert code == ExitCode.PERMISSION_DENIED
    assert f"CONNECT ON DATABASE {database}" in capsys.readouterr().err


def test_an_unreachable_warehouse_exits_3(tmp_path: Path):
    url = "postgresql://ov@127.0.0.1:1/county"
    assert main(["grants", "--warehouse", url, "--check"]) == ExitCode.WAREHOUSE_UNREACHABLE


# ---- the script and its JSON, without a connection ---------------------------------------------


def _sql_of(script: str) -> list[str]:
    body = "\n".join(line for line in script.splitlines() if not line.startswith("--"))
    return [s.strip().removesuffix(";") for s in body.split(";\n") if s.strip()]


def test_the_postgres_script_and_its_json_say_the_same(tmp_path: Path, pack, capsys):
    deployment = _deployment(tmp_path, "postgresql://ov:secret@db.county/county")
    code, script = _printed(capsys, "--deployment", str(deployment))
    assert code == ExitCode.OK
    code, out = _printed(capsys, "--deployment", str(deployment), "--format", "json")
    document = json.loads(out)
    assert [s["sql"] for s in document["statements"]] == _sql_of(script)
    assert "secret" not in script and "secret" not in out
    for sql in _sql_of(script):
        assert sqlglot.parse_one(sql, read="postgres") is not None
    assert document["role"] == "ov" and document["database"] == "county"
    assert 'GRANT SELECT ON TABLE "ods"."fgw_project" TO "ov";' in script
    assert 'GRANT SELECT, INSERT, UPDATE ON TABLE "oversight"."oversight_ledger" TO "ov";' in script
    assert 'GRANT SELECT, INSERT ON TABLE "oversight"."oversight_runs" TO "ov";' in script
    assert 'GRANT INSERT ON TABLE "oversight"."oversight_prechecks" TO "ov";' in script
    for name in ledger.ENGINE_TABLES:
        assert f'CREATE TABLE IF NOT EXISTS "oversight"."{name}"' in script
    texts = {n["privilege"]["text"] for n in document["needs"]}
    assert "SELECT ON TABLE ods.fgw_project" in texts and "CONNECT ON DATABASE county" in texts
    readers_of = next(n for n in document["needs"] if n["sources"] == ["dr_project"])
    assert readers_of["models"] == readers(pack, "dr_project")
    # The engine reads every catalog source when it checks the sources' health.
    assert {n["sources"][0] for n in document["needs"] if n["sources"]} == set(pack.pack.sources)


def test_without_a_ledger_schema_the_script_says_where_the_tables_go(tmp_path: Path, capsys):
    deployment = _deployment(tmp_path, "postgresql://ov@db/county", ledger_schema=None)
    code, script = _printed(capsys, "--deployment", str(deployment), "--role", "监督")
    assert code == ExitCode.OK
    assert "ledger_schema: oversight" in script and "(public)" in script
    assert 'CREATE TABLE IF NOT EXISTS "public"."oversight_ledger"' in script
    assert 'TO "监督";' in script and "CREATE SCHEMA" not in _sql_of(script)[0]


def test_a_url_without_a_user_needs_role(tmp_path: Path):
    assert main(["grants", "--warehouse", "postgresql://db/county"]) == ExitCode.USAGE


@pytest.mark.parametrize("kind", ["duckdb", "sqlite"])
def test_an_embedded_warehouse_gets_what_its_file_needs(kind: str, tmp_path: Path, capsys):
    path = tmp_path / f"county.{kind}"
    code, script = _printed(capsys, "--warehouse", f"{kind}:///{path}")
    assert code == ExitCode.OK
    assert all(line.startswith("--") or not line for line in script.splitlines())
    assert f"READ ON FILE {path}" in script and f"WRITE ON FILE {path}" in script
    assert f"WRITE ON FOLDER {tmp_path}" in script
    assert "cannot be limited to a schema" in script and "GRANT " not in script
    assert (".wal" if kind == "duckdb" else "-journal") in script
    code, out = _printed(capsys, "--warehouse", f"{kind}:///{path}", "--format", "json")
    document = json.loads(out)
    assert [n["privilege"]["text"] for n in document["needs"]] == [
        f"READ ON FILE {path}",
        f"WRITE ON FILE {path}",
        f"WRITE ON FOLDER {tmp_path}",
    ]
    lines = [f"-- {c}" for s in document["statements"] for c in s["comment"]]
    assert all(line in script.splitlines() for line in lines)


def test_a_read_only_file_is_offered_a_dry_run(tmp_path: Path, capsys):
    _, sqlite = _printed(capsys, "--warehouse", f"sqlite:///{tmp_path / 'c.sqlite'}")
    _, duck = _printed(capsys, "--warehouse", f"duckdb:///{tmp_path / 'c.duckdb'}")
    for script in (sqlite, duck):
        assert "give read only and use oversight run --no-ledger" in script
    assert "run --no-ledger only reads" in duck


def test_check_on_a_duckdb_file_this_process_may_write(duckdb_warehouse, capsys):
    url = duckdb_warehouse({"trade_bid": []})
    code, out = _printed(capsys, "--warehouse", url, "--check", "--format", "json")
    assert code == ExitCode.OK and json.loads(out)["missing"] == []


# ---- missing(): what the file system refuses, and warehouses that cannot tell ------------------


def test_a_read_only_file_refuses_the_writes(tmp_path: Path, monkeypatch):
    """As the operating system answers an account that may only read (root may do anything)."""
    path = tmp_path / "county.duckdb"
    path.write_bytes(b"")
    wanted = [
        Privilege("READ", "file", str(path)),
        Privilege("WRITE", "file", str(path)),
        Privilege("WRITE", "folder", str(tmp_path)),
        Privilege("SELECT", "table", "trade_bid"),
        Privilege("INSERT", "table", "oversight_ledger"),
    ]
    monkeypatch.setattr(os, "access", lambda target, mode: not mode & os.W_OK)
    assert files_missing(str(path), wanted) == [wanted[1], wanted[2], wanted[4]]
    gone = [Privilege("WRITE", "file", str(tmp_path / "no.duckdb"))]
    assert files_missing(str(path), gone) == []
    assert files_missing(":memory:", wanted) == []


class _Elsewhere:
    dialect = "spark"
    url = "spark:///warehouse"


def test_a_warehouse_that_cannot_tell_says_none():
    assert missing(_Elsewhere(), [Privilege("SELECT", "table", "trade_bid")]) is None  # type: ignore[arg-type]


def test_needs_follow_the_deployments_table_names(pack):
    deployment = Deployment(tables={"trade_bid": "ods.bids"}, ledger_schema="ov_ledger")
    found = access.needs(pack, deployment, "postgres", "postgresql://ov@db/county")
    texts = [n.privilege.text() for n in found]
    assert "SELECT ON TABLE ods.bids" in texts and "SELECT ON TABLE public.trade_bid" not in texts
    assert texts.index("USAGE ON SCHEMA ods") < texts.index("SELECT ON TABLE ods.bids")
    ledger_needs = [n for n in found if n.engine_table == "ledger"]
    assert [n.privilege.action for n in ledger_needs] == ["SELECT", "INSERT", "UPDATE"]
    assert ledger_needs[1].commands == ("run",)
    audit = next(n for n in found if n.engine_table == "prechecks")
    assert audit.privilege.text() == "INSERT ON TABLE ov_ledger.oversight_prechecks"
    assert audit.commands == ("precheck", "serve")
