"""A run runs the reviewed files of compiled/ when they are current, and compiles otherwise.

The files and compiling give the same warnings; a rule edited since
`oversight compile --all`, a file edited by hand, a missing or garbled
fingerprint, a changed compiler, or a deployment's own table for a source a
model reads make the run compile instead — never run SQL that does not match
the rules. A deployment's own parameters are bound to the files' placeholders
(tests/demo/test_bound_parameters.py).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

import dsl
from adapters import connect
from engine import api
from engine.compiler import reviewed
from engine.demo import demo_run
from engine.runs.run import run_models

ROOT = Path(__file__).resolve().parents[2]
DAYS = (dt.date(2021, 3, 31), dt.date(2021, 9, 30), dt.date(2021, 12, 31))
COMPILED_AT_RUN = "compiled at run time"


@pytest.fixture(scope="module")
def county_url(small_county, tmp_path_factory) -> str:
    url = f"duckdb:///{tmp_path_factory.mktemp('reviewed') / 'county.duckdb'}"
    demo_run.build_warehouse(url, small_county)
    return url


@pytest.fixture
def copied_pack(tmp_path: Path) -> Path:
    """The repository's policies and compiled/ side by side in a folder of their own."""
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    shutil.copytree(ROOT / "compiled", tmp_path / "compiled")
    return tmp_path


def _run(pack, url: str, day: dt.date, **options):
    """A run without shared relations: a model reading one would compile at run time
    (tests/engine/test_shared_relations.py), and here the reviewed files are the subject."""
    warehouse = connect(url)
    try:
        return run_models(pack, warehouse, day, share=False, **options)
    finally:
        warehouse.close()


@pytest.mark.parametrize("dialect", ["duckdb", "sqlite", "postgres", "spark"])
def test_the_committed_files_are_current_for_every_warehouse_a_run_uses(pack, dialect):
    assert sorted(reviewed.reviewed_queries(pack, dialect)) == sorted(pack.models)


def test_the_reviewed_files_give_what_compiling_gives(pack, county_url):
    for day in DAYS:
        as_reviewed = _run(pack, county_url, day)
        as_compiled = _run(pack, county_url, day, reviewed=False)
        assert {o.sql for o in as_compiled.outcomes} == {COMPILED_AT_RUN}
        assert [o.sql for o in as_reviewed.outcomes] == [
            f"compiled/duckdb/{o.model_id}.sql" for o in as_reviewed.outcomes
        ]
        assert as_reviewed.warnings.num_rows > 0
        assert as_reviewed.warnings.equals(as_compiled.warnings), day


def test_a_rule_edited_since_compiling_is_compiled_at_run_time(copied_pack, county_url):
    rule = copied_pack / "policies" / "models" / "engineering" / "ENG01.rule"
    text = rule.read_text(encoding="utf-8")
    # Even a new comment: the run cannot tell cheaply what an edit changes, so it compiles.
    rule.write_text(text + "\n# 调整说明\n", encoding="utf-8")
    pack = api.load_pack(copied_pack / "policies")
    assert reviewed.reviewed_queries(pack, "duckdb") == {}
    result = _run(pack, county_url, DAYS[-1])
    assert {o.sql for o in result.outcomes} == {COMPILED_AT_RUN}
    assert not result.failed


def test_a_file_edited_by_hand_is_not_run(copied_pack, county_url):
    pack = api.load_pack(copied_pack / "policies")
    sql = copied_pack / "compiled" / "duckdb" / "FIN01.sql"
    text = sql.read_text(encoding="utf-8")
    # Once someone edits the SQL, what was reviewed is no longer what the rules say;
    # the file is not run, whatever the edit.
    sql.write_text(text.replace("SELECT\n", "SELECT DISTINCT\n", 1) + "\n", encoding="utf-8")
    queries = reviewed.reviewed_queries(pack, "duckdb")
    assert "FIN01" not in queries and len(queries) == len(pack.models) - 1
    result = _run(pack, county_url, DAYS[-1])
    sql_of = {o.model_id: o.sql for o in result.outcomes}
    assert sql_of["FIN01"] == COMPILED_AT_RUN and sql_of["FIN02"] == "compiled/duckdb/FIN02.sql"


@pytest.mark.parametrize("garbled", ["", "{", '{"inputs": 1}', '["files"]', None])
def test_a_missing_or_garbled_fingerprint_means_compiling(copied_pack, garbled):
    fingerprint = copied_pack / "compiled" / reviewed.FINGERPRINT
    if garbled is None:
        fingerprint.unlink()
    else:
        fingerprint.write_text(garbled, encoding="utf-8")
    pack = api.load_pack(copied_pack / "policies")
    assert reviewed.reviewed_queries(pack, "duckdb") == {}


@pytest.mark.parametrize(
    "changed",
    [
        "engine/compiler/compile.py",
        "engine/compiler/expressions.py",
        "engine/index/score.py",
        "dsl/check/expressions.py",
        "dsl/grammar.lark",
    ],
)
def test_a_changed_compiler_makes_compiled_out_of_date(pack, tmp_path, monkeypatch, changed):
    """The digest reads the compiler's files where the packages are: here, a copy of them."""
    shutil.copytree(ROOT / "dsl", tmp_path / "dsl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "engine" / "compiler", tmp_path / "engine" / "compiler")
    (tmp_path / "engine" / "index").mkdir()
    shutil.copy(ROOT / "engine" / "index" / "score.py", tmp_path / "engine" / "index")
    monkeypatch.setattr(dsl, "__file__", str(tmp_path / "dsl" / "__init__.py"))
    monkeypatch.setattr(reviewed, "__file__", str(tmp_path / "engine" / "compiler" / "reviewed.py"))
    before = reviewed.inputs_digest(pack)
    assert reviewed.inputs_digest(pack) == before
    with open(tmp_path / changed, "a", encoding="utf-8") as compiler:
        compiler.write("\n")
    assert reviewed.inputs_digest(pack) != before


def test_a_deployments_parameters_are_bound_and_its_tables_compiled_in(pack, county_url):
    """A county's own thresholds run the reviewed files; a table it maps compiles its readers."""
    threshold = _run(pack, county_url, DAYS[-1], parameters={"tender_threshold": 3000000})
    assert [o.sql for o in threshold.outcomes] == [
        f"compiled/duckdb/{o.model_id}.sql" for o in threshold.outcomes
    ]
    mapped = _run(pack, county_url, DAYS[-1], tables={"dr_project": "main.dr_project"})
    compiled_now = {o.model_id for o in mapped.outcomes if o.sql == COMPILED_AT_RUN}
    assert compiled_now == {m.id for m in pack.models.values() if "dr_project" in m.sources}
    assert compiled_now and len(compiled_now) < len(mapped.outcomes)
    for result in (threshold, mapped):
        assert not result.failed
