"""README's first ten minutes: `oversight demo`, then every command of README's table as typed.

In a fresh folder holding only the pack, with no --warehouse anywhere: the demo
builds the default warehouse, so the commands after it find it. Running the
demo again after other runs says exactly what it said the first time.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import httpx
import pytest

from engine import api
from engine.cli import main
from engine.exit_codes import ExitCode
from engine.service.server import Service, create_app

ROOT = Path(__file__).resolve().parents[2]
SIZE = "0.05"

# README's table of commands, each as a person types it after the demo (required values filled).
# `check --against` is `check` and more; `compile --all` (tests/engine/test_compiled.py) is left
# out for time: it compiles every model for all twelve dialects.
AS_TYPED = [
    "check --against HEAD",
    "fmt --check",
    "compile --dialect duckdb",
    "run --as-of 2022-06-30",
    "explain ENG01",
    "score --period 2021Q4",
    "report --period 2021",
    "advise --period 2021",
    "sources --as-of 2021-12-31",  # every interface fed: exit 0
    "param list",
    "param set tender_threshold 4000000",
    "diff --against HEAD --as-of 2021-12-31",
    "warnings --township 分水镇",
    "precheck --source fin_payment --record 待审付款.json",  # a small payment: nothing to say
    "grants --check",  # the demo's file can be read and written: exit 0
]

PENDING_PAYMENT = {
    "payment_id": "ZF2021120002",
    "township": "330122102",
    "payer_unit": "分水镇人民政府",
    "payee_name": "桐庐县分水建设有限公司",
    "amount": "8,600.00",
    "paid_on": "2021-12-20",
    "purpose": "办公用品",
}


@pytest.fixture
def fresh_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a copy of the pack under git, as the working directory; no settings."""
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    monkeypatch.chdir(tmp_path)
    for name in ("OVERSIGHT_WAREHOUSE", "OVERSIGHT_POLICIES"):
        monkeypatch.delenv(name, raising=False)
    if shutil.which("git") is None:
        pytest.skip("git is needed for --against")
    identity = ["-c", "user.name=demo", "-c", "user.email=demo@example.org"]
    for args in (["init", "-q"], ["add", "policies"], [*identity, "commit", "-qm", "pack"]):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)
    return tmp_path


def demo_summary(capsys) -> dict:
    assert main(["demo", "--size", SIZE, "--format", "json"]) == ExitCode.OK
    facts = json.loads(capsys.readouterr().out)
    facts.pop("seconds")
    return facts


def readme_commands() -> set[str]:
    """The command words of README's table: check, fmt, compile, run, param, …."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("## Commands", 1)[1].split("\n\n", 2)[1]
    return set(re.findall(r"`oversight ([a-z]+)", table))


def readme_next_steps() -> list[str]:
    """The commands README shows right after the demo (its first ```sh block after it)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("The demo builds `oversight.duckdb`", 1)[1].split("```sh\n", 1)[1]
    lines = block.split("```", 1)[0].splitlines()
    return [line.split("#", 1)[0].split(None, 1)[1].strip() for line in lines]


def test_demo_then_every_command_of_the_readme_as_typed(fresh_folder: Path, capsys):
    first = demo_summary(capsys)
    assert first["warehouse"] == "duckdb:///oversight.duckdb"
    assert (fresh_folder / "oversight.duckdb").exists()
    assert {c.split()[0] for c in AS_TYPED} | {"demo"} == readme_commands()
    next_steps = readme_next_steps()
    assert next_steps[0] == "run --as-of 2021-12-31" and len(next_steps) == 5
    pending = json.dumps(PENDING_PAYMENT, ensure_ascii=False)
    (fresh_folder / "待审付款.json").write_text(pending, encoding="utf-8")
    for command in [*next_steps, *AS_TYPED]:
        code = main(command.split())
        captured = capsys.readouterr()
        assert code == ExitCode.OK, f"oversight {command}: exit {code}\n{captured.err}"
        assert "Traceback" not in captured.err
    # The run at another day added to the ledger; the demo starts again from an empty one.
    assert demo_summary(capsys) == first


def readme_curl() -> tuple[dict, dict]:
    """The body README's `curl` posts to `oversight serve`, and the answer README shows."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Before approval: the operation wing", 1)[1]
    body = section.split("-d '", 1)[1].split("'\n", 1)[0]
    answer = section.split("```json\n", 1)[1].split("```", 1)[0]
    return json.loads(body), json.loads(answer)


def test_the_readme_curl_after_the_demo_answers_as_the_readme_shows(fresh_folder: Path, capsys):
    demo_summary(capsys)
    body, shown = readme_curl()
    service = Service(fresh_folder / "policies", "duckdb:///oversight.duckdb")

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(service), client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://local") as http:
            return await http.post("/v1/precheck", json=body)

    try:
        answer = asyncio.run(post())
    finally:
        service.pool.close()
    assert answer.status_code == 200
    got = answer.json()
    for fact in ("source", "as_of", "records", "models", "skipped", "pack_version"):
        assert got[fact] == shown[fact], fact
    assert got["pack_version"] == api.load_pack(fresh_folder / "policies").pack.version
    # README shortens each warning to the fields a reader needs; those are exactly the answer's.
    assert [{k: w[k] for k in shown["warnings"][0]} for w in got["warnings"]] == shown["warnings"]


def test_the_demo_replaces_nothing_it_did_not_build(fresh_folder: Path, capsys):
    with duckdb.connect(str(fresh_folder / "oversight.duckdb")) as county:
        county.execute("CREATE TABLE dr_project (project_id VARCHAR)")
        county.execute("INSERT INTO dr_project VALUES ('the county''s own')")
    assert main(["demo", "--size", SIZE]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "the demo did not build (dr_project)" in err and "--warehouse" in err
    with duckdb.connect(str(fresh_folder / "oversight.duckdb")) as county:
        assert county.sql("SELECT * FROM dr_project").fetchall() == [("the county's own",)]
        assert county.sql("SELECT count(*) FROM information_schema.tables").fetchone() == (1,)
