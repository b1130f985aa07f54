"""Any word a warehouse reserves may name a table alias or a let: `check` passes, so it runs.

A rule that calls its alias `order` or its let `limit` passes `check`; it
must then compile for every warehouse and run (issue 13). The engine quotes
every name it writes (adapters/names.quote_identifiers). Here every reserved
word that sqlglot knows for the twelve dialects, and those DuckDB lists as
not unreserved, is a table alias in one model and a let in another. The pack
is checked with its examples, every model is compiled for every dialect and
parsed back, and the pack runs on DuckDB, SQLite and PostgreSQL, which give
the same warnings.

Words the rule language itself reserves where an alias or a let name
stands are left out (`from dr_project where` has no alias); the first test
shows that a rule cannot use them there.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from itertools import pairwise
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from adapters import connect
from adapters.names import statement, table_named
from dsl import ir
from dsl.diagnostics import Severity
from engine import api
from engine.compiler.compile import DIALECTS, Target, compile_model, parses_back
from engine.runs.run import run_models
from engine.schema import source_schema

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2021, 11, 15)

# Words the rule language reads as its own where an alias stands (`from dr_project where`,
# `left join ref_township on`) or where a let is read (`not`, `exists(`, `case when`, the
# literals; an alias is read there too, in `case.township`).
NOT_ALIASES = frozenset(
    ("case", "exists", "false", "from", "group", "having", "join", "key", "left", "not", "null",
     "on", "select", "status", "true", "where")
)  # fmt: skip
NOT_LETS = frozenset(("case", "exists", "not", "true", "false", "null"))

# PostgreSQL's keywords that may not stand everywhere a name does ("column name" keywords)
# and that neither sqlglot nor DuckDB lists; test_postgres_keywords_are_all_covered checks
# the running server's list against WORDS.
_POSTGRES_ONLY = ("greatest", "least", "normalize")


def _reserved_words() -> list[str]:
    """sqlglot's keywords and reserved words of the twelve dialects, and DuckDB's own list."""
    name = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
    words: set[str] = set(_POSTGRES_ONLY)
    for dialect in DIALECTS:
        known = Dialect.get_or_raise(dialect)
        words |= {k.lower() for k in known.tokenizer_class.KEYWORDS if name.fullmatch(k)}
        words |= {w.lower() for w in known.generator_class.RESERVED_KEYWORDS}
    listed = "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category <> 'unreserved'"
    words |= {row[0] for row in duckdb.sql(listed).fetchall()}
    return sorted(words)


WORDS = _reserved_words()
ALIAS_WORDS = [w for w in WORDS if w not in NOT_ALIASES]
LET_WORDS = [w for w in WORDS if w not in NOT_LETS]

# The rows every model is run on: P1 alone fires a plain model; both townships fire a
# grouped one (P3's township through its tender). Its near-miss example gives P2 alone.
ROWS: dict[str, list[dict]] = {
    "dr_project": [
        {"project_id": "P1", "township": "330122102", "name": "农村自来水工程",
         "investment": 88320000, "approved_on": date(2021, 4, 20), "status": "在建"},
        {"project_id": "P2", "township": "330122102", "name": "村道提升改造工程",
         "investment": 100, "approved_on": date(2021, 4, 20), "status": "在建"},
        {"project_id": "P3", "township": "330122103", "name": "污水管网工程",
         "investment": 50000000, "approved_on": date(2021, 5, 1), "status": "在建"},
    ],
    "ref_township": [
        {"township": "330122102", "name": "分水镇", "kind": "镇"},
        {"township": "330122103", "name": "瑶琳镇", "kind": "镇"},
    ],
    "trade_tender": [
        {"tender_id": "T3", "project_id": "P3", "township": "330122103", "method": "公开招标",
         "published_on": date(2021, 6, 1)},
    ],
}  # fmt: skip
NEAR_MISS = {"dr_project": ROWS["dr_project"][1:2]}
PER_MODEL = 6  # words per model in each role: a join per alias, a let per let word


def _given(rows_by_source: dict[str, list[dict]]) -> str:
    def value(v: object) -> str:
        return f'"{v}"' if isinstance(v, str) else str(v)

    return "".join(
        f"    given {source} {{ {', '.join(f'{k}: {value(v)}' for k, v in row.items())} }}\n"
        for source, rows in rows_by_source.items()
        for row in rows
    )


def _examples(fired: list[str]) -> str:
    expects = "".join(f'    expect "{key}"\n' for key in fired)
    return (
        f'  example "fires" {{\n    as_of {AS_OF}\n{_given(ROWS)}{expects}  }}\n'
        f'  example "near miss" {{\n    as_of {AS_OF}\n{_given(NEAR_MISS)}    expect none\n  }}\n'
    )


def _plain_model(model_id: str, aliases: list[str], lets: list[str]) -> str:
    """Aliases on the project, on joined townships and in `not exists`; a chain of lets."""
    project, joined, tender = aliases[0], aliases[1:-1], aliases[-1]
    lines = [f'model {model_id} "保留字" {{', "  domain 工程管理", "  severity red"]
    lines.append(f"  from dr_project {project}")
    lines += [f"  left join ref_township {j} on {j}.township = {project}.township" for j in joined]
    lines.append(f"  let {lets[0]} = {project}.investment / 10000")
    lines += [f"  let {cur} = {prev} + 1" for prev, cur in pairwise(lets)]
    lines.append(
        f"  where {lets[0]} >= 400 and not exists(trade_tender {tender} "
        f"where {tender}.project_id = {project}.project_id)"
    )
    lines += [f"  key {project}.project_id", f"  township {project}.township"]
    holes = [*lets, *(f"{j}.name" for j in joined)]
    lines.append('  message "' + "/".join("{" + h + "}" for h in holes) + '"')
    return "\n".join(lines) + "\n" + _examples(["P1"]) + "}\n"


def _grouped_model(model_id: str, aliases: list[str], lets: list[str]) -> str:
    """The same aliases in a grouped model: a row let, an aggregate, lets over the groups."""
    project, joined, tender = aliases[0], aliases[1:-1], aliases[-1]
    lines = [f'model {model_id} "保留字" {{', "  domain 工程管理", "  severity red"]
    lines.append(f"  from dr_project {project}")
    lines += [f"  left join ref_township {j} on {j}.township = {project}.township" for j in joined]
    lines.append(f"  let {lets[0]} = {project}.investment / 10000")
    lines.append(f"  let {lets[1]} = sum(1 * {lets[0]})")  # `sum(distinct)` would read DISTINCT
    tenders = (
        f"(from trade_tender {tender} where {tender}.township = {project}.township select count(*))"
    )
    lines += [f"  let {cur} = {prev} + {tenders}" for prev, cur in pairwise(lets[1:])]
    lines.append(f"  group by {project}.township" + "".join(f", {j}.name" for j in joined))
    lines += [f"  having {lets[-1]} >= 400", f"  key {project}.township"]
    lines.append(f"  township {project}.township")
    holes = [*lets[1:], *(f"{j}.name" for j in joined)]
    lines.append('  message "' + "/".join("{" + h + "}" for h in holes) + '"')
    return "\n".join(lines) + "\n" + _examples(["330122102", "330122103"]) + "}\n"


def _chunks(words: list[str], count: int) -> list[list[str]]:
    """`count` lists of PER_MODEL words, every word in one; the last padded with plain names."""
    padded = words + [f"filler_{i}" for i in range(count * PER_MODEL - len(words))]
    return [padded[i * PER_MODEL : (i + 1) * PER_MODEL] for i in range(count)]


def _write_pack(root: Path) -> dict[str, list[str]]:
    """The pack of keyword models under `root`; returns each model's expected warning keys."""
    root.mkdir(parents=True)
    shutil.copy(ROOT / "policies" / "pack.yaml", root / "pack.yaml")
    count = -(-max(len(ALIAS_WORDS), len(LET_WORDS)) // PER_MODEL)
    aliases, lets = _chunks(ALIAS_WORDS, count), _chunks(LET_WORDS, count)
    expected: dict[str, list[str]] = {}
    for i in range(count):
        # A model's lets come from the other half of the alphabet: never one of its aliases.
        model_lets = lets[(i + count // 2) % count]
        model_id = f"KW{chr(ord('A') + i // 100)}{i % 100:02d}"
        grouped = i % 2 == 1
        write = _grouped_model if grouped else _plain_model
        (root / f"{model_id}.rule").write_text(write(model_id, aliases[i], model_lets), "utf-8")
        expected[model_id] = ["330122102", "330122103"] if grouped else ["P1"]
    return expected


@pytest.fixture(scope="module")
def keyword_pack(tmp_path_factory) -> tuple[Path, dict[str, list[str]]]:
    root = tmp_path_factory.mktemp("reserved") / "policies"
    return root, _write_pack(root)


@pytest.fixture(scope="module")
def checked(keyword_pack) -> ir.CheckedPack:
    root, _ = keyword_pack
    return api.load_pack(root, examples=True)


def _probe(alias: str, let: str) -> str:
    """One model with an alias and a let, and an example that it fires."""
    return _plain_model("KWX01", [alias, "t"], [let])


@pytest.mark.parametrize(
    ("role", "word"),
    [("alias", w) for w in sorted(NOT_ALIASES)] + [("let", w) for w in sorted(NOT_LETS)],
)
def test_the_words_left_out_cannot_name_that_in_a_rule(tmp_path: Path, role: str, word: str):
    shutil.copy(ROOT / "policies" / "pack.yaml", tmp_path / "pack.yaml")
    rule = _probe(word, "amount") if role == "alias" else _probe("p", word)
    (tmp_path / "KWX01.rule").write_text(rule, encoding="utf-8")
    report = api.check(tmp_path)
    # Refused by the parser or checker, or (a let called `null`) read as the literal, so
    # the example that the model fires fails.
    assert not report.ok, [d.code for d in report.diagnostics]


def test_every_word_is_an_alias_and_a_let(keyword_pack):
    root, _ = keyword_pack
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(root.glob("*.rule")))
    assert len(WORDS) > 800
    for word in ALIAS_WORDS:
        assert re.search(rf"(dr_project|ref_township|trade_tender) {word}[\n ]", text), word
    for word in LET_WORDS:
        assert f"  let {word} = " in text, word


def test_the_pack_passes_check_with_its_examples(keyword_pack):
    root, _ = keyword_pack
    report = api.check(root)
    # W320 (a hole that may be null: the left-joined names) is a warning, not a failure
    assert report.ok
    assert {d.code for d in report.diagnostics if d.severity is not Severity.WARNING} == set()
    assert len(report.examples) == 2 * len(list(root.glob("*.rule")))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_model_compiles_and_parses_back(checked: ir.CheckedPack, dialect: str):
    for model in checked.models.values():
        sql = compile_model(model, checked, Target(dialect, AS_OF)).sql(pretty=True)
        assert parses_back(sql, dialect), (model.id, sql)


def _warnings_on(url: str, pack: ir.CheckedPack) -> list[tuple]:
    warehouse = connect(url)
    try:
        for name, rows in ROWS.items():
            table = pa.Table.from_pylist(rows, schema=source_schema(pack.pack.sources[name]))
            warehouse.load(name, table, replace=True)
        result = run_models(pack, warehouse, AS_OF)
    finally:
        warehouse.close()
    assert [(o.model_id, o.error) for o in result.outcomes if o.status != "ran"] == []
    return sorted(
        (w["model_id"], w["warning_key"], w["township"], w["message"])
        for w in result.warnings.to_pylist()
    )


@pytest.fixture(scope="module")
def on_duckdb(checked: ir.CheckedPack, tmp_path_factory) -> list[tuple]:
    return _warnings_on(f"duckdb:///{tmp_path_factory.mktemp('duck') / 'w.duckdb'}", checked)


def test_duckdb_gives_the_warnings_the_examples_expect(keyword_pack, on_duckdb):
    _, expected = keyword_pack
    fired = {(model_id, key) for model_id, key, _, _ in on_duckdb}
    assert fired == {(m, key) for m, keys in expected.items() for key in keys}
    # KWA00's lets: investment in 万元, then one more each; then each joined township's name.
    message = "/".join([*(str(8832 + i) for i in range(PER_MODEL)), *["分水镇"] * (PER_MODEL - 2)])
    assert ("KWA00", "P1", "330122102", message) in on_duckdb


def test_sqlite_gives_the_same_warnings(checked, on_duckdb, tmp_path: Path):
    assert _warnings_on(f"sqlite:///{tmp_path / 'w.sqlite'}", checked) == on_duckdb


def test_postgres_gives_the_same_warnings(checked, on_duckdb, postgres_database: str):
    import adbc_driver_postgresql.dbapi as postgres

    # Without statistics on the fresh tables PostgreSQL's planner guesses thousands of
    # rows, and JIT-compiles each grouped model's stacked subqueries: 2 s a model, for
    # three rows. Not what this test is about.
    name = postgres_database.rsplit("/", 1)[1]
    with postgres.connect(postgres_database, autocommit=True) as connection:
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{name}" SET jit = off')
    assert _warnings_on(postgres_database, checked) == on_duckdb


def test_postgres_keywords_are_all_covered(postgres_database: str):
    """Every keyword the running server does not leave unreserved is one of WORDS."""
    import adbc_driver_postgresql.dbapi as postgres

    with postgres.connect(postgres_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT word FROM pg_get_keywords() WHERE catcode <> 'U'")
        listed = {row[0] for row in cursor.fetchall()}
    assert listed - set(WORDS) == set()


@pytest.mark.parametrize("backend", ["duckdb", "sqlite", "postgres"])
def test_a_deployment_may_name_its_schemas_and_tables_with_reserved_words(
    backend: str, pack: ir.CheckedPack, tmp_path: Path, request
):
    """Sources in schema `user` as tables `order`, `table`, `check`; the ledger in `select`.

    Every statement the engine sends — the model's query, the row counts, the ledger's —
    quotes them. SQLite has no schemas: there the tables alone are reserved words.
    """
    from engine.cli import main
    from engine.runs import ledger

    if backend == "postgres":
        url = request.getfixturevalue("postgres_database")
    else:
        url = f"{backend}:///{tmp_path / ('w.' + backend)}"
    schema = "" if backend == "sqlite" else "user."
    mapped = {"dr_project": "order", "trade_tender": "table", "ref_township": "check"}
    loaded = 0
    warehouse = connect(url)
    try:
        if schema:
            warehouse.execute(
                statement(exp.Create(this=table_named("user"), kind="SCHEMA"), warehouse.dialect)
            )
        for source, physical in mapped.items():
            rows = (
                ROWS.get(source, [])
                if source != "ref_township"
                else [{"township": "330122102", "name": "分水镇", "kind": "镇"}]
            )
            table = pa.Table.from_pylist(rows, schema=source_schema(pack.pack.sources[source]))
            warehouse.load(schema + physical, table)
            loaded += table.num_rows
    finally:
        warehouse.close()
    deployment = tmp_path / "deployment.yaml"
    lines = ["tables:", *(f"  {s}: {schema}{t}" for s, t in mapped.items())]
    if schema:
        lines.append("ledger_schema: select")
    deployment.write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest = tmp_path / "run.json"
    code = main(
        [
            "run",
            "--as-of",
            "2021-11-15",
            "--warehouse",
            url,
            "--deployment",
            str(deployment),
            "--select",
            "ENG01",
            "--manifest",
            str(manifest),
            "--policies",
            str(ROOT / "policies"),
        ]
    )
    assert code == 0
    [eng01] = json.loads(manifest.read_text(encoding="utf-8"))["models"]
    assert eng01["status"] == "ran" and eng01["rows_scanned"] == loaded  # counted in each table
    warehouse = connect(url)
    try:
        recorded = ledger.read(warehouse, ledger.Tables("select" if schema else None))
    finally:
        warehouse.close()
    assert recorded.column("warning_key").to_pylist() == ["P1"]
